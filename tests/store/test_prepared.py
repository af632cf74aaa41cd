"""prepared.Prepared on SQLite gives what SQLAlchemy's Connection.execute gives.

Two copies of one populated SQLite file: every prepared statement of the
store runs on one copy through Prepared (the driver fast path) and on the
other through Connection.execute, with the same parameters. The rows they
return must be equal value for value and type for type, and afterwards the
two files must hold byte-identical values (read with the plain sqlite3
module, so a datetime stored in another text format would show).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.domain.plan import Plan
from app.domain.tokens import token_digest
from app.store import audit_log, db, share_links, steps, verifications, wizards
from app.store.prepared import Prepared

NOW = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)
TABLES = ("wizard", "share_link", "step_state", "event")


@pytest.fixture
def two_copies(tmp_path: Path) -> Iterator[tuple[Engine, Engine, dict[str, Any]]]:
    first = tmp_path / "first.sqlite3"
    engine = db.make_engine(f"sqlite:///{first}")
    db.upgrade(engine)
    wizard, edit = wizards.create_wizard(engine, plan=Plan(), actor="Alice", now=NOW, link_days=30)
    _, view = share_links.mint_link(
        engine, wizard_id=wizard.id, kind="view", label="v", actor="Alice", now=NOW, days=1
    )
    revoked_link, revoked = share_links.mint_link(
        engine, wizard_id=wizard.id, kind="view", label="r", actor="Alice", now=NOW, days=1
    )
    share_links.revoke_links(engine, wizard_id=wizard.id, actor="Alice", now=NOW, link_id=revoked_link.id)
    steps.set_step_done(engine, wizard_id=wizard.id, step_id="create-user", done=True, actor="Bob", now=NOW)
    steps.set_step_note(
        engine,
        wizard_id=wizard.id,
        step_id="put-inline-policy",
        note="ticket ✓",
        expected_version=0,
        actor="Bob",
        now=NOW,
    )
    job = verifications.start_job(
        engine,
        wizard_id=wizard.id,
        source="form",
        now=NOW,
        interrupted_after=60,
        min_seconds_between_runs=0,
        server_cap=5,
    )
    db.release_held_connections(engine)
    engine.dispose()
    second = tmp_path / "second.sqlite3"
    shutil.copy(first, second)
    engines = (db.make_engine(f"sqlite:///{first}"), db.make_engine(f"sqlite:///{second}"))
    facts = {"wizard_id": wizard.id, "tokens": [edit, view, revoked, "A" * 43], "job_id": job.id}
    yield engines[0], engines[1], facts
    for each in engines:
        db.release_held_connections(each)
        each.dispose()


def _cases(facts: dict[str, Any]) -> list[tuple[Prepared, dict[str, Any]]]:
    wizard_id = facts["wizard_id"]
    later = NOW + timedelta(minutes=5)
    tick = steps._tick_statement("sqlite")
    step = {"wizard_id": wizard_id}
    return [
        *[(share_links._RESOLVE, {"digest": token_digest(token)}) for token in facts["tokens"]],
        (steps._STEPS, {"wizard_id": wizard_id}),
        (steps._STEPS, {"wizard_id": "no-such-wizard"}),
        (steps._STEP, {**step, "step_id": "create-user"}),
        (steps._STEP, {**step, "step_id": "no-such-step"}),
        (steps._DONE_STEP_IDS, step),
        # insert a new state; change nothing (same done); untick; untick again (nothing)
        (tick, {**step, "step_id": "attach-policies", "done": True, "done_by": "Carol", "done_at": later}),
        (tick, {**step, "step_id": "create-user", "done": True, "done_by": "Carol", "done_at": later}),
        (steps._UNTICK, {"w_id": wizard_id, "s_id": "create-user"}),
        (steps._UNTICK, {"w_id": wizard_id, "s_id": "create-user"}),
        (tick, {**step, "step_id": "create-user", "done": True, "done_by": "Dan ✓", "done_at": later}),
        (
            audit_log._INSERT_EVENT,
            {"wizard_id": wizard_id, "at": later, "actor": "Dan", "kind": "k", "detail": "{}"},
        ),
        (wizards._BUMP_REVISION, {"w_id": wizard_id}),
        (verifications._NEWEST_JOB, step),
        (verifications._NEWEST_JOB, {"wizard_id": "no-such-wizard"}),
        (verifications._JOB_BY_ID, {**step, "job_id": facts["job_id"]}),
        (verifications._JOB_BY_ID, {**step, "job_id": "no-such-job"}),
    ]


def _dump(path: str) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES}  # noqa: S608


def _typed(rows: Any) -> list[list[tuple[type, Any]]]:
    return [[(type(value), value) for value in row] for row in rows]


def test_every_prepared_statement_matches_sqlalchemy(
    two_copies: tuple[Engine, Engine, dict[str, Any]],
) -> None:
    fast_engine, core_engine, facts = two_copies
    cases = _cases(facts)
    prepared = {
        id(value)
        for module in (audit_log, share_links, steps, verifications, wizards)
        for value in vars(module).values()
        if isinstance(value, Prepared)
    }
    prepared.add(id(steps._tick_statement("sqlite")))
    assert prepared == {id(statement) for statement, _ in cases}, "a Prepared statement without a case here"
    ran = 0
    for statement, params in cases:
        has_rows = bool(list(getattr(statement.statement, "exported_columns", ())))
        with db.writing(fast_engine) as fast, db.writing(core_engine) as core:
            if has_rows:
                got = statement.all(fast, params)
                want = core.execute(statement.statement, params).all()
                assert _typed(got) == _typed(want), statement.statement
                assert [row._asdict() for row in got] == [row._asdict() for row in want]
            else:
                statement.run(fast, params)
                core.execute(statement.statement, params)
        ran += 1
    assert ran == len(cases), "every case ran"
    fast_dump = _dump(fast_engine.url.database or "")
    assert fast_dump == _dump(core_engine.url.database or "")
    # The cases did reach the data: a resolved token, a stored event, a changed step.
    assert any(row[1] == "attach-policies" for row in fast_dump["step_state"])
    assert any(
        isinstance(row[2], str) and row[2].startswith("2026-11-28 12:05:00") for row in fast_dump["event"]
    )
    with db.reading(fast_engine) as conn:
        assert share_links._RESOLVE.first(conn, {"digest": token_digest(facts["tokens"][0])}).kind == "edit"
        assert share_links._RESOLVE.first(conn, {"digest": token_digest("A" * 43)}) is None


def test_prepared_refuses_a_dialect_it_cannot_bind_positionally() -> None:
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    from app.store.prepared import _compile

    with pytest.raises(ValueError, match="qmark"):
        _compile(select(steps.STEP), postgresql.dialect())
