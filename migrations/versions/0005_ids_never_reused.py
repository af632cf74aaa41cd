"""share link and event ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:50:00

SQLite hands out max(rowid)+1, so after a purge deleted the newest share
link its id went to the next link of another wizard, and pages cached under
the old id were served to it (issue 12, finding 1; docs/hardening.md).
AUTOINCREMENT keeps the largest id ever used in sqlite_sequence and never
goes below it (https://www.sqlite.org/autoinc.html). The tables are rebuilt
in batch mode (db.upgrade turns foreign keys off meanwhile); their rows and
ids are kept. PostgreSQL's serial columns never reuse a value: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("share_link", "event")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
