"""Verification of a keyless plan (issue 13.2): the caller must be the plan's sensor role (moto over HTTP).

The sensor role is created in moto's management account and assumed, as EC2
or IAM Roles Anywhere would for the sensor; the verification then runs with
those temporary credentials, exactly as someone pastes them into the verify
page. moto does not evaluate the role's trust policy (docs/facts.md, "moto"),
which is why an admin key can assume it here; in AWS only the instance
profile or Roles Anywhere can.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from pydantic import SecretStr

from app.aws import checks
from app.aws.clients import Credentials
from app.aws.demo import (
    _ADMIN,
    MANAGEMENT_ACCOUNT_ID,
    DemoOrganization,
    connector_credentials,
    seed_organization,
)
from app.aws.simulate import CallerIdentity
from app.domain.check_calls import check_calls
from app.domain.plan import Plan
from app.domain.verification.causes import CAUSE_TEXT, Cause
from app.domain.verification.results import Report, Status
from tests.aws.conftest import plan_of, run

PCA_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
ROLES_ANYWHERE = {
    "principal": "roles-anywhere",
    "trust_anchor_pca_arn": PCA_ARN,
    "certificate_subject_cn": "sensor-01.example.com",
}
INSTANCE_ROLE = {"principal": "instance-role"}


def _check(report: Report, check_id: str, region: str | None = None) -> Any:
    return next(c for c in report.checks if c.id == check_id and c.region == region)


def sensor_role_credentials(endpoint: str, role: str = "digicert-tlm-sensor", path: str = "/") -> Credentials:
    """Create `role` in the management account and return a session of it (what the sensor gets)."""
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, **_ADMIN)
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    arn = iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint, **_ADMIN)
    assumed = sts.assume_role(RoleArn=arn, RoleSessionName="i-0123456789abcdef0")["Credentials"]
    return Credentials(
        access_key_id=assumed["AccessKeyId"],
        secret_access_key=SecretStr(assumed["SecretAccessKey"]),
        session_token=SecretStr(assumed["SessionToken"]),
    )


@pytest.fixture
def org(endpoint: str) -> DemoOrganization:
    return seed_organization(endpoint, created=2, invited=0, untrusted=0)


@pytest.mark.parametrize(
    "principal", [INSTANCE_ROLE, ROLES_ANYWHERE], ids=["instance-role", "roles-anywhere"]
)
def test_a_session_of_the_plans_sensor_role_passes_and_skips_what_roles_cannot_do(
    org: DemoOrganization, principal: dict[str, str]
) -> None:
    credentials = sensor_role_credentials(org.endpoint_url)
    called: set[str] = set()

    def record(model: Any, **_: object) -> None:
        called.add(f"{model.service_model.signing_name}:{model.name}")

    plan = plan_of(**principal)
    report = run(plan, org.endpoint_url, credentials, [*org.hooks(plan), ("before-call", record)])

    identity = _check(report, "identity")
    assert identity.status is Status.PASS, identity.explanation
    assert (
        report.caller_arn
        == f"arn:aws:sts::{MANAGEMENT_ACCOUNT_ID}:assumed-role/digicert-tlm-sensor/i-0123456789abcdef0"
    )
    assert "sensor role digicert-tlm-sensor" in identity.explanation
    for check_id in ("access-key-info", "session-token"):
        skipped = _check(report, check_id)
        assert (skipped.status, skipped.cause) == (Status.SKIPPED, Cause.ROLE_CREDENTIALS), check_id
        assert skipped.explanation == CAUSE_TEXT[Cause.ROLE_CREDENTIALS]
    assert "GetSessionToken" in CAUSE_TEXT[Cause.ROLE_CREDENTIALS]
    # Neither is even called; everything the run called is what the domain declares for the plan.
    assert "sts:GetSessionToken" not in called and "sts:GetAccessKeyInfo" not in called
    assert called == {call.request.action for call in check_calls(plan)}
    # The role reaches the organization and every member account through the common role.
    assert _check(report, "organization").status is Status.PASS
    created = {a.id for a in org.accounts_of("created")}
    assert all(a.status is Status.PASS for a in report.accounts if a.account_id in created)
    assert "The sensor role can list certificates" in _check(report, "acm", "us-east-1").explanation
    assert not report.failures()


def test_a_role_under_a_path_is_still_the_plans_role(endpoint: str) -> None:
    # A session ARN has no path (docs/facts.md#temporary-credentials): only the name counts.
    credentials = sensor_role_credentials(endpoint, path="/sensors/")
    report = run(plan_of(scope="account", **INSTANCE_ROLE), endpoint, credentials)
    assert _check(report, "identity").status is Status.PASS


def test_a_plan_naming_another_role_fails_the_identity_check_naming_both(org: DemoOrganization) -> None:
    credentials = sensor_role_credentials(org.endpoint_url)
    plan = plan_of(sensor_role_name="tlm-sensor-prod", **ROLES_ANYWHERE)
    report = run(plan, org.endpoint_url, credentials, org.hooks(plan))
    identity = _check(report, "identity")
    assert (identity.status, identity.cause) == (Status.FAIL, Cause.WRONG_ROLE)
    assert "a session of the role digicert-tlm-sensor" in identity.explanation
    assert "assumed-role/digicert-tlm-sensor/i-0123456789abcdef0" in identity.explanation
    assert "the IAM role tlm-sensor-prod" in identity.explanation
    # Like a wrong user's key, the fix is the step that gives the sensor its credentials.
    assert identity.fix == "sensor-aws-profile"
    assert report.status is Status.FAIL
    # The other checks still ran with that identity: they show what it can do.
    assert _check(report, "organization").status is Status.PASS


def test_an_iam_users_key_is_not_the_plans_sensor_role(org: DemoOrganization) -> None:
    plan = plan_of(**INSTANCE_ROLE)
    report = run(plan, org.endpoint_url, org.credentials, org.hooks(plan))
    identity = _check(report, "identity")
    assert (identity.status, identity.cause) == (Status.FAIL, Cause.WRONG_ROLE)
    assert "an IAM user's key" in identity.explanation and org.user_arn in identity.explanation
    assert "digicert-tlm-sensor" in identity.explanation
    assert identity.fix == "attach-instance-profile"


def test_a_session_of_the_role_in_another_partition_fails_naming_the_partition(endpoint: str) -> None:
    credentials = sensor_role_credentials(endpoint)
    other = "arn:aws-cn:sts::123456789012:assumed-role/digicert-tlm-sensor/i-0123456789abcdef0"
    # AWS answers with the partition the credentials live in; moto answers with the request's.
    hook = ("before-send", CallerIdentity(credentials.access_key_id, arn=other, account_id="123456789012"))
    report = run(plan_of(scope="account", **INSTANCE_ROLE), endpoint, credentials, [hook])
    identity = _check(report, "identity")
    assert (identity.status, identity.cause) == (Status.FAIL, Cause.WRONG_ROLE)
    assert "in the partition aws-cn" in identity.explanation
    assert "the IAM role digicert-tlm-sensor in the AWS (commercial) partition" in identity.explanation


@pytest.mark.parametrize(
    ("arn", "found"),
    [
        ("arn:aws:iam::123456789012:root", "the account's root user"),
        ("arn:aws:sts::123456789012:federated-user/alice", "another kind of identity"),
        (
            "arn:aws:sts::123456789012:assumed-role/digicert-tlm-sensor2/s",
            "a session of the role digicert-tlm-sensor2",
        ),
    ],
)
def test_what_was_found_instead_of_the_role_is_said(arn: str, found: str) -> None:
    plan = Plan.model_validate(INSTANCE_ROLE)
    result = checks._role_identity(plan, checks.Identity(arn=arn, account_id="123456789012"))
    assert (result.status, result.cause) == (Status.FAIL, Cause.WRONG_ROLE)
    assert found in result.explanation and arn in result.explanation


def test_an_iam_user_plan_still_skips_nothing_for_role_reasons(org: DemoOrganization) -> None:
    # The default principal keeps its checks: a role's reasons never apply to a user's long-term key.
    plan = plan_of()
    report = run(plan, org.endpoint_url, org.credentials, org.hooks(plan))
    assert _check(report, "identity").status is Status.PASS
    assert _check(report, "access-key-info").status is Status.PASS
    assert _check(report, "session-token").status is Status.PASS


def _cli_verify(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONNECTOR_WIZARD_"))}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "verify", *args],
        env={**clean, "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_verify_on_the_sensor_host_with_its_credential_process_profile(
    org: DemoOrganization, tmp_path: Path
) -> None:
    # The sensor's AWS profile runs a credential_process (AWS's signing helper for Roles Anywhere);
    # this stand-in prints the role session's credentials in the format the SDKs read from it.
    credentials = sensor_role_credentials(org.endpoint_url)
    helper = tmp_path / "credential-process"
    answer = {
        "Version": 1,
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key.get_secret_value(),
        "SessionToken": credentials.session_token.get_secret_value() if credentials.session_token else "",
    }
    helper.write_text("#!/bin/sh\ncat <<'END'\n" + json.dumps(answer) + "\nEND\n")
    helper.chmod(0o700)
    config = tmp_path / "config"
    config.write_text(f"[profile tlm-sensor]\ncredential_process = {helper}\nregion = us-east-1\n")
    env = {"AWS_CONFIG_FILE": str(config), "CONNECTOR_WIZARD_AWS_ENDPOINT_URL": org.endpoint_url}
    plan = ["--scope", "account", "--principal", "roles-anywhere", "--certificate-subject-cn", "sensor-01"]
    plan += ["--trust-anchor-pca-arn", PCA_ARN]

    result = _cli_verify(*plan, "--profile", "tlm-sensor", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["caller_arn"].endswith(":assumed-role/digicert-tlm-sensor/i-0123456789abcdef0")
    assert {c["id"]: c["status"] for c in data["checks"]}["identity"] == "pass"
    assert answer["SecretAccessKey"] not in result.stdout + result.stderr

    # A plan naming another sensor role fails, naming both roles.
    other = _cli_verify(*plan, "--profile", "tlm-sensor", "--sensor-role-name", "tlm-sensor-prod", env=env)
    assert other.returncode == 1
    assert "tlm-sensor-prod" in other.stdout and "digicert-tlm-sensor" in other.stdout

    missing = _cli_verify(*plan, "--profile", "no-such-profile", env=env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr == "connector-wizard: --profile: no such profile in the AWS config files\n"
    assert "no-such-profile" not in missing.stderr


# moto's ids come from one random generator that its API can seed (POST /moto-api/seed): with this
# seed the role the test makes first sorts after the 120 made next, and ListRoles answers in id order.
PAST_THE_FIRST_PAGE_SEED = 11
_ANYONE = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'


def test_the_demo_finds_the_plans_sensor_role_past_iams_first_page(org: DemoOrganization) -> None:
    # ListRoles answers at most MaxItems (100 by default) a call: the demo's second run must find the
    # role on a later page, not create it again (EntityAlreadyExists). moto's ListUsers ignores
    # MaxItems, so the user's branch, the same paginated lookup, has no such page to miss here.
    plan = plan_of(scope="account", principal="instance-role", sensor_role_name="zz-tlm-sensor")
    httpx.post(f"{org.endpoint_url}/moto-api/seed", params={"a": PAST_THE_FIRST_PAGE_SEED}).raise_for_status()
    try:
        first = connector_credentials(org, plan)  # creates the plan's role
        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=org.endpoint_url, **_ADMIN)
        for number in range(120):
            iam.create_role(RoleName=f"aa-filler-{number:03}", AssumeRolePolicyDocument=_ANYONE)
        first_page = iam.list_roles()
        assert first_page["IsTruncated"], "one page holds every role: make more"
        assert plan.sensor_role_name not in {role["RoleName"] for role in first_page["Roles"]}, (
            "the role is on the first page: moto's ids changed, pick another seed"
        )
        again = connector_credentials(org, plan)
    finally:
        # Unpredictable ids again for the tests that share this moto server.
        httpx.post(f"{org.endpoint_url}/moto-api/seed", params={"a": secrets.randbits(32)}).raise_for_status()
    for credentials in (first, again):
        assert credentials.session_token is not None
        caller = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=org.endpoint_url,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key.get_secret_value(),
            aws_session_token=credentials.session_token.get_secret_value(),
        ).get_caller_identity()
        assert caller["Arn"].startswith(f"arn:aws:sts::{MANAGEMENT_ACCOUNT_ID}:assumed-role/zz-tlm-sensor/")
