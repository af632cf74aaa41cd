"""Every artifact of every plan in the matrix passes the tool professionals run on it.

cfn-lint (in-process, one run per partition over every distinct template),
shellcheck and `bash -n` (one shellcheck run over every distinct script),
python-hcl2 for Terraform, and one test that reads the policies back out of
every format and finds the same documents.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from app.domain import member_role
from app.domain.artifacts import cloudformation, terraform
from app.domain.artifacts.documents import documents
from app.domain.iam import HOME_REGION, Partition
from app.domain.plan import Plan
from app.domain.policies import attached_managed_policies
from app.domain.principal import SENSOR_ROLE_TRUST_FILE, TRUST_ANCHOR_SOURCE_FILE
from tests.domain.artifact_matrix import (
    MATRIX,
    hcl_locals,
    hcl_resources,
    heredocs,
    load_yaml,
    parse_hcl,
    plan_artifacts,
    unique,
)

# --- CloudFormation -----------------------------------------------------------


def _cfn_lint(files: list[Path], region: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint_by_config

    # include_checks=["I"]: informational findings count too.
    matches = lint_by_config(
        ManualArgs(templates=[str(f) for f in files], regions=[region], include_checks=["I"])
    )
    return [str(m) for m in matches]


def test_cfn_lint_reports_nothing_on_any_template(tmp_path: Path) -> None:
    by_partition: dict[Partition, list[Path]] = {}
    for sha, (key, item) in unique("cloudformation").items():
        path = tmp_path / f"{sha[:20]}.yaml"
        path.write_text(item.content)
        by_partition.setdefault(MATRIX[key].partition, []).append(path)
    assert sum(len(v) for v in by_partition.values()) > 40
    for partition, files in by_partition.items():
        # Lint in the partition's own region: resource types and ARNs are checked there.
        assert _cfn_lint(files, HOME_REGION[partition]) == []


def test_cfn_lint_does_find_problems(tmp_path: Path) -> None:
    # The harness must be able to fail: a template with an unknown property.
    plan = MATRIX["organization-least-privilege-secrets-aws-member-role"]
    template = cloudformation.member_role_template(plan)
    template["Resources"]["MemberRole"]["Properties"]["RoleNme"] = "typo"
    broken = tmp_path / "broken.yaml"
    broken.write_text(json.dumps(template))
    assert any("RoleNme" in m for m in _cfn_lint([broken], "us-east-1"))


def test_templates_read_back_as_the_documents_they_were_built_from() -> None:
    for key, plan in MATRIX.items():
        files = {a.path: a.content for a in plan_artifacts(key)}
        management = load_yaml(files[cloudformation.MANAGEMENT_TEMPLATE])
        assert management == cloudformation.management_template(plan), key
        types = {r["Type"] for r in management["Resources"].values()}
        assert "AWS::IAM::AccessKey" not in types, key
        assert "SecretAccessKey" not in files[cloudformation.MANAGEMENT_TEMPLATE], key
        if member_role.applies(plan):
            stackset = load_yaml(files[cloudformation.STACKSET_TEMPLATE])
            assert stackset == cloudformation.member_role_template(plan), key
            single = load_yaml(files[cloudformation.MANAGEMENT_ROLE_TEMPLATE])
            assert single["Resources"] == stackset["Resources"], key
        else:
            assert cloudformation.STACKSET_TEMPLATE not in files, key


# --- scripts ------------------------------------------------------------------


def test_shellcheck_and_bash_n_accept_every_script(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: apt-get install -y --no-install-recommends shellcheck"
    paths = []
    for sha, (_, item) in unique("cli", ".sh").items():
        path = tmp_path / f"{sha[:20]}-{item.file_name}"
        path.write_text(item.content)
        paths.append(path)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert item.content.startswith("#!/usr/bin/env bash\n")
        assert "\nset -euo pipefail\n" in item.content
    assert len(paths) > 40
    result = subprocess.run(
        [shellcheck, "--severity=style", *map(str, paths)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_shellcheck_does_find_problems(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nname=$1\necho $name\n")
    assert subprocess.run([shellcheck, str(script)], capture_output=True, check=False).returncode != 0


# --- Terraform ----------------------------------------------------------------


def test_terraform_parses_and_matches_the_json_documents() -> None:
    for key, plan in MATRIX.items():
        files = {a.path: a.content for a in plan_artifacts(key)}
        main = parse_hcl(files[terraform.MAIN_FILE])
        assert main["provider"][0]["aws"]["region"] == HOME_REGION[plan.partition], key
        kind = "role" if plan.uses_role_principal else "user"
        if plan.uses_role_principal:
            assert hcl_resources(main, "aws_iam_user") == {}, key
            role = hcl_resources(main, "aws_iam_role")["sensor"]
            assert role["name"] == plan.sensor_role_name, key
            assert role["assume_role_policy"] == "${jsonencode(local.sensor_role_trust_policy)}", key
            assert hcl_resources(main, "aws_iam_user_policy_attachment") == {}, key
        else:
            assert hcl_resources(main, "aws_iam_user")["connector"]["name"] == plan.user_name, key
            assert hcl_resources(main, "aws_iam_role") == {}, key
        profile = hcl_resources(main, "aws_iam_instance_profile")
        if plan.principal.value == "instance-role":
            assert profile["sensor"] == {"name": plan.sensor_role_name, "role": "${aws_iam_role.sensor.name}"}
        else:
            assert profile == {}, key
        assert hcl_resources(main, "aws_iam_access_key") == {}, key
        attachments = hcl_resources(main, f"aws_iam_{kind}_policy_attachment")
        policies = hcl_resources(main, "aws_iam_policy")
        local = hcl_locals(main)
        docs = {d.file_name: d.document for d in documents(plan)}
        if plan.style.value == "documented":
            assert {a["policy_arn"] for a in attachments.values()} == {
                m.arn for m in attached_managed_policies(plan)
            }
            assert policies == {}
        else:
            assert len(attachments) == len(policies) > 0
            for name, resource in policies.items():
                assert resource["policy"] == f"${{jsonencode(local.{name}_policy)}}", key
                assert attachments[name]["policy_arn"] == f"${{aws_iam_policy.{name}.arn}}", key
            json_docs = {d.name: d.document for d in _custom(plan)}
            assert {r["name"]: local[f"{n}_policy"] for n, r in policies.items()} == json_docs, key
        if plan.is_organization:
            inline = hcl_resources(main, f"aws_iam_{kind}_policy")["common_role_access"]
            assert inline["policy"] == "${jsonencode(local.inline_policy)}"
            assert local["inline_policy"] == docs["inline-policy.json"], key
        if member_role.applies(plan):
            role = parse_hcl(files[terraform.MEMBER_ROLE_FILE])
            assert hcl_locals(role)["member_role_template"] == cloudformation.member_role_template(plan), key
            stack_set = hcl_resources(role, "aws_cloudformation_stack_set")["member_role"]
            assert stack_set["permission_model"] == "SERVICE_MANAGED"
            assert stack_set["auto_deployment"][0]["enabled"] is True
            assert stack_set["template_body"] == "${jsonencode(local.member_role_template)}"
            instance = hcl_resources(role, "aws_cloudformation_stack_set_instance")["member_role"]
            assert instance["stack_set_instance_region"] == HOME_REGION[plan.partition]
        else:
            assert terraform.MEMBER_ROLE_FILE not in files


def _custom(plan: Plan) -> list[Any]:
    from app.domain.least_privilege import custom_user_policies

    return custom_user_policies(plan)


# --- one document, every format -----------------------------------------------


def _resolve_trust(template_trust: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The template's trust policy with Fn::Sub resolved as the JSON file writes it."""
    trust = json.loads(json.dumps(template_trust))
    principal = trust["Statement"][0]["Principal"]
    principal["AWS"] = (
        principal["AWS"]["Fn::Sub"]
        .replace("${AWS::Partition}", plan.partition.value)
        .replace("${ManagementAccountId}", member_role.MANAGEMENT_ACCOUNT_PLACEHOLDER)
    )
    return trust


