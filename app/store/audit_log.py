"""Repository functions for the audit trail: the event table.

Every change to a wizard is an event, written inside the change's own write
transaction (`add_event`). Logging an event does not touch the wizard: each
write also says that the wizard changed (`wizards.changed`), which is what
keys its cached pages. Keyword-only arguments, frozen records out,
SQLAlchemy Core over the Core tables of models.py (an ORM Session costs ~150 µs per
request on this kind of machine, docs/decisions.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select

from app.store.db import as_utc, reading, writing
from app.store.models import EVENT
from app.store.prepared import Prepared

MAX_EVENT_DETAIL = 4000  # models.EVENT.c.detail


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


# Statements used on every write, built once with bind parameters (building a
# statement per call cost more than running it) and Prepared: on SQLite they
# skip SQLAlchemy's execution path (prepared.py).
_INSERT_EVENT = Prepared(
    insert(EVENT).values(
        wizard_id=bindparam("wizard_id"),
        at=bindparam("at"),
        actor=bindparam("actor"),
        kind=bindparam("kind"),
        detail=bindparam("detail"),
    )
)


def add_event(
    conn: Connection, *, wizard_id: str, actor: str, kind: str, now: datetime, **detail: Any
) -> None:
    """Record an event inside the caller's write transaction (log_event opens its own)."""
    text = json.dumps(detail, sort_keys=True)
    if len(text) > MAX_EVENT_DETAIL:
        # PostgreSQL enforces the column's VARCHAR length (SQLite does not): keep
        # the event, and say which fields were too long to store.
        text = json.dumps({"truncated": True, "keys": sorted(detail)})
    _INSERT_EVENT.run(
        conn, {"wizard_id": wizard_id, "at": now, "actor": actor[:80], "kind": kind, "detail": text}
    )


def log_event(engine: Engine, *, wizard_id: str, actor: str, kind: str, now: datetime, **detail: Any) -> None:
    with writing(engine) as conn:
        add_event(conn, wizard_id=wizard_id, actor=actor, kind=kind, now=now, **detail)


def events(engine: Engine, *, wizard_id: str, limit: int = 200, offset: int = 0) -> list[EventRecord]:
    """The wizard's events, newest first: `limit` of them after skipping the `offset` newest."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(EVENT)
            .where(EVENT.c.wizard_id == wizard_id)
            .order_by(EVENT.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
    return [
        EventRecord(at=as_utc(r.at), actor=r.actor, kind=r.kind, detail=json.loads(r.detail or "{}"))
        for r in rows
    ]
