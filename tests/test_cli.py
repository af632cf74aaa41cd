"""`connector-wizard policy` and friends: exact output, one-line errors, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import main
from app.domain import policies
from app.domain.plan import Plan


def test_policy_text_prints_the_permissions_and_both_inline_policies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["policy", "--scope", "organization", "--role-name", "TLMRole", "--partition", "aws-cn"]) == 0
    out = capsys.readouterr().out
    assert "arn:aws-cn:iam::aws:policy/AWSOrganizationsReadOnlyAccess" in out
    assert "RESOURCE_MISMATCH" in out
    documented = json.dumps(
        policies.documented_inline_policy(Plan(role_name="TLMRole", partition="aws-cn")), indent=4
    )  # type: ignore[arg-type]
    assert documented in out


def test_policy_account_scope_without_secrets_manager(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--scope", "account", "--no-secrets-manager"]) == 0
    out = capsys.readouterr().out
    assert "AWSOrganizationsReadOnlyAccess" not in out
    assert "SecretsManagerReadWrite (optional) — left out" in out
    assert "Inline policy" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["policy", "--role-name", "bad/name"], "--role-name: An IAM name has only"),
        (["policy", "--role-name", "a" * 65], "--role-name: Too long"),
        (["policy", "--partition", "aws-cn", "--regions", "us-east-1"], "--regions:"),
        # Two spellings of one choice: refused, whatever the values.
        (["policy", "--json", "--format", "text"], "--json: not together with --format"),
        (["policy", "--json", "--format", "json"], "--json: not together with --format"),
        (
            ["policy", "--role-name", "A", "--member-role", "B"],
            "--role-name: not together with --member-role",
        ),
        (
            ["export", "--role-name", "A", "--member-role", "A", "--output", "/dev/null/x"],
            "--role-name: not together",
        ),
        (
            ["verify", "--member-role", "X", "--role-name", "X"],
            "--role-name: not together with --member-role",
        ),
        (["verify", "--member-role", "OrganizationAccountAccessRole"], "--member-role: Give the dedicated"),
        # Options the account scope does not use (docs/decisions.md).
        (
            ["policy", "--scope", "account", "--member-role", "TLMRole"],
            "--member-role: Only organization-scope",
        ),
        (
            ["export", "--scope", "account", "--role-name", "TLMRole", "--output", "/dev/null/x"],
            "--role-name: Only organ",
        ),
        (["verify", "--scope", "account", "--role-name", "TLMRole"], "--role-name: Only organization-scope"),
    ],
)
def test_invalid_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("connector-wizard: " + message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_setting_in_the_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_WIZARD_DATABASE_URL", "mysql://nope")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("connector-wizard: CONNECTOR_WIZARD_DATABASE_URL:")
    assert err.count("\n") == 1


def test_policy_into_a_closed_pipe_is_quiet() -> None:
    # `connector-wizard policy | head -c1`: the reader leaves early.
    producer = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "policy", "--format", "markdown"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdout is not None
    # Closed before the command has imported anything: its first write hits EPIPE.
    producer.stdout.close()
    _, err = producer.communicate(timeout=30)
    assert producer.returncode == 0
    assert err == b""


def test_policy_json_is_the_plan_for_account_scope_too() -> None:
    # Issue 11 item 2: `--scope account --json` printed {}. The installed entry point, as a user runs it.
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "policy", "--scope", "account", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(result.stdout)
    assert out["format"] == "aws-connector-wizard/policy/1"
    assert [(m["name"], m["required"]) for m in out["user"]["managed_policies"]] == [
        ("AWSCertificateManagerFullAccess", True),
        ("SecretsManagerReadWrite", False),
    ]
    assert out["member_role"] is None and out["lint_findings"] == []


def test_policy_json_for_an_organization_has_arns_documents_role_and_lint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["policy", "--member-role", "TLMRole", "--style", "least-privilege", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["user"]["managed_policies"] == []
    assert out["user"]["custom_policies"][0]["name"] == "DigiCertTLMOrganizationsRead"
    assert out["user"]["inline_policies"][0]["document"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert out["member_role"]["trust_policy"]["document"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert out["lint_findings"] and out["documented"]["managed_policies"][0]["arn"].startswith(
        "arn:aws:iam::aws:"
    )
    assert main(["policy", "--json"]) == 0
    documented = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in documented["user"]["managed_policies"]] == [
        "AWSOrganizationsReadOnlyAccess",
        "AWSCertificateManagerFullAccess",
        "SecretsManagerReadWrite",
    ]


def test_policy_text_says_what_a_least_privilege_plan_attaches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--scope", "account", "--style", "least-privilege"]) == 0
    out = capsys.readouterr().out
    attached = out[: out.index("as DigiCert documents them")]
    assert "Custom policy DigiCertTLMCertificateManager (policy-certificate-manager.json)" in attached
    assert "AWS managed policy" not in attached and "AWSCertificateManagerFullAccess" not in attached


def test_handoff_prints_what_to_enter_in_the_connector_for_the_plans_principal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Issue 13.2: the checklist's hand-off, on the command line, in DigiCert's method names.
    assert main(["handoff", "--scope", "account", "--user-name", "tlm-user"]) == 0
    user = capsys.readouterr().out
    assert user.startswith("In DigiCert Trust Lifecycle Manager's AWS connector:\n  Scope: Account\n")
    assert (
        "Self-authentication (Direct input): the access key ID and secret access key of the IAM user tlm-user"
        in user
    )
    assert "Self-authentication (Secrets manager)" in user
    assert main(["handoff", "--principal", "instance-role", "--sensor-role-name", "tlm-sensor"]) == 0
    role = capsys.readouterr().out
    assert "Authentication method: Default AWS credential provider chain: nothing to type." in role
    assert "instance profile tlm-sensor" in role and "access key" not in role
    assert "Common IAM role name: OrganizationAccountAccessRole" in role
