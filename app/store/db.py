"""The database engine: SQLite pragmas, write transactions, migrations.

SQLite: WAL (readers never block the writer), synchronous=NORMAL (safe in WAL,
~20x cheaper commits), busy_timeout, foreign_keys=ON; and writes begin with
BEGIN IMMEDIATE, because a deferred transaction that reads then writes can fail
with SQLITE_BUSY despite busy_timeout (https://www.sqlite.org/lang_transaction.html).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from app.resources import resource_path

BUSY_TIMEOUT_MS = 5000


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it past the first read).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Held connections (below) are AUTOCOMMIT and issue BEGIN IMMEDIATE themselves.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN")

    return engine


# SQLite: one connection per thread, held open, in autocommit mode, with
# explicit BEGIN IMMEDIATE / COMMIT for writes. Checking a connection out of
# the pool for every request (events, BEGIN, reset on return) cost ~90 µs a
# statement here against ~25 µs on a held one (bench/http_bench.py; the
# routes run on the event loop, so one thread does nearly all of the work).
_held = threading.local()


def _held_connection(engine: Engine) -> Connection:
    held: dict[int, Connection] = _held.__dict__.setdefault("connections", {})
    conn = held.get(id(engine))
    if conn is None or conn.closed or conn.engine is not engine:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        held[id(engine)] = conn
    return conn


def release_held_connections(engine: Engine) -> None:
    """Close this thread's held connection to `engine` (before engine.dispose())."""
    held: dict[int, Connection] = _held.__dict__.get("connections", {})
    conn = held.pop(id(engine), None)
    if conn is not None:
        conn.close()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    conn = _held_connection(engine)
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads. On SQLite each statement reads a consistent snapshot on its own."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    yield _held_connection(engine)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_path("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()
