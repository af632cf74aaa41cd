"""Online backups of the SQLite database, checked before they are kept.

SQLite's online backup API copies a consistent snapshot while the server keeps
serving (https://www.sqlite.org/backup.html); the copy is then opened and must
pass `PRAGMA integrity_check` before it is moved into place, so a backup file
that exists is a good one. PostgreSQL has its own tool, pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine


class BackupError(Exception):
    """A one-line reason the backup was not made."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    wizards: int


def backup_sqlite(engine: Engine, target: Path) -> BackupResult:
    if engine.dialect.name != "sqlite":
        raise BackupError(
            "this database is PostgreSQL: back it up with pg_dump, e.g. "
            'pg_dump --format=custom --file=connector-wizard.dump "$DATABASE_URL" '
            "(a plain postgresql:// URL, without +psycopg)"
        )
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        if not isinstance(source, sqlite3.Connection):
            raise BackupError("the SQLite driver is not the standard library's sqlite3")
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination)
            (verdict,) = destination.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
            wizards = _count_wizards(destination)
            # A single file: no -wal next to it.
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    os.replace(partial, target)
    return BackupResult(path=target, bytes=target.stat().st_size, wizards=wizards)


def _count_wizards(conn: sqlite3.Connection) -> int:
    try:
        (count,) = conn.execute("SELECT count(*) FROM wizard").fetchone()
    except sqlite3.OperationalError:  # an empty, never-migrated database
        return 0
    return int(count)
