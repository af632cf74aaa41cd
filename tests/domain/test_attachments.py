"""What a plan attaches (app/domain/attachments.py) and its JSON: the one answer of every surface."""

from __future__ import annotations

import json
import re

import pytest

from app.domain.attachments import POLICY_JSON_FORMAT, attachments, policy_json
from app.domain.iam import Partition
from app.domain.plan import Plan, PolicyStyle, Principal, Scope
from app.domain.policies import render_json

AWS_MANAGED = ("AWSOrganizationsReadOnlyAccess", "AWSCertificateManagerFullAccess", "SecretsManagerReadWrite")


@pytest.mark.parametrize("scope", list(Scope))
def test_least_privilege_attaches_custom_policies_and_no_aws_managed_one(scope: Scope) -> None:
    found = attachments(Plan(scope=scope, style=PolicyStyle.LEAST_PRIVILEGE))
    assert found.managed == () and found.managed_arns == ()
    assert [p.name for p in found.custom] == (
        ["DigiCertTLMOrganizationsRead"] if scope is Scope.ORGANIZATION else []
    ) + ["DigiCertTLMCertificateManager", "DigiCertTLMSecretsManagerPrefix"]


def test_documented_attaches_the_managed_policies_the_plan_uses() -> None:
    found = attachments(Plan(scope=Scope.ACCOUNT, secrets_manager=False, partition=Partition.AWS_CN))
    assert found.managed_arns == ("arn:aws-cn:iam::aws:policy/AWSCertificateManagerFullAccess",)
    assert found.custom == () and found.inline == () and found.member_role is None


def test_member_role_and_inline_policy_are_attached_for_an_organization() -> None:
    found = attachments(Plan(dedicated_member_role=True, role_name="TLMRole", secrets_manager=False))
    assert [p.file_name for p in found.inline] == ["inline-policy.json"]
    assert found.member_role is not None and found.member_role.name == "TLMRole"
    assert found.member_role.trust_policy["Statement"][0]["Action"] == "sts:AssumeRole"
    assert [p.file_name for p in found.member_role.policies] == [
        "member-role-policy-certificate-manager.json"
    ]


def test_policy_json_for_an_account_is_the_whole_plan_not_empty() -> None:
    out = policy_json(Plan(scope=Scope.ACCOUNT))
    assert out["format"] == POLICY_JSON_FORMAT
    assert out["plan"]["scope"] == "account"
    managed = out["user"]["managed_policies"]
    assert [(m["name"], m["required"], m["attached"]) for m in managed] == [
        ("AWSCertificateManagerFullAccess", True, True),
        ("SecretsManagerReadWrite", False, True),
    ]
    assert all(m["arn"].startswith("arn:aws:iam::aws:policy/") and m["purpose"] for m in managed)
    assert out["user"]["inline_policies"] == [] and out["member_role"] is None
    assert out["lint_findings"] == [] and out["documented"]["inline_policy"] is None
    json.dumps(out)  # plain JSON all the way down


def test_policy_json_for_an_organization_carries_documents_role_and_lint() -> None:
    plan = Plan(style=PolicyStyle.LEAST_PRIVILEGE, dedicated_member_role=True, role_name="TLMRole")
    out = policy_json(plan)
    assert out["user"]["managed_policies"] == []
    # The documented table stays, for reference, marked not attached.
    assert {m["name"] for m in out["documented"]["managed_policies"]} == set(AWS_MANAGED)
    assert not any(m["attached"] for m in out["documented"]["managed_policies"])
    found = attachments(plan)
    assert [p["document"] for p in out["user"]["custom_policies"]] == [p.document for p in found.custom]
    assert out["user"]["inline_policies"][0]["name"] == "DigiCertTLMCommonRoleAccess"
    role = out["member_role"]
    assert role["name"] == "TLMRole"
    assert role["trust_policy"]["file"] == "member-role-trust-policy.json"
    assert [p["file"] for p in role["permission_policies"]] == [
        "member-role-policy-certificate-manager.json",
        "member-role-policy-secrets-manager.json",
    ]
    assert {f["code"] for f in out["lint_findings"]} >= {"RESOURCE_MISMATCH"}
    assert out["documented"]["inline_policy"]["Statement"][0]["Sid"] == "VisualEditor0"


def test_render_json_keeps_aws_key_order() -> None:
    text = render_json({"Version": "2012-10-17", "Statement": [{"Sid": "b", "Effect": "Allow"}]})
    assert text.index('"Version"') < text.index('"Statement"')
    assert text.index('"Sid"') < text.index('"Effect"')
    assert text.endswith("}\n")


def test_policy_json_shape_is_the_one_the_readme_documents() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### `connector-wizard policy --json`") :]
    section = section[: section.index("```\n", section.index("```jsonc"))]
    documented_keys = set(re.findall(r'"(\w+)":', section))
    for plan in (
        Plan(),
        Plan(scope=Scope.ACCOUNT),
        Plan(dedicated_member_role=True, role_name="R"),
        Plan(principal=Principal.INSTANCE_ROLE, dedicated_member_role=True, role_name="R"),
    ):
        out = policy_json(plan)
        attached = out["user"] or out["sensor_role"]
        assert (out["user"] is None) is plan.uses_role_principal
        keys = set(out) | set(attached) | set(out["documented"]) | set(out["principal"])
        if out["member_role"]:
            keys |= set(out["member_role"]) | set(out["member_role"]["trust_policy"])
        for group in ("managed_policies", "custom_policies", "inline_policies"):
            for row in attached[group] + out["documented"].get(group, []):
                keys |= set(row)
        for finding in out["lint_findings"]:
            keys |= set(finding)
        assert keys <= documented_keys | {"Version", "Statement"}, keys - documented_keys
