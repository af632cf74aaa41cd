"""Least-privilege policies and the dedicated member role: linted by parliament, justified, scoped."""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from app.domain import member_role
from app.domain.artifacts.documents import documents
from app.domain.explanations import policy_explanations
from app.domain.least_privilege import custom_user_policies, least_privilege_diff
from app.domain.permission_catalogue import ALL_PERMISSIONS
from app.domain.plan import Plan, PlanError, parse_plan
from app.domain.policies import attached_managed_policies
from tests.domain.artifact_matrix import MATRIX

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def parliament() -> Any:
    # parliament opens its config without closing it and uses pkg_resources;
    # both warn at import time, which a warnings-as-errors run would fail on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament

    return parliament


def findings(parliament: Any, document: dict[str, Any]) -> list[tuple[str, Any]]:
    policy = parliament.analyze_policy_string(json.dumps(document))
    return [(f.issue, f.detail) for f in policy.findings]


def identity_documents() -> dict[str, dict[str, Any]]:
    """Every identity policy any plan of the matrix produces (least privilege, corrected, member role)."""
    out: dict[str, dict[str, Any]] = {}
    for key, plan in MATRIX.items():
        for doc in documents(plan):
            if doc.kind == "identity":
                out[json.dumps(doc.document, sort_keys=True)] = {
                    "plan": key,
                    "file": doc.file_name,
                    "doc": doc.document,
                }
    return out


def test_parliament_has_no_finding_on_any_least_privilege_or_corrected_policy(parliament: Any) -> None:
    docs = identity_documents()
    assert len(docs) > 15  # the matrix really produced many distinct documents
    problems = {f"{d['plan']}/{d['file']}": findings(parliament, d["doc"]) for d in docs.values()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_no_least_privilege_action_is_a_wildcard_and_each_is_known_to_parliament(parliament: Any) -> None:
    for permission in ALL_PERMISSIONS:
        _, action = permission.action.split(":")
        assert "*" not in action and "?" not in action
        # parliament's bundled IAM definition is built from the Service Authorization Reference.
        assert parliament.expand_action(permission.action), permission.action


def test_every_action_cites_its_service_authorization_reference_page() -> None:
    sar = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_"
    pages = {
        "acm": "awscertificatemanager",
        "organizations": "awsorganizations",
        "account": "awsaccountmanagement",
        "secretsmanager": "awssecretsmanager",
        "sts": "awssecuritytokenservice",
        # ELB v2 (Application, Network) and v1 (Classic) share the prefix, each API with its page.
        "elasticloadbalancing": ("awselasticloadbalancingv2", "awselasticloadbalancing"),
    }
    for permission in ALL_PERMISSIONS:
        service = permission.action.split(":")[0]
        names = pages[service]
        assert permission.source in {
            f"{sar}{name}.html" for name in ((names,) if isinstance(names, str) else names)
        }
        assert permission.why.strip()
    # And in the source, each Permission(...) has a comment naming the page right above it.
    source = (REPO / "app/domain/permission_catalogue.py").read_text()
    lines = source.splitlines()
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Permission"
    ]
    assert len(calls) == len(ALL_PERMISSIONS)
    for call in calls:
        action = call.args[0].value  # type: ignore[attr-defined]
        above = lines[call.lineno - 2]
        assert above.strip().startswith("# list_") and ".html" in above, (action, above)
        assert action.split(":")[1] in above, (action, above)


