"""IAM policy documents for the connector user, as small pure functions.

Pattern from simonw/s3-credentials `policies.py`: `*_statements()` build
statements, `wrap_policy()` makes a document. Every action list says which AWS
page justifies it.

Source document: DigiCert, "Minimum required permissions for AWS unified
connectors" (tests/fixtures/seed_minimum_permissions.txt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.domain.iam import managed_policy_arn, role_arn_in_any_account
from app.domain.plan import Plan

PolicyDocument = dict[str, Any]

INLINE_POLICY_NAME = "DigiCertTLMCommonRoleAccess"
# The inline policy's file in the artifacts, and in the checklist's CLI commands.
INLINE_POLICY_FILE = "inline-policy.json"


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A row of the source document's permissions table."""

    name: str
    arn: str
    purpose: str
    optional: bool
    notes: tuple[str, ...] = ()


# Purpose texts copied verbatim from the source document.
_ORGANIZATIONS_PURPOSE = "List all member accounts in the organization."
_ACM_PURPOSE = "Access and manage certificates in AWS Certificate Manager (ACM)."
_SECRETS_PURPOSE = (
    "Temporarily store private keys in AWS Secrets Manager before delivering issued "
    "certificates and their private keys to ACM."
)
_SECRETS_NOTES = (
    "This permission is optional. If omitted, the managing DigiCert sensor is used for "
    "temporary key storage instead of AWS Secrets Manager.",
    "Temporary keys get automatically deleted once certificates are issued and delivered "
    "to ACM along with their private keys.",
)


_ELB_PURPOSE = (
    "Discover load balancers and listeners and attach, replace and remove listener certificates "
    "(Elastic Load Balancing: Application, Network and Classic Load Balancers)."
)
_ELB_NOTES = (
    "Not on DigiCert's minimum-permissions page: DigiCert documents ElasticLoadBalancingFullAccess, "
    "with ACM, for the connector's ELB listener automation (docs/facts.md#elb-permissions).",
)


def elb_managed_policy(plan: Plan) -> ManagedPolicy:
    """ElasticLoadBalancingFullAccess, for plans that also automate ELB listeners."""
    return ManagedPolicy(
        "ElasticLoadBalancingFullAccess",
        managed_policy_arn(plan.partition, "ElasticLoadBalancingFullAccess"),
        _ELB_PURPOSE,
        optional=False,
        notes=_ELB_NOTES,
    )


def documented_permissions(plan: Plan, *, include_optional: bool = True) -> list[ManagedPolicy]:
    """The source document's permissions table for the plan's scope, in its order.

    `include_optional=False` drops SecretsManagerReadWrite; the table shown to
    users always lists it (marked optional), the policies attached follow the plan.
    """
    rows: list[ManagedPolicy] = []
    if plan.is_organization:
        rows.append(
            ManagedPolicy(
                "AWSOrganizationsReadOnlyAccess",
                managed_policy_arn(plan.partition, "AWSOrganizationsReadOnlyAccess"),
                _ORGANIZATIONS_PURPOSE,
                optional=False,
            )
        )
    rows.append(
        ManagedPolicy(
            "AWSCertificateManagerFullAccess",
            managed_policy_arn(plan.partition, "AWSCertificateManagerFullAccess"),
            _ACM_PURPOSE,
            optional=False,
        )
    )
    if include_optional:
        rows.append(
            ManagedPolicy(
                "SecretsManagerReadWrite",
                managed_policy_arn(plan.partition, "SecretsManagerReadWrite"),
                _SECRETS_PURPOSE,
                optional=True,
                notes=_SECRETS_NOTES,
            )
        )
    if plan.elb:
        # Beyond the source document's table: the plan's ELB option (docs/facts.md#elb-permissions).
        rows.append(elb_managed_policy(plan))
    return rows


def attached_managed_policies(plan: Plan) -> list[ManagedPolicy]:
    """The managed policies the *as documented* plan attaches to the user."""
    return documented_permissions(plan, include_optional=plan.secrets_manager)


def render_json(document: PolicyDocument) -> str:
    """A policy document as the bytes of its file: the one serializer for downloads and pages.

    Four-space indent as the IAM console shows policies, keys in AWS's order
    (never sorted), ASCII-only output, a final newline. Pages show exactly
    these bytes, so JSON copied from a page hashes to the sha256 the report
    and the manifest list (docs/one-plan-one-truth.md).
    """
    return json.dumps(document, indent=4) + "\n"


