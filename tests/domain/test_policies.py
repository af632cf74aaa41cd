"""The documented permissions and inline policy, exactly as the source document prints them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from app.domain import policies
from app.domain.artifacts.documents import DOCUMENTED_INLINE_POLICY_FILE, documents
from app.domain.iam import Partition
from app.domain.plan import Plan, Scope

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed_minimum_permissions.txt"
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "documented"


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def seed_inline_policy() -> dict:
    """The JSON block of the source document, parsed as printed."""
    text = seed_text()
    start = text.index("{")
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return json.loads(text[start : index + 1])
    raise AssertionError("no JSON block in the seed")


def seed_rows(section: str) -> list[tuple[str, str]]:
    """(permission, purpose) rows of the seed's table in `section` ("Organization scope"/"Account scope")."""
    text = seed_text()
    start = text.index(section)
    end = text.index("Account scope", start + 1) if section == "Organization scope" else len(text)
    block = text[start:end]
    names = re.findall(r"^(AWS\w+|SecretsManager\w+)$", block, flags=re.MULTILINE)
    rows = []
    for name in names:
        after = block[block.index("\n" + name + "\n") + len(name) + 2 :].lstrip("\n")
        rows.append((name, after.split("\n", 1)[0].strip()))
    return rows


@pytest.mark.parametrize("partition", list(Partition))
def test_documented_inline_policy_is_the_seed_with_the_role_name(partition: Partition) -> None:
    plan = Plan(role_name="TLMConnectorRole", partition=partition)
    expected = seed_inline_policy()
    arn = f"arn:{partition.value}:iam::*:role/TLMConnectorRole"
    expected["Statement"][0]["Resource"] = [
        r.replace("<Common IAM role name>", "TLMConnectorRole").replace("arn:aws:", f"arn:{partition.value}:")
        for r in expected["Statement"][0]["Resource"]
    ]
    assert policies.documented_inline_policy(plan) == expected
    assert expected["Statement"][0]["Resource"] == [arn]
    assert expected["Statement"][0]["Sid"] == "VisualEditor0"


@pytest.mark.parametrize("scope", list(Scope))
def test_permissions_table_matches_the_seed(scope: Scope) -> None:
    section = "Organization scope" if scope is Scope.ORGANIZATION else "Account scope"
    rows = policies.documented_permissions(Plan(scope=scope))
    # The seed's purpose cell for Secrets Manager ends in "Note that:", then the notes.
    assert [(r.name, r.purpose) for r in rows] == [
        (name, purpose.removesuffix(" Note that:")) for name, purpose in seed_rows(section)
    ]
    assert [r.optional for r in rows] == [r.name == "SecretsManagerReadWrite" for r in rows]
    secrets = rows[-1]
    for note in secrets.notes:
        assert note in " ".join(seed_text().split())


@pytest.mark.parametrize("partition", list(Partition))
@pytest.mark.parametrize("scope", list(Scope))
def test_permissions_golden(scope: Scope, partition: Partition, update_golden: bool) -> None:
    plan = Plan(scope=scope, partition=partition, role_name="OrganizationAccountAccessRole")
    result = {
        "permissions": [
            {
                "name": r.name,
                "arn": r.arn,
                "purpose": r.purpose,
                "optional": r.optional,
                "notes": list(r.notes),
            }
            for r in policies.documented_permissions(plan)
        ],
        "inline_policy_documented": policies.documented_inline_policy(plan) if plan.is_organization else None,
        "inline_policy_corrected": policies.corrected_inline_policy(plan) if plan.is_organization else None,
    }
    path = GOLDEN / f"{scope.value}-{partition.value}.json"
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"golden file {path.name} differs: run pytest --update-golden and review"


def test_secrets_manager_left_out_when_not_chosen() -> None:
    attached = [p.name for p in policies.attached_managed_policies(Plan(secrets_manager=False))]
    assert attached == ["AWSOrganizationsReadOnlyAccess", "AWSCertificateManagerFullAccess"]
    attached = [p.name for p in policies.attached_managed_policies(Plan(scope=Scope.ACCOUNT))]
    assert attached == ["AWSCertificateManagerFullAccess", "SecretsManagerReadWrite"]


def _parliament_codes(document: dict) -> list[tuple[str, str]]:
    policy = analyze_policy_string(json.dumps(document))
    return sorted((finding.issue, str(finding.detail)) for finding in policy.findings)


@pytest.mark.parametrize("partition", list(Partition))
def test_parliament_flags_exactly_the_documented_mistake(partition: Partition) -> None:
    plan = Plan(partition=partition)
    documented = policies.documented_inline_policy(plan)
    issues = [issue for issue, _ in _parliament_codes(documented)]
    assert issues == ["RESOURCE_MISMATCH"], _parliament_codes(documented)
    # Our own lint names the same two actions parliament complains about.
    ours = {(finding.code, finding.action) for finding in policies.lint_policy(documented)}
    # GetAccessKeyInfo grants nothing on a role ARN; GetSessionToken is no policy's business at all.
    assert ours == {
        ("NOT_POLICY_CONTROLLED", "sts:GetSessionToken"),
        ("RESOURCE_MISMATCH", "sts:GetAccessKeyInfo"),
    }
    (session,) = [f for f in policies.lint_policy(documented) if f.code == "NOT_POLICY_CONTROLLED"]
    assert "needs no permission and IAM policies cannot control it" in session.explanation
    assert "changes nothing" in session.explanation
    detail = _parliament_codes(documented)[0][1].lower()
    assert "getsessiontoken" in detail and "getaccesskeyinfo" in detail
    # parliament itself names exactly those two actions, not merely mentions them.
    (finding,) = analyze_policy_string(json.dumps(documented)).findings
    assert {d["action"] for d in finding.detail} == {"sts:GetSessionToken", "sts:GetAccessKeyInfo"}


@pytest.mark.parametrize("partition", list(Partition))
def test_corrected_policy_passes_parliament_and_our_lint(partition: Partition) -> None:
    corrected = policies.corrected_inline_policy(Plan(partition=partition, role_name="Custom.Role@x"))
    assert _parliament_codes(corrected) == []
    assert _parliament_codes(policies.corrected_inline_policy(Plan(partition=partition))) == []
    assert policies.lint_policy(corrected) == []
    actions = {
        action
        for st in corrected["Statement"]
        for action in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    # It grants what the document intends; GetSessionToken needs no permission, so it is left out.
    assert actions == {"sts:AssumeRole", "sts:GetAccessKeyInfo"}


def test_the_documented_policy_file_says_why_each_sts_action_is_wrong() -> None:
    """Its description must not call GetSessionToken a resource mismatch: no IAM policy controls it."""
    (documented,) = [d for d in documents(Plan()) if d.file_name == DOCUMENTED_INLINE_POLICY_FILE]
    assert "no IAM policy controls sts:GetSessionToken" in documented.description
    assert "sts:GetAccessKeyInfo is scoped to a role ARN it does not support" in documented.description
