"""Least-privilege custom policies for the connector user (issue 3).

Pure (stdlib only, plus the plan). `custom_user_policies(plan)` replaces the
AWS managed policies of the *as documented* style with scoped custom policies;
`least_privilege_diff(plan)` says in plain words what that removes, and
`explain_document` why each permission of a document is there
(app/domain/explanations.py puts them together for every policy of a plan).

The actions, why each is there, the AWS page that defines it and the resource
ARNs it is scoped to come from the cited catalogue
(app/domain/permission_catalogue.py); this module groups them into statements
and policies, so the documents and their explanations cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.iam import has_account_management
from app.domain.permission_catalogue import (
    ACCOUNT_REGIONS,
    ACM_CERTIFICATE,
    ACM_LIST,
    ELB_CLASSIC,
    ELB_DISCOVER,
    ELB_LISTENER,
    ORGANIZATIONS_ANY_RESOURCE,
    ORGANIZATIONS_DESCRIBE_ACCOUNT,
    ORGANIZATIONS_DESCRIBE_OU,
    ORGANIZATIONS_SERVICE_ACCESS,
    PERMISSIONS_BY_ACTION,
    REQUESTED_REGION_DOC,
    SECRETS,
    Permission,
    acm_certificate_arns,
    elb_classic_arns,
    elb_listener_arns,
    organizations_account_arns,
    organizations_unit_arns,
    secret_arn_pattern,
)
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle
from app.domain.policies import (
    PolicyDocument,
    wrap_policy,
)
from app.domain.principal import connector_principal_label, connector_principal_noun


@dataclass(frozen=True, slots=True)
class CustomPolicy:
    name: str  # the IAM policy name to create
    file_name: str  # its JSON file in the export bundle
    purpose: str  # why it is there, in plain words
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class PermissionReason:
    """A statement of a policy, explained: which actions on what, and why."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    why: str
    sources: tuple[str, ...]
    condition: str | None = None
    # Per action: why it is there and its Service Authorization Reference page.
    details: tuple[Permission, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyExplanation:
    """Why a policy is attached and why each permission in it is there."""

    name: str
    file_name: str | None  # the JSON document in the bundle, if it has one
    attached_to: str  # "user <name>" or "role <name> in every member account"
    summary: str
    reasons: tuple[PermissionReason, ...]


# Policy names (customer managed policies in the management account) and
# their JSON files in the export bundle.
ORGANIZATIONS_POLICY_NAME = "DigiCertTLMOrganizationsRead"
ACM_POLICY_NAME = "DigiCertTLMCertificateManager"
SECRETS_POLICY_NAME = "DigiCertTLMSecretsManagerPrefix"
ELB_POLICY_NAME = "DigiCertTLMElasticLoadBalancing"
ELB_POLICY_FILE = "policy-elastic-load-balancing.json"
ORGANIZATIONS_POLICY_FILE = "policy-organizations-read.json"
ACM_POLICY_FILE = "policy-certificate-manager.json"
SECRETS_POLICY_FILE = "policy-secrets-manager.json"


def _actions(permissions: Sequence[Permission]) -> list[str]:
    return [p.action for p in permissions]


def _statement(
    sid: str, permissions: Sequence[Permission], resources: list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": _actions(permissions),
        "Resource": resources[0] if len(resources) == 1 else resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def requested_region_condition(plan: Plan) -> dict[str, Any]:
    # aws:RequestedRegion is the region the request is sent to (REQUESTED_REGION_DOC).
    return {"StringEquals": {"aws:RequestedRegion": list(plan.regions)}}


def acm_statements(plan: Plan) -> list[dict[str, Any]]:
    return [
        _statement("AcmListInChosenRegions", ACM_LIST, ["*"], requested_region_condition(plan)),
        _statement("AcmCertificatesInChosenRegions", ACM_CERTIFICATE, acm_certificate_arns(plan)),
    ]


def organizations_statements(plan: Plan) -> list[dict[str, Any]]:
    return [
        # The organization's id is not known in advance and the caller can only
        # ever see its own organization, so the list actions use "*".
        _statement("OrganizationsListAccountsAndUnits", ORGANIZATIONS_ANY_RESOURCE, ["*"]),
        *(
            [_statement("OrganizationsTrustedAccessRead", ORGANIZATIONS_SERVICE_ACCESS, ["*"])]
            if has_account_management(plan.partition)
            else []
        ),
        _statement(
            "OrganizationsDescribeAccounts",
            ORGANIZATIONS_DESCRIBE_ACCOUNT,
            organizations_account_arns(plan),
        ),
        _statement(
            "OrganizationsDescribeUnits",
            ORGANIZATIONS_DESCRIBE_OU,
            organizations_unit_arns(plan),
        ),
        # AWS Account Management does not exist in every partition (docs/facts.md#govcloud):
        # where it does not, account:ListRegions cannot be used and is left out.
        *(
            [_statement("AccountManagementListRegions", ACCOUNT_REGIONS, ["*"])]
            if has_account_management(plan.partition)
            else []
        ),
    ]


# DigiCert documents no name for the connector's temporary secrets: the prefix
# is this wizard's choice, so every place that shows it says so and how to
# check it (docs/secret-prefix.md).
SECRET_PREFIX_ASSUMED = "a prefix this wizard assumes, not one DigiCert documents"  # noqa: S105 - not a secret


def uses_secret_prefix(plan: Plan) -> bool:
    """Whether a policy of the plan scopes Secrets Manager to the name prefix (least privilege or member role)."""
    return plan.secrets_manager and (
        plan.style is PolicyStyle.LEAST_PRIVILEGE or (plan.is_organization and plan.dedicated_member_role)
    )


def secret_prefix_note(plan: Plan, prefix: str | None = None) -> str:
    """The prefix's caveat, for the places that have room for a sentence or two.

    `prefix` is the plan's own unless given (the options form shows the one being
    typed). The CloudTrail events to look for are the plan's principal's: its IAM
    user's, or its sensor role's sessions' (docs/secret-prefix.md).
    """
    shown = plan.secret_prefix if prefix is None else prefix
    return (
        f"The Secrets Manager name prefix {shown} is this wizard's assumption, not DigiCert's: "
        "DigiCert does not document the names the connector gives its temporary secrets. Confirm it before "
        "relying on it: ask DigiCert support, or after a first certificate delivery look for the connector "
        f"{connector_principal_noun(plan)}'s CreateSecret events in CloudTrail (event source "
        "secretsmanager.amazonaws.com; the secret's name is in requestParameters.name) and set the prefix to "
        "match. Until then a delivery that uses another name is denied."
    )


def elb_statements(plan: Plan) -> list[dict[str, Any]]:
    return [
        _statement("ElbDiscoverInChosenRegions", ELB_DISCOVER, ["*"], requested_region_condition(plan)),
        _statement("ElbListenerCertificates", ELB_LISTENER, elb_listener_arns(plan)),
        _statement("ElbClassicListenerCertificate", ELB_CLASSIC, elb_classic_arns(plan)),
    ]


def elb_policy(plan: Plan) -> CustomPolicy:
    return CustomPolicy(
        name=ELB_POLICY_NAME,
        file_name=ELB_POLICY_FILE,
        purpose=(
            "Discover Application, Network and Classic Load Balancers and their listeners, and attach, "
            f"replace and remove listener certificates, in the chosen regions only ({', '.join(plan.regions)})."
        ),
        document=wrap_policy(elb_statements(plan)),
    )


def secrets_statements(plan: Plan) -> list[dict[str, Any]]:
    return [_statement("SecretsUnderPrefix", SECRETS, [secret_arn_pattern(plan)])]


def acm_policy(plan: Plan) -> CustomPolicy:
    regions = ", ".join(plan.regions)
    return CustomPolicy(
        name=ACM_POLICY_NAME,
        file_name=ACM_POLICY_FILE,
        purpose=(
            "Inventory, import, re-import, tag and delete certificates in AWS Certificate Manager, "
            f"in the chosen regions only ({regions})."
        ),
        document=wrap_policy(acm_statements(plan)),
    )


def organizations_policy(plan: Plan) -> CustomPolicy:
    return CustomPolicy(
        name=ORGANIZATIONS_POLICY_NAME,
        file_name=ORGANIZATIONS_POLICY_FILE,
        purpose=(
            (
                "List the member accounts and organizational units (read only), and the regions enabled "
                "in each account through AWS Account Management."
            )
            if has_account_management(plan.partition)
            else (
                "List the member accounts and organizational units (read only). AWS Account Management "
                "is not offered in this partition, so there is no account:ListRegions."
            )
        ),
        document=wrap_policy(organizations_statements(plan)),
    )


def secrets_policy(plan: Plan) -> CustomPolicy:
    return CustomPolicy(
        name=SECRETS_POLICY_NAME,
        file_name=SECRETS_POLICY_FILE,
        purpose=(
            "Keep private keys temporarily in AWS Secrets Manager before delivery to ACM, only in "
            f"secrets whose names start with {plan.secret_prefix} ({SECRET_PREFIX_ASSUMED})."
        ),
        document=wrap_policy(secrets_statements(plan)),
    )


def custom_user_policies(plan: Plan) -> list[CustomPolicy]:
    """The customer managed policies the least-privilege user gets, in attach order.

    They take the place of AWSOrganizationsReadOnlyAccess,
    AWSCertificateManagerFullAccess and SecretsManagerReadWrite.
    """
    policies: list[CustomPolicy] = []
    if plan.is_organization:
        policies.append(organizations_policy(plan))
    policies.append(acm_policy(plan))
    if plan.secrets_manager:
        policies.append(secrets_policy(plan))
    if plan.elb:
        policies.append(elb_policy(plan))
    return policies


# --- explanations for people --------------------------------------------------


def explain_document(document: PolicyDocument) -> tuple[PermissionReason, ...]:
    """Why each statement of a policy document is there, from the permission tables."""
    reasons: list[PermissionReason] = []
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else list(resources)
        known = [PERMISSIONS_BY_ACTION[a] for a in actions if a in PERMISSIONS_BY_ACTION]
        why = " ".join(f"{p.action}: {p.why}" for p in known)
        sources = tuple(dict.fromkeys(p.source for p in known))
        condition = None
        if "Condition" in statement:
            regions = statement["Condition"].get("StringEquals", {}).get("aws:RequestedRegion")
            if regions:
                condition = (
                    "only requests sent to "
                    + ", ".join(regions)
                    + f" (aws:RequestedRegion, {REQUESTED_REGION_DOC})"
                )
        reasons.append(
            PermissionReason(tuple(actions), tuple(resources), why, sources, condition, tuple(known))
        )
    return tuple(reasons)


MANAGED_POLICY_PAGES = {
    "AWSOrganizationsReadOnlyAccess": (
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSOrganizationsReadOnlyAccess.html"
    ),
    "AWSCertificateManagerFullAccess": (
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCertificateManagerFullAccess.html"
    ),
    "SecretsManagerReadWrite": (
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/SecretsManagerReadWrite.html"
    ),
    "ElasticLoadBalancingFullAccess": (
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/ElasticLoadBalancingFullAccess.html"
    ),
}
# The actions each managed policy allows on "*" that matter to the connector and
# its checks, from its page in the AWS Managed Policy Reference (the pages above);
# app/domain/check_calls.py evaluates them.
MANAGED_POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "AWSOrganizationsReadOnlyAccess": ("organizations:Describe*", "organizations:List*"),
    "AWSCertificateManagerFullAccess": ("acm:*",),
    "SecretsManagerReadWrite": ("secretsmanager:*",),
    "ElasticLoadBalancingFullAccess": ("elasticloadbalancing:*",),
}
# What each managed policy grants, from its page in the AWS Managed Policy Reference.
MANAGED_POLICY_SCOPE = {
    "AWSOrganizationsReadOnlyAccess": "organizations:Describe*, organizations:List*, account: read actions",
    "AWSCertificateManagerFullAccess": "acm:* (every ACM action)",
    "SecretsManagerReadWrite": (
        "secretsmanager:* and related CloudFormation, Lambda, KMS, EC2, RDS, Redshift reads"
    ),
    "ElasticLoadBalancingFullAccess": (
        "elasticloadbalancing:* and the EC2, CloudWatch, Cognito and IAM service-linked-role calls ELB uses"
    ),
}


def least_privilege_diff(plan: Plan) -> list[str]:
    """What *least privilege* removes compared to *as documented*, in plain words, for this plan."""
    regions = ", ".join(plan.regions)
    account_management = has_account_management(plan.partition)
    org_actions = (
        len(ORGANIZATIONS_ANY_RESOURCE) + len(ORGANIZATIONS_DESCRIBE_ACCOUNT) + len(ORGANIZATIONS_DESCRIBE_OU)
    )
    acm_actions = len(ACM_LIST) + len(ACM_CERTIFICATE)
    lines: list[str] = []
    if plan.is_organization:
        lines.append(
            "Organizations: AWSOrganizationsReadOnlyAccess lets the user read everything in AWS "
            "Organizations (every Describe* and List* action: policies, service control policies, "
            "handshakes, delegated administrators, tags) and account details. "
            f"{ORGANIZATIONS_POLICY_NAME} keeps only the {org_actions} actions that list accounts and "
            "organizational units"
            + (
                ", plus organizations:ListAWSServiceAccessForOrganization (read which services have trusted "
                "access, for the verification) and account:ListRegions."
                if account_management
                else " (AWS Account Management, and with it account:ListRegions, is not offered here)."
            )
        )
    lines.append(
        "Certificate Manager: AWSCertificateManagerFullAccess allows every ACM action on every certificate "
        "in every region, including requesting and exporting certificates and changing the account "
        f"configuration. {ACM_POLICY_NAME} keeps {acm_actions} actions (list, describe, get, list tags, "
        f"import, tag, delete) in {regions} only."
    )
    if plan.secrets_manager:
        lines.append(
            "Secrets Manager: SecretsManagerReadWrite can read and change every secret in the account "
            "(secretsmanager:* on all resources) and also create and invoke Lambda rotation functions and "
            f"execute CloudFormation change sets. {SECRETS_POLICY_NAME} allows only create, put, get, "
            f"describe and delete, on secrets whose names start with {plan.secret_prefix} "
            f"({SECRET_PREFIX_ASSUMED})."
        )
    else:
        lines.append("Secrets Manager: not used by this plan in either style.")
    if plan.elb:
        lines.append(
            "Elastic Load Balancing: ElasticLoadBalancingFullAccess can create, change and delete every load "
            f"balancer, listener and target group in every region. {ELB_POLICY_NAME} keeps "
            f"{len(ELB_DISCOVER) + len(ELB_LISTENER) + len(ELB_CLASSIC)} actions (describe load balancers, "
            "listeners and listener certificates; add, replace and remove listener certificates) on "
            f"listeners and Classic Load Balancers in {regions} only."
        )
    if plan.is_organization:
        lines.append(
            "Inline policy: both styles use the corrected version here: as documented, "
            "sts:GetAccessKeyInfo is scoped to a role ARN and grants nothing, and sts:GetSessionToken needs no "
            'permission at all; corrected, sts:GetAccessKeyInfo is on "*", sts:GetSessionToken is left out and '
            f"sts:AssumeRole stays limited to the role {plan.role_name}."
        )
        if plan.dedicated_member_role:
            lines.append(
                f"Member accounts: the dedicated role {plan.role_name} has only the ACM"
                + (" and prefix-scoped Secrets Manager" if plan.secrets_manager else "")
                + f" permissions and trusts only the {connector_principal_label(plan)}"
                + f", instead of {DEFAULT_ROLE_NAME}'s administrator rights in every member account."
            )
        else:
            admin = (
                " (administrator, for OrganizationAccountAccessRole)"
                if plan.role_name == DEFAULT_ROLE_NAME
                else ""
            )
            lines.append(
                f"Member accounts: unchanged. The common role {plan.role_name} keeps whatever rights it "
                f"has{admin}; choose a dedicated member role in Options to limit it to ACM."
            )
    return lines
