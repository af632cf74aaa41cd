"""SQLModel tables. Alembic migrations under migrations/versions mirror them.

tests/test_migrations.py fails when the two drift apart. Only app/store
imports this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so Alembic batch migrations on SQLite can
# find and alter them (https://alembic.sqlalchemy.org/en/latest/naming.html).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class Wizard(SQLModel, table=True):
    # Random, never sequential (secrets.token_hex(16), 128 bits); not a
    # credential by itself: access goes through share_link tokens.
    id: str = Field(primary_key=True, max_length=32)
    plan_json: str
    # Optimistic-lock version of the plan: bumped only by plan edits (409 on conflict).
    version: int = Field(default=1)
    # Bumped by every change to the wizard (plan, ticks, notes, links, runs):
    # pages rendered at one revision can be served again until it moves.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # What an upgrade took out of the stored plan and why (migration 0006), shown
    # on the wizard's pages until the plan is next saved; "" when nothing.
    notice: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = Field(default=None, index=True)


# SQLite reuses the largest rowid after it is deleted; AUTOINCREMENT never hands
# out an id again (https://www.sqlite.org/autoinc.html). A link id reused after
# a purge once served another wizard's cached pages (issue 12, finding 1;
# docs/hardening.md). PostgreSQL's serial ids are never reused anyway.
_NEVER_REUSED_IDS = {"sqlite_autoincrement": True}


class ShareLink(SQLModel, table=True):
    __tablename__ = "share_link"
    __table_args__ = _NEVER_REUSED_IDS

    id: int | None = Field(default=None, primary_key=True)
    wizard_id: str = Field(foreign_key="wizard.id", index=True, ondelete="CASCADE")
    # SHA-256 of the token; the token itself is never stored.
    token_sha256: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8)  # "edit" | "view"
    label: str = Field(default="", max_length=100)
    created_at: datetime
    created_by: str = Field(default="", max_length=80)
    expires_at: datetime | None = Field(default=None, index=True)
    revoked_at: datetime | None = None


class StepState(SQLModel, table=True):
    __tablename__ = "step_state"

    wizard_id: str = Field(foreign_key="wizard.id", primary_key=True, ondelete="CASCADE")
    step_id: str = Field(primary_key=True, max_length=100)
    done: bool = False
    done_by: str = Field(default="", max_length=80)
    done_at: datetime | None = None
    note: str = Field(default="", max_length=2000)
    version: int = Field(default=0)


class Event(SQLModel, table=True):
    __table_args__ = _NEVER_REUSED_IDS

    id: int | None = Field(default=None, primary_key=True)
    wizard_id: str = Field(foreign_key="wizard.id", index=True, ondelete="CASCADE")
    at: datetime
    actor: str = Field(default="", max_length=80)
    kind: str = Field(max_length=40)
    detail: str = Field(default="", max_length=4000)


class VerificationRun(SQLModel, table=True):
    """A finished live verification. Never a secret, token or key: only results (issue 4)."""

    __tablename__ = "verification_run"

    # secrets.token_hex(16), like wizard ids.
    id: str = Field(primary_key=True, max_length=32)
    wizard_id: str = Field(foreign_key="wizard.id", index=True, ondelete="CASCADE")
    started_at: datetime = Field(index=True)
    finished_at: datetime
    actor: str = Field(default="", max_length=80)
    source: str = Field(default="form", max_length=16)  # form | server | demo
    caller_arn: str = Field(default="", max_length=2048)
    status: str = Field(max_length=8)  # pass | fail | warn | skipped
    summary_json: str
    results_json: str


class VerificationJob(SQLModel, table=True):
    """A verification in progress (or just ended), shared by every server process (issue 12).

    The process running the job updates `heartbeat_at` and the progress every
    second or so; any process answers a progress poll from this row, and one
    that finds the heartbeat stale reports the job interrupted. No credential
    is ever here: they stay in the memory of the process running the job.
    """

    __tablename__ = "verification_job"

    id: str = Field(primary_key=True, max_length=32)  # secrets.token_hex(8)
    wizard_id: str = Field(foreign_key="wizard.id", index=True, ondelete="CASCADE")
    source: str = Field(default="form", max_length=16)
    state: str = Field(default="running", max_length=12, index=True)  # app.domain.verification.jobs.JobState
    started_at: datetime
    heartbeat_at: datetime
    done: int = Field(default=0)
    total: int = Field(default=0)
    failures: int = Field(default=0)
    phase: str = Field(default="", max_length=200)
    run_id: str | None = Field(default=None, max_length=32)
