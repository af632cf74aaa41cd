"""Verification against moto over real HTTP: organizations, scopes, Secrets Manager, the demo's denials."""

from __future__ import annotations

import boto3
from pydantic import SecretStr

from app.aws.clients import Credentials
from app.aws.demo import MANAGEMENT_ACCOUNT_ID, DemoOrganization, seed_organization
from app.domain.verification.causes import TRUSTED_ACCESS_MESSAGE, Cause
from app.domain.verification.results import Report, Status
from tests.aws.conftest import member_role_credentials, plan_of, run, run_org


def _check(report: Report, check_id: str, region: str | None = None):  # type: ignore[no-untyped-def]
    matches = [c for c in report.checks if c.id == check_id and c.region == region]
    assert len(matches) == 1, [c.key for c in report.checks]
    return matches[0]


def test_fifty_accounts_three_without_the_role_are_exactly_the_failures(endpoint: str) -> None:
    org = seed_organization(endpoint, created=47, invited=3, untrusted=0)
    report = run_org(plan_of(regions="us-east-1,eu-west-1"), org)

    invited = {a.id for a in org.accounts_of("invited")}
    failed = report.failed_accounts()
    assert {a.account_id for a in failed} == invited
    for account in failed:
        assert account.cause is Cause.ROLE_MISSING
        assert account.fix == "member-role"
        assert account.joined_method == "INVITED"
        assert "invited" in account.explanation
        assert all(r.status is Status.SKIPPED for r in account.regions)
    # 47 created accounts assumed the role and listed certificates in both regions.
    passed = [a for a in report.accounts if a.status is Status.PASS]
    assert len(passed) == 47
    assert all([r.region for r in a.regions] == ["us-east-1", "eu-west-1"] for a in passed)
    # The management account has no OrganizationAccountAccessRole: a warning, not a failure.
    management = next(a for a in report.accounts if a.is_management)
    assert management.account_id == MANAGEMENT_ACCOUNT_ID
    assert management.status is Status.WARN
    assert _check(report, "member-access").status is Status.FAIL
    assert "3 of 51" in _check(report, "member-access").explanation
    assert report.status is Status.FAIL
    assert report.caller_arn == org.user_arn


def test_a_role_that_trusts_another_account_is_reported_as_not_assumable(small_org: DemoOrganization) -> None:
    report = run_org(plan_of(), small_org)
    untrusted = small_org.accounts_of("untrusted")[0]
    row = next(a for a in report.accounts if a.account_id == untrusted.id)
    assert row.cause is Cause.ROLE_NOT_ASSUMABLE
    assert row.joined_method == "CREATED"
    assert row.error_code == "AccessDenied"
    assert row.fix == "member-role"
    assert "trust policy" in row.explanation


def test_everything_passes_in_a_healthy_organization(endpoint: str) -> None:
    org = seed_organization(endpoint, created=4, invited=0, untrusted=0)
    report = run_org(plan_of(regions="us-east-1,eu-west-1"), org)
    statuses = {c.key: c.status for c in report.checks}
    assert statuses.pop("member-access") is Status.WARN  # the management account's missing role
    assert all(status is Status.PASS for status in statuses.values()), statuses
    assert [a.status for a in report.accounts if not a.is_management] == [Status.PASS] * 4
    assert report.status is Status.WARN  # only the management account's missing role


def test_trusted_access_off_fails_with_the_verbatim_message_and_its_fix(endpoint: str) -> None:
    org = seed_organization(endpoint, created=2, invited=0, untrusted=0, trusted_access=False)
    check = _check(run_org(plan_of(), org), "trusted-access")
    assert check.status is Status.FAIL
    assert check.cause is Cause.TRUSTED_ACCESS_DISABLED
    assert check.fix == "enable-trusted-access"
    assert TRUSTED_ACCESS_MESSAGE in check.explanation


def test_an_organization_without_all_features(endpoint: str) -> None:
    org = seed_organization(
        endpoint, created=1, invited=0, untrusted=0, feature_set="CONSOLIDATED_BILLING", trusted_access=False
    )
    check = _check(run_org(plan_of(), org), "organization")
    assert (check.status, check.cause, check.fix) == (
        Status.FAIL,
        Cause.NOT_ALL_FEATURES,
        "enable-trusted-access",
    )


def test_account_scope_checks_only_the_users_own_access(endpoint: str) -> None:
    org = seed_organization(endpoint, created=2, invited=1, untrusted=0)
    report = run_org(plan_of(scope="account", regions="us-east-1,eu-west-1"), org)
    assert report.accounts == ()
    ids = {c.id for c in report.checks}
    assert not ids & {"organization", "member-accounts", "trusted-access", "member-access"}
    assert _check(report, "access-key-info").status is Status.SKIPPED
    assert _check(report, "acm", "us-east-1").status is Status.PASS
    assert _check(report, "acm", "eu-west-1").status is Status.PASS
    assert report.status is Status.PASS
    assert report.role_name == ""


