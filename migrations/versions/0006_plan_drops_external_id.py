"""plans lose the external ID and options their scope does not use; wizard.notice says so

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:45:00

DigiCert's connector cannot send an external ID, so a member role that
requires one is a role the connector cannot assume (docs/facts.md,
#external-id): the option is gone. Older versions also stored the role name
and the dedicated member role on account-scope plans, which do not use them
(docs/decisions.md, "Options a plan does not use"). This migration takes both
out of every stored plan and, where a value was dropped, records an audit
event (`plan.dropped`) and a notice the wizard's pages show until the plan is
next saved. Nothing else in the plan changes. The rules are written out here,
not imported, so the migration keeps meaning the same when the app changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
# Options account-scope plans do not use, with their defaults.
ORGANIZATION_ONLY = {"role_name": DEFAULT_ROLE_NAME, "dedicated_member_role": False}
NOTICES = {
    "external_id": (
        "The external ID was removed from this plan: DigiCert's connector cannot send one, so a member role "
        "that requires it is one the connector cannot assume; the role's trust policy names the exact user "
        "instead. If that role was deployed with the external ID, deploy it again from the Policies page."
    ),
    "role_name": "The role name was reset: account-scope plans have no member accounts to reach.",
    "dedicated_member_role": "The dedicated member role was turned off: account-scope plans have no member accounts.",
}

wizard = sa.table(
    "wizard",
    sa.column("id", sa.String),
    sa.column("plan_json", sa.String),
    sa.column("revision", sa.Integer),
    sa.column("notice", sa.String),
)
event = sa.table(
    "event",
    sa.column("wizard_id", sa.String),
    sa.column("at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("actor", sa.String),
    sa.column("kind", sa.String),
    sa.column("detail", sa.String),
)


def cleaned(plan: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    """The plan without what this version no longer takes, and the fields that held a value."""
    plan = dict(plan)
    dropped: list[str] = []
    if plan.pop("external_id", None) not in (None, ""):
        dropped.append("external_id")
    if plan.get("scope") == "account":
        for name, default in ORGANIZATION_ONLY.items():
            if plan.get(name, default) != default:
                dropped.append(name)
                plan[name] = default
    return plan, dropped


def upgrade() -> None:
    with op.batch_alter_table("wizard", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notice", sqlmodel.sql.sqltypes.AutoString(length=1000), server_default="", nullable=False
            )
        )

    conn = op.get_bind()
    now = datetime.now(UTC)
    for row in conn.execute(sa.select(wizard.c.id, wizard.c.plan_json)).all():
        try:
            stored = json.loads(row.plan_json)
        except ValueError:
            continue  # not ours to repair; the app reports it as it always did
        if not isinstance(stored, dict):
            continue
        plan, dropped = cleaned(stored)
        if plan == stored:
            continue
        values: dict[str, object] = {"plan_json": json.dumps(plan, separators=(",", ":"))}
        if dropped:
            values["notice"] = " ".join(NOTICES[name] for name in dropped)
            values["revision"] = wizard.c.revision + 1
            conn.execute(
                event.insert().values(
                    wizard_id=row.id,
                    at=now,
                    actor="upgrade",
                    kind="plan.dropped",
                    detail=json.dumps({"fields": dropped, "revision": revision}, sort_keys=True),
                )
            )
        conn.execute(wizard.update().where(wizard.c.id == row.id).values(**values))


def downgrade() -> None:
    # The dropped values are not kept anywhere (that is the point): a downgrade
    # only removes the notice column.
    with op.batch_alter_table("wizard", schema=None) as batch_op:
        batch_op.drop_column("notice")
