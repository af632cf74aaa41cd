"""Repository functions for share links: the capabilities a wizard is opened with.

A link is stored by the SHA-256 of its token, never the token itself
(app/domain/tokens.py); `resolve` turns a token into what it opens. Keyword-only
arguments, frozen records out; every change is one short write transaction
with its audit event (audit_log.add_event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, and_, bindparam, insert, select, update

from app.domain.tokens import new_token, token_digest
from app.store.audit_log import add_event
from app.store.db import as_utc, reading, writing
from app.store.prepared import Prepared, on_forget
from app.store.wizards import LINK, WIZARD, WizardRecord, changed, plan_from_json


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
class Access:
    """What a share-link token opens."""

    link: LinkRecord
    wizard: WizardRecord

    @property
    def can_edit(self) -> bool:
        return self.link.kind == "edit"


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


# Run on every page view: built once with bind parameters and Prepared
# (prepared.py), its rows memoized, and the records built from a row kept
# with it (`_access`): an unchanged link and wizard are not parsed again.
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
    .where(LINK.c.token_sha256 == bindparam("digest")),
    memo=1024,
)


def resolve(engine: Engine, *, token: str, now: datetime) -> Access | None:
    """The wizard and link a token opens, or None if unknown, expired or revoked."""
    with reading(engine) as conn:
        row = _RESOLVE.first(conn, {"digest": token_digest(token)})
    if row is None:
        return None
    access = _access(row)
    return access if access.link.is_active(now) else None


@lru_cache(maxsize=1024)
def _access(row: Any) -> Access:
    """The records a resolved row holds (frozen, so one object serves every request that reads the row)."""
    wizard = WizardRecord(
        id=row.wizard_id,
        plan=plan_from_json(row.plan_json),
        version=row.wizard_version,
        created_at=as_utc(row.w_created),
        updated_at=as_utc(row.w_updated),
        revision=row.w_revision,
        notice=row.w_notice,
    )
    return Access(link=_link(row), wizard=wizard)


on_forget(_access.cache_clear)


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
        changed(conn, wizard_id=wizard_id)
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
            changed(conn, wizard_id=wizard_id)
    return int(count or 0)
