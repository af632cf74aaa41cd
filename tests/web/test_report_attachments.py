"""The report, its exports and the options preview list what the plan attaches (issue 11 item 1).

For a least-privilege plan they used to list AWSOrganizationsReadOnlyAccess,
AWSCertificateManagerFullAccess and SecretsManagerReadWrite as attached.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.plan import Plan
from tests.conftest import WizardClient
from tests.pagehtml import attached_items, wizard_for

AWS_MANAGED = ("AWSOrganizationsReadOnlyAccess", "AWSCertificateManagerFullAccess", "SecretsManagerReadWrite")
CUSTOM = ("DigiCertTLMOrganizationsRead", "DigiCertTLMCertificateManager", "DigiCertTLMSecretsManagerPrefix")


def _report_section(html: str) -> str:
    start = html.index('id="perm-heading"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("scope", ["organization", "account"])
def test_least_privilege_report_lists_custom_policies_not_aws_managed_ones(
    client: WizardClient, scope: str
) -> None:
    token = wizard_for(client, Plan(scope=scope, style="least-privilege"))  # type: ignore[arg-type]
    custom = CUSTOM if scope == "organization" else CUSTOM[1:]

    section = _report_section(client.get(f"/w/{token}/report").text)  # the page, and its print view
    for name in AWS_MANAGED:
        assert name not in section
    for name in custom:
        assert name in section

    md = client.get(f"/w/{token}/report.md").text
    attached = md[md.index("## Policies attached") : md.index("## Artifacts")]
    for name in AWS_MANAGED:
        assert name not in attached
    for name in custom:
        assert f"Custom policy `{name}`" in attached

    body: dict[str, Any] = client.get(f"/w/{token}/report.json").json()
    assert body["managed_policies"] == []
    assert [p["name"] for p in body["permissions"]["user"]["custom_policies"]] == list(custom)


def test_documented_report_lists_the_managed_arns_it_attaches(client: WizardClient) -> None:
    token = wizard_for(client, Plan(scope="account", secrets_manager=False))  # type: ignore[arg-type]
    arn = "arn:aws:iam::aws:policy/AWSCertificateManagerFullAccess"
    assert client.get(f"/w/{token}/report.json").json()["managed_policies"] == [arn]
    assert f"AWS managed policy `{arn}`" in client.get(f"/w/{token}/report.md").text
    section = _report_section(client.get(f"/w/{token}/report").text)
    assert arn in section and "SecretsManagerReadWrite" not in section


def test_options_preview_follows_the_style_picked(client: WizardClient) -> None:
    token = wizard_for(client, Plan())
    fields = {**Plan().to_json_dict(), "secrets_manager": "on", "style": "least-privilege"}
    fields.pop("dedicated_member_role")
    preview = client.get(f"/w/{token}/options/preview", params=fields, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    items = attached_items(preview.text)
    assert [i["data-attached"] for i in items] == ["custom", "custom", "custom", "inline"]
    assert [i["data-name"] for i in items][:3] == list(CUSTOM)
    for name in AWS_MANAGED:
        assert name not in preview.text


def test_pages_and_report_label_the_secret_prefix_as_our_assumption(client: WizardClient) -> None:
    # Issue 11 item 13: the prefix is ours, not DigiCert's; every page showing it says so and how to check.
    plan = Plan(style="least-privilege", secret_prefix="certs/tlm.")  # type: ignore[arg-type]
    token = wizard_for(client, plan)
    for page in ("options", "policies", "report", "report.md", "checklist"):
        text = client.get(f"/w/{token}/{page}").text
        assert "certs/tlm." in text, page
        assert "assumption, not DigiCert" in text and "CloudTrail" in text, page
    documented = wizard_for(client, Plan(scope="account"))  # type: ignore[arg-type]
    assert "CloudTrail" not in client.get(f"/w/{documented}/report").text  # no prefix used, no caveat
