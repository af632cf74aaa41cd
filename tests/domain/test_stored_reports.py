"""Stored verification reports of earlier versions still load, and nothing in them is lost.

The fixtures are `results_json` exactly as the hand-written codec saved it
before pydantic took over (commit d81a049, tests/fixtures/stored-reports/);
the store reads every run's report from that column.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.verification.causes import Cause
from app.domain.verification.results import AccountResult, CheckResult, RegionResult, Report, Status

STORED = Path(__file__).parent.parent / "fixtures" / "stored-reports"
FILES = sorted(STORED.glob("*.json"))


def test_there_are_stored_reports() -> None:
    assert len(FILES) >= 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_stored_report_loads_and_writes_the_same_values(path: Path) -> None:
    text = path.read_text()
    report = Report.from_json(text)
    # Every key an earlier version wrote comes back with the same value,
    # derived ones (statuses, summary counts) included: nothing lost, nothing renamed.
    assert json.loads(report.to_json()) == json.loads(text)
    assert report.to_json_dict() == json.loads(text)
    assert Report.from_json(report.to_json()) == report


def test_a_stored_report_loads_as_typed_values() -> None:
    report = Report.from_json((STORED / "recheck-d81a049.json").read_text())
    assert report.started_at == datetime(2026, 11, 30, 9, 15, 2, 123456, tzinfo=UTC)
    assert report.started_at.tzinfo is UTC
    assert report.regions == ("us-east-1", "ap-southeast-3")
    assert report.only_accounts == ("444455556666", "777788889999", "111122223333")
    acm = report.checks[1]
    assert acm == CheckResult(
        "acm",
        "ACM",
        Status.FAIL,
        "acm:ListCertificates",
        "Denied.",
        fix="attach-AWSCertificateManagerFullAccess",
        error_code="AccessDeniedException",
        cause=Cause.CALLER_POLICY,
        region="ap-southeast-3",
        detail="User: arn:aws:iam::111122223333:user/tlm is not authorized to perform: acm:ListCertificates",
    )
    assert acm.status is Status.FAIL and acm.cause is Cause.CALLER_POLICY
    prod = report.accounts[0]
    assert prod.regions[1] == RegionResult(
        "ap-southeast-3",
        Status.FAIL,
        "UnrecognizedClientException",
        Cause.REGION_NOT_ENABLED,
        "Opt-in region.",
    )
    assert prod.status is Status.FAIL and prod.elapsed_ms == 412
    management = report.accounts[2]
    assert isinstance(management, AccountResult) and management.is_management
    assert management.status is Status.WARN and management.cause is Cause.ROLE_NOT_ASSUMABLE
    assert report.status is Status.FAIL
    assert report.summary() == json.loads((STORED / "recheck-d81a049.json").read_text())["summary"]


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def test_the_first_versions_report_loads() -> None:
    # The first stored format (commit 6fa7275) had no only_accounts: a run then checked every account.
    data = json.loads((STORED / "recheck-d81a049.json").read_text())
    first = Report.from_json(json.dumps(_without(data, "only_accounts")))
    assert first.only_accounts == ()
    assert first.accounts == Report.from_json(json.dumps(data)).accounts


def test_a_damaged_report_is_refused_not_half_loaded() -> None:
    data = json.loads((STORED / "recheck-d81a049.json").read_text())
    data["checks"][0]["status"] = "maybe"
    with pytest.raises(ValueError, match="status"):
        Report.from_json(json.dumps(data))
