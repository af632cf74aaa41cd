"""Migrations: upgrade an empty database to head; models and migrations do not drift.

On both backends (the `database_url` fixture: a SQLite file, and PostgreSQL
under scripts/with-postgres.sh). Upgrades that carry data, and the SQLite
batch-rebuild trap, are in test_migration_safety.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from app.store import db
from app.store.models import metadata


def test_upgrade_empty_database_to_head_without_drift(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_head_from_file_names_is_alembics_head() -> None:
    """db.head_revision() reads the files' names, not Alembic: they must agree, and the chain must be linear."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    assert db.head_revision() == script.get_current_head()
    revisions = sorted(script.walk_revisions(), key=lambda rev: rev.path)
    assert revisions, "no migrations found"
    previous = None
    for rev in revisions:
        name = Path(rev.path).name
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", name), name
        assert name.split("_", 1)[0] == rev.revision, f"{name} holds revision {rev.revision}"
        assert rev.down_revision == previous, f"{name} revises {rev.down_revision}, not {previous}"
        previous = rev.revision


def test_at_head_nothing_runs_and_an_older_database_still_migrates(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine, "0005")
        assert db.current_revision(engine) == "0005"
        db.upgrade(engine)  # the "at head" shortcut must not take an older database for a current one
        assert db.current_revision(engine) == db.head_revision()
        db.upgrade(engine)  # at head: nothing to do
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_several_stored_revisions_are_an_error_as_alembic_says(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'heads.sqlite3'}")
    try:
        db.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('0005')")
        with pytest.raises(CommandError):
            db.current_revision(engine)
    finally:
        engine.dispose()
