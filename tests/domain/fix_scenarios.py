"""Verification reports with known failures, for the fix tests (domain, CLI and web)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.plan import Plan
from app.domain.verification.causes import Cause
from app.domain.verification.results import AccountResult, CheckResult, RegionResult, Report, Status

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MANAGEMENT = "111122223333"
PASSED = "444455556666"  # an account that passes in every scenario: no fix may name it
INVITED_A = "210987654321"
INVITED_B = "210987654322"
CREATED = "333344445555"


def check(id: str, status: Status, cause: Cause | None = None, region: str | None = None) -> CheckResult:
    return CheckResult(
        id=id, title=id, status=status, call="call", explanation="", cause=cause, region=region
    )


def account(
    account_id: str,
    *,
    role: Status = Status.PASS,
    cause: Cause | None = None,
    regions: dict[str, tuple[Status, Cause | None]] | None = None,
    joined: str = "CREATED",
    management: bool = False,
) -> AccountResult:
    return AccountResult(
        account_id=account_id,
        name=f"acct-{account_id[-4:]}",
        joined_method=joined,
        is_management=management,
        role_status=role,
        cause=cause,
        regions=tuple(RegionResult(r, s, cause=c) for r, (s, c) in (regions or {}).items()),
    )


def report(plan: Plan, checks: list[CheckResult], accounts: list[AccountResult]) -> Report:
    return Report(
        scope=plan.scope.value,
        role_name=plan.role_name,
        regions=plan.regions,
        started_at=STARTED,
        finished_at=STARTED,
        caller_arn=f"arn:aws:iam::{MANAGEMENT}:user/{plan.user_name}",
        account_id=MANAGEMENT,
        checks=tuple(checks),
        accounts=tuple(accounts),
    )


def _ok(regions: tuple[str, ...]) -> dict[str, tuple[Status, Cause | None]]:
    return {r: (Status.PASS, None) for r in regions}


def scenarios() -> dict[str, tuple[Plan, Report]]:
    out: dict[str, tuple[Plan, Report]] = {}

    plan = Plan(regions=("us-east-1", "eu-south-1"))
    skipped = {r: (Status.SKIPPED, None) for r in plan.regions}
    out["organization-default-role"] = (
        plan,
        report(
            plan,
            [
                check("identity", Status.PASS),
                check("trusted-access", Status.FAIL, Cause.TRUSTED_ACCESS_DISABLED),
                check("acm", Status.FAIL, Cause.CALLER_POLICY, "us-east-1"),
                check("acm", Status.FAIL, Cause.CALLER_POLICY, "eu-south-1"),
                check("member-access", Status.FAIL),
            ],
            [
                account(
                    MANAGEMENT,
                    role=Status.WARN,
                    cause=Cause.ROLE_NOT_ASSUMABLE,
                    regions=skipped,
                    management=True,
                ),
                account(PASSED, regions=_ok(plan.regions)),
                account(
                    INVITED_A, role=Status.FAIL, cause=Cause.ROLE_MISSING, regions=skipped, joined="INVITED"
                ),
                account(
                    INVITED_B, role=Status.FAIL, cause=Cause.ROLE_MISSING, regions=skipped, joined="INVITED"
                ),
                account(
                    CREATED,
                    regions={
                        "us-east-1": (Status.PASS, None),
                        "eu-south-1": (Status.FAIL, Cause.REGION_NOT_ENABLED),
                    },
                ),
            ],
        ),
    )

    plan = Plan(
        role_name="DigiCertTLMMemberRole",
        dedicated_member_role=True,
        style="least-privilege",
        regions=("us-east-1", "eu-south-1"),
    )
    out["organization-dedicated-least-privilege"] = (
        plan,
        report(
            plan,
            [
                check("identity", Status.PASS),
                check("access-key-info", Status.FAIL, Cause.CALLER_POLICY),
                check("organization", Status.PASS),
                check("acm", Status.FAIL, Cause.CALLER_POLICY, "us-east-1"),
                check("acm", Status.FAIL, Cause.REGION_NOT_ENABLED, "eu-south-1"),
                check("secrets-manager", Status.FAIL, Cause.SCP_DENY, "us-east-1"),
            ],
            [
                account(PASSED, regions=_ok(plan.regions)),
                account(INVITED_A, role=Status.FAIL, cause=Cause.ROLE_NOT_ASSUMABLE, regions=skipped),
                account(
                    CREATED,
                    regions={
                        "us-east-1": (Status.FAIL, Cause.MEMBER_ROLE_PERMISSIONS),
                        "eu-south-1": (Status.FAIL, Cause.REGION_NOT_ENABLED),
                    },
                ),
                account(INVITED_B, role=Status.FAIL, cause=Cause.THROTTLED, regions=skipped),
            ],
        ),
    )

    plan = Plan(scope="account", style="least-privilege", regions=("eu-south-1",))
    out["account-least-privilege"] = (
        plan,
        report(
            plan,
            [
                check("identity", Status.PASS),
                check("acm", Status.FAIL, Cause.REGION_NOT_ENABLED, "eu-south-1"),
                check("secrets-manager", Status.FAIL, Cause.ACCESS_DENIED, "eu-south-1"),
            ],
            [],
        ),
    )

    plan = Plan(partition="aws-cn", role_name="CustomRole", regions=("cn-north-1",))
    out["organization-custom-role-aws-cn"] = (
        plan,
        report(
            plan,
            [check("identity", Status.PASS), check("organization", Status.FAIL, Cause.NOT_ALL_FEATURES)],
            [
                account(PASSED, regions=_ok(plan.regions)),
                account(INVITED_A, role=Status.FAIL, cause=Cause.ROLE_NOT_ASSUMABLE),
            ],
        ),
    )

    # Keyless sensors (issue 13.2): the fixes name the sensor role, never a user.
    plan = Plan(principal="instance-role", style="least-privilege", regions=("us-east-1",))
    out["organization-sensor-role-least-privilege"] = (
        plan,
        report(
            plan,
            [
                check("identity", Status.FAIL, Cause.WRONG_ROLE),
                check("access-key-info", Status.SKIPPED, Cause.ROLE_CREDENTIALS),
                check("session-token", Status.SKIPPED, Cause.ROLE_CREDENTIALS),
                check("organization", Status.FAIL, Cause.CALLER_POLICY),
                check("acm", Status.FAIL, Cause.CALLER_POLICY, "us-east-1"),
            ],
            [account(PASSED, regions=_ok(plan.regions))],
        ),
    )

    plan = Plan(
        scope="account",
        principal="roles-anywhere",
        sensor_role_name="tlm-sensor-onprem",
        certificate_subject_cn="sensor-01.example.com",
        trust_anchor_pca_arn="arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
        "12345678-1234-1234-1234-123456789012",
        regions=("us-east-1",),
    )
    out["account-roles-anywhere-documented"] = (
        plan,
        report(
            plan,
            [check("identity", Status.PASS), check("acm", Status.FAIL, Cause.CALLER_POLICY, "us-east-1")],
            [],
        ),
    )

    plan = Plan()
    out["nothing-failed"] = (
        plan,
        report(plan, [check("identity", Status.PASS)], [account(PASSED, regions=_ok(plan.regions))]),
    )
    return out
