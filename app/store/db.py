"""The database engine: SQLite pragmas, write transactions, migrations; and what
every repository module (wizards, share_links, steps, audit_log, verifications)
shares: the clock, stored times read as UTC, versions and the Conflict a stale
one raises.

SQLite: WAL (readers never block the writer), synchronous=NORMAL (safe in WAL,
~20x cheaper commits), busy_timeout, foreign_keys=ON; and writes begin with
BEGIN IMMEDIATE, because a deferred transaction that reads then writes can fail
with SQLITE_BUSY despite busy_timeout (https://www.sqlite.org/lang_transaction.html).

PostgreSQL (postgresql+psycopg://, several replicas): a pooled engine with a
connect timeout; migrations take an advisory lock so replicas starting together
migrate one at a time.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from app.resources import resource_path

# Defined in app/store/database.py, which start-up and every page use without SQLAlchemy;
# the store names them through this module as before.
from app.store.database import READ_VERSIONS, VERSION_TABLE
from app.store.database import head_revision as head_revision
from app.store.database import utcnow as utcnow

if TYPE_CHECKING:
    from alembic.config import Config

BUSY_TIMEOUT_MS = 5000
# Seconds to wait for a PostgreSQL connection: an unreachable server fails a
# start or a readiness probe quickly instead of hanging (libpq connect_timeout).
PG_CONNECT_TIMEOUT_S = 5
# Key of the PostgreSQL advisory lock held while migrating (any constant
# shared by every replica; https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
MIGRATION_LOCK_KEY = 0x63775F6D6967


class Conflict(Exception):
    """A versioned edit lost a race: someone saved first. Carries the current state."""

    def __init__(self, current: Any) -> None:
        super().__init__("stale version")
        self.current = current


class NotFound(Exception):
    pass


def as_utc(value: datetime) -> datetime:
    """A stored time as UTC: SQLite gives back the naive datetime it was given."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ensure_wal(cursor: Any) -> None:
    """Switch the database file to WAL once; later connections find it already so.

    Changing the journal mode needs an exclusive lock and SQLite answers
    "database is locked" at once, without its busy handler, while another
    connection holds a lock (seen with several workers migrating an empty
    file at start-up); so retry for a bounded time.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str, *, checkpoint_pages: int | None = None) -> Engine:
    """The engine for `url`; on SQLite, `checkpoint_pages` sets its connections' automatic checkpoint.

    None keeps SQLite's (1,000 pages); the server's Database passes a larger
    bound and checkpoints from a thread instead (app/store/checkpoints.py).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it past the first read).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _ensure_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if checkpoint_pages is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Held connections (below) are AUTOCOMMIT and issue BEGIN IMMEDIATE
        # themselves; a pooled connection with execution option write=True
        # (migrations) takes the write lock up front too.
        options = conn.get_execution_options()
        if options.get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write") else "BEGIN")

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
    # On the driver itself, like prepared.Prepared: ~3 µs each against ~15 µs
    # through exec_driver_sql. The connection is AUTOCOMMIT, so SQLAlchemy
    # keeps no transaction state that this could contradict.
    driver = conn.connection.driver_connection
    driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
    try:
        yield conn
    except BaseException:
        driver.execute("ROLLBACK")  # type: ignore[union-attr]
        raise
    driver.execute("COMMIT")  # type: ignore[union-attr]


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads. On SQLite each statement reads a consistent snapshot on its own."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    yield _held_connection(engine)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic only when migrating (see upgrade)

    config = Config()
    config.set_main_option("script_location", str(resource_path("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class MigrationError(RuntimeError):
    """A migration left the database inconsistent; it was rolled back."""


def upgrade(engine: Engine, revision: str = "head", *, config: Config | None = None) -> None:
    """Apply migrations up to `revision` on the engine's database, one migrator at a time.

    SQLite: the migration runs in one BEGIN IMMEDIATE transaction (a second
    worker waits, then finds the database at head) with foreign keys OFF: a
    batch migration copies a table and drops the old one, and with foreign keys
    ON dropping a parent table deletes its children through ON DELETE CASCADE.
    PRAGMA foreign_key_check must then be empty or everything is rolled back
    (https://www.sqlite.org/lang_altertable.html#otheralter).
    PostgreSQL: DDL is transactional; an advisory lock serialises replicas.
    """
    if revision == "head" and config is None and _stored_revisions(engine) == (head_revision(),):
        return  # the "at head" seam below: nothing to apply, so Alembic is not even imported
    from alembic import command

    config = config or alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # Outside any transaction: PRAGMA foreign_keys is a no-op inside one.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            conn.execution_options(write=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise MigrationError(
                            f"migration to {revision} broke {len(broken)} foreign keys: {broken[:5]}"
                        )
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


# --- "at head" without Alembic ------------------------------------------------
# Start-up's seam (docs/decisions.md#cold-start, measured in bench/README.md):
# every start but the first finds the database at head, and importing Alembic
# only to learn that cost about a tenth of its CPU (cProfile). So the
# version table is read directly and the head is taken from the migration files'
# names; Alembic is imported only when there is something to apply (a new or an
# older database) or more than one revision is stored. tests/test_migrations.py
# checks the names against Alembic's own view of the scripts. A start on a
# SQLite file asks before SQLAlchemy is even imported (app/store/database.py).


def _stored_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions in Alembic's version table, () when it has none or does not exist."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return ()
        return tuple(conn.exec_driver_sql(READ_VERSIONS).scalars())


def current_revision(engine: Engine) -> str | None:
    revisions = _stored_revisions(engine)
    if len(revisions) <= 1:
        return revisions[0] if revisions else None
    from alembic.runtime.migration import MigrationContext  # its own error for several heads

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
