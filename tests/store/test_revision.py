"""Every write that changes a wizard page moves the wizard's revision itself (issue 14).

The page cache keys a page on the revision (app/web/render.py, PageKey). A
write says that the wizard changed (`wizards.changed`) explicitly; logging an
audit event alone does not, and a write that changes nothing leaves it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.domain.plan import parse_plan
from app.store import audit_log, db, share_links, steps, wizards


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_each_write_moves_the_revision_and_an_event_alone_does_not(engine: Engine) -> None:
    now = db.utcnow()
    record, token = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    wizard_id = record.id

    def revision() -> int:
        access = share_links.resolve(engine, token=token, now=db.utcnow())
        assert access is not None
        return access.wizard.revision

    seen = [revision()]

    def moved(by: int) -> None:
        seen.append(revision())
        assert seen[-1] == seen[-2] + by, seen

    audit_log.log_event(engine, wizard_id=wizard_id, actor="ana", kind="note", now=now)
    moved(0)
    share_links.mint_link(engine, wizard_id=wizard_id, kind="view", label="v", actor="ana", now=now, days=3)
    moved(1)
    share_links.revoke_links(engine, wizard_id=wizard_id, actor="ana", now=now, kind="view")
    moved(1)
    share_links.revoke_links(engine, wizard_id=wizard_id, actor="ana", now=now, kind="view")
    moved(0)  # nothing left to revoke
    wizards.update_plan(
        engine,
        wizard_id=wizard_id,
        plan=parse_plan({"scope": "account"}),
        expected_version=1,
        actor="ana",
        now=now,
    )
    moved(1)
    steps.set_step_done(engine, wizard_id=wizard_id, step_id="create-user", done=True, actor="ana", now=now)
    moved(1)
    steps.set_step_done(engine, wizard_id=wizard_id, step_id="create-user", done=True, actor="ana", now=now)
    moved(0)  # already done
    steps.set_step_note(
        engine, wizard_id=wizard_id, step_id="create-user", note="n", expected_version=0, actor="ana", now=now
    )
    moved(1)
