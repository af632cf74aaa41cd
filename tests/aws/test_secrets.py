"""Credentials stay in memory for one run: canaries never show up anywhere, identities never mix."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from pydantic import SecretStr

from app.aws.clients import AwsSettings, ClientSet, Credentials
from app.aws.demo import DemoOrganization
from app.aws.runner import verify
from app.domain.verification.results import Status
from app.store import db, wizards
from app.store.verifications import get_run, save_run
from tests.aws.conftest import plan_of

ADMIN = {"aws_access_key_id": "AKIAADMINDEMOSEEDER0", "aws_secret_access_key": "x" * 40}


def _users(endpoint: str, count: int) -> list[tuple[str, Credentials]]:
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, **ADMIN)
    users = []
    for index in range(count):
        arn = iam.create_user(UserName=f"connector-{index}")["User"]["Arn"]
        key = iam.create_access_key(UserName=f"connector-{index}")["AccessKey"]
        users.append(
            (
                arn,
                Credentials(
                    access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"])
                ),
            )
        )
    return users


def test_canary_credentials_appear_nowhere(
    small_org: DemoOrganization, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The org's real key (moto knows it) with a canary session token: botocore
    # sends the token as X-Amz-Security-Token on every request.
    token = "CANARYTOKEN" + secrets.token_hex(24)
    credentials = Credentials(
        access_key_id=small_org.credentials.access_key_id,
        secret_access_key=small_org.credentials.secret_access_key,
        session_token=SecretStr(token),
    )
    secret = credentials.secret_access_key.get_secret_value()
    caplog.set_level(logging.DEBUG)

    engine = db.make_engine(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    db.upgrade(engine)
    record, _ = wizards.create_wizard(engine, plan=plan_of(), actor="t", now=db.utcnow(), link_days=1)
    clients = ClientSet(
        credentials=credentials,
        partition=plan_of().partition,
        aws=AwsSettings(endpoint_url=small_org.endpoint_url),
        hooks=small_org.hooks(plan_of()),
    )
    report = verify(plan_of(regions="us-east-1,ap-east-1"), clients)
    assert report.accounts  # it really ran
    run_id = save_run(engine, wizard_id=record.id, report=report, actor="t")
    stored = get_run(engine, wizard_id=record.id, run_id=run_id)
    assert stored is not None and stored.report == report

    texts = {
        "report": report.to_json(),
        "repr": repr(credentials) + str(credentials) + repr(clients.__dict__),
        "logs": caplog.text + "".join(str(r.__dict__) for r in caplog.records),
        "environ": "\n".join(f"{k}={v}" for k, v in os.environ.items()),
    }
    files = [tmp_path / "runs.sqlite3", tmp_path / "runs.sqlite3-wal"]
    assert files[1].exists()  # WAL mode: the newest pages are still there
    for path in files:
        texts[path.name] = path.read_bytes().decode("latin-1")
    engine.dispose()
    for canary in (secret, token, credentials.access_key_id):
        for where, text in texts.items():
            if canary == credentials.access_key_id and where in ("repr",):
                continue
            assert canary not in text, f"{canary[:6]}… found in {where}"
    # botocore would log the token header at DEBUG: our pin keeps it at WARNING.
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.WARNING


def test_twenty_concurrent_runs_never_mix_identities(small_org: DemoOrganization) -> None:
    users = _users(small_org.endpoint_url, 20)
    lock = threading.Lock()
    long_term_keys: dict[int, set[str]] = {}
    temporary_keys: dict[int, set[str]] = {}

    def recorder(run: int) -> Any:
        def record(request: AWSPreparedRequest, **_: object) -> None:
            auth = request.headers.get("Authorization", b"")
            auth = auth.decode() if isinstance(auth, bytes) else auth
            key = auth.split("Credential=", 1)[1].split("/", 1)[0]
            with lock:
                target = long_term_keys if key.startswith("AKIA") else temporary_keys
                target.setdefault(run, set()).add(key)

        return record

    def one(run: int) -> Any:
        arn, credentials = users[run]
        # Each run's plan names its own user, so the identity check also proves whose keys each run used.
        plan = plan_of(regions="us-east-1", user_name=arn.rsplit("/", 1)[1])
        clients = ClientSet(
            credentials=credentials,
            partition=plan.partition,
            aws=AwsSettings(endpoint_url=small_org.endpoint_url, concurrency=4),
            hooks=[*small_org.hooks(plan), ("before-send", recorder(run))],
        )
        return verify(plan, clients)

    with ThreadPoolExecutor(max_workers=20) as pool:
        reports = list(pool.map(one, range(20)))

    for run, report in enumerate(reports):
        arn, credentials = users[run]
        assert report.caller_arn == arn
        assert report.checks[0].status is Status.PASS
        # Every request of run N was signed with run N's key or with role credentials only run N got.
        assert long_term_keys[run] == {credentials.access_key_id}
        for other in range(20):
            if other != run:
                assert not temporary_keys[run] & temporary_keys[other]
        assert len(report.accounts) == len(small_org.accounts) + 1
