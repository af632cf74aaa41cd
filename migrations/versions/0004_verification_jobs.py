"""verification jobs: runs in progress, shared by every server process (issue 12)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_job",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("wizard_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["wizard_id"],
            ["wizard.id"],
            name=op.f("fk_verification_job_wizard_id_wizard"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_job")),
    )
    with op.batch_alter_table("verification_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_job_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_verification_job_wizard_id"), ["wizard_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verification_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_job_wizard_id"))
        batch_op.drop_index(batch_op.f("ix_verification_job_state"))
    op.drop_table("verification_job")
