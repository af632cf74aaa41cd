"""Repository functions for checklist steps: who ticked which step, and its note.

Keyword-only arguments, frozen records out; a tick is one upsert and a note a
versioned save (a stale version raises Conflict), each in one short write
transaction with its audit event (audit_log.add_event).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite

from app.store.audit_log import add_event
from app.store.database import MAX_NOTE
from app.store.db import Conflict, as_utc, reading, writing
from app.store.models import STEP_STATE as STEP
from app.store.prepared import Prepared
from app.store.wizards import changed


@dataclass(frozen=True, slots=True)
class StepRecord:
    step_id: str
    done: bool
    done_by: str
    done_at: datetime | None
    note: str
    version: int


def _step(row: Any) -> StepRecord:
    return StepRecord(
        step_id=row.step_id,
        done=bool(row.done),
        done_by=row.done_by,
        done_at=as_utc(row.done_at) if row.done_at else None,
        note=row.note,
        version=row.version,
    )


# Run on every page view: built once with bind parameters and Prepared (prepared.py).
_STEPS = Prepared(select(STEP).where(STEP.c.wizard_id == bindparam("wizard_id")))


# Control characters but tab and line feed: PostgreSQL refuses NUL in text (a
# DataError, once a 500 found by tests/web/test_form_fuzz.py), and none of
# them means anything in a note; dropped on every backend alike.
_NOTE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_note(text: str) -> str:
    """A note as typed: browser line endings made plain, control characters dropped, blank space trimmed."""
    return _NOTE_CONTROLS.sub("", text.replace("\r\n", "\n")).strip()


def step_states(engine: Engine, *, wizard_id: str) -> dict[str, StepRecord]:
    with reading(engine) as conn:
        rows = _STEPS.all(conn, {"wizard_id": wizard_id})
    return {row.step_id: _step(row) for row in rows}


@lru_cache(maxsize=4)
def _tick_statement(dialect: str) -> Prepared:
    """INSERT a step state, or UPDATE it only if `done` changes (SQLite and PostgreSQL upsert)."""
    insert_: Callable[[Table], Any]
    if dialect == "postgresql":
        # Imported here: SQLAlchemy's PostgreSQL dialect is ~2.5% of a SQLite
        # server's start-up imports (docs/decisions.md#cold-start).
        from sqlalchemy.dialects import postgresql

        insert_ = postgresql.insert
    else:
        insert_ = sqlite.insert
    statement = insert_(STEP).values(
        wizard_id=bindparam("wizard_id"),
        step_id=bindparam("step_id"),
        done=bindparam("done"),
        done_by=bindparam("done_by"),
        done_at=bindparam("done_at"),
        note="",
        version=0,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["wizard_id", "step_id"],
        set_={
            "done": statement.excluded.done,
            "done_by": statement.excluded.done_by,
            "done_at": statement.excluded.done_at,
        },
        where=STEP.c.done != statement.excluded.done,
        # RETURNING, not rowcount: psycopg reports -1 for this upsert on PostgreSQL.
        # The whole row: it is the state the tick returns.
    ).returning(*STEP.c)
    return Prepared(upsert)


_UNTICK = Prepared(
    update(STEP)
    .where(STEP.c.wizard_id == bindparam("w_id"), STEP.c.step_id == bindparam("s_id"), STEP.c.done)
    .values(done=False, done_by="", done_at=None)
    .returning(*STEP.c)
)
_STEP = Prepared(
    select(STEP).where(STEP.c.wizard_id == bindparam("wizard_id"), STEP.c.step_id == bindparam("step_id"))
)
_DONE_STEP_IDS = Prepared(
    select(STEP.c.step_id).where(STEP.c.wizard_id == bindparam("wizard_id"), STEP.c.done)
)


def set_step_done(
    engine: Engine, *, wizard_id: str, step_id: str, done: bool, actor: str, now: datetime
) -> StepRecord | None:
    """Tick or untick a step; return its state as this transaction left it (None: it has none).

    Idempotent: setting a step to the state it already has changes nothing and
    logs nothing. Only this step's row comes back: a tick's page needs it and
    the number of steps done (`done_step_ids`), and reading every step's row
    here cost a fifth of a tick (bench/README.md).
    """
    with writing(engine) as conn:
        if done:
            ticked = _tick_statement(conn.dialect.name).first(
                conn,
                {
                    "wizard_id": wizard_id,
                    "step_id": step_id,
                    "done": True,
                    "done_by": actor[:80],
                    "done_at": now,
                },
            )
        else:
            # Unticking a step nobody ticked creates nothing.
            ticked = _UNTICK.first(conn, {"w_id": wizard_id, "s_id": step_id})
        if ticked is not None:
            kind = "step.done" if done else "step.undone"
            add_event(conn, wizard_id=wizard_id, actor=actor, kind=kind, now=now, step=step_id)
            changed(conn, wizard_id=wizard_id)
            row = ticked
        else:
            row = _STEP.first(conn, {"wizard_id": wizard_id, "step_id": step_id})
    return None if row is None else _step(row)


def done_step_ids(engine: Engine, *, wizard_id: str) -> frozenset[str]:
    """The ids of the wizard's steps that are done (a plan change may leave some outside its checklist)."""
    with reading(engine) as conn:
        return frozenset(row.step_id for row in _DONE_STEP_IDS.all(conn, {"wizard_id": wizard_id}))


def set_step_note(
    engine: Engine,
    *,
    wizard_id: str,
    step_id: str,
    note: str,
    expected_version: int,
    actor: str,
    now: datetime,
) -> StepRecord:
    """Save a note if nobody saved one since `expected_version`; raise Conflict otherwise."""
    if len(note) > MAX_NOTE:
        # Same answer on SQLite as on PostgreSQL, which would refuse it with a DataError.
        raise ValueError(f"a note has at most {MAX_NOTE} characters")
    with writing(engine) as conn:
        current = conn.execute(
            select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)
        ).first()
        current_version = current.version if current is not None else 0
        if current_version != expected_version:
            raise Conflict(_step(current) if current is not None else None)
        if current is None:
            conn.execute(
                insert(STEP).values(
                    wizard_id=wizard_id,
                    step_id=step_id,
                    done=False,
                    done_by="",
                    done_at=None,
                    note=note,
                    version=1,
                )
            )
        else:
            updated = conn.execute(
                update(STEP)
                .where(
                    STEP.c.wizard_id == wizard_id,
                    STEP.c.step_id == step_id,
                    STEP.c.version == expected_version,
                )
                .values(note=note, version=expected_version + 1)
            ).rowcount
            if updated != 1:
                # Only reachable where writers are not serialised (PostgreSQL, READ COMMITTED).
                row = conn.execute(
                    select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)
                ).one()
                raise Conflict(_step(row))
        add_event(conn, wizard_id=wizard_id, actor=actor, kind="step.note", now=now, step=step_id)
        changed(conn, wizard_id=wizard_id)
        row = conn.execute(select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)).one()
    return _step(row)
