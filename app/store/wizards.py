"""Repository functions for wizards: their plans, creation, versioned saves and purging.

Keyword-only arguments, plain frozen records out, SQLAlchemy Core over the
Core tables of models.py (an ORM Session costs ~150 µs per request on this kind of
machine, docs/decisions.md). Every write is one short transaction with its
audit event (audit_log.add_event); nothing here calls AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, or_, select, update

from app.domain.plan import Plan, stored_plan
from app.domain.tokens import new_token, new_wizard_id, token_digest
from app.store import models
from app.store.audit_log import add_event
from app.store.db import Conflict, NotFound, as_utc, writing
from app.store.prepared import Prepared, forget_memos

WIZARD: Table = models.WIZARD
LINK: Table = models.SHARE_LINK


@dataclass(frozen=True, slots=True)
class WizardRecord:
    id: str
    plan: Plan
    version: int
    created_at: datetime
    updated_at: datetime
    # Moves on every change to the wizard (see models.WIZARD, revision).
    revision: int = 0
    # What an upgrade removed from the stored plan (models.WIZARD, notice); "" when nothing.
    notice: str = ""


# Built once with a bind parameter and Prepared, like every statement a tick runs (prepared.py).
_BUMP_REVISION = Prepared(
    update(WIZARD).where(WIZARD.c.id == bindparam("w_id")).values(revision=WIZARD.c.revision + 1)
)


def changed(conn: Connection, *, wizard_id: str) -> None:
    """Move the wizard's revision inside the caller's write transaction: its cached pages go stale.

    Every write that changes what a wizard page shows calls this itself
    (app/web/render.py, PageKey); logging an audit event does not do it for it.
    """
    _BUMP_REVISION.run(conn, {"w_id": wizard_id})


@lru_cache(maxsize=1024)
def plan_from_json(plan_json: str) -> Plan:
    """The plan a wizard row stores.

    Plans are immutable; the same stored JSON always parses to the same plan
    object, so caches keyed by plan (checklist, artifacts) find it by identity
    rather than by pydantic's field-by-field __eq__ (~2.5 µs a lookup, timeit).
    An older version's plan loads without what the plan no longer takes
    (app/domain/plan.py, stored_plan; migration 0006 records what it dropped).
    """
    return stored_plan(json.loads(plan_json))[0]


def _wizard(row: Any) -> WizardRecord:
    return WizardRecord(
        id=row.id,
        plan=plan_from_json(row.plan_json),
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        revision=row.revision,
        notice=row.notice,
    )


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
        id=wizard_id, plan=plan_from_json(plan_json), version=1, created_at=now, updated_at=now
    )
    return record, token


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
        old = plan_from_json(before.plan_json).to_json_dict()
        fields = [name for name, value in plan.to_json_dict().items() if old.get(name) != value]
        add_event(
            conn,
            wizard_id=wizard_id,
            actor=actor,
            kind="plan.changed",
            now=now,
            version=expected_version + 1,
            changed=fields,
        )
        changed(conn, wizard_id=wizard_id)
        row = conn.execute(select(WIZARD).where(WIZARD.c.id == wizard_id)).one()
    return _wizard(row)


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
    # Rows kept in memory by the hot statements (prepared.py) go with them.
    forget_memos()
    return {"links": int(links or 0), "wizards": int(wizards or 0)}
