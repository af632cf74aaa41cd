"""Verification jobs (issue 12): limits decided in one transaction over every connection, stale heartbeats.

Each thread uses its own engine (its own connections), as separate server
processes would; both backends (a SQLite file, PostgreSQL under
scripts/with-postgres.sh).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from app.domain.plan import Plan
from app.domain.verification.jobs import JobState, RunRefused, VerificationProgress
from app.store import db, wizards
from app.store.verifications import JobRecord, beat, end_jobs, find_job, start_job

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STALE = 30.0


def _start(engine: Engine, wizard_id: str, now: datetime, cap: int) -> JobRecord:
    return start_job(
        engine,
        wizard_id=wizard_id,
        source="demo",
        now=now,
        interrupted_after=STALE,
        min_seconds_between_runs=10,
        server_cap=cap,
    )


def _race(database_url: str, wizard_ids: list[str], cap: int) -> tuple[list[str], list[str]]:
    """Every thread starts a run of its wizard at the same moment; returns (started ids, refusals)."""
    started: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(len(wizard_ids))

    def attempt(wizard_id: str) -> None:
        engine = db.make_engine(database_url)
        try:
            barrier.wait()
            job = _start(engine, wizard_id, T0, cap)
            started.append(job.id)
        except RunRefused as refusal:
            refused.append(str(refusal))
        finally:
            db.release_held_connections(engine)
            engine.dispose()

    threads = [threading.Thread(target=attempt, args=(w,)) for w in wizard_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return started, refused


def _wizards(database_url: str, count: int) -> list[str]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    try:
        return [
            wizards.create_wizard(engine, plan=Plan(), actor="a", now=T0, link_days=1)[0].id
            for _ in range(count)
        ]
    finally:
        db.release_held_connections(engine)
        engine.dispose()


def test_one_run_per_wizard_whoever_asks(database_url: str) -> None:
    (wizard,) = _wizards(database_url, 1)
    started, refused = _race(database_url, [wizard] * 6, cap=64)
    assert len(started) == 1 and len(refused) == 5
    assert all("already running" in message for message in refused)


def test_the_server_wide_cap_holds_across_connections(database_url: str) -> None:
    wizards = _wizards(database_url, 6)
    started, refused = _race(database_url, wizards, cap=2)
    assert len(started) == 2 and len(refused) == 4
    assert all("as many verifications" in message for message in refused)


def test_a_stale_heartbeat_reads_as_interrupted_and_frees_its_slot(database_url: str) -> None:
    first, second = _wizards(database_url, 2)
    engine = db.make_engine(database_url)
    try:
        job = _start(engine, first, T0, 1)
        beat(
            engine,
            job_id=job.id,
            progress=VerificationProgress(done=3, total=9, phase="x"),
            now=T0 + timedelta(seconds=20),
        )
        alive = find_job(
            engine, wizard_id=first, job_id=job.id, now=T0 + timedelta(seconds=45), interrupted_after=STALE
        )
        assert alive is not None and alive.state is JobState.RUNNING and alive.progress.done == 3
        assert find_job(engine, wizard_id=second, job_id=job.id, now=T0, interrupted_after=STALE) is None

        later = T0 + timedelta(seconds=51)  # 31 s after the last heartbeat
        dead = find_job(engine, wizard_id=first, job_id=None, now=later, interrupted_after=STALE)
        assert dead is not None and dead.state is JobState.INTERRUPTED
        with pytest.raises(RunRefused):  # still alive at 45 s: the cap of 1 is taken
            _start(engine, second, T0 + timedelta(seconds=45), 1)
        again = _start(engine, second, later, 1)
        # A late heartbeat of the dead process does not bring its job back.
        beat(engine, job_id=job.id, progress=VerificationProgress(done=4, total=9), now=later)
        assert (
            find_job(engine, wizard_id=first, job_id=None, now=later, interrupted_after=STALE).state
            is JobState.INTERRUPTED
        )  # type: ignore[union-attr]
        end_jobs(engine, job_ids=[again.id], state=JobState.INTERRUPTED, now=later)
        ended = find_job(engine, wizard_id=second, job_id=again.id, now=later, interrupted_after=STALE)
        assert ended is not None and ended.state is JobState.INTERRUPTED
    finally:
        db.release_held_connections(engine)
        engine.dispose()