def test_secrets_manager_is_checked_only_when_chosen(small_org: DemoOrganization) -> None:
    with_sm = run_org(plan_of(regions="us-east-1,eu-west-1", secrets_manager=True), small_org)
    without = run_org(plan_of(regions="us-east-1,eu-west-1", secrets_manager=False), small_org)
    for region in ("us-east-1", "eu-west-1"):
        assert _check(with_sm, "secrets-manager", region).status is Status.PASS
        skipped = _check(without, "secrets-manager", region)
        assert skipped.status is Status.SKIPPED
        assert "sensor" in skipped.explanation


def test_a_region_that_is_not_enabled(small_org: DemoOrganization) -> None:
    report = run_org(plan_of(regions="us-east-1,ap-east-1", secrets_manager=False), small_org)
    own = _check(report, "acm", "ap-east-1")
    assert (own.status, own.cause, own.error_code) == (
        Status.FAIL,
        Cause.REGION_NOT_ENABLED,
        "UnrecognizedClientException",
    )
    created = small_org.accounts_of("created")[0]
    row = next(a for a in report.accounts if a.account_id == created.id)
    assert [(r.region, r.status, r.cause) for r in row.regions] == [
        ("us-east-1", Status.PASS, None),
        ("ap-east-1", Status.FAIL, Cause.REGION_NOT_ENABLED),
    ]
    assert row.role_status is Status.PASS


def test_credentials_of_a_member_account_are_not_the_management_account(small_org: DemoOrganization) -> None:
    member = small_org.accounts_of("created")[0].id
    admin = {"aws_access_key_id": "AKIAADMINDEMOSEEDER0", "aws_secret_access_key": "x" * 40}
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=small_org.endpoint_url, **admin)
    assumed = sts.assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=small_org.endpoint_url,
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    iam.create_user(UserName="connector")
    key = iam.create_access_key(UserName="connector")["AccessKey"]
    credentials = Credentials(
        access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"])
    )

    plan = plan_of()
    report = run(plan, small_org.endpoint_url, credentials, small_org.hooks(plan))
    assert report.account_id == member
    check = _check(report, "organization")
    assert (check.status, check.cause, check.fix) == (
        Status.FAIL,
        Cause.NOT_MANAGEMENT_ACCOUNT,
        "create-user",
    )


def test_role_credentials_are_not_an_iam_user(small_org: DemoOrganization) -> None:
    credentials = member_role_credentials(small_org)
    plan = plan_of()
    report = run(plan, small_org.endpoint_url, credentials, small_org.hooks(plan))
    identity = _check(report, "identity")
    assert (identity.status, identity.cause, identity.fix) == (Status.FAIL, Cause.NOT_IAM_USER, "create-user")
    assert "assumed-role" in identity.explanation
    token = _check(report, "session-token")
    assert (token.status, token.cause) == (Status.SKIPPED, Cause.TEMPORARY_CREDENTIALS)


def test_an_account_outside_any_organization(endpoint: str) -> None:
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIAADMINDEMOSEEDER0",
        aws_secret_access_key="x" * 40,
    )
    iam.create_user(UserName="connector")
    key = iam.create_access_key(UserName="connector")["AccessKey"]
    credentials = Credentials(
        access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"])
    )
    report = run(plan_of(), endpoint, credentials)
    check = _check(report, "organization")
    assert (check.status, check.cause, check.error_code) == (
        Status.FAIL,
        Cause.NOT_IN_ORGANIZATION,
        "AWSOrganizationsNotInUseException",
    )
    assert _check(report, "member-access").status is Status.SKIPPED


def test_report_round_trips_through_json(small_org: DemoOrganization) -> None:
    report = run_org(plan_of(regions="us-east-1,ap-east-1"), small_org)
    again = Report.from_json_dict(report.to_json_dict())
    assert again == report


def test_the_management_account_row_names_where_a_dedicated_role_comes_from(endpoint: str) -> None:
    org = seed_organization(endpoint, created=2, invited=0, untrusted=0, role_name="DigiCertTLMMember")
    plan = plan_of(dedicated_member_role=True, role_name="DigiCertTLMMember")
    management = next(a for a in run_org(plan, org).accounts if a.is_management)
    assert management.status is Status.WARN
    # Organizations creates only OrganizationAccountAccessRole; this role comes from the StackSet.
    assert "Organizations creates" not in management.explanation
    assert (
        "StackSet" in management.explanation
        and "member-role-management-account.yaml" in management.explanation
    )


def test_the_management_account_row_of_a_custom_common_role(endpoint: str) -> None:
    org = seed_organization(endpoint, created=1, invited=0, untrusted=0, role_name="CertOps")
    management = next(a for a in run_org(plan_of(role_name="CertOps"), org).accounts if a.is_management)
    assert "Organizations creates" not in management.explanation
    assert "CertOps" in management.explanation


def test_the_management_account_row_of_the_default_role(small_org: DemoOrganization) -> None:
    management = next(a for a in run_org(plan_of(), small_org).accounts if a.is_management)
    assert "AWS Organizations creates it only in the member accounts it creates" in management.explanation
