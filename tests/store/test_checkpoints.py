"""WAL checkpoints from a thread of their own (app/store/checkpoints.py, docs/decisions.md, Database).

The server's SQLite connections checkpoint only past a far larger WAL than
SQLite's default, and a Checkpointer thread copies the WAL back into the
database file instead; it stops with the Database. Real SQLite files.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.store import db
from app.store.checkpoints import ON_LOOP_PAGES, Checkpointer
from app.store.database import Database


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_the_servers_database_checkpoints_from_its_own_thread(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    database.open()
    engine = database.engine
    checkpointer = database.checkpointer
    assert checkpointer is not None and checkpointer.running
    with db.reading(engine) as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == ON_LOOP_PAGES
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    with db.writing(engine) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    for value in range(50):
        with db.writing(engine) as conn:
            conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": value})
    # Far below ON_LOOP_PAGES: only the thread can have copied these pages back.
    assert _wait_for(lambda: checkpointer.last is not None and checkpointer.last[1] > 0)
    assert _wait_for(lambda: checkpointer.last is not None and checkpointer.last[1] == checkpointer.last[2])
    # The file itself holds the rows now: a reader that ignores the WAL sees them.
    database.close()
    assert not checkpointer.running
    reader = sqlite3.connect(tmp_path / "w.sqlite3")
    try:
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (50,)
    finally:
        reader.close()


def test_a_database_that_is_not_a_plain_file_keeps_sqlites_own_checkpoints(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'w.sqlite3'}?timeout=3")
    database.open()
    with db.reading(database.engine) as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
    assert database.checkpointer is None
    database.close()


def test_a_checkpointer_stops_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    sqlite3.connect(path).close()
    checkpointer = Checkpointer(str(path), interval=0.01).start()
    assert _wait_for(lambda: checkpointer.last is not None)
    checkpointer.stop()
    assert not checkpointer.running


def test_a_database_that_cannot_be_opened_ends_the_thread_quietly(tmp_path: Path) -> None:
    # A folder where the file should be: the server's own connections fail (/readyz 503).
    checkpointer = Checkpointer(str(tmp_path), interval=0.01).start()
    assert _wait_for(lambda: not checkpointer.running)
    assert checkpointer.last is None
    checkpointer.stop()


def test_a_failing_checkpoint_is_reported_once_and_its_recovery_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A file that stops being a database (here: never was one) fails every checkpoint; the
    # thread says so once, not five times a second, and says when checkpoints work again.
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a SQLite database" * 200)
    with caplog.at_level(logging.INFO, logger="app.store.checkpoints"):
        checkpointer = Checkpointer(str(path), interval=0.01).start()
        try:
            time.sleep(0.3)  # some 30 attempts
            assert checkpointer.running and checkpointer.last is None
            failures = [r for r in caplog.records if "failing" in r.getMessage()]
            assert len(failures) == 1 and failures[0].levelno == logging.WARNING
            assert "not a database" in failures[0].getMessage()
            assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
            # The same file (the thread's connection keeps its inode) made a database again.
            valid = tmp_path / "valid.sqlite3"
            with sqlite3.connect(valid) as conn:
                conn.execute("CREATE TABLE t (x INTEGER)")
            conn.close()
            with path.open("r+b") as broken:
                broken.write(valid.read_bytes())
                broken.truncate()
            assert _wait_for(lambda: checkpointer.last is not None)
        finally:
            checkpointer.stop()
    assert [r.getMessage() for r in caplog.records if "resumed" in r.getMessage()] == [
        "WAL checkpoints resumed"
    ]
    assert len([r for r in caplog.records if "failing" in r.getMessage()]) == 1
