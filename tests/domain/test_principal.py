"""The connector's principal (issue 13.2): the plan option, its rules, and what names the connector."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from app.cli import policy_text
from app.domain import member_role
from app.domain.artifacts.markdown import checklist_markdown
from app.domain.attachments import attachments, permissions_json, policy_json
from app.domain.checklist import checklist, connector_settings
from app.domain.explanations import policy_explanations
from app.domain.iam import Partition
from app.domain.plan import Plan, PlanError, Principal, in_scope, parse_plan, stored_plan
from app.domain.policies import corrected_inline_policy
from app.domain.principal import (
    SENSOR_AWS_PROFILE,
    SENSOR_CERTIFICATE_PATH,
    SENSOR_PRIVATE_KEY_PATH,
    auth_methods,
    connector_principal_arn,
    connector_principal_name,
    credentials_step_id,
    principal_step_id,
    sensor_aws_config,
    sensor_profile_options,
    sensor_role_trust_policy,
    trust_anchor_source,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CA_PEM = (FIXTURES / "example-sensor-ca.pem").read_text()
LEAF_PEM = (FIXTURES / "example-sensor-leaf.pem").read_text()
PCA_ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
ANCHOR = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f0e0d0c-0000-1111-2222-333344445555"


def _anywhere(**fields: object) -> dict[str, object]:
    return {"principal": "roles-anywhere", "certificate_subject_cn": "tlm-sensor-1.example.com", **fields}


def test_the_default_principal_is_the_iam_user_and_names_it() -> None:
    plan = Plan()
    assert plan.principal is Principal.IAM_USER and not plan.uses_role_principal
    assert connector_principal_name(plan) == "digicert-tlm-connector"
    assert (
        connector_principal_arn(plan, "111122223333")
        == "arn:aws:iam::111122223333:user/digicert-tlm-connector"
    )
    assert [m.name for m in auth_methods(plan)] == [
        "Self-authentication (Direct input)",
        "Self-authentication (Secrets manager)",
    ]


@pytest.mark.parametrize("principal", [Principal.INSTANCE_ROLE, Principal.ROLES_ANYWHERE])
def test_a_role_principal_is_named_by_its_role_everywhere(principal: Principal) -> None:
    extra = _anywhere(trust_anchor_certificate=CA_PEM) if principal is Principal.ROLES_ANYWHERE else {}
    plan = parse_plan(
        {
            "principal": principal.value,
            "sensor_role_name": "tlm-sensor",
            "partition": "aws-us-gov",
            **extra,
            "dedicated_member_role": True,
            "role_name": "TLMMember",
        }
    )
    assert plan.uses_role_principal
    role_arn = "arn:aws-us-gov:iam::MANAGEMENT_ACCOUNT_ID:role/tlm-sensor"
    assert connector_principal_arn(plan, member_role.MANAGEMENT_ACCOUNT_PLACEHOLDER) == role_arn
    # The member role trusts the role, never a user.
    trust = member_role.trust_policy(plan)
    assert trust["Statement"][0]["Principal"] == {"AWS": role_arn}
    assert ":user/" not in str(trust)
    found = attachments(plan)
    assert (found.principal_kind, found.principal_name) == ("role", "tlm-sensor")
    assert found.principal_label == "role tlm-sensor"
    document = permissions_json(plan)
    assert document["user"] is None
    assert document["sensor_role"]["name"] == "tlm-sensor"
    assert document["principal"] == {"kind": "role", "name": "tlm-sensor", "type": principal.value}
    assert "role tlm-sensor" in member_role.role_description(plan)


def test_role_credentials_get_only_assume_role_in_the_inline_policy() -> None:
    # GetSessionToken takes an IAM user's long-term credentials; with no access key there is
    # nothing for GetAccessKeyInfo to look up (docs/facts.md#sts, #temporary-credentials).
    user = corrected_inline_policy(Plan())
    role = corrected_inline_policy(Plan(principal=Principal.INSTANCE_ROLE))
    actions = [s["Action"] for s in role["Statement"]]
    assert actions == ["sts:AssumeRole"]
    assert role["Statement"][0] == user["Statement"][0]
    assert "sts:GetAccessKeyInfo" in str(user)


def test_the_sensor_role_trust_follows_the_principal() -> None:
    ec2 = sensor_role_trust_policy(Plan(principal=Principal.INSTANCE_ROLE))
    assert ec2["Statement"] == [
        {
            "Sid": "SensorInstanceProfile",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    plan = parse_plan(_anywhere(trust_anchor_pca_arn=PCA_ARN))
    anywhere = sensor_role_trust_policy(plan, ANCHOR)["Statement"][0]
    assert anywhere["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
    assert anywhere["Condition"]["StringEquals"] == {
        "aws:PrincipalTag/x509Subject/CN": "tlm-sensor-1.example.com"
    }
    # A template passes its own reference to the anchor it creates.
    reference = {"Fn::GetAtt": ["TrustAnchor", "TrustAnchorArn"]}
    assert sensor_role_trust_policy(plan, reference)["Statement"][0]["Condition"]["ArnEquals"] == {
        "aws:SourceArn": reference
    }
    with pytest.raises(ValueError, match="trust anchor"):
        sensor_role_trust_policy(plan)
    with pytest.raises(ValueError, match="no sensor role"):
        sensor_role_trust_policy(Plan())


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (_anywhere(), "trust_anchor_pca_arn", "needs a trust anchor"),
        (
            _anywhere(trust_anchor_certificate=CA_PEM, trust_anchor_pca_arn=PCA_ARN),
            "trust_anchor_pca_arn",
            "not both",
        ),
        (_anywhere(trust_anchor_certificate=LEAF_PEM), "trust_anchor_certificate", "not a CA certificate"),
        (_anywhere(trust_anchor_certificate="garbage"), "trust_anchor_certificate", "exactly one PEM"),
        (_anywhere(trust_anchor_certificate=CA_PEM + CA_PEM), "trust_anchor_certificate", "exactly one PEM"),
        (
            _anywhere(
                trust_anchor_pca_arn=PCA_ARN.replace("arn:aws:", "arn:aws-cn:").replace(
                    "us-east-1", "cn-north-1"
                )
            ),
            "trust_anchor_pca_arn",
            "another partition",
        ),
        (
            {"principal": "roles-anywhere", "trust_anchor_pca_arn": PCA_ARN},
            "certificate_subject_cn",
            "subject CN",
        ),
        (
            _anywhere(trust_anchor_pca_arn=PCA_ARN, certificate_subject_cn="a\nb"),
            "certificate_subject_cn",
            "common name",
        ),
        (
            _anywhere(
                partition="aws-cn",
                trust_anchor_pca_arn=PCA_ARN.replace("arn:aws:", "arn:aws-cn:").replace(
                    "us-east-1", "cn-north-1"
                ),
            ),
            "trust_anchor_pca_arn",
            "cannot use an AWS Private CA",
        ),
        (_anywhere(trust_anchor_certificate="A" * 9000), "trust_anchor_certificate", "longer than 8000"),
        # Options the principal does not use are refused, like those a scope does not use.
        (
            {"principal": "instance-role", "user_name": "someone"},
            "user_name",
            "Only plans whose principal is iam-user",
        ),
        (
            {"sensor_role_name": "tlm-sensor"},
            "sensor_role_name",
            "principal is instance-role or roles-anywhere",
        ),
        ({"trust_anchor_certificate": CA_PEM}, "trust_anchor_certificate", "principal is roles-anywhere"),
        (
            {"principal": "instance-role", "certificate_subject_cn": "x"},
            "certificate_subject_cn",
            "roles-anywhere",
        ),
        ({"principal": "instance-role", "sensor_role_name": "bad/name"}, "sensor_role_name", "An IAM name"),
        ({"principal": "root"}, "principal", "Choose one of the listed options."),
    ],
)
def test_bad_principal_input_gets_one_clear_message_that_never_echoes_it(
    fields: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(fields)
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field]
    for value in fields.values():
        if isinstance(value, str) and len(value) > 4 and value not in {"roles-anywhere", "instance-role"}:
            assert value not in caught.value.errors[field]
    assert "MII" not in str(caught.value)


def test_a_roles_anywhere_plan_keeps_its_certificate_normalized() -> None:
    plan = parse_plan(_anywhere(trust_anchor_certificate="\r\n" + CA_PEM.replace("\n", "\r\n")))
    assert plan.trust_anchor_certificate == CA_PEM.strip()
    assert parse_plan(plan.to_json_dict()) == plan


def test_plans_stored_before_the_principal_load_as_iam_user_plans() -> None:
    # A plan as an earlier version stored it: no principal, no sensor role fields.
    old = {
        "scope": "organization",
        "user_name": "tlm",
        "role_name": "OrganizationAccountAccessRole",
        "dedicated_member_role": False,
        "secrets_manager": True,
        "secret_prefix": "digicert-tlm/",
        "partition": "aws",
        "regions": ["us-east-1"],
        "style": "documented",
    }
    plan, dropped = stored_plan(old)
    assert plan.principal is Principal.IAM_USER and plan.user_name == "tlm"
    assert dropped == ()
    # A stored role plan with a user name it no longer uses: the name is dropped, and said.
    plan, dropped = stored_plan({**old, "principal": "instance-role"})
    assert plan == Plan(principal=Principal.INSTANCE_ROLE)
    assert dropped == ("user_name",)


def test_changing_scope_keeps_the_principal_and_its_options() -> None:
    plan = parse_plan(_anywhere(trust_anchor_certificate=CA_PEM, partition="aws", role_name="TLMRole"))
    moved = parse_plan(in_scope(plan, "account"))
    assert moved.principal is Principal.ROLES_ANYWHERE
    assert moved.trust_anchor_certificate == plan.trust_anchor_certificate
    assert moved.role_name == "OrganizationAccountAccessRole"


def test_the_pca_arn_region_must_be_of_the_partition() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_anywhere(trust_anchor_pca_arn=PCA_ARN.replace("us-east-1", "us-gov-west-1")))
    assert "region" in caught.value.errors["trust_anchor_pca_arn"]
    assert (
        parse_plan(_anywhere(trust_anchor_pca_arn=PCA_ARN, partition=Partition.AWS)).trust_anchor_pca_arn
        == PCA_ARN
    )


# --- landing 2: the surfaces that follow the principal ---------------------------------

ROLE_PLANS = {
    "organization-instance-role": Plan(principal=Principal.INSTANCE_ROLE, sensor_role_name="tlm-sensor"),
    "account-instance-role-least-privilege": Plan(
        scope="account", principal=Principal.INSTANCE_ROLE, style="least-privilege", elb=True
    ),
    "organization-roles-anywhere-pem-member-role": Plan(
        principal=Principal.ROLES_ANYWHERE,
        trust_anchor_certificate=CA_PEM.strip(),
        certificate_subject_cn="tlm-sensor-1.example.com",
        dedicated_member_role=True,
        role_name="TLMMember",
        style="least-privilege",
    ),
    "account-roles-anywhere-pca-us-gov": Plan(
        scope="account",
        principal=Principal.ROLES_ANYWHERE,
        partition="aws-us-gov",
        regions=("us-gov-west-1",),
        trust_anchor_pca_arn=PCA_ARN.replace("arn:aws:", "arn:aws-us-gov:").replace(
            "us-east-1", "us-gov-west-1"
        ),
        certificate_subject_cn="sensor 1",
    ),
}
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "principals"


@pytest.mark.parametrize("key", sorted(ROLE_PLANS))
def test_the_checklist_of_a_role_plan_creates_the_role_never_a_user_or_key(key: str) -> None:
    plan = ROLE_PLANS[key]
    steps = checklist(plan)
    ids = [step.id for step in steps]
    assert "create-user" not in ids and "create-access-key" not in ids
    assert principal_step_id(plan) in ids and credentials_step_id(plan) in ids
    assert (
        ids.index(principal_step_id(plan))
        < ids.index(credentials_step_id(plan))
        < ids.index("configure-connector")
    )
    if plan.principal is Principal.ROLES_ANYWHERE:
        assert (
            ids.index("create-trust-anchor")
            < ids.index("create-sensor-role")
            < ids.index("create-roles-anywhere-profile")
        )
    commands = [command for step in steps for command in step.cli]
    for command in commands:
        assert "user" not in shlex.split(command)[:3], command  # no create-user, attach-user-policy, ...
        assert "--user-name" not in command and plan.user_name not in command
    attach = [c for c in commands if c.startswith(("aws iam attach-role-policy", "aws iam put-role-policy"))]
    assert (
        len(attach) == len(attachments(plan).managed) + len(attachments(plan).custom) + plan.is_organization
    )
    assert all(f"--role-name={plan.sensor_role_name}" in c for c in attach)
    settings = " ".join(f"{label}: {value}" for label, value in connector_settings(plan))
    expected = (
        "Default AWS credential provider chain"
        if plan.principal is Principal.INSTANCE_ROLE
        else "AWS profile name"
    )
    assert expected in settings and plan.user_name not in settings


def test_the_sensor_aws_profile_runs_the_signing_helper_with_the_plans_role() -> None:
    plan = ROLE_PLANS["account-roles-anywhere-pca-us-gov"]
    text = sensor_aws_config(plan, account_id="123456789012", trust_anchor_arn=ANCHOR, profile_arn="arn:p")
    lines = text.splitlines()
    assert lines[0] == f"[profile {SENSOR_AWS_PROFILE}]"
    process = shlex.split(lines[1].removeprefix("credential_process = "))
    assert process[:2] == ["aws_signing_helper", "credential-process"]
    # Each value joined to its flag, as every command the wizard prints.
    flags = dict(argument.split("=", 1) for argument in process[2:])
    assert flags == {
        "--certificate": SENSOR_CERTIFICATE_PATH,
        "--private-key": SENSOR_PRIVATE_KEY_PATH,
        "--trust-anchor-arn": ANCHOR,
        "--profile-arn": "arn:p",
        "--role-arn": "arn:aws-us-gov:iam::123456789012:role/digicert-tlm-sensor",
        "--region": "us-gov-west-1",
    }
    assert lines[2] == "region = us-gov-west-1"
    # A path with a space stays one argument; a line break would forge a setting.
    spaced = sensor_aws_config(plan, certificate_path="/opt/sensor certs/c.pem")
    spaced_process = shlex.split(spaced.splitlines()[1].removeprefix("credential_process = "))
    assert "--certificate=/opt/sensor certs/c.pem" in spaced_process
    with pytest.raises(ValueError, match="line break"):
        sensor_aws_config(plan, certificate_path="/c.pem\nregion = evil")
    for other in (Plan(), ROLE_PLANS["organization-instance-role"]):
        with pytest.raises(ValueError, match="roles-anywhere"):
            sensor_aws_config(other)


def test_commands_run_on_the_sensor_host_name_the_profile_the_checklist_creates() -> None:
    # The Verify page's export-credentials and `connector-wizard verify` commands (app/web/verify.py).
    for plan in (Plan(), ROLE_PLANS["organization-instance-role"]):
        assert sensor_profile_options(plan) == ()  # a key, or the instance's default chain
    anywhere = ROLE_PLANS["account-roles-anywhere-pca-us-gov"]
    (option,) = sensor_profile_options(anywhere)  # joined to its flag (docs/setup-script.md#arguments)
    flag, name = option.split("=")
    assert flag == "--profile" and sensor_aws_config(anywhere).splitlines()[0] == f"[profile {name}]"


def test_the_trust_anchor_source_is_the_pasted_ca_or_the_private_ca() -> None:
    pem = trust_anchor_source(ROLE_PLANS["organization-roles-anywhere-pem-member-role"])
    assert pem == {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": CA_PEM.strip()}}
    pca = trust_anchor_source(ROLE_PLANS["account-roles-anywhere-pca-us-gov"])
    assert pca["sourceType"] == "AWS_ACM_PCA" and pca["sourceData"]["acmPcaArn"].startswith(
        "arn:aws-us-gov:acm-pca:"
    )


@pytest.mark.parametrize("key", sorted(ROLE_PLANS))
def test_every_surface_names_the_role_and_explains_its_trust(key: str) -> None:
    plan = ROLE_PLANS[key]
    explanations = policy_explanations(plan)
    assert explanations[0].name == f"{plan.sensor_role_name} (trust policy)"
    assert {e.attached_to for e in explanations[1:]} <= {
        f"role {plan.sensor_role_name}",
        f"role {plan.role_name} in every member account",
    }
    markdown = checklist_markdown(plan)
    assert f"| sensor role | `{plan.sensor_role_name}` |" in markdown and "| IAM user |" not in markdown
    assert plan.user_name not in markdown
    text = policy_text(plan)
    assert f"to the IAM role {plan.sensor_role_name}:" in text and plan.user_name not in text


@pytest.mark.parametrize("key", sorted(ROLE_PLANS))
def test_role_plan_goldens(key: str, update_golden: bool) -> None:
    """The checklist and the permissions JSON of every keyless plan shape, reviewed as files."""
    plan = ROLE_PLANS[key]
    files = {
        "checklist.md": checklist_markdown(plan),
        "policy.json": json.dumps(policy_json(plan), indent=2) + "\n",
    }
    for name, text in files.items():
        path = GOLDEN / key / name
        if update_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"golden {key}/{name} differs: run pytest --update-golden and review"
