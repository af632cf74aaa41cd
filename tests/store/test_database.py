"""The "store on first use" seam (app/store/database.py, docs/decisions.md#cold-start).

Start-up reads a SQLite file's revision with the standard library and leaves
the engine to the first request that needs it; anything it cannot read
exactly as SQLAlchemy would goes the way every start went before: the engine,
then `db.upgrade`, which migrates or refuses with its own error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from app.store import db
from app.store.database import Database, sqlite_file, sqlite_revisions

PLAIN = [
    "sqlite:///connector-wizard.sqlite3",
    "sqlite:///data/w.sqlite3",
    "sqlite:////var/lib/wizard/w.sqlite3",
    "sqlite+pysqlite:////tmp/w.sqlite3",
    "sqlite:///~/w.sqlite3",
    "sqlite:///./w db.sqlite3",
]
NOT_PLAIN = [
    "sqlite://",
    "sqlite:///",
    "sqlite:///:memory:",
    "sqlite:///w.sqlite3?timeout=3",
    "sqlite:///file:w.sqlite3?mode=ro&uri=true",
    "sqlite:///w%20db.sqlite3",
    "sqlite:///w#1.sqlite3",
    "sqlite://host/w.sqlite3",
    "postgresql+psycopg://u:p@127.0.0.1:5432/w",
]


@pytest.mark.parametrize("url", PLAIN)
def test_a_plain_sqlite_url_names_the_file_sqlalchemy_opens(url: str) -> None:
    assert sqlite_file(url) == make_url(url).database


@pytest.mark.parametrize("url", NOT_PLAIN)
def test_any_other_url_is_left_to_sqlalchemy(url: str) -> None:
    assert sqlite_file(url) is None


def _migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    database = Database(url)
    database.open()  # a new file: migrated through the engine
    assert database.started
    database.close()
    return url


def test_a_database_at_head_opens_without_an_engine(tmp_path: Path) -> None:
    database = Database(_migrated(tmp_path))
    database.open()
    assert not database.started  # the first request creates it
    assert db.current_revision(database.engine) == db.head_revision()
    assert database.started
    database.close()


def test_a_new_database_is_migrated_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'w.sqlite3'}"
    database = Database(url)
    database.open()
    assert db.current_revision(database.engine) == db.head_revision()
    database.close()


def test_reading_the_revision_changes_nothing_and_creates_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    assert sqlite_revisions(str(missing)) is None
    assert not missing.exists()
    path = Path(make_url(_migrated(tmp_path)).database or "")
    before = path.read_bytes()
    assert sqlite_revisions(str(path)) == (db.head_revision(),)
    assert path.read_bytes() == before


def test_a_database_behind_head_is_migrated_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    older = db.make_engine(url)
    db.upgrade(older, "0005")
    older.dispose()
    database = Database(url)
    database.open()
    assert database.started
    assert db.current_revision(database.engine) == db.head_revision()
    database.close()


def test_a_database_ahead_of_head_refuses_to_start(tmp_path: Path) -> None:
    url = _migrated(tmp_path)
    with sqlite3.connect(make_url(url).database or "") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    database = Database(url)
    with pytest.raises(Exception, match="9999"):  # Alembic's own "Can't locate revision", as before
        database.open()
    database.close()


def test_a_file_that_is_not_a_database_refuses_to_start(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    database = Database(f"sqlite:///{broken}")
    with pytest.raises(DatabaseError):  # SQLAlchemy's, as before
        database.open()
    # A server whose start failed never reaches its shutdown: open() released what it started,
    # or the checkpoints' thread would go on failing on the broken file for the life of the process.
    assert database.checkpointer is not None and not database.checkpointer.running
    database.close()


def test_closing_a_database_never_used_creates_no_engine(tmp_path: Path) -> None:
    database = Database(_migrated(tmp_path))
    database.open()
    database.close()
    assert not database.started
