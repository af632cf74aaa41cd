"""Upgrades keep data: first migration, fill, upgrade to head, every row still there.

Runs on SQLite and PostgreSQL (`database_url`). The rows are written with SQL
matching the FIRST migration's schema, so the test keeps meaning something as
later migrations change the models. A synthetic batch migration that rebuilds
the parent `wizard` table shows why db.upgrade() turns SQLite's foreign keys
off while migrating: with them on, the rebuild cascades into every child table.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from app.resources import resource_path
from app.store import db

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WIZARDS = 3
STEPS_PER_WIZARD = 4
EVENTS_PER_WIZARD = 5
CHILD_TABLES = ("share_link", "step_state", "event")


def _first_revision() -> str:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    (base,) = script.get_bases()
    return base


def _fill_at_first_revision(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    """Insert wizards, links, ticks and events with the first migration's columns; return what went in."""
    rows: dict[str, set[tuple[Any, ...]]] = {
        "wizard": set(),
        "share_link": set(),
        "step_state": set(),
        "event": set(),
    }
    with db.writing(engine) as conn:
        for w in range(WIZARDS):
            wizard_id = f"{w:032x}"
            conn.execute(
                text(
                    "INSERT INTO wizard (id, plan_json, version, created_at, updated_at, expires_at) "
                    "VALUES (:id, :plan, :version, :now, :now, NULL)"
                ),
                {"id": wizard_id, "plan": '{"scope": "organization"}', "version": w + 1, "now": NOW},
            )
            rows["wizard"].add((wizard_id, w + 1))
            conn.execute(
                text(
                    "INSERT INTO share_link (wizard_id, token_sha256, kind, label, created_at, created_by) "
                    "VALUES (:w, :sha, 'edit', 'Edit link', :now, 'ana')"
                ),
                {"w": wizard_id, "sha": f"{w:064x}", "now": NOW},
            )
            rows["share_link"].add((wizard_id, f"{w:064x}"))
            for s in range(STEPS_PER_WIZARD):
                conn.execute(
                    text(
                        "INSERT INTO step_state (wizard_id, step_id, done, done_by, done_at, note, version) "
                        "VALUES (:w, :step, :done, 'ana', :now, :note, 1)"
                    ),
                    {
                        "w": wizard_id,
                        "step": f"step-{s}",
                        "done": s % 2 == 0,
                        "now": NOW,
                        "note": f"note {s}",
                    },
                )
                rows["step_state"].add((wizard_id, f"step-{s}"))
            for e in range(EVENTS_PER_WIZARD):
                conn.execute(
                    text(
                        "INSERT INTO event (wizard_id, at, actor, kind, detail) "
                        "VALUES (:w, :now, 'ana', 'step.done', :detail)"
                    ),
                    {"w": wizard_id, "now": NOW, "detail": f'{{"n": {e}}}'},
                )
                rows["event"].add((wizard_id, f'{{"n": {e}}}'))
    return rows


def _read(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    queries = {
        "wizard": "SELECT id, version FROM wizard",
        "share_link": "SELECT wizard_id, token_sha256 FROM share_link",
        "step_state": "SELECT wizard_id, step_id FROM step_state",
        "event": "SELECT wizard_id, detail FROM event",
    }
    with db.reading(engine) as conn:
        return {table: {tuple(row) for row in conn.execute(text(sql))} for table, sql in queries.items()}


def _foreign_key_problems(engine: Engine) -> list[Any]:
    if engine.dialect.name != "sqlite":
        return []  # PostgreSQL checks every foreign key on every write
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("PRAGMA foreign_key_check").all())


@pytest.fixture
def engine(database_url: str) -> Any:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


def test_upgrade_from_the_first_migration_keeps_every_row(engine: Engine) -> None:
    db.upgrade(engine, _first_revision())
    before = _fill_at_first_revision(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _read(engine) == before
    assert _foreign_key_problems(engine) == []


REBUILD_WIZARD = '''"""test only: rebuild the parent table, as a batch migration does on SQLite"""

from alembic import op

revision = "zz_rebuild_wizard"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wizard", recreate="always") as batch_op:
        batch_op.alter_column("plan_json", existing_nullable=False)


def downgrade() -> None:
    pass
'''


def _scripts_with_a_rebuild_of_wizard(tmp_path: Path, url: str) -> Config:
    scripts = tmp_path / "migrations"
    shutil.copytree(resource_path("migrations"), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "zz_rebuild_wizard.py").write_text(REBUILD_WIZARD.format(head=db.head_revision()))
    config = db.alembic_config(url)
    config.set_main_option("script_location", str(scripts))
    return config


def _sqlite_with_data(tmp_path: Path) -> tuple[Engine, dict[str, set[tuple[Any, ...]]]]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'rebuild.sqlite3'}")
    db.upgrade(engine, _first_revision())
    rows = _fill_at_first_revision(engine)
    db.upgrade(engine)
    return engine, rows


def test_a_batch_rebuild_of_the_parent_table_keeps_its_children(tmp_path: Path) -> None:
    engine, before = _sqlite_with_data(tmp_path)
    try:
        config = _scripts_with_a_rebuild_of_wizard(tmp_path, str(engine.url))
        db.upgrade(engine, "zz_rebuild_wizard", config=config)
        assert db.current_revision(engine) == "zz_rebuild_wizard"
        assert _read(engine) == before
        assert _foreign_key_problems(engine) == []
        with engine.connect() as conn:  # foreign keys are back on for the server
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_without_that_care_the_same_rebuild_deletes_the_children(tmp_path: Path) -> None:
    # The hazard db.upgrade() guards against, shown on a plain connection with
    # foreign keys on (https://www.sqlite.org/lang_droptable.html: DROP TABLE
    # does an implicit DELETE, which cascades).
    engine, before = _sqlite_with_data(tmp_path)
    try:
        config = _scripts_with_a_rebuild_of_wizard(tmp_path, str(engine.url))
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            config.attributes["connection"] = conn
            command.upgrade(config, "zz_rebuild_wizard")
        after = _read(engine)
        assert after["wizard"] == before["wizard"]
        assert all(after[table] == set() for table in CHILD_TABLES)
    finally:
        engine.dispose()
