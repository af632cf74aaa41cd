"""Checklist steps derived from the plan."""

from __future__ import annotations

import shlex

import pytest

from app.domain.checklist import checklist, step_ids
from app.domain.connector_auth import SENSOR_AWS_PROFILE
from app.domain.plan import Plan, Scope
from tests.domain.artifact_matrix import MATRIX, plan_artifacts


def test_organization_steps_in_order() -> None:
    assert step_ids(Plan()) == [
        "enable-trusted-access",
        "create-user",
        "attach-AWSOrganizationsReadOnlyAccess",
        "attach-AWSCertificateManagerFullAccess",
        "attach-SecretsManagerReadWrite",
        "put-inline-policy",
        "member-role",
        "create-access-key",
        "configure-connector",
    ]


def test_account_steps_are_the_shorter_list() -> None:
    assert step_ids(Plan(scope=Scope.ACCOUNT, secrets_manager=False)) == [
        "create-user",
        "attach-AWSCertificateManagerFullAccess",
        "create-access-key",
        "configure-connector",
    ]


def test_default_role_step_warns_about_invited_accounts_and_admin_rights() -> None:
    member = next(step for step in checklist(Plan()) if step.id == "member-role")
    assert "invited" in member.why
    assert member.warning is not None and "administrator" in member.warning


def test_every_cli_command_uses_the_plans_names_and_parses_as_shell() -> None:
    plan = Plan(user_name="tlm.user@corp", role_name="TLM-Role")
    commands = [command for step in checklist(plan) for command in step.cli]
    assert "aws organizations enable-aws-service-access --service-principal=account.amazonaws.com" in commands
    assert "aws iam create-user --user-name=tlm.user@corp" in commands
    assert any("arn:aws:iam::aws:policy/AWSCertificateManagerFullAccess" in c for c in commands)
    for command in commands:
        assert shlex.split(command)[0] == "aws"


@pytest.mark.parametrize("scope", list(Scope))
def test_every_step_has_console_instructions(scope: Scope) -> None:
    for step in checklist(Plan(scope=scope)):
        assert step.console, step.id
        assert step.title and step.why


def test_configure_step_names_the_role_for_organizations_only() -> None:
    org = checklist(Plan(role_name="TLMRole"))[-1]
    assert any("TLMRole" in line for line in org.console)
    # An account-scope plan has no role name (it keeps the default, unused: docs/decisions.md).
    account = checklist(Plan(scope=Scope.ACCOUNT))[-1]
    assert not any("OrganizationAccountAccessRole" in line for line in account.console)


def test_the_connector_step_says_what_to_type_into_the_connector_for_this_plan() -> None:
    # Issue 11 item 11: it is done in DigiCert's connector, not "In the AWS console".
    org_plan = Plan(role_name="TLMRole", user_name="tlm-user", regions=("eu-west-1", "us-east-1"))
    org = checklist(org_plan)[-1]
    assert org.id == "configure-connector"
    assert org.where == "In DigiCert Trust Lifecycle Manager's AWS connector"
    assert org.console[1:] == (
        "Scope: Organization.",
        # DigiCert's two methods for a key (docs/facts.md#keyless-sensors): typed in, or a PAM reference.
        "Authentication method: Self-authentication (Direct input): the access key ID and secret access key "
        "of the IAM user tlm-user; or Self-authentication (Secrets manager): your secrets manager connector, "
        "and references to the PAM vault entries that hold them.",
        "Common IAM role name: TLMRole.",
        "Regions: eu-west-1, us-east-1.",
    )
    assert all(step.where == "In the AWS console" for step in checklist(org_plan)[:-1])


def test_the_connector_step_of_a_keyless_plan_names_its_digicert_method_and_no_key() -> None:
    # Issue 13.2: instance-role is the sensor's default chain (nothing to type); roles-anywhere is
    # the AWS profile name. Neither has a key, so neither step says to type one.
    ec2 = checklist(Plan(principal="instance-role", sensor_role_name="tlm-sensor"))[-1]
    assert ec2.title == "Enter the settings in the connector"
    assert ec2.console[2].startswith(
        "Authentication method: Default AWS credential provider chain: nothing to type."
    )
    assert "instance profile tlm-sensor" in ec2.console[2] and "the sensor role tlm-sensor" in ec2.why
    anywhere = Plan(
        scope="account",
        principal="roles-anywhere",
        certificate_subject_cn="sensor-01",
        trust_anchor_pca_arn="arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
        "12345678-1234-1234-1234-123456789012",
    )
    step = checklist(anywhere)[-1]
    assert step.console[2] == "Authentication method: AWS profile name."
    assert step.console[3].startswith(
        f"Profile name: {SENSOR_AWS_PROFILE} (the profile in the sensor's ~/.aws/config"
    )
    for plan_step in (ec2, step):
        lines = " ".join(plan_step.console)
        assert "access key" not in lines and "Self-authentication" not in lines


def test_account_scope_says_nothing_of_member_accounts_or_a_management_account() -> None:
    for key, plan in MATRIX.items():
        if plan.is_organization:
            continue
        steps = checklist(plan)
        texts = [step.why for step in steps] + [line for step in steps for line in step.console]
        assert not [t for t in texts if "member account" in t or "inline policy" in t], key
        scripts = [a.content for a in plan_artifacts(key) if a.path.endswith(".sh")]
        assert scripts and not [
            s for s in scripts if "MANAGEMENT_ACCOUNT" in s or "management account" in s
        ], key
