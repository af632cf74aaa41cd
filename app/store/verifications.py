"""Repository functions for verification runs (issue 4).

A run is saved once, when it has finished: nothing holds a write transaction
across an AWS call, and an interrupted run leaves no half row. What is saved
is the report (checks, accounts, timings, caller ARN) — never a secret, token
or key: `Report` has no field for one, and AWS messages are redacted before
they reach it (app.domain.verification.redact).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, desc, insert, select

from app.domain.verification import Report, Status
from app.store.db import reading, writing
from app.store.models import VerificationRun
from app.store.repo import add_event, as_utc

RUN: Table = VerificationRun.__table__  # type: ignore[attr-defined]

# Runs kept per wizard: enough history for drift and an audit trail, bounded.
KEEP_RUNS = 50


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    wizard_id: str
    started_at: datetime
    finished_at: datetime
    actor: str
    source: str
    caller_arn: str
    status: Status
    summary: dict[str, int]
    report: Report | None  # None in listings (summary only)


def _record(row: Any, *, with_report: bool) -> RunRecord:
    return RunRecord(
        id=row.id,
        wizard_id=row.wizard_id,
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        actor=row.actor,
        source=row.source,
        caller_arn=row.caller_arn,
        status=Status(row.status),
        summary=json.loads(row.summary_json),
        report=Report.from_json_dict(json.loads(row.results_json)) if with_report else None,
    )


def save_run(engine: Engine, *, wizard_id: str, report: Report, actor: str) -> str:
    """Store a finished run (and an audit event); keep the newest KEEP_RUNS per wizard. Returns its id."""
    run_id = secrets.token_hex(16)
    summary = report.summary()
    with writing(engine) as conn:
        conn.execute(
            insert(RUN).values(
                id=run_id,
                wizard_id=wizard_id,
                started_at=report.started_at,
                finished_at=report.finished_at,
                actor=actor[:80],
                source=report.source[:16],
                caller_arn=report.caller_arn[:2048],
                status=report.status.value,
                summary_json=json.dumps(summary, sort_keys=True),
                results_json=report.to_json(),
            )
        )
        old = (
            conn.execute(
                select(RUN.c.id)
                .where(RUN.c.wizard_id == wizard_id)
                .order_by(desc(RUN.c.started_at))
                .offset(KEEP_RUNS)
            )
            .scalars()
            .all()
        )
        if old:
            conn.execute(RUN.delete().where(RUN.c.id.in_(old)))
        add_event(
            conn,
            wizard_id=wizard_id,
            actor=actor,
            kind="verification.finished",
            now=report.finished_at,
            run=run_id,
            status=report.status.value,
            accounts=summary["accounts"],
            failed_checks=summary["checks_fail"],
            failed_accounts=summary["accounts_fail"],
        )
    return run_id


def _newest(engine: Engine, wizard_id: str, *where: Any) -> RunRecord | None:
    """The newest run of this wizard matching every condition in `where`, with its report."""
    with reading(engine) as conn:
        row = conn.execute(
            select(RUN).where(RUN.c.wizard_id == wizard_id, *where).order_by(desc(RUN.c.started_at)).limit(1)
        ).first()
    return _record(row, with_report=True) if row else None


def get_run(engine: Engine, *, wizard_id: str, run_id: str) -> RunRecord | None:
    return _newest(engine, wizard_id, RUN.c.id == run_id)  # the id is the primary key: one row at most


def latest_run(engine: Engine, *, wizard_id: str) -> RunRecord | None:
    return _newest(engine, wizard_id)


def previous_run(engine: Engine, *, wizard_id: str, before: datetime) -> RunRecord | None:
    """The newest run that started before `before` (the baseline for drift)."""
    return _newest(engine, wizard_id, RUN.c.started_at < before)


def list_runs(engine: Engine, *, wizard_id: str, limit: int = 20) -> list[RunRecord]:
    columns = [c for c in RUN.c if c.name != "results_json"]
    with reading(engine) as conn:
        rows = conn.execute(
            select(*columns).where(RUN.c.wizard_id == wizard_id).order_by(desc(RUN.c.started_at)).limit(limit)
        ).all()
    return [_record(row, with_report=False) for row in rows]
