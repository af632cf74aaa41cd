"""Drift between two runs, statuses, redaction: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.plan import Plan
from app.domain.verification.causes import Cause, permission_step
from app.domain.verification.drift import Change, drift
from app.domain.verification.redaction import redact
from app.domain.verification.results import AccountResult, CheckResult, RegionResult, Report, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _report(acm: Status, accounts: dict[str, tuple[Status, Status]], at: datetime = T0) -> Report:
    return Report(
        scope="organization",
        role_name="R",
        regions=("us-east-1",),
        started_at=at,
        finished_at=at + timedelta(seconds=1),
        checks=(CheckResult("acm", "ACM", acm, "acm:ListCertificates", "", region="us-east-1"),),
        accounts=tuple(
            AccountResult(
                account_id=i,
                name=i,
                joined_method="CREATED",
                is_management=False,
                role_status=role,
                regions=(RegionResult("us-east-1", region),),
            )
            for i, (role, region) in accounts.items()
        ),
    )


def test_drift_names_what_broke_what_was_fixed_and_what_is_new() -> None:
    before = _report(
        Status.PASS,
        {
            "111": (Status.FAIL, Status.SKIPPED),
            "222": (Status.PASS, Status.PASS),
            "333": (Status.PASS, Status.PASS),
        },
    )
    after = _report(
        Status.FAIL,
        {
            "111": (Status.PASS, Status.PASS),
            "222": (Status.PASS, Status.PASS),
            "444": (Status.PASS, Status.PASS),
        },
        at=T0 + timedelta(hours=1),
    )
    result = drift(before, after)
    changes = {item.key: item.change for item in result.items}
    assert changes["check:acm@us-east-1"] is Change.BROKE
    assert changes["account:111:role"] is Change.FIXED
    assert changes["account:111:us-east-1"] is Change.CHANGED  # skipped -> pass
    assert changes["account:444:role"] is Change.NEW
    assert changes["account:333:role"] is Change.GONE
    assert "account:222:role" not in changes
    assert result.unchanged == 2
    assert result.items[0].change is Change.BROKE  # worst news first
    assert result.previous_started_at == T0


def test_no_previous_run_no_drift() -> None:
    assert not drift(None, _report(Status.PASS, {})).changed


def test_report_status_is_the_worst() -> None:
    assert _report(Status.PASS, {"1": (Status.PASS, Status.PASS)}).status is Status.PASS
    assert _report(Status.PASS, {"1": (Status.PASS, Status.FAIL)}).status is Status.FAIL


def test_permission_step_follows_the_plan() -> None:
    assert permission_step(Plan(), "acm") == "attach-AWSCertificateManagerFullAccess"
    assert permission_step(Plan(), "organizations") == "attach-AWSOrganizationsReadOnlyAccess"


def test_redact() -> None:
    assert redact(None) is None
    assert redact("ASIAY34FZKBOKMUTVV7A and AKIAIOSFODNN7EXAMPLE") == "[access key id] and [access key id]"
    assert "[redacted]" in (redact("x topsecret y", ["topsecret"]) or "")
    assert Cause.ROLE_MISSING.value == "role-missing"
