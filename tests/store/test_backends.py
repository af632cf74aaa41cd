"""The store behaves the same on SQLite and PostgreSQL.

Every test here runs twice through the `database_url` fixture: on a fresh
SQLite file and on a fresh PostgreSQL database (marked `postgres`; it runs
under scripts/with-postgres.sh). The migrations build the schema in both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select

from app.domain.plan import parse_plan
from app.store import audit_log, db, share_links, steps, wizards


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def _count(engine: Engine, table: object) -> int:
    with db.reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_migrations_reach_head_and_a_second_upgrade_is_a_no_op(engine: Engine) -> None:
    assert db.current_revision(engine) == db.head_revision()
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert {"wizard", "share_link", "step_state", "event"} <= set(inspect(engine).get_table_names())


def test_concurrent_upgrades_on_an_empty_database_all_succeed(database_url: str) -> None:
    # Several workers (or replicas) start at once and each migrates on start.
    engines = [db.make_engine(database_url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def migrate(engine: Engine) -> None:
        barrier.wait()
        try:
            db.upgrade(engine)
        except BaseException as error:  # reported below
            errors.append(error)

    # Daemon threads: without the migration lock they can wait on each other for
    # ever (seen on PostgreSQL); the test must then fail, not hang.
    threads = [threading.Thread(target=migrate, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert not any(thread.is_alive() for thread in threads), "migrations still running after 30 s"
        assert errors == []
        assert all(db.current_revision(engine) == db.head_revision() for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()


def test_wizard_round_trip_with_aware_utc_times(engine: Engine) -> None:
    now = db.utcnow()
    plan = parse_plan({"scope": "organization", "regions": ["us-east-1", "eu-west-1"]})
    record, token = wizards.create_wizard(engine, plan=plan, actor="ana", now=now, link_days=30)
    access = share_links.resolve(engine, token=token, now=now)
    assert access is not None
    assert access.wizard.id == record.id
    assert access.wizard.plan == plan
    assert access.can_edit
    assert access.wizard.created_at == now
    assert access.wizard.created_at.tzinfo is not None
    assert access.link.expires_at == now + timedelta(days=30)
    assert share_links.resolve(engine, token=token, now=now + timedelta(days=31)) is None
    assert share_links.resolve(engine, token="x" * 43, now=now) is None


def test_links_mint_list_revoke(engine: Engine) -> None:
    now = db.utcnow()
    record, edit_token = wizards.create_wizard(
        engine, plan=parse_plan({}), actor="ana", now=now, link_days=30
    )
    link, view_token = share_links.mint_link(
        engine, wizard_id=record.id, kind="view", label="L" * 150, actor="b" * 200, now=now, days=7
    )
    assert link.id > 0
    assert link.label == "L" * 100  # cut to the column, on both backends
    assert link.created_by == "b" * 80
    view = share_links.resolve(engine, token=view_token, now=now)
    assert view is not None and not view.can_edit
    assert [item.kind for item in share_links.list_links(engine, wizard_id=record.id)] == ["edit", "view"]
    assert share_links.revoke_links(engine, wizard_id=record.id, actor="ana", now=now, kind="view") == 1
    assert share_links.resolve(engine, token=view_token, now=now) is None
    assert share_links.resolve(engine, token=edit_token, now=now) is not None


def test_plan_update_is_versioned(engine: Engine) -> None:
    now = db.utcnow()
    record, _ = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    account = parse_plan({"scope": "account"})
    updated = wizards.update_plan(
        engine, wizard_id=record.id, plan=account, expected_version=1, actor="ana", now=now
    )
    assert updated.version == 2
    with pytest.raises(db.Conflict) as conflict:
        wizards.update_plan(
            engine, wizard_id=record.id, plan=parse_plan({}), expected_version=1, actor="bo", now=now
        )
    assert conflict.value.current.version == 2
    assert conflict.value.current.plan == account
    with pytest.raises(db.NotFound):
        wizards.update_plan(engine, wizard_id="0" * 32, plan=account, expected_version=1, actor="bo", now=now)


def test_a_wizards_plan_is_one_object_from_creation_on(engine: Engine) -> None:
    # wizards.plan_from_json: caches keyed by plan (checklist, artifacts) then hit by identity.
    now = db.utcnow()
    record, token = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    access = share_links.resolve(engine, token=token, now=now)
    assert access is not None and access.wizard.plan is record.plan


def test_step_ticks_are_idempotent_upserts(engine: Engine) -> None:
    now = db.utcnow()
    record, _ = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)

    def tick(step_id: str, done: bool, actor: str, at: datetime) -> steps.StepRecord | None:
        return steps.set_step_done(
            engine, wizard_id=record.id, step_id=step_id, done=done, actor=actor, now=at
        )

    first = tick("create-user", True, "ana", now)
    assert first is not None and first.done and first.done_by == "ana" and first.done_at == now
    # The second tick changes nothing, not even who or when; it returns the stored state.
    assert tick("create-user", True, "bo", now + timedelta(minutes=1)) == first
    assert tick("never-ticked", False, "bo", now) is None  # unticking nothing creates nothing
    assert tick("attach-policies", True, "bo", now) is not None
    assert steps.done_step_ids(engine, wizard_id=record.id) == {"create-user", "attach-policies"}
    undone = tick("create-user", False, "bo", now)
    assert undone is not None and not undone.done and undone.done_at is None and undone.done_by == ""
    assert tick("create-user", False, "cy", now) == undone
    assert steps.done_step_ids(engine, wizard_id=record.id) == {"attach-policies"}
    kinds = [event.kind for event in audit_log.events(engine, wizard_id=record.id)]
    assert kinds == ["step.undone", "step.done", "step.done", "wizard.created"]
    states = steps.step_states(engine, wizard_id=record.id)
    assert states["create-user"] == undone and states["attach-policies"].done_by == "bo"
    assert set(states) == {"create-user", "attach-policies"}


def test_step_notes_are_versioned(engine: Engine) -> None:
    now = db.utcnow()
    record, _ = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    note = steps.set_step_note(
        engine,
        wizard_id=record.id,
        step_id="create-user",
        note="done by hand",
        expected_version=0,
        actor="ana",
        now=now,
    )
    assert note.version == 1
    with pytest.raises(db.Conflict):
        steps.set_step_note(
            engine,
            wizard_id=record.id,
            step_id="create-user",
            note="stale",
            expected_version=0,
            actor="bo",
            now=now,
        )
    assert steps.step_states(engine, wizard_id=record.id)["create-user"].note == "done by hand"


def test_a_note_over_the_column_limit_is_refused_on_both_backends(engine: Engine) -> None:
    # PostgreSQL enforces VARCHAR(2000); SQLite would store anything. Same answer on both.
    now = db.utcnow()
    record, _ = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    with pytest.raises(ValueError, match="2000"):
        steps.set_step_note(
            engine,
            wizard_id=record.id,
            step_id="create-user",
            note="n" * 2001,
            expected_version=0,
            actor="ana",
            now=now,
        )
    assert steps.step_states(engine, wizard_id=record.id) == {}


def test_an_event_detail_over_the_column_limit_is_stored_summarised(engine: Engine) -> None:
    now = db.utcnow()
    record, _ = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    audit_log.log_event(
        engine, wizard_id=record.id, actor="ana", kind="verify.finished", now=now, report="r" * 5000, ok=1
    )
    latest = audit_log.events(engine, wizard_id=record.id)[0]
    assert latest.kind == "verify.finished"
    assert latest.detail == {"truncated": True, "keys": ["ok", "report"]}


def test_purge_deletes_expired_links_and_orphaned_wizards_with_their_rows(engine: Engine) -> None:
    now = db.utcnow()
    old, _ = wizards.create_wizard(
        engine, plan=parse_plan({}), actor="ana", now=now - timedelta(days=40), link_days=30
    )
    steps.set_step_done(engine, wizard_id=old.id, step_id="create-user", done=True, actor="ana", now=now)
    kept, token = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    assert wizards.purge_expired(engine, now=now) == {"links": 1, "wizards": 1}
    assert share_links.resolve(engine, token=token, now=now) is not None
    assert steps.step_states(engine, wizard_id=old.id) == {}  # ON DELETE CASCADE on both backends
    assert audit_log.events(engine, wizard_id=old.id) == []
    assert audit_log.events(engine, wizard_id=kept.id) != []
    assert _count(engine, wizards.WIZARD) == 1


def test_stored_times_are_utc(engine: Engine) -> None:
    # An aware time in another zone comes back as the same instant, in UTC.
    from datetime import datetime, timezone

    paris = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    _, token = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=paris, link_days=1)
    access = share_links.resolve(engine, token=token, now=paris)
    assert access is not None
    assert access.wizard.created_at == paris
    assert access.wizard.created_at.utcoffset() == timedelta(0) or access.wizard.created_at.tzinfo == UTC
