"""The bash scripts, run for real against a fake `aws` that records every call.

The fake keeps a little state (users, policies, stack sets) in a folder, so
running a script twice shows what it does on a second run: idempotent steps,
no duplicate creations, no access key unless asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.domain.artifacts.documents import documents
from tests.domain.artifact_matrix import MATRIX, run_script, write_bundle


def _export(tmp_path: Path, key: str) -> Path:
    return write_bundle(MATRIX[key], tmp_path / "bundle")


def _ops(calls: list[list[str]]) -> list[str]:
    return [f"{c[0]} {c[1]}" for c in calls]


def _arg(call: list[str], name: str) -> Any:
    return call[call.index(name) + 1]


def test_setup_script_runs_twice_without_creating_anything_twice(
    tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    key = "organization-least-privilege-secrets-aws-member-role"
    plan = MATRIX[key]
    folder = _export(tmp_path, key)
    first, calls = run_script(folder / "setup.sh", fake_aws)
    assert first.returncode == 0, first.stderr
    ops = _ops(calls)
    assert ops.count("iam create-user") == 1
    assert ops.count("iam create-policy") == 3
    assert ops.count("iam attach-user-policy") == 3
    assert "organizations enable-aws-service-access" in ops
    assert ops.count("cloudformation create-stack-set") == 1
    assert ops.count("cloudformation create-stack-instances") == 1
    assert "iam create-access-key" not in ops  # only with --create-access-key
    assert "cloudformation deploy" not in ops  # the management-account role is opt-in
    assert "+ aws iam create-user --user-name=digicert-tlm-connector" in first.stderr  # prints what it does

    # The documents sent to IAM are exactly the bundle's JSON files.
    sent = {
        _arg(c, "--policy-name"): json.loads(_arg(c, "--policy-document"))
        for c in calls
        if c[:2] in (["iam", "create-policy"], ["iam", "put-user-policy"])
    }
    expected = {
        d.title if d.file_name != "inline-policy.json" else "DigiCertTLMCommonRoleAccess": d.document
        for d in documents(plan)
        if d.kind == "identity" and not d.file_name.startswith("member-role")
    }
    assert sent == expected
    stack_set = next(c for c in calls if c[:2] == ["cloudformation", "create-stack-set"])
    assert _arg(stack_set, "--permission-model") == "SERVICE_MANAGED"
    assert _arg(stack_set, "--template-body") == (
        folder / "cloudformation/member-role-stackset.yaml"
    ).read_text().rstrip("\n")
    assert _arg(stack_set, "--parameters") == "ParameterKey=ManagementAccountId,ParameterValue=111122223333"
    instances = next(c for c in calls if c[:2] == ["cloudformation", "create-stack-instances"])
    assert _arg(instances, "--deployment-targets") == "OrganizationalUnitIds=r-ab12"

    second, calls = run_script(
        folder / "setup.sh", fake_aws, "--create-access-key", "--management-account-role"
    )
    assert second.returncode == 0, second.stderr
    ops = _ops(calls)
    assert "iam create-user" not in ops
    assert "iam create-policy" not in ops
    assert "iam create-policy-version" not in ops  # the documents are unchanged
    assert second.stderr.count("is up to date: no new version") == 3
    assert "cloudformation create-stack-set" not in ops
    assert "cloudformation update-stack-set" not in ops  # the template is unchanged
    assert "The StackSet is up to date" in second.stderr
    assert "cloudformation create-stack-instances" not in ops
    assert ops.count("iam create-access-key") == 1
    deploy = next(c for c in calls if c[:2] == ["cloudformation", "deploy"])
    assert _arg(deploy, "--parameter-overrides") == "ManagementAccountId=111122223333"
    assert "AKIAEXAMPLE" in second.stdout


def test_setup_script_keeps_iam_policy_versions_under_the_limit(
    tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    # Six plans whose ACM policy differs (its regions): each run after the first needs a new version.
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"]
    for n in range(6):
        plan = MATRIX["account-least-privilege-no-secrets-aws"].model_copy(update={"regions": (regions[n],)})
        folder = write_bundle(plan, tmp_path / f"bundle-{n}")
        result, calls = run_script(folder / "setup.sh", fake_aws)
        assert result.returncode == 0, result.stderr
        assert _ops(calls).count("iam create-policy-version") == (1 if n else 0)
    state = json.loads(Path(fake_aws["FAKE_AWS_STATE"]).read_text())
    assert [len(versions) for versions in state["policies"].values()] == [5]
    assert "iam delete-policy-version" in _ops(calls)


def test_documented_setup_attaches_the_managed_policies(tmp_path: Path, fake_aws: dict[str, str]) -> None:
    folder = _export(tmp_path, "organization-documented-no-secrets-aws-us-gov")
    result, calls = run_script(folder / "setup.sh", fake_aws)
    assert result.returncode == 0, result.stderr
    arns = [_arg(c, "--policy-arn") for c in calls if c[:2] == ["iam", "attach-user-policy"]]
    assert arns == [
        "arn:aws-us-gov:iam::aws:policy/AWSOrganizationsReadOnlyAccess",
        "arn:aws-us-gov:iam::aws:policy/AWSCertificateManagerFullAccess",
    ]
    inline = next(c for c in calls if c[:2] == ["iam", "put-user-policy"])
    assert (
        json.loads(_arg(inline, "--policy-document"))["Statement"][1]["Resource"] == "*"
    )  # the corrected one
    assert "cloudformation create-stack-set" not in _ops(calls)


def test_unknown_options_stop_the_script_before_any_call(tmp_path: Path, fake_aws: dict[str, str]) -> None:
    folder = _export(tmp_path, "account-documented-secrets-aws")
    result, calls = run_script(folder / "setup.sh", fake_aws, "--management-account-role")
    assert result.returncode == 2
    assert "unknown option" in result.stderr
    assert calls == []
    result, calls = run_script(folder / "setup.sh", fake_aws, "--help")
    assert result.returncode == 0 and calls == []


def test_cloudformation_deploy_script_uses_its_own_folder(tmp_path: Path, fake_aws: dict[str, str]) -> None:
    key = "organization-documented-secrets-aws-cn-member-role"
    folder = _export(tmp_path, key)
    result, calls = run_script(folder / "cloudformation/deploy.sh", fake_aws, "--management-account-role")
    assert result.returncode == 0, result.stderr
    deploys = [c for c in calls if c[:2] == ["cloudformation", "deploy"]]
    assert [_arg(c, "--template-file") for c in deploys] == [
        "management-account.yaml",
        "member-role-management-account.yaml",
    ]
    assert all(_arg(c, "--region") == "cn-northwest-1" for c in deploys)
    stack_set = next(c for c in calls if c[:2] == ["cloudformation", "create-stack-set"])
    assert _arg(stack_set, "--template-body") == "file://member-role-stackset.yaml"
    assert "iam create-access-key" not in _ops(calls)
