"""GovCloud has no AWS Account Management: no trusted-access step, check or account:ListRegions (docs/facts.md#govcloud)."""

from __future__ import annotations

import json

import pytest

from app.domain.artifacts import bundle
from app.domain.check_calls import check_calls
from app.domain.checklist import checklist, step_ids
from app.domain.least_privilege import organizations_policy
from app.domain.plan import Plan


def _actions(document: dict[str, object]) -> set[str]:
    statements = document["Statement"]
    assert isinstance(statements, list)
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


@pytest.mark.parametrize("style", ["documented", "least-privilege"])
def test_a_govcloud_organization_has_no_account_management_anywhere(style: str) -> None:
    plan = Plan(partition="aws-us-gov", style=style)  # type: ignore[arg-type]
    assert "enable-trusted-access" not in step_ids(plan)
    # The reason is shown where the step would have been: the first step.
    first = checklist(plan)[0]
    assert first.id == "create-user" and "AWS Account Management is not offered" in first.why
    files = bundle(plan)
    for name in ("setup.sh", "cloudformation/deploy.sh"):
        script = files[name].decode()
        assert "enable-aws-service-access" not in script
        assert "AWS Account Management is not offered" in script
    for name in ("cloudformation/management-account.yaml", "terraform/main.tf", "checklist.md"):
        text = files[name].decode()
        assert "enable-aws-service-access" not in text and "Prerequisite: trusted access" not in text
        assert "AWS Account Management is not offered" in text.replace("\n# ", " ")
    assert "trusted-access" not in {call.check for call in check_calls(plan)}
    assert not any(action.startswith("account:") for action in _actions(organizations_policy(plan).document))
    if style == "least-privilege":
        policy = json.loads(files["policy-organizations-read.json"])
        assert "account:ListRegions" not in _actions(policy)


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_where_account_management_exists_its_step_check_and_action_stay(partition: str) -> None:
    plan = Plan(partition=partition, style="least-privilege")  # type: ignore[arg-type]
    assert step_ids(plan)[0] == "enable-trusted-access"
    assert "trusted-access" in {call.check for call in check_calls(plan)}
    actions = _actions(organizations_policy(plan).document)
    assert {"account:ListRegions", "organizations:ListAWSServiceAccessForOrganization"} <= actions
    assert "enable-aws-service-access" in bundle(plan)["setup.sh"].decode()
