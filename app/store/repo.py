"""Repository functions: the only code that reads and writes wizard data.

Keyword-only arguments, plain frozen records out, SQLAlchemy Core over the
SQLModel tables (an ORM Session costs ~150 µs per request on this kind of
machine, ENGINEERING.md). Every write is one short transaction; nothing here
calls AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.plan import Plan
from app.domain.tokens import new_token, new_wizard_id, token_digest
from app.store.db import reading, writing
from app.store.models import Event, ShareLink, StepState, Wizard

WIZARD: Table = Wizard.__table__  # type: ignore[attr-defined]
LINK: Table = ShareLink.__table__  # type: ignore[attr-defined]
STEP: Table = StepState.__table__  # type: ignore[attr-defined]
EVENT: Table = Event.__table__  # type: ignore[attr-defined]


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
        return self.revoked_at is None and (self.expires_at is None or _aware(self.expires_at) > now)


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


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wizard(row: Any) -> WizardRecord:
    return WizardRecord(
        id=row.id,
        plan=Plan.model_validate_json(row.plan_json),
        version=row.version,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def _link(row: Any) -> LinkRecord:
    return LinkRecord(
        id=row.id,
        wizard_id=row.wizard_id,
        kind=row.kind,
        label=row.label,
        created_at=_aware(row.created_at),
        created_by=row.created_by,
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        step_id=row.step_id,
        done=bool(row.done),
        done_by=row.done_by,
        done_at=_aware(row.done_at) if row.done_at else None,
        note=row.note,
        version=row.version,
    )


def _log(conn: Connection, *, wizard_id: str, actor: str, kind: str, now: datetime, **detail: Any) -> None:
    conn.execute(
        insert(EVENT).values(
            wizard_id=wizard_id,
            at=now,
            actor=actor[:80],
            kind=kind,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


# --- wizards and links -------------------------------------------------------


def create_wizard(
    engine: Engine, *, plan: Plan, actor: str, now: datetime, link_days: int
) -> tuple[WizardRecord, str]:
    """Create a wizard and its first edit link; return the record and the raw edit token."""
    wizard_id = new_wizard_id()
    token = new_token()
    with writing(engine) as conn:
        conn.execute(
            insert(WIZARD).values(
                id=wizard_id, plan_json=plan.model_dump_json(), version=1, created_at=now, updated_at=now
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
        _log(conn, wizard_id=wizard_id, actor=actor, kind="wizard.created", now=now, scope=plan.scope.value)
    record = WizardRecord(id=wizard_id, plan=plan, version=1, created_at=now, updated_at=now)
    return record, token


def resolve(engine: Engine, *, token: str, now: datetime) -> Access | None:
    """The wizard and link a token opens, or None if unknown, expired or revoked."""
    digest = token_digest(token)
    with reading(engine) as conn:
        row = conn.execute(
            select(
                LINK,
                WIZARD.c.plan_json,
                WIZARD.c.version.label("wizard_version"),
                WIZARD.c.created_at.label("w_created"),
                WIZARD.c.updated_at.label("w_updated"),
            )
            .join(WIZARD, WIZARD.c.id == LINK.c.wizard_id)
            .where(LINK.c.token_sha256 == digest)
        ).first()
    if row is None:
        return None
    link = _link(row)
    if not link.is_active(now):
        return None
    wizard = WizardRecord(
        id=row.wizard_id,
        plan=Plan.model_validate_json(row.plan_json),
        version=row.wizard_version,
        created_at=_aware(row.w_created),
        updated_at=_aware(row.w_updated),
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
        _log(
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
            _log(
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
        result = conn.execute(
            update(WIZARD)
            .where(WIZARD.c.id == wizard_id, WIZARD.c.version == expected_version)
            .values(plan_json=plan.model_dump_json(), version=WIZARD.c.version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            row = conn.execute(select(WIZARD).where(WIZARD.c.id == wizard_id)).first()
            if row is None:
                raise NotFound(wizard_id)
            raise Conflict(_wizard(row))
        _log(
            conn, wizard_id=wizard_id, actor=actor, kind="plan.changed", now=now, version=expected_version + 1
        )
        row = conn.execute(select(WIZARD).where(WIZARD.c.id == wizard_id)).one()
    return _wizard(row)


# --- steps -------------------------------------------------------------------


def step_states(engine: Engine, *, wizard_id: str) -> dict[str, StepRecord]:
    with reading(engine) as conn:
        rows = conn.execute(select(STEP).where(STEP.c.wizard_id == wizard_id)).all()
    return {row.step_id: _step(row) for row in rows}


def _upsert(
    conn: Connection, table: Table, values: dict[str, Any], keys: list[str], updates: dict[str, Any]
) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=updates))
    else:
        lite = sqlite.insert(table).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=updates))


def set_step_done(
    engine: Engine, *, wizard_id: str, step_id: str, done: bool, actor: str, now: datetime
) -> StepRecord:
    """Idempotent: setting a step to the state it already has changes nothing."""
    with writing(engine) as conn:
        current = conn.execute(
            select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)
        ).first()
        if current is None or bool(current.done) != done:
            _upsert(
                conn,
                STEP,
                {
                    "wizard_id": wizard_id,
                    "step_id": step_id,
                    "done": done,
                    "done_by": actor[:80] if done else "",
                    "done_at": now if done else None,
                    "note": "",
                    "version": 0,
                },
                ["wizard_id", "step_id"],
                {"done": done, "done_by": actor[:80] if done else "", "done_at": now if done else None},
            )
            _log(
                conn,
                wizard_id=wizard_id,
                actor=actor,
                kind="step.done" if done else "step.undone",
                now=now,
                step=step_id,
            )
        row = conn.execute(select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)).one()
    return _step(row)


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
            conn.execute(
                update(STEP)
                .where(
                    STEP.c.wizard_id == wizard_id,
                    STEP.c.step_id == step_id,
                    STEP.c.version == expected_version,
                )
                .values(note=note, version=expected_version + 1)
            )
        _log(conn, wizard_id=wizard_id, actor=actor, kind="step.note", now=now, step=step_id)
        row = conn.execute(select(STEP).where(STEP.c.wizard_id == wizard_id, STEP.c.step_id == step_id)).one()
    return _step(row)


# --- events ------------------------------------------------------------------


def log_event(engine: Engine, *, wizard_id: str, actor: str, kind: str, now: datetime, **detail: Any) -> None:
    with writing(engine) as conn:
        _log(conn, wizard_id=wizard_id, actor=actor, kind=kind, now=now, **detail)


def events(engine: Engine, *, wizard_id: str, limit: int = 200) -> list[EventRecord]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(EVENT).where(EVENT.c.wizard_id == wizard_id).order_by(EVENT.c.id.desc()).limit(limit)
        ).all()
    return [
        EventRecord(at=_aware(r.at), actor=r.actor, kind=r.kind, detail=json.loads(r.detail or "{}"))
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
