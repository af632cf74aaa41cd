"""Faults injected below our code: botocore `before-send` handlers and real sockets.

Retries stay in the path (a handler answers in place of the HTTP call, after
botocore's retry handler has been armed), so "throttled twice, then fine"
really exercises botocore's standard retry mode.

No botocore Stubber is used: every call the checks make (sts GetCallerIdentity,
GetAccessKeyInfo, GetSessionToken, AssumeRole; organizations DescribeOrganization,
ListAccounts, ListAWSServiceAccessForOrganization; acm ListCertificates;
secretsmanager DescribeSecret; app/domain/check_calls.py lists them) is implemented by
moto 5.2.5.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from pydantic import SecretStr

from app.aws.clients import Credentials
from app.aws.demo import _ADMIN, DEMO_REGION, DemoOrganization, seed_organization
from app.aws.simulate import DenyAssumeRole, Throttle, account_of_role_arn, error_response, request_params
from app.domain.verification.causes import Cause
from app.domain.verification.results import Status
from tests.aws.conftest import plan_of, run, run_org

CANARY = Credentials(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=SecretStr("w" * 40))


def _for_account(account_id: str):  # type: ignore[no-untyped-def]
    def match(request: AWSPreparedRequest) -> bool:
        return account_of_role_arn(request_params(request).get("RoleArn", "")) == account_id

    return match


def test_throttled_twice_then_fine_passes(small_org: DemoOrganization) -> None:
    target = small_org.accounts_of("created")[0].id
    throttle = Throttle(2, match=_for_account(target))
    report = run_org(plan_of(), small_org, [("before-send.sts.AssumeRole", throttle)], max_attempts=3)
    row = next(a for a in report.accounts if a.account_id == target)
    assert throttle.sent == 2
    assert row.status is Status.PASS


def test_throttled_always_gives_a_clear_rate_limited_result(small_org: DemoOrganization) -> None:
    throttle = Throttle(None)
    started = time.perf_counter()
    report = run_org(
        plan_of(), small_org, [("before-send.organizations.ListAccounts", throttle)], max_attempts=2
    )
    check = next(c for c in report.checks if c.id == "member-accounts")
    assert (check.status, check.cause, check.error_code) == (
        Status.FAIL,
        Cause.THROTTLED,
        "ThrottlingException",
    )
    assert "rate-limited" in check.explanation
    assert throttle.sent == 2  # the first try and one retry, then it gave up
    member_access = next(c for c in report.checks if c.id == "member-access")
    assert member_access.status is Status.SKIPPED
    assert time.perf_counter() - started < 10


def test_access_denied_on_assume_role_for_chosen_accounts(small_org: DemoOrganization) -> None:
    created = [a.id for a in small_org.accounts_of("created")]
    scp, policy = created[0], created[1]

    def deny(request: AWSPreparedRequest, **_: object) -> object:
        role = request_params(request).get("RoleArn", "")
        if account_of_role_arn(role) != policy:
            return None
        return error_response(
            request,
            status=403,
            code="AccessDenied",
            message=(
                f"User: {small_org.user_arn} is not authorized to perform: sts:AssumeRole "
                f"on resource: {role} "
                "because no identity-based policy allows the sts:AssumeRole action"
            ),
        )

    hooks = [
        ("before-send.sts.AssumeRole", DenyAssumeRole({scp: "scp"}, caller_arn=small_org.user_arn)),
        ("before-send.sts.AssumeRole", deny),
    ]
    report = run_org(plan_of(), small_org, hooks)
    rows = {a.account_id: a for a in report.accounts}
    assert (rows[scp].cause, rows[scp].fix) == (Cause.SCP_DENY, None)
    assert "service control policy" in (rows[scp].detail or "")
    assert (rows[policy].cause, rows[policy].fix) == (Cause.CALLER_POLICY, "put-inline-policy")
    assert rows[created[2]].status is Status.PASS


@pytest.mark.parametrize(
    ("code", "cause", "fix"),
    [
        ("InvalidClientTokenId", Cause.INVALID_CREDENTIALS, "create-access-key"),
        ("SignatureDoesNotMatch", Cause.WRONG_SECRET, "create-access-key"),
        ("ExpiredToken", Cause.EXPIRED_CREDENTIALS, None),
    ],
)
def test_credentials_that_do_not_work_stop_the_run(
    small_org: DemoOrganization, code: str, cause: Cause, fix: str | None
) -> None:
    def reject(request: AWSPreparedRequest, **_: object) -> object:
        return error_response(
            request, status=403, code=code, message="The security token included in the request is invalid."
        )

    report = run_org(plan_of(), small_org, [("before-send.sts.GetCallerIdentity", reject)])
    identity = report.checks[0]
    assert (identity.id, identity.status, identity.cause, identity.fix) == (
        "identity",
        Status.FAIL,
        cause,
        fix,
    )
    assert all(c.status is Status.SKIPPED for c in report.checks[1:])
    assert report.accounts == ()


def test_documented_inline_policy_denies_get_access_key_info(small_org: DemoOrganization) -> None:
    def deny(request: AWSPreparedRequest, **_: object) -> object:
        return error_response(
            request,
            status=403,
            code="AccessDenied",
            message=(
                f"User: {small_org.user_arn} is not authorized to perform: sts:GetAccessKeyInfo because no "
                "identity-based policy allows the sts:GetAccessKeyInfo action"
            ),
        )

    report = run_org(plan_of(), small_org, [("before-send.sts.GetAccessKeyInfo", deny)])
    check = next(c for c in report.checks if c.id == "access-key-info")
    assert (check.status, check.cause, check.fix) == (Status.FAIL, Cause.CALLER_POLICY, "put-inline-policy")
    assert "corrected inline policy" in check.explanation


@pytest.mark.parametrize(
    ("message", "user_cause"),
    [
        ("not authorized", Cause.ACCESS_DENIED),
        # AWS's usual wording when the caller's own policies allow nothing.
        (
            "User: arn:aws:sts::111111111111:assumed-role/X/s is not authorized to perform: "
            "acm:ListCertificates because no identity-based policy allows the acm:ListCertificates action",
            Cause.CALLER_POLICY,
        ),
    ],
)
def test_acm_denied_for_the_user_names_the_policy_to_attach(
    small_org: DemoOrganization, message: str, user_cause: Cause
) -> None:
    def deny(request: AWSPreparedRequest, **_: object) -> object:
        return error_response(request, status=400, code="AccessDeniedException", message=message)

    report = run_org(plan_of(), small_org, [("before-send.acm.ListCertificates", deny)])
    check = next(c for c in report.checks if c.id == "acm")
    assert (check.cause, check.fix) == (user_cause, "attach-AWSCertificateManagerFullAccess")
    # The same denial inside member accounts is the member role's permissions.
    created = next(a for a in report.accounts if a.account_id == small_org.accounts_of("created")[0].id)
    assert (created.role_status, created.cause, created.fix) == (
        Status.PASS,
        Cause.MEMBER_ROLE_PERMISSIONS,
        "member-role",
    )


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


def test_a_read_timeout_is_bounded_and_clear(silent_server: str) -> None:
    started = time.perf_counter()
    report = run(plan_of(), silent_server, CANARY, read_timeout=0.3, connect_timeout=0.3, max_attempts=2)
    elapsed = time.perf_counter() - started
    identity = report.checks[0]
    assert (identity.status, identity.cause, identity.error_code) == (
        Status.FAIL,
        Cause.TIMEOUT,
        "ReadTimeoutError",
    )
    assert "did not answer in time" in identity.explanation
    # two attempts of 0.3 s plus one backoff (at most 1 s)
    assert elapsed < 3, elapsed


def test_an_unreachable_endpoint() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    report = run(plan_of(), f"http://127.0.0.1:{port}", CANARY, connect_timeout=0.3, max_attempts=1)
    identity = report.checks[0]
    assert (identity.cause, identity.error_code) == (Cause.UNREACHABLE, "EndpointConnectionError")


def test_seeded_org_is_independent_per_test(endpoint: str) -> None:
    # The reset between tests really forgets the previous organization.
    org = seed_organization(endpoint, created=1, invited=0, untrusted=0)
    assert len(org.accounts) == 1
    # The seeder's own list always has what it just made; ask moto what the organization holds.
    client = boto3.client("organizations", region_name=DEMO_REGION, endpoint_url=endpoint, **_ADMIN)
    listed = [a["Id"] for page in client.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    assert len(listed) == 2  # the management account and the one created above, nothing left over
    assert org.accounts[0].id in listed
