"""Checklist steps derived from the plan."""

from __future__ import annotations

import shlex

import pytest

from app.domain.checklist import checklist, step_ids
from app.domain.plan import Plan, Scope


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
    account = checklist(Plan(scope=Scope.ACCOUNT, role_name="TLMRole"))[-1]
    assert not any("TLMRole" in line for line in account.console)
