"""Verification runs in a real SQLite file: save, read back, baseline for drift, cascade, bounded history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from app.domain.plan import Plan
from app.domain.verification.results import CheckResult, Report, Status
from app.store import audit_log, db, wizards
from app.store.verifications import KEEP_RUNS, get_run, latest_run, list_runs, previous_run, save_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    db.upgrade(engine)
    return engine


def _report(at: datetime, status: Status = Status.PASS) -> Report:
    return Report(
        scope="organization",
        role_name="R",
        regions=("us-east-1",),
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        caller_arn="arn:aws:iam::123456789012:user/c",
        checks=(CheckResult("identity", "Identity", status, "sts:GetCallerIdentity", "ok"),),
    )


def test_save_and_read_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    wizard, _ = wizards.create_wizard(engine, plan=Plan(), actor="a", now=T0, link_days=1)
    first = save_run(engine, wizard_id=wizard.id, report=_report(T0), actor="alice")
    second = save_run(
        engine, wizard_id=wizard.id, report=_report(T0 + timedelta(hours=1), Status.FAIL), actor="bob"
    )

    latest = latest_run(engine, wizard_id=wizard.id)
    assert latest is not None and latest.id == second and latest.status is Status.FAIL
    assert latest.report == _report(T0 + timedelta(hours=1), Status.FAIL)
    baseline = previous_run(engine, wizard_id=wizard.id, before=latest.started_at)
    assert baseline is not None and baseline.id == first and baseline.actor == "alice"
    assert [r.id for r in list_runs(engine, wizard_id=wizard.id)] == [second, first]
    assert get_run(engine, wizard_id="other", run_id=first) is None
    kinds = [e.kind for e in audit_log.events(engine, wizard_id=wizard.id)]
    assert kinds.count("verification.finished") == 2


def test_history_is_bounded_and_deleted_with_the_wizard(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    wizard, _ = wizards.create_wizard(engine, plan=Plan(), actor="a", now=T0, link_days=1)
    for minute in range(KEEP_RUNS + 3):
        save_run(engine, wizard_id=wizard.id, report=_report(T0 + timedelta(minutes=minute)), actor="a")
    assert len(list_runs(engine, wizard_id=wizard.id, limit=1000)) == KEEP_RUNS
    with db.writing(engine) as conn:
        conn.execute(text("DELETE FROM wizard WHERE id = :id"), {"id": wizard.id})
    with db.reading(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM verification_run")).scalar() == 0


def test_a_run_stored_by_an_earlier_version_reads_back(tmp_path: Path) -> None:
    # results_json exactly as the code before pydantic's codec saved it (tests/fixtures/stored-reports/).
    stored = (
        Path(__file__).parent.parent / "fixtures" / "stored-reports" / "demo-organization-d81a049.json"
    ).read_text()
    engine = _engine(tmp_path)
    wizard, _ = wizards.create_wizard(engine, plan=Plan(), actor="a", now=T0, link_days=1)
    run_id = save_run(engine, wizard_id=wizard.id, report=_report(T0), actor="alice")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE verification_run SET results_json = :j WHERE id = :i"), {"j": stored, "i": run_id}
        )
    run = get_run(engine, wizard_id=wizard.id, run_id=run_id)
    assert run is not None and run.report is not None
    assert run.report == Report.from_json(stored)
    assert run.report.caller_arn == "arn:aws:iam::123456789012:user/digicert-tlm-connector"
    assert len(run.report.accounts) == 10 and run.report.status is Status.FAIL
    assert run.report.to_json_dict() == json.loads(stored)
