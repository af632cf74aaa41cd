"""The app's database: checked at start-up, its engine (and the store's code) created on first use.

Seam "the store on first use" (docs/decisions.md#cold-start). A restart on a
database already at head (every start but an install's first) spent about a
third of its CPU importing SQLAlchemy and building the store's tables and
statements, none of which answering its first request needs. So:

- `Database.open()`, at start-up, still refuses to start on a database that
  is not reachable or not at head, as before; on a SQLite file it first asks
  the standard library's `sqlite3` for the revision in Alembic's version table
  and compares it with the migration files' newest name (`head_revision`).
  Only when that is not exactly the head (a new database, an older one, an
  unreadable one), or the URL is not a plain SQLite file, does it create the
  engine and run `db.upgrade`, which migrates or fails with the messages it
  always gave.
- `Database.engine` creates the engine the first time a request needs it,
  under a lock, after running every store module's code (`app.store.load()`),
  like a route analysed on its first request (app/web/lazy_route.py).

PostgreSQL keeps the engine created at start-up: reading its version table
without SQLAlchemy would mean translating the `postgresql+psycopg://` URL into
libpq's own form here, a second parser of the same setting, for a deployment
of several replicas that is not what the start-up goal measures.

Nothing here imports SQLAlchemy when this module is imported.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from app.resources import resource_path
from app.store import db, load  # lazy modules (app/store/__init__.py): nothing runs yet
from app.store.checkpoints import ON_LOOP_PAGES, Checkpointer  # the standard library's sqlite3 only

if TYPE_CHECKING:
    from sqlalchemy import Engine

VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it
READ_VERSIONS = "SELECT version_num FROM alembic_version"
# Limits of stored values, here rather than beside their tables because the web
# modules' forms and models name them when they are imported.
# Versions are INTEGER columns: PostgreSQL's holds at most 2**31 - 1, and a larger
# number in a comparison fails there with a DataError (a 500) instead of matching nothing.
MAX_VERSION = 2**31 - 1
MAX_NOTE = 2000  # models.STEP_STATE.c.note
_SQLITE_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def utcnow() -> datetime:
    """The app's clock (every page shows it; the store stamps its rows with it)."""
    return datetime.now(UTC)


@cache  # the scripts do not change while the process runs; /readyz asks often
def head_revision() -> str | None:
    """The newest migration: each file is `<revision>_<slug>.py` and revises the one before it by name.

    The "at head without Alembic" seam (app/store/db.py); tests/test_migrations.py
    checks the names against Alembic's own view of the scripts.
    """
    names = sorted(path.name for path in (resource_path("migrations") / "versions").glob("[0-9]*_*.py"))
    return names[-1].split("_", 1)[0] if names else None


def sqlite_file(url: str) -> str | None:
    """The file a plain SQLite URL names (what SQLAlchemy's `make_url(url).database` gives); None otherwise.

    None for anything this does not read exactly as SQLAlchemy does: another
    database, an in-memory one, query options, a `file:` URI, percent-escapes
    (tests/store/test_database.py compares it with `make_url`).
    """
    prefix = next((p for p in _SQLITE_PREFIXES if url.startswith(p)), None)
    if prefix is None:
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "%?#"):
        return None
    return path


def sqlite_revisions(path: str) -> tuple[str, ...] | None:
    """The revisions stored in a SQLite file's version table, read-only; None if it cannot be read."""
    if not Path(path).is_file():
        return None  # sqlite3 would create it
    try:
        conn = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        return tuple(row[0] for row in conn.execute(READ_VERSIONS))
    except sqlite3.Error:  # no version table, not a database, locked
        return None
    finally:
        conn.close()


class Database:
    """The database at `url`: `open()` at start-up, `engine` on first use, `close()` at shutdown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.checkpointer: Checkpointer | None = None

    def open(self) -> None:
        """Fail unless the database is reachable and at head, migrating it first if it is behind."""
        path = sqlite_file(self.url)
        if path is not None and sqlite_revisions(path) == (head_revision(),):
            return  # at head: the engine and the store wait for the first request that needs them
        try:
            db.upgrade(self.engine)
        except BaseException:
            # A server that fails to start never reaches its shutdown: release here what the
            # engine started (its checkpoints' thread would otherwise outlive the app).
            self.close()
            raise

    @property
    def engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    load()  # every store module's code, before any request uses one
                    path = sqlite_file(self.url)
                    if path is None:
                        self._engine = db.make_engine(self.url)
                    else:
                        # A SQLite file's checkpoints off the event loop (app/store/checkpoints.py).
                        self._engine = db.make_engine(self.url, checkpoint_pages=ON_LOOP_PAGES)
                        self.checkpointer = Checkpointer(path).start()
                engine = self._engine
        return engine

    @property
    def started(self) -> bool:
        """Whether the engine was ever created (by start-up or by a request)."""
        return self._engine is not None

    def close(self) -> None:
        """The checkpoints' thread, this thread's held connection, then the pool; nothing if the engine was never created."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        engine = self._engine
        if engine is not None:
            db.release_held_connections(engine)
            engine.dispose()
