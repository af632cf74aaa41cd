"""The connector's principal (issue 13.2): the plan option, its rules, and what names the connector."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain import member_role
from app.domain.attachments import attachments, permissions_json
from app.domain.iam import Partition
from app.domain.plan import Plan, PlanError, Principal, in_scope, parse_plan, stored_plan
from app.domain.policies import corrected_inline_policy
from app.domain.principal import (
    auth_methods,
    connector_principal_arn,
    connector_principal_name,
    sensor_role_trust_policy,
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
