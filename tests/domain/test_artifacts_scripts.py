"""The bash scripts, run for real against a fake `aws` that records every call.

The fake keeps a little state (users, policies, stack sets) in a folder, so
running a script twice shows what it does on a second run: idempotent steps,
no duplicate creations, no access key unless asked for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.domain.artifacts.documents import documents
from app.domain.checklist import checklist
from app.domain.fixes import fix_script
from tests.domain.artifact_matrix import MATRIX, plan_artifacts, run_script, write_bundle
from tests.domain.fix_scenarios import scenarios


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


# A flag followed by a separate value (issue 12 item 9): `--user-name "$USER_NAME"` lets a name
# such as "--debug" be read as an option. Flags that take no value are listed.
_SEPARATE_VALUE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)[ \t]+(?=[^\s\\|>)&;#-])")
_NO_VALUE = {"--create-access-key", "--management-account-role", "--version"}


def test_every_value_is_joined_to_its_flag_in_every_artifact_checklist_and_fix_command() -> None:
    # fix.sh too (the Verify page's commands: tests/web/test_verify_role.py).
    texts = [fix_script(plan, report) for plan, report in scenarios().values()]
    for key, plan in MATRIX.items():
        texts += [item.content for item in plan_artifacts(key)]
        texts += [command for step in checklist(plan) for command in step.cli]
    separate = {
        (m.group(1), line.strip())
        for text in texts
        for line in text.splitlines()
        for m in _SEPARATE_VALUE.finditer(line)
        if m.group(1) not in _NO_VALUE
    }
    assert not separate, sorted(separate)[:10]


def test_setup_waits_for_stack_set_operations_and_names_the_accounts_that_failed(
    tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    # moto ends every StackSet operation at once and fails none (tests/aws/test_setup_script_cli.py
    # covers the rest with it): this fake plays a running, then failed operation.
    folder = _export(tmp_path, "organization-least-privilege-no-secrets-aws-member-role")
    failure = "222233334444\tus-east-1\tFAILED\tRole DigiCertTLMMemberRole already exists"
    env = {
        **fake_aws,
        "STACK_SET_POLL_SECONDS": "0",
        "FAKE_AWS_OPERATION_STATES": "RUNNING,RUNNING,FAILED",
        "FAKE_AWS_OPERATION_FAILURES": failure,
    }
    first, calls = run_script(folder / "setup.sh", env, "--create-access-key")
    assert first.returncode == 1
    assert _ops(calls).count("cloudformation describe-stack-set-operation") == 3
    assert failure in first.stderr and "ended FAILED" in first.stderr
    assert "Not done: the member role DigiCertTLMMemberRole" in first.stderr
    assert "Done." not in first.stderr
    assert "iam create-access-key" not in _ops(calls)  # no key for a setup that is not done

    # Run again while another operation is still going: it waits for it, then finds all current.
    state_file = Path(fake_aws["FAKE_AWS_STATE"])
    state = json.loads(state_file.read_text())
    del state["operation_states"]
    state_file.write_text(json.dumps(state))
    env = {
        **fake_aws,
        "STACK_SET_POLL_SECONDS": "0",
        "FAKE_AWS_RUNNING_OPERATION": "op-other",
        "FAKE_AWS_OPERATION_STATES": "RUNNING,SUCCEEDED",
    }
    second, calls = run_script(folder / "setup.sh", env)
    assert second.returncode == 0, second.stderr
    assert "Another StackSet operation is in progress (op-other): waiting for it." in second.stderr
    waited = [c for c in calls if c[:2] == ["cloudformation", "describe-stack-set-operation"]]
    assert [_arg(c, "--operation-id") for c in waited] == ["op-other", "op-other"]
    assert "cloudformation update-stack-set" not in _ops(calls)
    assert "Done." in second.stderr

    # An instance that is not current (an account that joined and failed) is named too.
    state = json.loads(state_file.read_text())
    del state["operation_states"]
    state_file.write_text(json.dumps(state))
    outdated = "333344445555\tus-east-1\tOUTDATED\tAccess denied by an SCP"
    third, _ = run_script(folder / "setup.sh", {**fake_aws, "FAKE_AWS_OUTDATED_INSTANCES": outdated})
    assert third.returncode == 1 and outdated in third.stderr


def test_an_aws_cli_too_old_for_the_script_stops_it_with_one_line(
    tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    folder = _export(tmp_path, "organization-least-privilege-no-secrets-aws-member-role")
    old = "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0 botocore/1.17.44"
    result, calls = run_script(folder / "setup.sh", {**fake_aws, "FAKE_AWS_VERSION": old})
    assert result.returncode == 1
    assert result.stderr == f"setup.sh needs the AWS CLI v2, or v1 1.27.150 or later; found {old}.\n"
    assert calls == []  # nothing was called
