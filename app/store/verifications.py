"""Repository functions for verification runs (issue 4) and the jobs that produce them (issue 12).

A run is saved once, when it has finished: nothing holds a write transaction
across an AWS call, and an interrupted run leaves no half row. While it runs,
its job row (progress, heartbeat) is what every server process reads: any
replica or worker answers a progress poll, and the limits (one run at a time
per wizard, a server-wide cap) are decided inside one write transaction —
SQLite's write lock (BEGIN IMMEDIATE), or a transaction-level advisory lock
on PostgreSQL — so two processes can never both start past them. What is saved
is the report (checks, accounts, timings, caller ARN) — never a secret, token
or key: `Report` has no field for one, and AWS messages are redacted before
they reach it (app.domain.verification.redaction.redact).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, desc, insert, select, update

from app.domain.verification.jobs import JobState, RunRefused, VerificationProgress, job_state, start_refusal
from app.domain.verification.results import Report, Status
from app.store.audit_log import add_event
from app.store.db import as_utc, reading, writing
from app.store.models import VERIFICATION_JOB as JOB
from app.store.models import VERIFICATION_RUN as RUN
from app.store.prepared import Prepared
from app.store.wizards import changed

# Jobs kept per wizard: the newest few (the page shows the newest one only).
KEEP_JOBS = 10
# Key of the PostgreSQL advisory lock that serialises run starts across replicas
# (any constant shared by every replica, distinct from db.MIGRATION_LOCK_KEY;
# https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
START_LOCK_KEY = 0x63775F766572

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
        report=Report.from_json(row.results_json) if with_report else None,
    )


def save_run(engine: Engine, *, wizard_id: str, report: Report, actor: str, job_id: str | None = None) -> str:
    """Store a finished run (and an audit event); keep the newest KEEP_RUNS per wizard. Returns its id.

    With `job_id`, the job that ran it is marked done in the same transaction,
    so a reader sees the job running or the run saved, never neither.
    """
    run_id = secrets.token_hex(16)
    summary = report.summary()
    with writing(engine) as conn:
        if job_id is not None:
            conn.execute(
                update(JOB)
                .where(JOB.c.id == job_id)
                .values(state=JobState.DONE.value, run_id=run_id, heartbeat_at=report.finished_at)
            )
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
        changed(conn, wizard_id=wizard_id)
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


# --- jobs: verifications in progress (issue 12) ---------------------------------------


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    wizard_id: str
    source: str
    started_at: datetime
    state: JobState  # as a reader should report it: a stale heartbeat reads as INTERRUPTED
    progress: VerificationProgress
    run_id: str | None


def _job(row: Any, *, now: datetime, interrupted_after: float) -> JobRecord:
    age = (now - as_utc(row.heartbeat_at)).total_seconds()
    return JobRecord(
        id=row.id,
        wizard_id=row.wizard_id,
        source=row.source,
        started_at=as_utc(row.started_at),
        state=job_state(row.state, heartbeat_age_seconds=age, interrupted_after_seconds=interrupted_after),
        progress=VerificationProgress(done=row.done, total=row.total, phase=row.phase, failures=row.failures),
        run_id=row.run_id,
    )


def _lock_starts(conn: Connection) -> None:
    """Serialise run starts across processes: SQLite's BEGIN IMMEDIATE already holds the write lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({START_LOCK_KEY})")


