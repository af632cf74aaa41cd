"""The tables, as SQLAlchemy Core tables. Alembic migrations under migrations/versions mirror them.

tests/test_migrations.py fails when the two drift apart. Only app/store
imports this module.

Seam "tables without the ORM" (docs/decisions.md#cold-start): these were
SQLModel classes, but the store only ever used their `__table__` (Core
statements and prepared driver statements; an ORM Session cost ~150 µs per
request, docs/decisions.md#database). Mapping them imported SQLModel and
SQLAlchemy's ORM and built a pydantic model per table at every start, ~8% of
a restart's import time. The tables below are what the SQLModel classes
produced, column for column: tests/store/test_tables.py compares their DDL on
SQLite and PostgreSQL, their defaults and their types with a golden file
written from the SQLModel classes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, String, Table, types
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.operators import OperatorType


class UTCDateTime(types.TypeDecorator[datetime]):
    """Store aware datetimes and return them in UTC (what SQLModel 0.0.50 maps `datetime` to).

    The same behaviour as `sqlmodel.sql.sqltypes.UTCDateTime`, which the
    migrations name: a time without a zone is refused, a stored time is read
    back in UTC (SQLite keeps no offset).
    """

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> types.TypeEngine[Any]:
        if isinstance(value, timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("Datetime values must have timezone information.")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AutoString(types.TypeDecorator[str]):
    """A VARCHAR (what SQLModel 0.0.50 maps `str` to; a length only MySQL would need is not used here)."""

    impl = String
    cache_ok = True


# Deterministic constraint names, so Alembic batch migrations on SQLite can
# find and alter them (https://alembic.sqlalchemy.org/en/latest/naming.html).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _wizard_id() -> Column[Any]:
    return Column(
        "wizard_id", AutoString(), ForeignKey("wizard.id", ondelete="CASCADE"), nullable=False, index=True
    )


WIZARD = Table(
    "wizard",
    metadata,
    # Random, never sequential (secrets.token_hex(16), 128 bits); not a
    # credential by itself: access goes through share_link tokens.
    Column("id", AutoString(32), primary_key=True),
    Column("plan_json", AutoString(), nullable=False),
    # Optimistic-lock version of the plan: bumped only by plan edits (409 on conflict).
    Column("version", Integer, nullable=False, default=1),
    # Bumped by every change to the wizard (plan, ticks, notes, links, runs):
    # pages rendered at one revision can be served again until it moves.
    Column("revision", Integer, nullable=False, default=0, server_default="0"),
    # What an upgrade took out of the stored plan and why (migration 0006), shown
    # on the wizard's pages until the plan is next saved; "" when nothing.
    Column("notice", AutoString(1000), nullable=False, default="", server_default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True, index=True),
)

# SQLite reuses the largest rowid after it is deleted; AUTOINCREMENT never hands
# out an id again (https://www.sqlite.org/autoinc.html). A link id reused after
# a purge once served another wizard's cached pages (issue 12, finding 1;
# docs/hardening.md). PostgreSQL's serial ids are never reused anyway.
_NEVER_REUSED_IDS = True

SHARE_LINK = Table(
    "share_link",
    metadata,
    Column("id", Integer, primary_key=True),
    _wizard_id(),
    # SHA-256 of the token; the token itself is never stored.
    Column("token_sha256", AutoString(64), nullable=False, unique=True),
    Column("kind", AutoString(8), nullable=False),  # "edit" | "view"
    Column("label", AutoString(100), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", AutoString(80), nullable=False, default=""),
    Column("expires_at", UTCDateTime(), nullable=True, index=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    sqlite_autoincrement=_NEVER_REUSED_IDS,
)

STEP_STATE = Table(
    "step_state",
    metadata,
    Column("wizard_id", AutoString(), ForeignKey("wizard.id", ondelete="CASCADE"), primary_key=True),
    Column("step_id", AutoString(100), primary_key=True),
    Column("done", Boolean, nullable=False, default=False),
    Column("done_by", AutoString(80), nullable=False, default=""),
    Column("done_at", UTCDateTime(), nullable=True),
    Column("note", AutoString(2000), nullable=False, default=""),
    Column("version", Integer, nullable=False, default=0),
)

EVENT = Table(
    "event",
    metadata,
    Column("id", Integer, primary_key=True),
    _wizard_id(),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", AutoString(80), nullable=False, default=""),
    Column("kind", AutoString(40), nullable=False),
    Column("detail", AutoString(4000), nullable=False, default=""),
    sqlite_autoincrement=_NEVER_REUSED_IDS,
)

# A finished live verification. Never a secret, token or key: only results (issue 4).
VERIFICATION_RUN = Table(
    "verification_run",
    metadata,
    Column("id", AutoString(32), primary_key=True),  # secrets.token_hex(16), like wizard ids
    _wizard_id(),
    Column("started_at", UTCDateTime(), nullable=False, index=True),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("actor", AutoString(80), nullable=False, default=""),
    Column("source", AutoString(16), nullable=False, default="form"),  # form | server | demo
    Column("caller_arn", AutoString(2048), nullable=False, default=""),
    Column("status", AutoString(8), nullable=False),  # pass | fail | warn | skipped
    Column("summary_json", AutoString(), nullable=False),
    Column("results_json", AutoString(), nullable=False),
)

# A verification in progress (or just ended), shared by every server process (issue 12).
# The process running the job updates `heartbeat_at` and the progress every
# second or so; any process answers a progress poll from this row, and one
# that finds the heartbeat stale reports the job interrupted. No credential
# is ever here: they stay in the memory of the process running the job.
VERIFICATION_JOB = Table(
    "verification_job",
    metadata,
    Column("id", AutoString(32), primary_key=True),  # secrets.token_hex(8)
    _wizard_id(),
    Column("source", AutoString(16), nullable=False, default="form"),
    # app.domain.verification.jobs.JobState
    Column("state", AutoString(12), nullable=False, default="running", index=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("phase", AutoString(200), nullable=False, default=""),
    Column("run_id", AutoString(32), nullable=True),
)