def wrap_policy(statements: list[dict[str, Any]]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": statements}


def documented_inline_policy(plan: Plan) -> PolicyDocument:
    """The source document's inline policy, verbatim, with the role name substituted.

    Only the role name and the partition (docs/facts.md#partitions) change; the Sid,
    action order and the list-valued Resource are the document's.
    """
    return wrap_policy(
        [
            {
                "Sid": "VisualEditor0",
                "Effect": "Allow",
                "Action": ["sts:GetSessionToken", "sts:AssumeRole", "sts:GetAccessKeyInfo"],
                "Resource": [role_arn_in_any_account(plan.partition, plan.role_name)],
            }
        ]
    )


def assume_common_role_statement(plan: Plan) -> dict[str, Any]:
    # sts:AssumeRole supports the "role" resource type.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
    return {
        "Sid": "AssumeCommonRoleInMemberAccounts",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role_arn_in_any_account(plan.partition, plan.role_name),
    }


def session_statements() -> list[dict[str, Any]]:
    # sts:GetAccessKeyInfo has no resource types in the Service Authorization
    # Reference, so it must use "Resource": "*".
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
    # No sts:GetSessionToken: no permission is required for it and IAM policies
    # cannot control it (docs/facts.md#sts).
    return [
        {
            "Sid": "AccessKeyInfo",
            "Effect": "Allow",
            "Action": "sts:GetAccessKeyInfo",
            "Resource": "*",
        }
    ]


def corrected_inline_policy(plan: Plan) -> PolicyDocument:
    """The documented policy fixed: it grants what the document intends.

    For a role principal (instance-role, roles-anywhere) only sts:AssumeRole
    stays: role credentials cannot call GetSessionToken, which takes an IAM
    user's long-term credentials, and with no access key there is no key to
    look up with GetAccessKeyInfo (docs/facts.md#sts, #temporary-credentials).
    """
    if plan.uses_role_principal:
        return wrap_policy([assume_common_role_statement(plan)])
    return wrap_policy([assume_common_role_statement(plan), *session_statements()])


# Actions that support no resource-level permissions, so a statement that
# scopes them to an ARN grants nothing (IAM linters report RESOURCE_MISMATCH).
# Source: Service Authorization Reference, "Actions defined by AWS Security
# Token Service" (resource types column empty for these actions).
# Actions no IAM policy controls: "No permissions are required for a user to get
# a session token" (IAM User Guide, "Permissions for GetSessionToken",
# docs/facts.md#sts).
NOT_POLICY_CONTROLLED = frozenset({"sts:getsessiontoken"})
ACTIONS_WITHOUT_RESOURCE_TYPES = frozenset(
    {
        "sts:getaccesskeyinfo",
        "sts:getcalleridentity",
        # Elastic Load Balancing (v1 and v2) discovery; list_awselasticloadbalancingv2.html.
        "elasticloadbalancing:describeloadbalancers",
        "elasticloadbalancing:describelisteners",
        "elasticloadbalancing:describelistenercertificates",
    }
)


@dataclass(frozen=True, slots=True)
class LintFinding:
    code: str
    action: str
    resource: str
    explanation: str


def lint_policy(document: PolicyDocument) -> list[LintFinding]:
    """Find actions scoped to resources they do not support (the seed's mistake)."""
    findings: list[LintFinding] = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if resources == ["*"] or not resources:
            continue
        for action in _as_list(statement.get("Action")):
            if str(action).lower() in NOT_POLICY_CONTROLLED:
                findings.append(
                    LintFinding(
                        code="NOT_POLICY_CONTROLLED",
                        action=str(action),
                        resource=", ".join(resources),
                        explanation=(
                            f"{action} needs no permission and IAM policies cannot control it (AWS IAM User "
                            'Guide, "Permissions for GetSessionToken"): listed or not, it changes nothing.'
                        ),
                    )
                )
            elif str(action).lower() in ACTIONS_WITHOUT_RESOURCE_TYPES:
                findings.append(
                    LintFinding(
                        code="RESOURCE_MISMATCH",
                        action=str(action),
                        resource=", ".join(resources),
                        explanation=(
                            f"{action} does not support resource-level permissions: scoped to "
                            f'{", ".join(resources)} it grants nothing. It needs "Resource": "*".'
                        ),
                    )
                )
    return findings


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
