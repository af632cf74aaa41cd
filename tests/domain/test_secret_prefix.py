"""The Secrets Manager name prefix is labelled as our assumption wherever it appears (issue 11 item 13),
and organization-scope templates name the trusted-access prerequisite in their headers."""

from __future__ import annotations

import json

from app.domain.artifacts import artifact
from app.domain.checklist import TRUSTED_ACCESS_COMMAND, checklist
from app.domain.iam import has_account_management
from app.domain.least_privilege import SECRET_PREFIX_ASSUMED, uses_secret_prefix
from app.domain.plan import Plan
from app.domain.policies import render_json
from tests.domain.artifact_matrix import MATRIX, plan_artifacts

# The JSON policy documents carry the prefix in an ARN and cannot carry words;
# every other file that shows the prefix says what it is.
LABEL = SECRET_PREFIX_ASSUMED


def _mentions(text: str, plan: Plan) -> bool:
    return (
        plan.secret_prefix + "*" in text
        or f"start with {plan.secret_prefix}" in text
        or (f"prefix {plan.secret_prefix}" in text)
    )


def test_every_file_that_shows_the_prefix_says_it_is_assumed() -> None:
    checked = 0
    for key, plan in MATRIX.items():
        for item in plan_artifacts(key):
            if item.format == "json" or not _mentions(item.content, plan):
                continue
            checked += 1
            assert LABEL in item.content, (key, item.path)
            if item.path in ("cloudformation/management-account.yaml", "terraform/main.tf", "setup.sh"):
                assert "CloudTrail" in item.content or "confirm it" in item.content, (key, item.path)
    assert checked > 30


def test_the_checklist_says_how_to_confirm_the_prefix() -> None:
    for key, plan in MATRIX.items():
        text = " ".join(f"{s.why} {s.warning or ''}" for s in checklist(plan))
        if uses_secret_prefix(plan):
            assert LABEL in text and "CloudTrail" in text and "DigiCert support" in text, key
        else:
            assert "CloudTrail" not in text, key


def test_organization_templates_name_the_trusted_access_prerequisite() -> None:
    for key, plan in MATRIX.items():
        files = {a.path: a.content for a in plan_artifacts(key)}
        for path in ("cloudformation/management-account.yaml", "terraform/main.tf"):
            header = "\n".join(line for line in files[path].splitlines() if line.startswith("#"))
            # GovCloud has no Account Management: the header says so instead (docs/facts.md#govcloud).
            prerequisite = plan.is_organization and has_account_management(plan.partition)
            assert (TRUSTED_ACCESS_COMMAND in header) is prerequisite, (key, path)
            assert ("AWS Account Management" in header) is plan.is_organization, (key, path)


def test_policy_documents_keep_the_prefix_in_the_arn() -> None:
    plan = Plan(style="least-privilege", secret_prefix="certs/x.")  # type: ignore[arg-type]
    found = artifact(plan, "policy-secrets-manager.json")
    assert found is not None and "secret:certs/x.*" in found.content
    assert found.content == render_json(json.loads(found.content))  # the one serializer, unlabelled
