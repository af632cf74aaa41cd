"""Repository functions: the only code that reads and writes wizard data.

Keyword-only arguments, plain frozen records out, SQLAlchemy Core over the
SQLModel tables (an ORM Session costs ~150 µs per request on this kind of
machine, docs/decisions.md). Every write is one short transaction; nothing here
calls AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.plan import Plan, stored_plan
from app.domain.tokens import new_token, new_wizard_id, token_digest
from app.store.db import reading, writing
from app.store.models import Event, ShareLink, StepState, Wizard
from app.store.prepared import Prepared

WIZARD: Table = Wizard.__table__  # type: ignore[attr-defined]
LINK: Table = ShareLink.__table__  # type: ignore[attr-defined]
STEP: Table = StepState.__table__  # type: ignore[attr-defined]
EVENT: Table = Event.__table__  # type: ignore[attr-defined]
MAX_EVENT_DETAIL = 4000  # models.Event.detail
MAX_NOTE = 2000  # models.StepState.note
# Versions are INTEGER columns: PostgreSQL's holds at most 2**31 - 1, and a larger
# number in a comparison fails there with a DataError (a 500) instead of matching nothing.
MAX_VERSION = 2**31 - 1


class Conflict(Exception):
    """A versioned edit lost a race: someone saved first. Carries the current state."""

    def __init__(self, current: Any) -> None:
        super().__init__("stale version")
        self.current = current


class NotFound(Exception):
    pass


@dataclass(frozen=True, slots=True)
class WizardRecord:
    id: str
    plan: Plan
    version: int
    created_at: datetime
    updated_at: datetime
    # Moves on every change to the wizard (see models.Wizard.revision).
    revision: int = 0
    # What an upgrade removed from the stored plan (models.Wizard.notice); "" when nothing.
    notice: str = ""


@dataclass(frozen=True, slots=True)
class StepRecord:
    step_id: str
    done: bool
    done_by: str
    done_at: datetime | None
    note: str
    version: int


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: int
    wizard_id: str
    kind: str
    label: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or as_utc(self.expires_at) > now)


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Access:
    """What a share-link token opens."""

    link: LinkRecord
    wizard: WizardRecord

    @property
    def can_edit(self) -> bool:
        return self.link.kind == "edit"


@lru_cache(maxsize=1024)
def _plan_from_json(plan_json: str) -> Plan:
    # Plans are immutable; the same stored JSON always parses to the same plan
    # object, so caches keyed by plan (checklist, artifacts) find it by identity
    # rather than by pydantic's field-by-field __eq__ (~2.5 µs a lookup, timeit).
    # An older version's plan loads without what the plan no longer takes
    # (app/domain/plan.py, stored_plan; migration 0006 records what it dropped).
    return stored_plan(json.loads(plan_json))[0]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wizard(row: Any) -> WizardRecord:
    return WizardRecord(
        id=row.id,
        plan=_plan_from_json(row.plan_json),
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        revision=row.revision,
        notice=row.notice,
    )


def _link(row: Any) -> LinkRecord:
    return LinkRecord(
        id=row.id,
        wizard_id=row.wizard_id,
        kind=row.kind,
        label=row.label,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        step_id=row.step_id,
        done=bool(row.done),
        done_by=row.done_by,
        done_at=as_utc(row.done_at) if row.done_at else None,
        note=row.note,
        version=row.version,
    )


# Statements used on every page view and write, built once with bind
# parameters (building a statement per call cost more than running it) and
# Prepared: on SQLite they skip SQLAlchemy's execution path (prepared.py).
_INSERT_EVENT = Prepared(
    insert(EVENT).values(
        wizard_id=bindparam("wizard_id"),
        at=bindparam("at"),
        actor=bindparam("actor"),
        kind=bindparam("kind"),
        detail=bindparam("detail"),
    )
)
_BUMP_REVISION = Prepared(
    update(WIZARD).where(WIZARD.c.id == bindparam("w_id")).values(revision=WIZARD.c.revision + 1)
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
    # Every logged change moves the wizard's revision: cached pages of the old one go stale.
    _BUMP_REVISION.run(conn, {"w_id": wizard_id})


# --- wizards and links -------------------------------------------------------


def create_wizard(
    engine: Engine, *, plan: Plan, actor: str, now: datetime, link_days: int
) -> tuple[WizardRecord, str]:
    """Create a wizard and its first edit link; return the record and the raw edit token."""
    wizard_id = new_wizard_id()
    token = new_token()
    plan_json = plan.model_dump_json()
    with writing(engine) as conn:
        conn.execute(
            insert(WIZARD).values(
                id=wizard_id, plan_json=plan_json, version=1, created_at=now, updated_at=now
            )
        )
        conn.execute(
            insert(LINK).values(
                wizard_id=wizard_id,
                token_sha256=token_digest(token),
                kind="edit",
                label="Edit link",
                created_at=now,
                created_by=actor[:80],
                expires_at=now + timedelta(days=link_days),
            )
        )
        add_event(
            conn, wizard_id=wizard_id, actor=actor, kind="wizard.created", now=now, scope=plan.scope.value
        )
    # The plan as stored, the object every later read of this wizard gets.
    record = WizardRecord(
        id=wizard_id, plan=_plan_from_json(plan_json), version=1, created_at=now, updated_at=now
    )
    return record, token


_RESOLVE = Prepared(
    select(
        LINK,
        WIZARD.c.plan_json,
        WIZARD.c.version.label("wizard_version"),
        WIZARD.c.created_at.label("w_created"),
        WIZARD.c.updated_at.label("w_updated"),
        WIZARD.c.revision.label("w_revision"),
        WIZARD.c.notice.label("w_notice"),
    )
    .join(WIZARD, WIZARD.c.id == LINK.c.wizard_id)
    .where(LINK.c.token_sha256 == bindparam("digest"))
)
_STEPS = Prepared(select(STEP).where(STEP.c.wizard_id == bindparam("wizard_id")))


def resolve(engine: Engine, *, token: str, now: datetime) -> Access | None:
    """The wizard and link a token opens, or None if unknown, expired or revoked."""
    with reading(engine) as conn:
        row = _RESOLVE.first(conn, {"digest": token_digest(token)})
    if row is None:
        return None
    link = _link(row)
    if not link.is_active(now):
        return None
    wizard = WizardRecord(
        id=row.wizard_id,
        plan=_plan_from_json(row.plan_json),
        version=row.wizard_version,
        created_at=as_utc(row.w_created),
        updated_at=as_utc(row.w_updated),
        revision=row.w_revision,
        notice=row.w_notice,
    )
    return Access(link=link, wizard=wizard)


def mint_link(
    engine: Engine, *, wizard_id: str, kind: str, label: str, actor: str, now: datetime, days: int
) -> tuple[LinkRecord, str]:
    token = new_token()
    with writing(engine) as conn:
        result = conn.execute(
            insert(LINK).values(
                wizard_id=wizard_id,
                token_sha256=token_digest(token),
                kind=kind,
                label=label[:100],
                created_at=now,
                created_by=actor[:80],
                expires_at=now + timedelta(days=days),
            )
        )
        link_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        add_event(
            conn,
            wizard_id=wizard_id,
            actor=actor,
            kind="link.minted",
            now=now,
            link_kind=kind,
            label=label[:100],
            days=days,
        )
        row = conn.execute(select(LINK).where(LINK.c.id == link_id)).one()
    return _link(row), token


def list_links(engine: Engine, *, wizard_id: str) -> list[LinkRecord]:
    with reading(engine) as conn:
        rows = conn.execute(select(LINK).where(LINK.c.wizard_id == wizard_id).order_by(LINK.c.id)).all()
    return [_link(row) for row in rows]


def revoke_links(
    engine: Engine,
    *,
    wizard_id: str,
    actor: str,
    now: datetime,
    link_id: int | None = None,
    kind: str | None = None,
) -> int:
    """Revoke one link (link_id), all links of a kind, or every link; return how many."""
    conditions = [LINK.c.wizard_id == wizard_id, LINK.c.revoked_at.is_(None)]
    if link_id is not None:
        conditions.append(LINK.c.id == link_id)
    if kind is not None:
        conditions.append(LINK.c.kind == kind)
    with writing(engine) as conn:
        count = conn.execute(update(LINK).where(and_(*conditions)).values(revoked_at=now)).rowcount
        if count:
            add_event(
                conn,
                wizard_id=wizard_id,
                actor=actor,
                kind="link.revoked",
                now=now,
                count=count,
                link_id=link_id,
                link_kind=kind,
            )
    return int(count or 0)


def update_plan(
    engine: Engine, *, wizard_id: str, plan: Plan, expected_version: int, actor: str, now: datetime
) -> WizardRecord:
    """Save a new plan if nobody saved since `expected_version`; raise Conflict otherwise."""
    with writing(engine) as conn:
        before = conn.execute(
            select(WIZARD.c.plan_json).where(WIZARD.c.id == wizard_id, WIZARD.c.version == expected_version)
        ).first()
        result = conn.execute(
            update(WIZARD)
            .where(WIZARD.c.id == wizard_id, WIZARD.c.version == expected_version)
            # A saved plan is one someone chose: an upgrade's notice about the old one is done.
            .values(plan_json=plan.model_dump_json(), version=WIZARD.c.version + 1, updated_at=now, notice="")
        )
        if before is None or result.rowcount != 1:
            row = conn.execute(select(WIZARD).where(WIZARD.c.id == wizard_id)).first()
            if row is None:
                raise NotFound(wizard_id)
            raise Conflict(_wizard(row))
        # Which fields changed, for the audit trail (read in the same write transaction).
        old = _plan_from_json(before.plan_json).to_json_dict()
        changed = [name for name, value in plan.to_json_dict().items() if old.get(name) != value]
        add_event(
            conn,
            wizard_id=wizard_id,
            actor=actor,
            kind="plan.changed",
            now=now,
            version=expected_version + 1,
            changed=changed,
        )
        row = conn.execute(select(WIZARD).where(WIZARD.c.id == wizard_id)).one()
    return _wizard(row)


# --- steps -------------------------------------------------------------------


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
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
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
            changed = _tick_statement(conn.dialect.name).first(
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
            changed = _UNTICK.first(conn, {"w_id": wizard_id, "s_id": step_id})
        if changed is not None:
            kind = "step.done" if done else "step.undone"
            add_event(conn, wizard_id=wizard_id, actor=actor, kind=kind, now=now, step=step_id)
            row = changed
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
        row = conn.execute(select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)).one()
    return _step(row)


# --- events ------------------------------------------------------------------


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


# --- housekeeping ------------------------------------------------------------


def purge_expired(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Delete expired and revoked links, then wizards past expiry or left with no link."""
    with writing(engine) as conn:
        links = conn.execute(
            delete(LINK).where(or_(LINK.c.expires_at <= now, LINK.c.revoked_at.is_not(None)))
        ).rowcount
        # A wizard no link opens any more is unreachable: delete it with its steps and events.
        wizards = conn.execute(
            delete(WIZARD).where(
                or_(WIZARD.c.expires_at <= now, WIZARD.c.id.not_in(select(LINK.c.wizard_id)))
            )
        ).rowcount
    return {"links": int(links or 0), "wizards": int(wizards or 0)}
