"""The JSON API: the same plan gives the same permissions, policies and checklist."""

from __future__ import annotations

from app.domain import policies
from app.domain.plan import Plan
from tests.conftest import WizardClient


def csrf_headers(client: WizardClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.csrf()}


def test_plan_policies_match_the_domain(client: WizardClient) -> None:
    response = client.get(
        "/api/v1/plan/policies",
        params={"role_name": "X-Role", "partition": "aws-us-gov", "regions": "us-gov-west-1"},
    )
    assert response.status_code == 200
    body = response.json()
    plan = Plan(role_name="X-Role", partition="aws-us-gov", regions=("us-gov-west-1",))  # type: ignore[arg-type]
    assert body["inline_policy_documented"] == policies.documented_inline_policy(plan)
    assert body["inline_policy_corrected"] == policies.corrected_inline_policy(plan)
    assert [f["code"] for f in body["inline_policy_findings"]] == [
        "NOT_POLICY_CONTROLLED",
        "RESOURCE_MISMATCH",
    ]
    assert body["permissions"][0]["arn"] == "arn:aws-us-gov:iam::aws:policy/AWSOrganizationsReadOnlyAccess"


def test_plan_checklist_for_account_scope(client: WizardClient) -> None:
    steps = client.get(
        "/api/v1/plan/checklist", params={"scope": "account", "secrets_manager": "false"}
    ).json()
    assert [s["id"] for s in steps] == [
        "create-user",
        "attach-AWSCertificateManagerFullAccess",
        "create-access-key",
        "configure-connector",
    ]


def test_invalid_plan_is_422_with_field_messages_and_no_echo(client: WizardClient) -> None:
    response = client.get("/api/v1/plan/policies", params={"role_name": "<script>alert(1)</script>"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["plan", "role_name"]
    assert "alert(1)" not in response.text
    response = client.get("/api/v1/plan/policies", params={"scope": "<b>x</b>"})
    assert response.status_code == 422 and "<b>x</b>" not in response.text


def test_wizard_lifecycle_through_the_api(client: WizardClient) -> None:
    created = client.post("/api/v1/wizards", json={"scope": "account"}, headers=csrf_headers(client))
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["wizard"]["plan"]["scope"] == "account"
    tick = client.put(
        f"/api/v1/wizards/{token}/steps/create-user", json={"done": True}, headers=csrf_headers(client)
    )
    assert tick.status_code == 200 and tick.json()["done"] is True
    update = client.put(
        f"/api/v1/wizards/{token}/plan",
        json={"version": 1, "plan": {"scope": "organization"}},
        headers=csrf_headers(client),
    )
    assert update.status_code == 200 and update.json()["version"] == 2
    stale = client.put(
        f"/api/v1/wizards/{token}/plan",
        json={"version": 1, "plan": {"scope": "account"}},
        headers=csrf_headers(client),
    )
    assert stale.status_code == 409
    assert stale.json()["version"] == 2 and stale.json()["plan"]["scope"] == "organization"


def test_openapi_documents_the_plan_endpoints(client: WizardClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/plan/policies", "/api/v1/plan/checklist", "/api/v1/wizards"} <= set(schema["paths"])


def test_a_version_beyond_the_database_integer_is_refused_not_a_500(client: WizardClient) -> None:
    # PostgreSQL's INTEGER holds at most 2**31 - 1 (found by schemathesis on PostgreSQL).
    token = client.new_wizard()
    for version in (2**31, 10**12):
        plan = client.put(
            f"/api/v1/wizards/{token}/plan",
            json={"version": version, "plan": {"scope": "account"}},
            headers=csrf_headers(client),
        )
        assert plan.status_code == 422, plan.text
        note = client.put(
            f"/api/v1/wizards/{token}/steps/create-user/note",
            json={"version": version, "note": "n"},
            headers=csrf_headers(client),
        )
        assert note.status_code == 422, note.text
    assert client.get(f"/api/v1/wizards/{token}").json()["plan"]["scope"] == "organization"
