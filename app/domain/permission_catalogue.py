"""The cited permission catalogue: every IAM action the connector's policies grant.

Pure (stdlib only, plus the plan). Every action is a `Permission` that carries
the reason and the AWS Service Authorization Reference page listing it (its
resource types decide whether a statement may name ARNs or needs
"Resource": "*"); the functions at the end give the resource ARNs each group
is scoped to for a plan. The policies built from it are in least_privilege.py
and member_role.py; the same objects feed the JSON documents, the comments in
the CloudFormation and Terraform files, and the explanations on the Policies
page, so none of them can drift from the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.plan import Plan

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


# --- resource ARNs, per plan ----------------------------------------------------


def acm_certificate_arns(plan: Plan) -> list[str]:
    """Every certificate of any account, in the chosen regions only."""
    return [f"arn:{plan.partition.value}:acm:{region}:*:certificate/*" for region in plan.regions]


def organizations_account_arns(plan: Plan) -> list[str]:
    """Every member account of the caller's organization (resource type account: SAR_ORGANIZATIONS)."""
    return [f"arn:{plan.partition.value}:organizations::*:account/o-*/*"]


def organizations_unit_arns(plan: Plan) -> list[str]:
    """Every organizational unit of the caller's organization (resource type organizationalunit)."""
    return [f"arn:{plan.partition.value}:organizations::*:ou/o-*/ou-*"]


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


def secret_arn_pattern(plan: Plan) -> str:
    # Any region: the source document does not say in which region the
    # connector keeps its temporary keys; the name prefix is what scopes it.
    return f"arn:{plan.partition.value}:secretsmanager:*:*:secret:{plan.secret_prefix}*"


def comment_for_action(action: str) -> str | None:
    """One line for a comment next to the action in a template: why, and the page."""
    permission = PERMISSIONS_BY_ACTION.get(action)
    if permission is None:
        return None
    return f"{permission.why} {permission.source}"
