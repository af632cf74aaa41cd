"""Options a plan does not use are refused on every surface, and nothing is stored.

The rule lives once, in the domain (`Plan._unused_options_keep_defaults`,
docs/decisions.md): the options form answers 422 with the field's message, the
API 422 naming the field, and the database file is byte-for-byte the same
rows afterwards (no plan change, no version bump, no audit event). The CLI's
side is in tests/test_cli.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import WizardClient

# (field, form/API value) the account scope does not use.
UNUSED_IN_ACCOUNT = [
    ("role_name", "TLMConnectorRole"),
    ("dedicated_member_role", True),
]


def _rows(settings: Settings) -> list[str]:
    """Every row of every table, as SQL: equal lists mean nothing was written."""
    path = Path(str(settings.database_url).removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def _account_wizard(client: WizardClient) -> str:
    token = client.new_wizard()
    saved = client.form_post(
        f"/w/{token}/scope", {"scope": "account", "version": "1"}, follow_redirects=False
    )
    assert saved.status_code == 303
    return token


@pytest.mark.parametrize(("field", "value"), UNUSED_IN_ACCOUNT)
def test_the_options_form_refuses_an_option_the_scope_does_not_use(
    sqlite_client: WizardClient, sqlite_settings: Settings, field: str, value: object
) -> None:
    token = _account_wizard(sqlite_client)
    before = _rows(sqlite_settings)
    form = {
        "version": "2",
        "user_name": "tlm",
        "partition": "aws",
        "regions": "us-east-1",
        "style": "documented",
    }
    form[field] = "on" if value is True else str(value)
    response = sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False)
    assert response.status_code == 422
    assert response.context["options"].errors.keys() == {field}  # type: ignore[attr-defined]
    # The form does not show the field in account scope: the summary names it.
    assert "Only organization-scope plans use the" in response.text
    assert "Nothing was saved." in response.text
    assert _rows(sqlite_settings) == before


@pytest.mark.parametrize(("field", "value"), UNUSED_IN_ACCOUNT)
def test_the_api_refuses_an_option_the_scope_does_not_use(
    sqlite_client: WizardClient, sqlite_settings: Settings, field: str, value: object
) -> None:
    created = sqlite_client.post("/api/v1/wizards", json={}, headers={"X-CSRF-Token": sqlite_client.csrf()})
    token = created.json()["token"]
    before = _rows(sqlite_settings)
    plan = {"scope": "account", field: value}
    headers = {"X-CSRF-Token": sqlite_client.csrf()}
    answers = [
        sqlite_client.put(
            f"/api/v1/wizards/{token}/plan", json={"version": 1, "plan": plan}, headers=headers
        ),
        sqlite_client.post("/api/v1/wizards", json=plan, headers=headers),
        sqlite_client.get("/api/v1/plan/policies", params=plan),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["plan", field]
        assert "Only organization-scope plans use the" in answer.json()["detail"][0]["msg"]
    assert _rows(sqlite_settings) == before


def test_choosing_account_scope_resets_what_only_organizations_use(sqlite_client: WizardClient) -> None:
    # Not a refusal: the scope page sends only the scope, so the organization's
    # own options go back to their defaults (and the change is logged).
    token = sqlite_client.new_wizard()
    form = {"version": "1", "role_name": "TLMMember", "dedicated_member_role": "on", "regions": "us-east-1"}
    assert sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False).status_code == 303
    saved = sqlite_client.form_post(
        f"/w/{token}/scope", {"scope": "account", "version": "2"}, follow_redirects=False
    )
    assert saved.status_code == 303
    plan = sqlite_client.get(f"/api/v1/wizards/{token}").json()["plan"]
    assert plan["scope"] == "account"
    assert plan["role_name"] == "OrganizationAccountAccessRole" and plan["dedicated_member_role"] is False
