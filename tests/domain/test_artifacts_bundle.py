"""The export bundle: golden files for the whole matrix, manifest, zip, single formats.

Regenerate the golden files after an intended change with

    CONNECTOR_WIZARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/domain/test_artifacts_bundle.py

and review the diff under tests/golden/bundles/ like any other change.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import hcl2
import pytest
import yaml

from app.domain.artifacts import (
    FORMATS,
    MANIFEST_FILE,
    artifact,
    artifact_explanations,
    artifacts,
    bundle,
    bundle_file_name,
    bundle_zip,
    render_format,
)
from app.domain.checklist import checklist
from app.domain.plan import Plan
from tests.domain.artifact_matrix import MATRIX

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bundles"
UPDATE = os.environ.get("CONNECTOR_WIZARD_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_bundle_matches_its_golden_files(key: str) -> None:
    files = bundle(MATRIX[key])
    folder = GOLDEN / key
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        for relative, data in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(data)
    stored = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
    assert sorted(stored) == sorted(files), "files added or removed: regenerate the golden files and review"
    for relative, data in files.items():
        # Compared as text so a failure shows a readable diff.
        assert data.decode() == stored[relative].decode(), relative


def test_no_golden_folder_without_a_plan() -> None:
    if UPDATE:
        for folder in GOLDEN.iterdir():
            if folder.is_dir() and folder.name not in MATRIX:
                shutil.rmtree(folder)
    assert {p.name for p in GOLDEN.iterdir() if p.is_dir()} == set(MATRIX)


def test_bundle_layout_and_manifest() -> None:
    plan = MATRIX["organization-least-privilege-secrets-aws-member-role"]
    files = bundle(plan)
    assert set(files) == {
        "inline-policy.json",
        "inline-policy-as-documented.json",
        "policy-organizations-read.json",
        "policy-certificate-manager.json",
        "policy-secrets-manager.json",
        "member-role-trust-policy.json",
        "member-role-policy-certificate-manager.json",
        "member-role-policy-secrets-manager.json",
        "setup.sh",
        "cloudformation/management-account.yaml",
        "cloudformation/member-role-stackset.yaml",
        "cloudformation/member-role-management-account.yaml",
        "cloudformation/deploy.sh",
        "terraform/main.tf",
        "terraform/member-role.tf",
        "checklist.md",
        "manifest.json",
    }
    manifest = json.loads(files[MANIFEST_FILE])
    assert manifest["plan"] == plan.to_json_dict()
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {MANIFEST_FILE}
    for path, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[path]).hexdigest()
        assert entry["bytes"] == len(files[path])
    account = bundle(MATRIX["account-documented-no-secrets-aws"])
    assert set(account) == {
        "setup.sh",
        "cloudformation/management-account.yaml",
        "cloudformation/deploy.sh",
        "terraform/main.tf",
        "checklist.md",
        "manifest.json",
    }


def test_every_artifact_is_text_with_a_media_type() -> None:
    types = set()
    for plan in MATRIX.values():
        for item in artifacts(plan):
            assert item.format in FORMATS
            assert item.content.endswith("\n") and "\r" not in item.content
            if item.format != "markdown":  # the checklist quotes the source with typographic quotes
                assert item.content.isascii(), item.path
            types.add((item.path.rsplit(".", 1)[-1], item.media_type))
    assert types == {
        ("json", "application/json"),
        ("yaml", "application/yaml"),
        ("tf", "text/plain; charset=utf-8"),
        ("sh", "text/x-shellscript; charset=utf-8"),
        ("md", "text/markdown; charset=utf-8"),
    }


def test_zip_is_reproducible_and_complete() -> None:
    plan = MATRIX["organization-least-privilege-no-secrets-aws-cn-member-role"]
    data = bundle_zip(plan)
    assert data == bundle_zip(plan)
    folder = bundle_file_name(plan).removesuffix(".zip")
    assert folder == "connector-setup-organization-aws-cn-least-privilege"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == sorted(names)
        assert {n.removeprefix(folder + "/") for n in names} == set(bundle(plan))
        for info in archive.infolist():
            mode = stat.S_IMODE(info.external_attr >> 16)
            assert mode == (0o755 if info.filename.endswith(".sh") else 0o644), info.filename
            assert archive.read(info) == bundle(plan)[info.filename.removeprefix(folder + "/")]


def test_single_artifact_lookup() -> None:
    plan = MATRIX["organization-documented-secrets-aws-member-role"]
    item = artifact(plan, "cloudformation/member-role-stackset.yaml")
    assert item is not None and item.media_type == "application/yaml"
    assert item.file_name == "member-role-stackset.yaml"
    assert artifact(plan, "../etc/passwd") is None
    assert artifact(Plan(), "cloudformation/member-role-stackset.yaml") is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_renders_as_one_valid_text(fmt: str) -> None:
    plan = MATRIX["organization-least-privilege-secrets-aws-member-role"]
    text = render_format(plan, fmt)
    if fmt == "json":
        assert set(json.loads(text)) == {a.path for a in artifacts(plan) if a.format == "json"}
    elif fmt == "cloudformation":
        assert len(list(yaml.safe_load_all(text))) == 3
    elif fmt == "terraform":
        assert {"terraform", "resource", "locals"} <= set(hcl2.loads(text))
    elif fmt == "cli":
        assert text == artifact(plan, "setup.sh").content  # type: ignore[union-attr]
    else:
        assert text.startswith("# AWS setup for the DigiCert")


# A file a checklist command reads: file://NAME, or NAME.json given to another command (sed).
_FILE_ARGUMENT = re.compile(r"(?:file://)?([\w./-]+\.(?:json|yaml))")


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_every_file_a_checklist_command_reads_is_in_the_bundle(key: str) -> None:
    # The bundle's checklist.md runs these commands in the bundle's folder (issue 13.2: the sensor
    # role's trust policy and the trust anchor's source were named, and missing).
    plan = MATRIX[key]
    files = bundle(plan)
    named = {
        name for step in checklist(plan) for command in step.cli for name in _FILE_ARGUMENT.findall(command)
    }
    assert named <= set(files), (key, named - set(files))
    if plan.principal.value == "roles-anywhere":
        assert {"sensor-role-trust-policy.json", "roles-anywhere-trust-anchor-source.json"} <= named


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_format(Plan(), "xml")


def test_every_artifact_is_explained() -> None:
    plan = MATRIX["organization-least-privilege-secrets-aws-member-role"]
    explained = {e.path: e for e in artifact_explanations(plan)}
    assert set(explained) == {a.path for a in artifacts(plan)}
    stackset = explained["cloudformation/member-role-stackset.yaml"]
    assert {p.name for p in stackset.policies} == {
        "DigiCertTLMMemberRole (trust policy)",
        "CertificateManager",
        "SecretsManagerPrefix",
    }
    user = explained["cloudformation/management-account.yaml"]
    assert [p.name for p in user.policies] == [
        "DigiCertTLMOrganizationsRead",
        "DigiCertTLMCertificateManager",
        "DigiCertTLMSecretsManagerPrefix",
        "DigiCertTLMCommonRoleAccess",
    ]
    assert all(r.why for p in user.policies for r in p.reasons)
    assert explained["inline-policy-as-documented.json"].policies == ()


def test_a_keyless_plans_files_explain_the_sensor_roles_policies_where_they_grant_them() -> None:
    # The sensor role is a role too: its policies belong to the management account's files, never
    # to the member role's.
    plan = MATRIX["organization-least-privilege-secrets-aws-member-role-roles-anywhere"]
    explained = {e.path: e for e in artifact_explanations(plan)}
    sensor = [
        "digicert-tlm-sensor (trust policy)",
        "DigiCertTLMOrganizationsRead",
        "DigiCertTLMCertificateManager",
        "DigiCertTLMSecretsManagerPrefix",
        "DigiCertTLMCommonRoleAccess",
    ]
    member = ["DigiCertTLMMemberRole (trust policy)", "CertificateManager", "SecretsManagerPrefix"]
    for path in ("cloudformation/management-account.yaml", "terraform/main.tf"):
        assert [p.name for p in explained[path].policies] == sensor, path
    for path in ("cloudformation/member-role-stackset.yaml", "terraform/member-role.tf"):
        assert [p.name for p in explained[path].policies] == member, path
    assert [p.name for p in explained["setup.sh"].policies] == sensor + member
    assert [p.name for p in explained["sensor-role-trust-policy.json"].policies] == sensor[:1]
