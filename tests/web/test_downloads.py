"""Artifacts from the policies page and the API: the same bytes as the domain renders."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from app.domain import artifacts
from app.domain.plan import Plan, parse_plan
from tests.conftest import WizardClient
from tests.pagehtml import code_blocks

DEDICATED = {
    "version": "1",
    "user_name": "tlm-user",
    "role_name": "TLMMemberRole",
    "dedicated_member_role": "on",
    "partition": "aws",
    "regions": ["us-east-1", "eu-west-1"],
    "style": "least-privilege",
    "secret_prefix": "tlm/",
    "secrets_manager": "on",
}


def stored_plan(client: WizardClient, token: str) -> Plan:
    """The plan the wizard saved, as the API returns it."""
    return parse_plan(client.get(f"/api/v1/wizards/{token}").json()["plan"])


def test_policies_page_lists_and_serves_every_artifact(client: WizardClient) -> None:
    token = client.new_wizard()
    assert client.form_post(f"/w/{token}/options", DEDICATED, follow_redirects=False).status_code == 303
    page = client.get(f"/w/{token}/policies")
    view = page.context["view"]  # type: ignore[attr-defined]
    plan = stored_plan(client, token)
    assert plan.dedicated_member_role and plan.role_name == "TLMMemberRole"
    expected = artifacts.artifacts(plan)
    assert [f.path for f in view.files] == [a.path for a in expected]
    assert "cloudformation/member-role-stackset.yaml" in page.text
    assert "What least privilege removes" in page.text
    assert "Why each permission is there" in page.text
    assert page.context["preview"].attached.member_role is not None  # type: ignore[attr-defined]
    for artifact in expected:
        response = client.get(f"/w/{token}/download/{artifact.path}")
        assert response.status_code == 200, artifact.path
        assert response.content == artifact.data
        assert response.headers["content-disposition"] == f'attachment; filename="{artifact.file_name}"'


@pytest.mark.parametrize("page", ["policies", "options", "report"])
def test_json_shown_on_a_page_is_the_downloaded_file_byte_for_byte(client: WizardClient, page: str) -> None:
    # Issue 11 item 12: the page once showed keys sorted (Jinja's tojson), the file AWS's order.
    token = client.new_wizard()
    assert client.form_post(f"/w/{token}/options", DEDICATED, follow_redirects=False).status_code == 303
    html = client.get(f"/w/{token}/{page}").text
    blocks = code_blocks(html)
    assert "inline-policy.json" in blocks
    if page == "policies":
        assert set(blocks) >= {
            "inline-policy-as-documented.json",
            "policy-certificate-manager.json",
            "member-role-trust-policy.json",
            "member-role-policy-secrets-manager.json",
        }
    digests = {a["path"]: a["sha256"] for a in client.get(f"/w/{token}/report.json").json()["artifacts"]}
    for file_name, texts in blocks.items():
        downloaded = client.get(f"/w/{token}/download/{file_name}").content
        for text in texts:
            assert text.encode() == downloaded, file_name
            assert hashlib.sha256(text.encode()).hexdigest() == digests[file_name]
            assert digests[file_name] in html  # the page names the digest beside the block


def test_bundle_zip_has_a_manifest_with_every_sha256(client: WizardClient) -> None:
    token = client.new_wizard()
    client.form_post(f"/w/{token}/options", DEDICATED)
    response = client.get(f"/w/{token}/bundle.zip")
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    # Every file sits in one folder named after the plan.
    folder = {name.split("/", 1)[0] for name in archive.namelist()}
    assert len(folder) == 1
    prefix = folder.pop() + "/"
    manifest = json.loads(archive.read(prefix + "manifest.json"))
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    in_zip = {
        name.removeprefix(prefix): hashlib.sha256(archive.read(name)).hexdigest()
        for name in archive.namelist()
        if name != prefix + "manifest.json"
    }
    assert in_zip == listed


def test_unknown_download_is_404_not_a_file_read(client: WizardClient) -> None:
    token = client.new_wizard()
    for path in ["../../etc/passwd", "nope.json", "%2e%2e/pyproject.toml"]:
        assert client.get(f"/w/{token}/download/{path}").status_code == 404


def test_api_artifacts_match_the_domain(client: WizardClient) -> None:
    params = {
        "scope": "organization",
        "style": "least-privilege",
        "dedicated_member_role": "true",
        "role_name": "TLMMemberRole",
    }
    listing = client.get("/api/v1/plan/artifacts", params=params)
    assert listing.status_code == 200
    plan = parse_plan({**params, "dedicated_member_role": True})
    expected = {a.path: hashlib.sha256(a.data).hexdigest() for a in artifacts.artifacts(plan)}
    assert {f["path"]: f["sha256"] for f in listing.json()} == expected
    one = client.get("/api/v1/plan/artifacts/cloudformation/member-role-stackset.yaml", params=params)
    assert one.status_code == 200
    assert hashlib.sha256(one.content).hexdigest() == expected["cloudformation/member-role-stackset.yaml"]
    bundle = client.get("/api/v1/plan/bundle.zip", params=params)
    assert bundle.content == artifacts.bundle_zip(plan)
