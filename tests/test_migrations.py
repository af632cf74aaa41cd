"""Migrations: upgrade an empty database to head; models and migrations do not drift.

On both backends (the `database_url` fixture: a SQLite file, and PostgreSQL
under scripts/with-postgres.sh). Upgrades that carry data, and the SQLite
batch-rebuild trap, are in test_migration_safety.py.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

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