def test_least_privilege_policies_follow_the_plan() -> None:
    plan = Plan(
        style="least-privilege",
        regions=("eu-west-1", "us-east-1"),
        secret_prefix="tlm/keys-",
        partition="aws",
    )
    by_name = {p.name: p for p in custom_user_policies(plan)}
    assert list(by_name) == [
        "DigiCertTLMOrganizationsRead",
        "DigiCertTLMCertificateManager",
        "DigiCertTLMSecretsManagerPrefix",
    ]
    acm = by_name["DigiCertTLMCertificateManager"].document["Statement"]
    assert acm[0]["Action"] == ["acm:ListCertificates"]
    assert acm[0]["Resource"] == "*"
    assert acm[0]["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}
    assert acm[1]["Resource"] == [
        "arn:aws:acm:eu-west-1:*:certificate/*",
        "arn:aws:acm:us-east-1:*:certificate/*",
    ]
    assert {"acm:ImportCertificate", "acm:DeleteCertificate", "acm:AddTagsToCertificate"} <= set(
        acm[1]["Action"]
    )
    secrets = by_name["DigiCertTLMSecretsManagerPrefix"].document["Statement"][0]
    assert secrets["Resource"] == "arn:aws:secretsmanager:*:*:secret:tlm/keys-*"
    assert "secretsmanager:ListSecrets" not in secrets["Action"]  # unscoped: deliberately left out
    org = by_name["DigiCertTLMOrganizationsRead"].document
    actions = {a for s in org["Statement"] for a in s["Action"]}
    assert {"organizations:ListAccounts", "organizations:ListRoots", "account:ListRegions"} <= actions
    assert not any(
        a.startswith(("organizations:Create", "organizations:Delete", "organizations:Update"))
        for a in actions
    )

    account = Plan(scope="account", style="least-privilege", secrets_manager=False)
    assert [p.name for p in custom_user_policies(account)] == ["DigiCertTLMCertificateManager"]


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_every_arn_follows_the_partition(partition: str) -> None:
    for key, plan in MATRIX.items():
        if plan.partition.value != partition:
            continue
        for doc in documents(plan):
            text = json.dumps(doc.document)
            arns = [part for part in text.split('"') if part.startswith("arn:")]
            # The sensor role trusts a service, and the CA certificate is no ARN: the others name one.
            if doc.file_name not in (
                "sensor-role-trust-policy.json",
                "roles-anywhere-trust-anchor-source.json",
            ):
                assert arns, (key, doc.file_name)
            assert all(a.startswith(f"arn:{partition}:") for a in arns), (key, doc.file_name, arns)


def test_member_role_trusts_only_the_user_and_asks_for_no_external_id() -> None:
    # The connector cannot send an external ID: the exact principal is the whole condition.
    plan = Plan(
        dedicated_member_role=True,
        role_name="TLM",
        partition="aws-cn",
        regions=("cn-north-1",),
    )
    trust = member_role.trust_policy(plan, "111122223333")
    assert trust["Statement"] == [
        {
            "Sid": "ConnectorUserOnly",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws-cn:iam::111122223333:user/digicert-tlm-connector"},
            "Action": "sts:AssumeRole",
        }
    ]
    # The JSON file carries a placeholder that IAM rejects rather than a guessable account id.
    assert member_role.MANAGEMENT_ACCOUNT_PLACEHOLDER in json.dumps(member_role.trust_policy(plan))
    names = [p.name for p in member_role.permission_policies(plan)]
    assert names == ["CertificateManager", "SecretsManagerPrefix"]
    assert [
        p.name for p in member_role.permission_policies(plan.model_copy(update={"secrets_manager": False}))
    ] == ["CertificateManager"]
    assert member_role.applies(plan)


def test_a_dedicated_member_role_cannot_reuse_organization_account_access_role() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan({"dedicated_member_role": True, "role_name": "OrganizationAccountAccessRole"})
    assert list(caught.value.errors) == ["dedicated_member_role"]
    assert "own name" in caught.value.errors["dedicated_member_role"]
    # Account scope has no member role: the option is refused there (docs/decisions.md).
    with pytest.raises(PlanError) as refused:
        parse_plan({"scope": "account", "dedicated_member_role": True})
    assert list(refused.value.errors) == ["dedicated_member_role"]


def test_the_diff_says_what_least_privilege_removes() -> None:
    org = least_privilege_diff(MATRIX["organization-least-privilege-secrets-aws-member-role"])
    text = " ".join(org)
    for needle in (
        "AWSOrganizationsReadOnlyAccess",
        "AWSCertificateManagerFullAccess",
        "SecretsManagerReadWrite",
        "digicert-tlm/",
        "us-east-1, eu-central-1",
        "DigiCertTLMMemberRole",
        "administrator",
    ):
        assert needle in text, needle
    account = least_privilege_diff(MATRIX["account-least-privilege-no-secrets-aws-cn"])
    assert not any("AWSOrganizationsReadOnlyAccess" in line for line in account)
    assert any("not used" in line for line in account)
    default_role = least_privilege_diff(MATRIX["organization-least-privilege-secrets-aws"])
    assert any("unchanged" in line and "administrator" in line for line in default_role)


def test_explanations_cover_every_action_of_every_policy() -> None:
    for key, plan in MATRIX.items():
        explained = policy_explanations(plan)
        for doc in documents(plan):
            if doc.kind in ("documented", "source"):  # the source's text; the trust anchor's CA: no policy
                continue
            match = [e for e in explained if e.file_name == doc.file_name]
            assert len(match) == 1, (key, doc.file_name)
            actions = {
                a
                for s in doc.document["Statement"]
                for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            }
            reasons = match[0].reasons
            assert {a for r in reasons for a in r.actions} == actions, (key, doc.file_name)
            assert all(r.why and r.sources for r in reasons), (key, doc.file_name)
        if plan.style.value == "documented":
            assert [e.name for e in explained if e.file_name is None] == [
                m.name for m in attached_managed_policies(plan)
            ]
