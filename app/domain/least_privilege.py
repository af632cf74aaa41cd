"""Least-privilege custom policies for the connector user (issue 3).

Pure (stdlib only, plus the plan). `custom_user_policies(plan)` replaces the
AWS managed policies of the *as documented* style with scoped custom policies;
`least_privilege_diff(plan)` says in plain words what that removes, and
`explain_document` why each permission of a document is there
(app/domain/explanations.py puts them together for every policy of a plan).

Every action is a `Permission` that carries the reason and the AWS Service
Authorization Reference page listing it (its resource types decide whether a
statement may name ARNs or needs "Resource": "*"). The same objects feed the
JSON documents, the comments in the CloudFormation and Terraform files, and the
explanations on the Policies page, so none of them can drift from the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.iam import has_account_management
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle
from app.domain.policies import (
    PolicyDocument,
    wrap_policy,
)

# Service Authorization Reference pages ("Actions, resources, and condition keys for ...").
SAR_ACM = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html"
SAR_ORGANIZATIONS = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html"
)
SAR_ACCOUNT = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsaccountmanagement.html"
)
SAR_SECRETS_MANAGER = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html"
)
SAR_STS = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html"
)
SAR_ELB_V2 = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html"
)
SAR_ELB_CLASSIC = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancing.html"
)
# aws:RequestedRegion, a global condition key.
REQUESTED_REGION_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
    "#condition-keys-requestedregion"
)


@dataclass(frozen=True, slots=True)
class Permission:
    """One IAM action, why the connector needs it, and the page that defines it."""

    action: str
    why: str
    source: str


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


# --- AWS Certificate Manager --------------------------------------------------
# Actions and resource types: SAR_ACM. acm:ListCertificates has no resource
# type (it needs "*"); every other action below takes the "certificate"
# resource type, arn:${Partition}:acm:${Region}:${Account}:certificate/${CertificateId}.

ACM_LIST = (
    # list_awscertificatemanager.html: ListCertificates, resource types: none.
    Permission(
        "acm:ListCertificates",
        "Inventory: list the certificates in each chosen region. The action has no resource type, so the "
        'statement needs "Resource": "*"; the aws:RequestedRegion condition keeps it to the chosen regions.',
        SAR_ACM,
    ),
)
ACM_CERTIFICATE = (
    # list_awscertificatemanager.html: DescribeCertificate, resource type certificate*.
    Permission(
        "acm:DescribeCertificate",
        "Inventory: read a certificate's domains, expiry, status and where it is in use.",
        SAR_ACM,
    ),
    # list_awscertificatemanager.html: GetCertificate, resource type certificate*.
    Permission(
        "acm:GetCertificate",
        "Inventory: read the certificate and its chain to match it with Trust Lifecycle Manager's records.",
        SAR_ACM,
    ),
    # list_awscertificatemanager.html: ListTagsForCertificate, resource type certificate*.
    Permission(
        "acm:ListTagsForCertificate",
        "Inventory: read the tags that mark the certificates the connector manages.",
        SAR_ACM,
    ),
    # list_awscertificatemanager.html: ImportCertificate, resource type certificate*.
    Permission(
        "acm:ImportCertificate",
        "Deliver: import a new certificate with its private key, and re-import a renewed one in place "
        "(same ARN, so load balancers and CloudFront keep using it).",
        SAR_ACM,
    ),
    # list_awscertificatemanager.html: AddTagsToCertificate, resource type certificate*.
    Permission(
        "acm:AddTagsToCertificate",
        "Deliver: tag imported certificates; ImportCertificate with tags also needs this permission.",
        SAR_ACM,
    ),
    # list_awscertificatemanager.html: DeleteCertificate, resource type certificate*.
    Permission(
        "acm:DeleteCertificate",
        "Clean up: delete a certificate that was revoked or replaced, when Trust Lifecycle Manager asks to.",
        SAR_ACM,
    ),
)

# --- Elastic Load Balancing (plan option "elb"; docs/facts.md#elb-permissions) -------------
# Application and Network Load Balancers are ELB v2, Classic Load Balancers ELB
# v1; both use the service prefix elasticloadbalancing, so an action name such
# as DescribeLoadBalancers covers both APIs.

ELB_DISCOVER = (
    # Both APIs' pages (Classic: list_awselasticloadbalancing.html) list it without a resource type.
    # list_awselasticloadbalancingv2.html: DescribeLoadBalancers, resource types: none.
    Permission(
        "elasticloadbalancing:DescribeLoadBalancers",
        "Discover: list the Application, Network and Classic Load Balancers in each chosen region (one "
        'action for both APIs). No resource type: "Resource": "*", limited by aws:RequestedRegion.',
        SAR_ELB_V2,
    ),
    # list_awselasticloadbalancingv2.html: DescribeListeners, resource types: none.
    Permission(
        "elasticloadbalancing:DescribeListeners",
        "Discover: list the HTTPS and TLS listeners of each Application and Network Load Balancer.",
        SAR_ELB_V2,
    ),
    # list_awselasticloadbalancingv2.html: DescribeListenerCertificates, resource types: none.
    Permission(
        "elasticloadbalancing:DescribeListenerCertificates",
        "Discover: read which certificates each listener serves (default and SNI certificates).",
        SAR_ELB_V2,
    ),
)
ELB_LISTENER = (
    # list_awselasticloadbalancingv2.html: AddListenerCertificates, resource types listener/app*, listener/net*.
    Permission(
        "elasticloadbalancing:AddListenerCertificates",
        "Attach: add a certificate to a listener's certificate list (SNI).",
        SAR_ELB_V2,
    ),
    # list_awselasticloadbalancingv2.html: ModifyListener, resource types listener/app*, listener/net*.
    Permission(
        "elasticloadbalancing:ModifyListener",
        "Replace: make a renewed certificate the listener's default certificate.",
        SAR_ELB_V2,
    ),
    # list_awselasticloadbalancingv2.html: RemoveListenerCertificates, resource types listener/app*, listener/net*.
    Permission(
        "elasticloadbalancing:RemoveListenerCertificates",
        "Remove: take a replaced or revoked certificate off a listener's certificate list.",
        SAR_ELB_V2,
    ),
)
ELB_CLASSIC = (
    # list_awselasticloadbalancing.html: SetLoadBalancerListenerSSLCertificate, resource type loadbalancer*.
    Permission(
        "elasticloadbalancing:SetLoadBalancerListenerSSLCertificate",
        "Replace: set the certificate of a Classic Load Balancer's HTTPS or SSL listener.",
        SAR_ELB_CLASSIC,
    ),
)

# --- AWS Organizations and AWS Account Management ----------------------------
# DigiCert's "Granular permissions for AWS connectors" page lists these
# Organizations actions for organization scope, followed by account: actions.

ORGANIZATIONS_ANY_RESOURCE = (
    # list_awsorganizations.html: ListAccounts, resource types: none.
    Permission(
        "organizations:ListAccounts",
        "List every account in the organization (works only from the management account or a "
        "delegated administrator).",
        SAR_ORGANIZATIONS,
    ),
    # list_awsorganizations.html: ListRoots, resource types: none.
    Permission(
        "organizations:ListRoots",
        "Find the organization's root, the top of the account tree.",
        SAR_ORGANIZATIONS,
    ),
    # list_awsorganizations.html: ListChildren, resource types organizationalunit, root (optional).
    Permission(
        "organizations:ListChildren",
        "Walk the tree: list the accounts and organizational units below a root or OU.",
        SAR_ORGANIZATIONS,
    ),
    # list_awsorganizations.html: ListOrganizationalUnitsForParent, resource types organizationalunit, root.
    Permission(
        "organizations:ListOrganizationalUnitsForParent",
        "List the organizational units below a root or OU.",
        SAR_ORGANIZATIONS,
    ),
    # list_awsorganizations.html: ListAccountsForParent, resource types organizationalunit, root.
    Permission(
        "organizations:ListAccountsForParent",
        "List the accounts directly below a root or OU.",
        SAR_ORGANIZATIONS,
    ),
    # list_awsorganizations.html: ListParents, resource types account, organizationalunit (optional).
    Permission("organizations:ListParents", "Find the OU an account belongs to.", SAR_ORGANIZATIONS),
    # list_awsorganizations.html: DescribeOrganization, resource types: none.
    Permission(
        "organizations:DescribeOrganization",
        "Read the organization's id and feature set (Account Management needs all features).",
        SAR_ORGANIZATIONS,
    ),
)
ORGANIZATIONS_SERVICE_ACCESS = (
    # list_awsorganizations.html: ListAWSServiceAccessForOrganization, resource types: none.
    Permission(
        "organizations:ListAWSServiceAccessForOrganization",
        "Verification: read which AWS services have trusted access, to prove that AWS Account Management "
        "(account.amazonaws.com) is enabled before the connector relies on it. Read only; it shows service "
        "names, nothing about accounts or resources.",
        SAR_ORGANIZATIONS,
    ),
)
ORGANIZATIONS_DESCRIBE_ACCOUNT = (
    # list_awsorganizations.html: DescribeAccount, resource type account*.
    Permission(
        "organizations:DescribeAccount",
        "Read a member account's name and status to show it in Trust Lifecycle Manager.",
        SAR_ORGANIZATIONS,
    ),
)
ORGANIZATIONS_DESCRIBE_OU = (
    # list_awsorganizations.html: DescribeOrganizationalUnit, resource type organizationalunit*.
    Permission(
        "organizations:DescribeOrganizationalUnit",
        "Read an organizational unit's name.",
        SAR_ORGANIZATIONS,
    ),
)
ACCOUNT_REGIONS = (
    # list_awsaccountmanagement.html: ListRegions, resource types account, accountInOrganization (optional).
    Permission(
        "account:ListRegions",
        "List the regions enabled in each account (AWS Account Management; needs trusted access for "
        "account.amazonaws.com, the first step of the checklist).",
        SAR_ACCOUNT,
    ),
)

# --- AWS Secrets Manager ------------------------------------------------------
# Every action below takes the "Secret" resource type,
# arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}; the
# secret's ARN ends in its name plus "-" and six random characters, so
# "<prefix>*" matches exactly the secrets whose names start with the prefix.

SECRETS = (
    # list_awssecretsmanager.html: CreateSecret, resource type Secret*.
    Permission(
        "secretsmanager:CreateSecret",
        "Store a private key temporarily, before its certificate is delivered to ACM.",
        SAR_SECRETS_MANAGER,
    ),
    # list_awssecretsmanager.html: PutSecretValue, resource type Secret*.
    Permission(
        "secretsmanager:PutSecretValue",
        "Write a new value into a temporary secret (a retried or renewed delivery).",
        SAR_SECRETS_MANAGER,
    ),
    # list_awssecretsmanager.html: GetSecretValue, resource type Secret*.
    Permission(
        "secretsmanager:GetSecretValue",
        "Read the private key back when the issued certificate is imported into ACM.",
        SAR_SECRETS_MANAGER,
    ),
    # list_awssecretsmanager.html: DescribeSecret, resource type Secret*.
    Permission(
        "secretsmanager:DescribeSecret",
        "Check whether a temporary secret exists and whether it is scheduled for deletion.",
        SAR_SECRETS_MANAGER,
    ),
    # list_awssecretsmanager.html: DeleteSecret, resource type Secret*.
    Permission(
        "secretsmanager:DeleteSecret",
        "Delete the temporary key once the certificate and its key are delivered to ACM.",
        SAR_SECRETS_MANAGER,
    ),
)

# --- AWS STS (the corrected inline policy, built in policies.py) --------------
STS = (
    # list_awssecuritytokenservice.html: AssumeRole, resource type role*.
    Permission(
        "sts:AssumeRole",
        "Reach each member account through the common role.",
        SAR_STS,
    ),
    # list_awssecuritytokenservice.html: GetAccessKeyInfo, resource types: none.
    Permission(
        "sts:GetAccessKeyInfo",
        'Find the account an access key belongs to. No resource type: it needs "Resource": "*".',
        SAR_STS,
    ),
)

ALL_PERMISSIONS: tuple[Permission, ...] = (
    *ACM_LIST,
    *ACM_CERTIFICATE,
    *ORGANIZATIONS_ANY_RESOURCE,
    *ORGANIZATIONS_SERVICE_ACCESS,
    *ORGANIZATIONS_DESCRIBE_ACCOUNT,
    *ORGANIZATIONS_DESCRIBE_OU,
    *ACCOUNT_REGIONS,
    *SECRETS,
    *STS,
    *ELB_DISCOVER,
    *ELB_LISTENER,
    *ELB_CLASSIC,
)
PERMISSIONS_BY_ACTION: dict[str, Permission] = {p.action: p for p in ALL_PERMISSIONS}

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


def acm_certificate_arns(plan: Plan) -> list[str]:
    """Every certificate of any account, in the chosen regions only."""
    return [f"arn:{plan.partition.value}:acm:{region}:*:certificate/*" for region in plan.regions]


def acm_statements(plan: Plan) -> list[dict[str, Any]]:
    return [
        _statement("AcmListInChosenRegions", ACM_LIST, ["*"], requested_region_condition(plan)),
        _statement("AcmCertificatesInChosenRegions", ACM_CERTIFICATE, acm_certificate_arns(plan)),
    ]


def organizations_statements(plan: Plan) -> list[dict[str, Any]]:
    partition = plan.partition.value
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
            [f"arn:{partition}:organizations::*:account/o-*/*"],
        ),
        _statement(
            "OrganizationsDescribeUnits",
            ORGANIZATIONS_DESCRIBE_OU,
            [f"arn:{partition}:organizations::*:ou/o-*/ou-*"],
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


def secret_prefix_note(prefix: str) -> str:
    """The prefix's caveat, for the places that have room for a sentence or two."""
    return (
        f"The Secrets Manager name prefix {prefix} is this wizard's assumption, not DigiCert's: "
        "DigiCert does not document the names the connector gives its temporary secrets. Confirm it before "
        "relying on it: ask DigiCert support, or after a first certificate delivery look for the connector "
        "user's CreateSecret events in CloudTrail (event source secretsmanager.amazonaws.com; the secret's "
        "name is in requestParameters.name) and set the prefix to match. Until then a delivery that uses "
        "another name is denied."
    )


