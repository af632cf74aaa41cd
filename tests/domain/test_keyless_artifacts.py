"""Keyless sensors in every artifact (issue 13.2): the sensor role instead of a user, no access key.

For every keyless plan of the matrix: CloudFormation, Terraform and the scripts create the sensor
role (trusting EC2, or IAM Roles Anywhere for the plan's own trust anchor and certificate subject),
its instance profile or the Roles Anywhere trust anchor and profile, and nothing of a user; the
member role's trust names the role; the outputs carry the ARNs the signing helper needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.domain import member_role
from app.domain.artifacts import cloudformation, shell, terraform
from app.domain.checklist import checklist as steps_of
from app.domain.keyless import roles_anywhere_trust_policy
from app.domain.plan import Plan, Principal
from app.domain.principal import sensor_role_trust_policy, trust_anchor_name
from tests.domain.artifact_matrix import (
    MATRIX,
    hcl_locals,
    hcl_resources,
    heredocs,
    load_yaml,
    parse_hcl,
    run_script,
    write_bundle,
)

KEYLESS = sorted(key for key, plan in MATRIX.items() if plan.uses_role_principal)
ANYWHERE = [key for key in KEYLESS if MATRIX[key].principal is Principal.ROLES_ANYWHERE]


def test_the_matrix_has_every_keyless_shape() -> None:
    plans = [MATRIX[key] for key in KEYLESS]
    assert {p.principal for p in plans} == {Principal.INSTANCE_ROLE, Principal.ROLES_ANYWHERE}
    assert {p.scope.value for p in plans} == {"account", "organization"}
    assert {p.partition.value for p in plans} == {"aws", "aws-us-gov", "aws-cn"}
    assert any(member_role.applies(p) for p in plans)
    assert any(p.trust_anchor_certificate for p in plans) and any(p.trust_anchor_pca_arn for p in plans)


def _files(plan: Plan) -> dict[str, str]:
    from app.domain.artifacts import artifacts

    return {a.path: a.content for a in artifacts(plan)}


@pytest.mark.parametrize("key", KEYLESS)
def test_no_user_and_no_access_key_anywhere(key: str) -> None:
    plan = MATRIX[key]
    files = _files(plan)
    template = load_yaml(files[cloudformation.MANAGEMENT_TEMPLATE])
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::IAM::User" not in types and "AWS::IAM::AccessKey" not in types
    assert types.count("AWS::IAM::Role") == 1
    main = parse_hcl(files[terraform.MAIN_FILE])
    for kind in (
        "aws_iam_user",
        "aws_iam_access_key",
        "aws_iam_user_policy",
        "aws_iam_user_policy_attachment",
    ):
        assert hcl_resources(main, kind) == {}, kind
    for script in (shell.SETUP_SCRIPT, cloudformation.DEPLOY_SCRIPT):
        text = files[script]
        assert "create-access-key" not in text and "create-user" not in text, script
        assert "--create-access-key" not in text, script
    # setup.sh touches a user only to take the wizard's policies off an earlier plan's user.
    user_commands = [
        line.strip()
        for line in files[shell.SETUP_SCRIPT].splitlines()
        if re.search(r"aws iam \S+-user", line) and not line.lstrip().startswith("#")
    ]
    allowed = (
        "get-user",
        "list-attached-user-policies",
        "detach-user-policy",
        "list-user-policies",
        "delete-user-policy",
    )
    assert user_commands and all(any(f"aws iam {verb}" in line for verb in allowed) for line in user_commands)


@pytest.mark.parametrize("key", KEYLESS)
def test_the_sensor_role_and_what_gives_it_to_the_sensor(key: str) -> None:
    plan = MATRIX[key]
    files = _files(plan)
    template = load_yaml(files[cloudformation.MANAGEMENT_TEMPLATE])
    resources = template["Resources"]
    role = resources[cloudformation.SENSOR_ROLE_LOGICAL_ID]["Properties"]
    assert role["RoleName"] == plan.sensor_role_name
    main = parse_hcl(files[terraform.MAIN_FILE])
    tf_trust = hcl_locals(main)["sensor_role_trust_policy"]
    script_trust = json.loads(heredocs(files[shell.SETUP_SCRIPT])[shell.SENSOR_TRUST_FUNCTION])
    outputs = set(template["Outputs"])
    tf_outputs = {name for block in main["output"] for name in block}
    if plan.principal is Principal.INSTANCE_ROLE:
        trust = sensor_role_trust_policy(plan)
        assert role["AssumeRolePolicyDocument"] == tf_trust == script_trust == trust
        assert json.loads(files["sensor-role-trust-policy.json"]) == trust
        profile = resources[cloudformation.INSTANCE_PROFILE_LOGICAL_ID]["Properties"]
        assert profile == {
            "InstanceProfileName": plan.sensor_role_name,
            "Roles": [{"Ref": cloudformation.SENSOR_ROLE_LOGICAL_ID}],
        }
        assert outputs == {"RoleName", "RoleArn", "InstanceProfileName", "InstanceProfileArn"}
        assert tf_outputs == {"role_name", "role_arn", "instance_profile_name", "instance_profile_arn"}
        assert "add-role-to-instance-profile" in files[shell.SETUP_SCRIPT]
        return
    # Roles Anywhere: each format puts its own reference to the trust anchor where its ARN goes.
    anchor = {"Fn::GetAtt": [cloudformation.TRUST_ANCHOR_LOGICAL_ID, "TrustAnchorArn"]}
    expected = _with_anchor(plan, anchor)
    assert role["AssumeRolePolicyDocument"] == expected
    assert tf_trust == _with_anchor(plan, "${aws_rolesanywhere_trust_anchor.sensor.arn}")
    assert script_trust == _with_anchor(plan, "TRUST_ANCHOR_ARN_FROM_CREATE_TRUST_ANCHOR")
    # The bundle's file, for the checklist's commands: the placeholder they replace with sed.
    assert json.loads(files["sensor-role-trust-policy.json"]) == _with_anchor(plan, "TRUST_ANCHOR_ARN")
    assert json.loads(files["roles-anywhere-trust-anchor-source.json"]) == json.loads(
        heredocs(files[shell.SETUP_SCRIPT])[shell.TRUST_ANCHOR_SOURCE_FUNCTION]
    )
    assert (
        'TRUST="${TRUST//TRUST_ANCHOR_ARN_FROM_CREATE_TRUST_ANCHOR/$TRUST_ANCHOR_ARN}"'
        in files[shell.SETUP_SCRIPT]
    )
    source = resources[cloudformation.TRUST_ANCHOR_LOGICAL_ID]["Properties"]["Source"]
    tf_source = hcl_resources(main, "aws_rolesanywhere_trust_anchor")["sensor"]["source"][0]
    script_source = json.loads(heredocs(files[shell.SETUP_SCRIPT])[shell.TRUST_ANCHOR_SOURCE_FUNCTION])
    if plan.trust_anchor_pca_arn:
        assert source == {"SourceType": "AWS_ACM_PCA", "SourceData": {"AcmPcaArn": plan.trust_anchor_pca_arn}}
        assert tf_source["source_data"][0] == {"acm_pca_arn": plan.trust_anchor_pca_arn}
        assert script_source == {
            "sourceType": "AWS_ACM_PCA",
            "sourceData": {"acmPcaArn": plan.trust_anchor_pca_arn},
        }
    else:
        pem = plan.trust_anchor_certificate
        assert source == {"SourceType": "CERTIFICATE_BUNDLE", "SourceData": {"X509CertificateData": pem}}
        assert tf_source["source_data"][0] == {"x509_certificate_data": pem}
        assert script_source["sourceData"] == {"x509CertificateData": pem}
    profile = resources[cloudformation.ROLES_ANYWHERE_PROFILE_LOGICAL_ID]["Properties"]
    assert profile["RoleArns"] == [{"Fn::GetAtt": [cloudformation.SENSOR_ROLE_LOGICAL_ID, "Arn"]}]
    assert hcl_resources(main, "aws_rolesanywhere_profile")["sensor"]["role_arns"] == [
        "${aws_iam_role.sensor.arn}"
    ]
    assert outputs == {"RoleName", "RoleArn", "ProfileArn", "TrustAnchorArn"}
    assert tf_outputs == {"role_name", "role_arn", "profile_arn", "trust_anchor_arn"}
    assert hcl_resources(main, "aws_iam_instance_profile") == {}


def _with_anchor(plan: Plan, anchor: Any) -> dict[str, Any]:
    stand_in = f"arn:{plan.partition.value}:rolesanywhere:us-east-1:111122223333:trust-anchor/x"
    text = json.dumps(roles_anywhere_trust_policy(plan.partition, stand_in, plan.certificate_subject_cn))
    return json.loads(text.replace(json.dumps(stand_in), json.dumps(anchor)))


@pytest.mark.parametrize("key", [k for k in KEYLESS if member_role.applies(MATRIX[k])])
def test_the_member_role_trusts_the_sensor_role_never_a_user(key: str) -> None:
    plan = MATRIX[key]
    files = _files(plan)
    for template in (
        load_yaml(files[cloudformation.STACKSET_TEMPLATE]),
        hcl_locals(parse_hcl(files[terraform.MEMBER_ROLE_FILE]))["member_role_template"],
        load_yaml(heredocs(files[shell.SETUP_SCRIPT])["member_role_template"]),
    ):
        trust = template["Resources"][cloudformation.ROLE_LOGICAL_ID]["Properties"][
            "AssumeRolePolicyDocument"
        ]
        principal = trust["Statement"][0]["Principal"]["AWS"]["Fn::Sub"]
        assert (
            principal == f"arn:${{AWS::Partition}}:iam::${{ManagementAccountId}}:role/{plan.sensor_role_name}"
        )
        assert ":user/" not in json.dumps(template)
    stack_set = hcl_resources(parse_hcl(files[terraform.MEMBER_ROLE_FILE]), "aws_cloudformation_stack_set")
    assert stack_set["member_role"]["depends_on"] == ["${aws_iam_role.sensor}"]


@pytest.mark.parametrize("key", ANYWHERE)
def test_the_trust_anchor_source_is_the_plans_and_nothing_else(key: str) -> None:
    plan = MATRIX[key]
    template = cloudformation.management_template(plan)
    anchor = template["Resources"][cloudformation.TRUST_ANCHOR_LOGICAL_ID]["Properties"]
    assert anchor["Name"] == trust_anchor_name(plan) and anchor["Enabled"] is True
    assert len(anchor["Source"]["SourceData"]) == 1  # a union: exactly one member


@pytest.mark.parametrize(
    ("role", "anchor", "profile"),
    [
        ("digicert-tlm-sensor", "digicert-tlm-sensor-ca", "digicert-tlm-sensor"),
        # An IAM role name may hold +=,.@; a Roles Anywhere name only [ a-zA-Z0-9-_].
        ("tlm.sensor@prod", "tlm-sensor-prod-ca", "tlm-sensor-prod"),
    ],
)
def test_every_surface_names_the_trust_anchor_and_profile_after_the_sensor_role(
    role: str, anchor: str, profile: str
) -> None:
    # Two setups in one account (two sensor roles) must not share them: setup.sh finds both by name.
    plan = MATRIX[ANYWHERE[0]].model_copy(update={"sensor_role_name": role})
    files = _files(plan)
    resources = load_yaml(files[cloudformation.MANAGEMENT_TEMPLATE])["Resources"]
    assert resources[cloudformation.TRUST_ANCHOR_LOGICAL_ID]["Properties"]["Name"] == anchor
    assert resources[cloudformation.ROLES_ANYWHERE_PROFILE_LOGICAL_ID]["Properties"]["Name"] == profile
    main = parse_hcl(files[terraform.MAIN_FILE])
    assert hcl_resources(main, "aws_rolesanywhere_trust_anchor")["sensor"]["name"] == anchor
    assert hcl_resources(main, "aws_rolesanywhere_profile")["sensor"]["name"] == profile
    script = files[shell.SETUP_SCRIPT]
    assert f"TRUST_ANCHOR_NAME={anchor}\n" in script and f"PROFILE_NAME={profile}\n" in script
    checklist = {step.id: step for step in steps_of(plan)}
    assert f"--name={anchor} " in checklist["create-trust-anchor"].cli[0]
    assert f"--name={profile} " in checklist["create-roles-anywhere-profile"].cli[1]
    for step_id, name in (("create-trust-anchor", anchor), ("create-roles-anywhere-profile", profile)):
        assert checklist[step_id].title.endswith(f" {name}"), step_id


def test_deploy_script_of_a_keyless_plan_says_what_the_stack_made(
    tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    folder = write_bundle(MATRIX[ANYWHERE[0]], tmp_path / "bundle")
    result, calls = run_script(folder / "cloudformation" / "deploy.sh", fake_aws)
    assert result.returncode == 0, result.stderr
    ops = [f"{c[0]} {c[1]}" for c in calls]
    assert "cloudformation deploy" in ops and ops[-1] == "cloudformation describe-stacks"
    assert "iam create-access-key" not in ops
    assert "what the sensor needs, from the stack's outputs" in result.stderr


def test_instance_role_setup_twice_creates_each_thing_once(tmp_path: Path, fake_aws: dict[str, str]) -> None:
    folder = write_bundle(MATRIX["organization-documented-secrets-aws-instance-role"], tmp_path / "bundle")
    first, calls = run_script(folder / "setup.sh", fake_aws)
    assert first.returncode == 0, first.stderr
    ops = [f"{c[0]} {c[1]}" for c in calls]
    for op in ("iam create-role", "iam create-instance-profile", "iam add-role-to-instance-profile"):
        assert ops.count(op) == 1, op
    assert ops.count("iam attach-role-policy") == 3 and "iam attach-user-policy" not in ops
    assert "iam put-role-policy" in ops and "iam create-user" not in ops
    second, calls = run_script(folder / "setup.sh", fake_aws)
    assert second.returncode == 0, second.stderr
    ops = [f"{c[0]} {c[1]}" for c in calls]
    assert not [op for op in ops if op.split()[1].startswith(("create-", "add-", "update-"))], ops
    assert "its trust policy is up to date" in second.stderr


# An account plan as documented attaches AWS managed policies only: no document of its own.
@pytest.mark.parametrize("key", [k for k in KEYLESS if MATRIX[k].is_organization or "least" in k])
def test_parliament_finds_nothing_in_a_keyless_plans_policies(key: str) -> None:
    from parliament import analyze_policy_string

    from app.domain.artifacts.documents import documents

    identity = [d for d in documents(MATRIX[key]) if d.kind == "identity"]
    assert identity
    for document in identity:
        findings = analyze_policy_string(json.dumps(document.document)).findings
        assert [(f.issue, f.detail) for f in findings] == [], document.file_name


def test_a_certificate_the_trust_anchor_cannot_take_is_refused() -> None:
    # X509CertificateData holds 1-8000 characters (docs/facts.md#roles-anywhere-resources).
    from app.domain.keyless import ca_certificate_error

    assert ca_certificate_error("x" * 8001) == "The CA certificate is longer than 8000 characters."
