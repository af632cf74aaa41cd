"""Migration 0006 on a database seeded at 0005: the external ID leaves stored plans, nothing else does.

Plans are written as the previous version stored them (every field, the
external ID included), then the database is upgraded and opened by the app:
the plan loads without the external ID, its other fields are the same, the
wizard's pages show why, the activity log has the event, and saving the plan
again ends the notice. Account-scope plans lose the organization-only options
they could hold before (docs/decisions.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from app.domain.plan import Plan
from app.domain.tokens import token_digest
from app.main import create_app
from app.store import audit_log, db
from tests.conftest import WizardClient, make_sqlite_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD_ORGANIZATION = {
    "scope": "organization",
    "user_name": "tlm-user",
    "role_name": "TLMMemberRole",
    "dedicated_member_role": True,
    "external_id": "ext-1234",
    "secrets_manager": True,
    "secret_prefix": "tlm/",
    "partition": "aws",
    "regions": ["us-east-1", "eu-west-1"],
    "style": "least-privilege",
}
OLD_ACCOUNT = {
    **OLD_ORGANIZATION,
    "scope": "account",
    "external_id": None,
    "style": "documented",
}
OLD_PLAIN = {**OLD_ORGANIZATION, "external_id": None, "dedicated_member_role": False}


def _seed(engine: Engine, wizard_id: str, plan: dict[str, Any], token: str) -> None:
    with db.writing(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO wizard (id, plan_json, version, revision, created_at, updated_at) "
                "VALUES (:id, :plan, 3, 7, :now, :now)"
            ),
            {"id": wizard_id, "plan": json.dumps(plan), "now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO share_link (wizard_id, token_sha256, kind, label, created_at, created_by) "
                "VALUES (:w, :sha, 'edit', 'Edit link', :now, 'ana')"
            ),
            {"w": wizard_id, "sha": token_digest(token), "now": NOW},
        )


def test_upgrade_drops_the_external_id_with_a_notice_and_an_event(tmp_path: Path) -> None:
    settings = make_sqlite_settings(tmp_path)
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine, "0005")
        tokens = {name: f"{name:_<43}" for name in ("org", "account", "plain")}
        _seed(engine, "a" * 32, OLD_ORGANIZATION, tokens["org"])
        _seed(engine, "b" * 32, OLD_ACCOUNT, tokens["account"])
        _seed(engine, "c" * 32, OLD_PLAIN, tokens["plain"])
        db.upgrade(engine)
        events = {w: audit_log.events(engine, wizard_id=w * 32) for w in "abc"}
    finally:
        engine.dispose()

    assert [e.kind for e in events["a"]] == ["plan.dropped"]
    assert [e.kind for e in events["b"]] == ["plan.dropped"]
    assert events["c"] == []  # nothing held a value: no event, no notice

    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        org = client.get(f"/api/v1/wizards/{tokens['org']}").json()
        expected = {k: v for k, v in OLD_ORGANIZATION.items() if k != "external_id"}
        # Every field the old plan had, as it was; fields added since take their defaults.
        assert {k: v for k, v in org["plan"].items() if k in expected} == expected and org["version"] == 3
        assert set(org["plan"]) - set(expected) <= set(Plan.model_fields) - set(OLD_ORGANIZATION)
        page = client.get(f"/w/{tokens['org']}/policies")
        assert page.status_code == 200
        assert "The external ID was removed from this plan" in page.text
        assert "sts:ExternalId" not in page.text
        activity = client.get(f"/w/{tokens['org']}/activity").text
        assert "an upgrade removed from the plan what it no longer takes: external ID" in activity

        account = client.get(f"/api/v1/wizards/{tokens['account']}").json()["plan"]
        assert (
            account["role_name"] == "OrganizationAccountAccessRole" and not account["dedicated_member_role"]
        )
        assert account["user_name"] == "tlm-user" and account["regions"] == ["us-east-1", "eu-west-1"]
        assert "The role name was reset" in client.get(f"/w/{tokens['account']}/options").text

        plain = client.get(f"/w/{tokens['plain']}/options").text
        assert "Changed by an upgrade" not in plain

        # Saving the plan is a choice made after the change: the notice ends there.
        saved = client.put(
            f"/api/v1/wizards/{tokens['org']}/plan",
            json={"version": 3, "plan": expected},
            headers={"X-CSRF-Token": client.csrf()},
        )
        assert saved.status_code == 200, saved.text
        assert "Changed by an upgrade" not in client.get(f"/w/{tokens['org']}/policies").text