def elb_listener_arns(plan: Plan) -> list[str]:
    """Every ALB and NLB listener of any account, in the chosen regions only (ARN formats: SAR_ELB_V2)."""
    return [
        f"arn:{plan.partition.value}:elasticloadbalancing:{region}:*:listener/{kind}/*"
        for region in plan.regions
        for kind in ("app", "net")
    ]


def elb_classic_arns(plan: Plan) -> list[str]:
    """Every Classic Load Balancer, in the chosen regions only (loadbalancer/${LoadBalancerName}: SAR_ELB_CLASSIC)."""
    return [
        f"arn:{plan.partition.value}:elasticloadbalancing:{region}:*:loadbalancer/*"
        for region in plan.regions
    ]


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


def secret_arn_pattern(plan: Plan) -> str:
    # Any region: the source document does not say in which region the
    # connector keeps its temporary keys; the name prefix is what scopes it.
    return f"arn:{plan.partition.value}:secretsmanager:*:*:secret:{plan.secret_prefix}*"


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


def comment_for_action(action: str) -> str | None:
    """One line for a comment next to the action in a template: why, and the page."""
    permission = PERMISSIONS_BY_ACTION.get(action)
    if permission is None:
        return None
    return f"{permission.why} {permission.source}"


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
                + f" permissions and trusts only the user {plan.user_name}"
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
