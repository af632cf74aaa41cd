"""`connector-wizard policy --format X` and `connector-wizard export`, through app.cli.main."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import hcl2
import pytest
import yaml

from app.cli import main
from app.domain.artifacts import bundle, render_format
from app.domain.plan import Plan

ORG_MEMBER_ROLE = [
    "--style",
    "least-privilege",
    "--member-role",
    "TLMRole",
    "--regions",
    "us-east-1,eu-west-1",
    "--secret-prefix",
    "tlm/",
]


def _plan() -> Plan:
    return Plan(
        style="least-privilege",
        dedicated_member_role=True,
        role_name="TLMRole",
        regions=("us-east-1", "eu-west-1"),
        secret_prefix="tlm/",
    )


@pytest.mark.parametrize("fmt", ["json", "cli", "cloudformation", "terraform", "markdown"])
def test_policy_prints_one_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", *ORG_MEMBER_ROLE, "--format", fmt]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == render_format(_plan(), fmt)
    if fmt == "json":
        docs = json.loads(out)
        assert "Condition" not in docs["member-role-trust-policy.json"]["Statement"][0]
    elif fmt == "cloudformation":
        templates = list(yaml.safe_load_all(out))
        assert templates[1]["Resources"]["MemberRole"]["Properties"]["RoleName"] == "TLMRole"
    elif fmt == "terraform":
        assert hcl2.loads(out)["resource"]


def test_policy_json_flag_prints_the_plan_not_the_file_map(capsys: pytest.CaptureFixture[str]) -> None:
    # --json is the plan's permissions (README.md); --format json stays the documents by file name.
    assert main(["policy", "--scope", "account", "--style", "least-privilege", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "aws-connector-wizard/policy/1"
    assert out["user"]["managed_policies"] == []
    assert [p["file"] for p in out["user"]["custom_policies"]] == [
        "policy-certificate-manager.json",
        "policy-secrets-manager.json",
    ]


def test_export_writes_the_bundle_with_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["export", *ORG_MEMBER_ROLE, "--partition", "aws", "--output", str(out)]) == 0
    expected = bundle(_plan())
    assert f"wrote {len(expected)} files" in capsys.readouterr().out
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert written == expected
    manifest = json.loads(written["manifest.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(written[entry["path"]]).hexdigest() == entry["sha256"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--user-name", "bad name"], "--user-name"),
        (["--user-name", "x$(touch /tmp/pwned)"], "--user-name"),
        (["--member-role", "a`id`"], "--member-role"),
        (["--member-role", "OrganizationAccountAccessRole"], "--member-role"),
        (["--role-name", 'r"'], "--role-name"),
        (["--secret-prefix", "${jndi}"], "--secret-prefix"),
        (["--regions", "us-east-1,mars-1"], "--regions"),
        (["--partition", "aws-cn", "--regions", "us-east-1"], "--regions"),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "never"
    assert main(["export", *args, "--output", str(out_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"connector-wizard: {flag}: "), err
    assert not out_dir.exists()  # nothing written
    assert main(["policy", *args, "--format", "cli"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
