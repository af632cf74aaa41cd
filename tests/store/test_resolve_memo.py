"""The access check's memo (prepared.Prepared(memo=...), share_links._access).

A resolved link's row is processed and built into records once per stored
values: the same object comes back while the row is unchanged, a change to
the row (a revocation, a saved plan, a tick's revision) is a new entry, and
a purge forgets every entry, so nothing deleted stays in memory (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.domain.plan import Plan
from app.store import db, share_links, steps, wizards


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'memo.sqlite3'}")
    db.upgrade(engine)
    yield engine
    db.release_held_connections(engine)
    engine.dispose()


def test_an_unchanged_link_resolves_to_the_same_records_and_a_change_is_seen(engine: Engine) -> None:
    now = db.utcnow()
    wizard, token = wizards.create_wizard(engine, plan=Plan(), actor="a", now=now, link_days=30)
    first = share_links.resolve(engine, token=token, now=now)
    assert first is not None and first is share_links.resolve(engine, token=token, now=now)
    steps.set_step_done(engine, wizard_id=wizard.id, step_id="create-user", done=True, actor="a", now=now)
    ticked = share_links.resolve(engine, token=token, now=now)
    assert ticked is not None and ticked.wizard.revision == first.wizard.revision + 1
    # Expiry is checked on every request, not kept with the row.
    assert share_links.resolve(engine, token=token, now=now + timedelta(days=31)) is None
    share_links.revoke_links(engine, wizard_id=wizard.id, actor="a", now=now)
    assert share_links.resolve(engine, token=token, now=now) is None


def test_a_purge_forgets_every_memoized_row(engine: Engine) -> None:
    now = db.utcnow()
    wizard, token = wizards.create_wizard(engine, plan=Plan(), actor="a", now=now, link_days=30)
    assert share_links.resolve(engine, token=token, now=now) is not None
    assert share_links._RESOLVE._rows and share_links._access.cache_info().currsize
    share_links.revoke_links(engine, wizard_id=wizard.id, actor="a", now=now)
    wizards.purge_expired(engine, now=now)
    assert not share_links._RESOLVE._rows
    assert share_links._access.cache_info().currsize == 0