def start_job(
    engine: Engine,
    *,
    wizard_id: str,
    source: str,
    now: datetime,
    interrupted_after: float,
    min_seconds_between_runs: float,
    server_cap: int,
) -> JobRecord:
    """Record a new running job if the limits allow it, or raise RunRefused; one short transaction.

    Running jobs whose heartbeat is stale are marked interrupted here (they
    count against no limit). The caller starts the work after this commits:
    no write transaction is held across an AWS call.
    """
    job_id = secrets.token_hex(8)
    with writing(engine) as conn:
        _lock_starts(conn)
        running = [
            _job(row, now=now, interrupted_after=interrupted_after)
            for row in conn.execute(select(JOB).where(JOB.c.state == JobState.RUNNING.value)).all()
        ]
        dead = [job.id for job in running if job.state is JobState.INTERRUPTED]
        if dead:
            conn.execute(update(JOB).where(JOB.c.id.in_(dead)).values(state=JobState.INTERRUPTED.value))
        alive = [job for job in running if job.state is JobState.RUNNING]
        last_start = conn.execute(
            select(JOB.c.started_at)
            .where(JOB.c.wizard_id == wizard_id)
            .order_by(desc(JOB.c.started_at))
            .limit(1)
        ).scalar()
        refusal = start_refusal(
            wizard_running=any(job.wizard_id == wizard_id for job in alive),
            seconds_since_last_start=(now - as_utc(last_start)).total_seconds() if last_start else None,
            min_seconds_between_runs=min_seconds_between_runs,
            server_running=len(alive),
            server_cap=server_cap,
        )
        if refusal is not None:
            raise RunRefused(refusal)
        conn.execute(
            insert(JOB).values(
                id=job_id,
                wizard_id=wizard_id,
                source=source[:16],
                state=JobState.RUNNING.value,
                started_at=now,
                heartbeat_at=now,
                done=0,
                total=0,
                failures=0,
                phase="starting",
            )
        )
        old = (
            conn.execute(
                select(JOB.c.id)
                .where(JOB.c.wizard_id == wizard_id, JOB.c.state != JobState.RUNNING.value)
                .order_by(desc(JOB.c.started_at))
                .offset(KEEP_JOBS)
            )
            .scalars()
            .all()
        )
        if old:
            conn.execute(JOB.delete().where(JOB.c.id.in_(old)))
    return JobRecord(job_id, wizard_id, source[:16], now, JobState.RUNNING, VerificationProgress(), None)


def beat(engine: Engine, *, job_id: str, progress: VerificationProgress, now: datetime) -> None:
    """The running process's heartbeat: the job's progress and the time, while it is still running."""
    with writing(engine) as conn:
        conn.execute(
            update(JOB)
            .where(JOB.c.id == job_id, JOB.c.state == JobState.RUNNING.value)
            .values(
                heartbeat_at=now,
                done=progress.done,
                total=progress.total,
                failures=progress.failures,
                phase=progress.phase[:200],
            )
        )


def end_jobs(engine: Engine, *, job_ids: list[str], state: JobState, now: datetime) -> None:
    """Mark running jobs FAILED (an unexpected error) or INTERRUPTED (their process is stopping)."""
    if not job_ids:
        return
    with writing(engine) as conn:
        conn.execute(
            update(JOB)
            .where(JOB.c.id.in_(job_ids), JOB.c.state == JobState.RUNNING.value)
            .values(state=state.value, heartbeat_at=now)
        )


def find_job(
    engine: Engine, *, wizard_id: str, job_id: str | None, now: datetime, interrupted_after: float
) -> JobRecord | None:
    """The wizard's job `job_id`, or its newest job when `job_id` is None."""
    with reading(engine) as conn:
        if job_id is None:
            row = _NEWEST_JOB.first(conn, {"wizard_id": wizard_id})
        else:
            row = _JOB_BY_ID.first(conn, {"wizard_id": wizard_id, "job_id": job_id})
    return _job(row, now=now, interrupted_after=interrupted_after) if row else None


# Read by every view of the Verify page and every poll of a run's progress:
# built once and Prepared (prepared.py); building the statement per call was
# most of a cached Verify page's time (cProfile, bench/README.md).
_NEWEST_JOB = Prepared(
    select(JOB).where(JOB.c.wizard_id == bindparam("wizard_id")).order_by(desc(JOB.c.started_at)).limit(1)
)
_JOB_BY_ID = Prepared(
    select(JOB).where(JOB.c.wizard_id == bindparam("wizard_id"), JOB.c.id == bindparam("job_id")).limit(1)
)