def _from_role_template(template: dict[str, Any], plan: Plan) -> dict[str, Any]:
    props = template["Resources"]["MemberRole"]["Properties"]
    out = {member_role.TRUST_POLICY_FILE: _resolve_trust(props["AssumeRolePolicyDocument"], plan)}
    files = {p.name: p.file_name for p in member_role.permission_policies(plan)}
    for policy in props["Policies"]:
        out[files[policy["PolicyName"]]] = policy["PolicyDocument"]
    return out


def test_every_format_holds_the_same_policy_documents() -> None:
    compared = 0
    for key, plan in MATRIX.items():
        files = {a.path: a.content for a in plan_artifacts(key)}
        # The sensor role's trust and the trust anchor's source name the anchor differently in each
        # format: tests/domain/test_keyless_artifacts.py compares them.
        expected = {
            d.file_name: d.document
            for d in documents(plan)
            if d.kind != "documented"
            and d.file_name not in (SENSOR_ROLE_TRUST_FILE, TRUST_ANCHOR_SOURCE_FILE)
        }
        by_name = {p.name: p.file_name for p in _custom(plan)}

        from_json = {name: json.loads(files[name]) for name in expected}

        management = load_yaml(files[cloudformation.MANAGEMENT_TEMPLATE])
        from_yaml: dict[str, Any] = {}
        for resource in management["Resources"].values():
            props = resource["Properties"]
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                from_yaml[by_name[props["ManagedPolicyName"]]] = props["PolicyDocument"]
            for inline in props.get("Policies", []):
                from_yaml["inline-policy.json"] = inline["PolicyDocument"]

        main = parse_hcl(files[terraform.MAIN_FILE])
        local = hcl_locals(main)
        from_hcl = {
            by_name[r["name"]]: local[f"{n}_policy"] for n, r in hcl_resources(main, "aws_iam_policy").items()
        }
        if plan.is_organization:
            from_hcl["inline-policy.json"] = local["inline_policy"]

        docs = heredocs(files["setup.sh"])
        from_cli = {
            name: json.loads(docs["document_" + name.removesuffix(".json").replace("-", "_")])
            for name in expected
            if not name.startswith("member-role")
        }
        if member_role.applies(plan):
            from_yaml.update(_from_role_template(load_yaml(files[cloudformation.STACKSET_TEMPLATE]), plan))
            role_tf = parse_hcl(files[terraform.MEMBER_ROLE_FILE])
            from_hcl.update(_from_role_template(hcl_locals(role_tf)["member_role_template"], plan))
            from_cli.update(_from_role_template(load_yaml(docs["member_role_template"]), plan))
        for fmt, found in (("json", from_json), ("yaml", from_yaml), ("hcl", from_hcl), ("cli", from_cli)):
            assert found == expected, (key, fmt)
            compared += len(found)
    assert compared > 300
