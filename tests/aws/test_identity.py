"""Whose keys the verification got, and what temporary credentials cannot do (moto over HTTP).

moto answers for any key and never refuses STS calls to session credentials;
AWS's answers for those are before-send hooks (app/aws/simulate.py), so the
verifier's own code and botocore's parsing still run.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from app.aws.clients import Credentials
from app.aws.demo import MANAGEMENT_ACCOUNT_ID, DemoOrganization, seed_organization
from app.aws.simulate import CallerIdentity, DenyOperation, SessionCredentialLimits
from app.domain.verification.causes import Cause, permission_step
from app.domain.verification.results import Report, Status
from tests.aws.conftest import member_role_credentials, plan_of, run, run_org

ADMIN = {"aws_access_key_id": "AKIAADMINDEMOSEEDER0", "aws_secret_access_key": "x" * 40}


def _check(report: Report, check_id: str, region: str | None = None) -> Any:
    return next(c for c in report.checks if c.id == check_id and c.region == region)


def _user_keys(endpoint: str, name: str, path: str = "/") -> tuple[str, Credentials]:
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, **ADMIN)
    arn = iam.create_user(UserName=name, Path=path)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(arn), Credentials(
        access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"])
    )


@pytest.mark.parametrize("other", ["admin", "someone-else"])
def test_keys_of_another_iam_user_fail_naming_both(small_org: DemoOrganization, other: str) -> None:
    arn, credentials = _user_keys(small_org.endpoint_url, other)
    plan = plan_of()
    report = run(plan, small_org.endpoint_url, credentials, small_org.hooks(plan))
    identity = _check(report, "identity")
    assert (identity.status, identity.cause, identity.fix) == (
        Status.FAIL,
        Cause.WRONG_USER,
        "create-access-key",
    )
    assert arn in identity.explanation and plan.user_name in identity.explanation
    assert report.status is Status.FAIL
    # The other checks still ran, with that identity: their results say what it can do.
    assert _check(report, "organization").status is Status.PASS


def test_the_plans_user_under_a_path_is_the_plans_user(endpoint: str) -> None:
    arn, credentials = _user_keys(endpoint, "digicert-tlm-connector", path="/connectors/")
    assert ":user/connectors/digicert-tlm-connector" in arn
    report = run(plan_of(scope="account"), endpoint, credentials)
    assert _check(report, "identity").status is Status.PASS


def test_session_credentials_of_the_plans_user_skip_what_aws_refuses_them(endpoint: str) -> None:
    small_org = seed_organization(endpoint, created=2, invited=0, untrusted=0)
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=small_org.endpoint_url,
        aws_access_key_id=small_org.credentials.access_key_id,
        aws_secret_access_key=small_org.credentials.secret_access_key.get_secret_value(),
    )
    session = sts.get_session_token(DurationSeconds=900)["Credentials"]
    credentials = Credentials(
        access_key_id=session["AccessKeyId"],
        secret_access_key=SecretStr(session["SecretAccessKey"]),
        session_token=SecretStr(session["SessionToken"]),
    )
    hooks = [
        *small_org.hooks(plan_of()),
        # AWS names the user whose session it is (moto names a placeholder) ...
        (
            "before-send",
            CallerIdentity(session["AccessKeyId"], arn=small_org.user_arn, account_id=MANAGEMENT_ACCOUNT_ID),
        ),
        # ... and refuses STS calls other than AssumeRole and GetCallerIdentity to a session.
        ("before-send", SessionCredentialLimits()),
    ]
    report = run(plan_of(), small_org.endpoint_url, credentials, hooks)
    assert _check(report, "identity").status is Status.PASS
    key_info = _check(report, "access-key-info")
    assert (key_info.status, key_info.cause) == (Status.SKIPPED, Cause.TEMPORARY_CREDENTIALS)
    assert "AssumeRole and GetCallerIdentity" in key_info.explanation
    token = _check(report, "session-token")
    assert (token.status, token.cause) == (Status.SKIPPED, Cause.TEMPORARY_CREDENTIALS)
    # Not a failure of the plan: only the management account's missing role warns.
    assert report.status is Status.WARN
    assert not report.failures()


def test_access_key_info_refused_to_temporary_credentials_is_skipped_not_failed(
    small_org: DemoOrganization,
) -> None:
    # Whatever the identity, a temporary key refused GetAccessKeyInfo is AWS's rule, not the plan's fault.
    credentials = member_role_credentials(small_org)
    report = run(
        plan_of(),
        small_org.endpoint_url,
        credentials,
        [*small_org.hooks(plan_of()), ("before-send", SessionCredentialLimits())],
    )
    key_info = _check(report, "access-key-info")
    assert (key_info.status, key_info.cause) == (Status.SKIPPED, Cause.TEMPORARY_CREDENTIALS)


@pytest.mark.parametrize("style", ["documented", "least-privilege"])
def test_a_user_denied_its_secret_prefix_fails_with_the_policy_step(
    small_org: DemoOrganization, style: str
) -> None:
    plan = plan_of(style=style)
    deny = DenyOperation("DescribeSecret", "secretsmanager:DescribeSecret", caller_arn=small_org.user_arn)
    report = run_org(plan, small_org, [("before-send", deny)])
    check = _check(report, "secrets-manager", "us-east-1")
    assert (check.status, check.cause) == (Status.FAIL, Cause.CALLER_POLICY)
    assert check.fix == permission_step(plan, "secrets-manager")
    assert "digicert-tlm/connector-wizard-check" in check.explanation
