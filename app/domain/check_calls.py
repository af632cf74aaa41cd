"""What the live checks call, as whom: the IAM actions a plan's own policies must allow.

Pure. `CHECK_ACTIONS` is each check's AWS call(s); app/aws/checks.py shows it
as the check's "call" and tests/aws record what a run really sends against
it. `check_calls(plan)` lists every call a run of the plan makes, with the
caller that makes it (the connector, which is the plan's IAM user or sensor
role, or the member role inside a member account) and the resource and region
IAM sees. `caller_policies` gives the policy documents the plan puts on each
caller, so that tests/domain/test_check_calls.py can prove, over generated
plans, that the checks call only what the plan grants (app/domain/iam_eval.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.domain.attachments import attachments
from app.domain.iam import has_account_management
from app.domain.iam_eval import Request
from app.domain.least_privilege import MANAGED_POLICY_ACTIONS
from app.domain.plan import Plan
from app.domain.policies import (
    PolicyDocument,
    wrap_policy,
)

IDENTITY = "identity"
ACCESS_KEY_INFO = "access-key-info"
SESSION_TOKEN = "session-token"  # noqa: S105 (a check id)
ORGANIZATION = "organization"
MEMBER_ACCOUNTS = "member-accounts"
TRUSTED_ACCESS = "trusted-access"
MEMBER_ACCESS = "member-access"
ACM = "acm"
SECRETS_MANAGER = "secrets-manager"
ELB = "elb"

# Each check's AWS calls, as IAM actions (Service Authorization Reference names).
CHECK_ACTIONS: dict[str, tuple[str, ...]] = {
    IDENTITY: ("sts:GetCallerIdentity",),
    ACCESS_KEY_INFO: ("sts:GetAccessKeyInfo",),
    SESSION_TOKEN: ("sts:GetSessionToken",),
    ORGANIZATION: ("organizations:DescribeOrganization",),
    MEMBER_ACCOUNTS: ("organizations:ListAccounts",),
    TRUSTED_ACCESS: ("organizations:ListAWSServiceAccessForOrganization",),
    # Inside each member account: ACM, and ELB when the plan automates listeners.
    MEMBER_ACCESS: ("sts:AssumeRole", "acm:ListCertificates", "elasticloadbalancing:DescribeLoadBalancers"),
    ACM: ("acm:ListCertificates",),
    # DescribeSecret on a name under the plan's prefix, not ListSecrets: see
    # SECRET_PROBE_NAME.
    SECRETS_MANAGER: ("secretsmanager:DescribeSecret",),
    # One IAM action for the v2 and Classic APIs (docs/facts.md#elb-permissions).
    ELB: ("elasticloadbalancing:DescribeLoadBalancers",),
}


def check_actions(check: str, plan: Plan) -> tuple[str, ...]:
    """What `check` calls in a run of `plan`: its CHECK_ACTIONS, less the ELB read
    inside member accounts when the plan does not automate listeners (check_calls
    makes that call only when plan.elb)."""
    actions = CHECK_ACTIONS[check]
    if check == MEMBER_ACCESS and not plan.elb:
        return tuple(action for action in actions if action not in CHECK_ACTIONS[ELB])
    return actions


# Actions no IAM policy controls: AWS allows them to any signed-in caller.
# GetCallerIdentity: "No permissions are required to perform this operation."
# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
# GetSessionToken: docs/facts.md#sts.
UNCONTROLLED_ACTIONS = frozenset({"sts:GetCallerIdentity", "sts:GetSessionToken"})

# The Secrets Manager check asks for a secret under the plan's prefix that the
# connector never creates. The least-privilege policy allows Secrets Manager
# only on that prefix and ListSecrets has no resource type (it would need
# "Resource": "*" and show every secret's name and tags), so the check asks
# the question the connector's own calls depend on instead: AWS answers
# ResourceNotFoundException when the connector may use the name and AccessDenied
# when it may not ("you receive either a ResourceNotFoundException or an
# AccessDeniedException error, depending on your permissions",
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html).
SECRET_PROBE_NAME = "connector-wizard-check"  # noqa: S105 (a secret name, not a secret)

# Stands in for account ids the plan does not know (IAM matches them by "*").
SAMPLE_ACCOUNT_ID = "111122223333"


class Caller(StrEnum):
    """Who makes a call: not the plan's `Principal` (app/domain/plan.py), which says what the connector is."""

    # The plan's principal, its IAM user or its sensor role, with the plan's policies on it.
    CONNECTOR = "connector"
    MEMBER_ROLE = "member-role"  # the common role inside a member account


@dataclass(frozen=True, slots=True)
class Call:
    check: str
    caller: Caller
    request: Request


def member_role_arn(plan: Plan, account_id: str) -> str:
    """The common role in one member account, in the plan's partition."""
    return f"arn:{plan.partition.value}:iam::{account_id}:role/{plan.role_name}"


def secret_probe_name(plan: Plan) -> str:
    return plan.secret_prefix + SECRET_PROBE_NAME


def secret_probe_arn(plan: Plan, region: str, account_id: str = SAMPLE_ACCOUNT_ID) -> str:
    return f"arn:{plan.partition.value}:secretsmanager:{region}:{account_id}:secret:{secret_probe_name(plan)}"


def runs_trusted_access_check(plan: Plan) -> bool:
    """Trusted access for Account Management exists only where the service does (docs/facts.md#govcloud)."""
    return plan.is_organization and has_account_management(plan.partition)


def check_calls(plan: Plan) -> tuple[Call, ...]:
    """Every call a verification of `plan` makes, as whom, on what, in which region."""
    connector, role = Caller.CONNECTOR, Caller.MEMBER_ROLE
    calls = [Call(IDENTITY, connector, Request("sts:GetCallerIdentity"))]
    if plan.is_organization:
        if not plan.uses_role_principal:
            # A role principal has no key to look up and may not call GetSessionToken: both
            # checks are skipped without a call (docs/facts.md#temporary-credentials).
            calls += [
                Call(ACCESS_KEY_INFO, connector, Request("sts:GetAccessKeyInfo")),
                Call(SESSION_TOKEN, connector, Request("sts:GetSessionToken")),
            ]
        calls += [
            Call(ORGANIZATION, connector, Request("organizations:DescribeOrganization")),
            Call(MEMBER_ACCOUNTS, connector, Request("organizations:ListAccounts")),
        ]
        if runs_trusted_access_check(plan):
            calls.append(
                Call(TRUSTED_ACCESS, connector, Request("organizations:ListAWSServiceAccessForOrganization"))
            )
        calls.append(
            Call(
                MEMBER_ACCESS, connector, Request("sts:AssumeRole", member_role_arn(plan, SAMPLE_ACCOUNT_ID))
            )
        )
        for region in plan.regions:
            calls.append(Call(MEMBER_ACCESS, role, Request("acm:ListCertificates", region=region)))
            if plan.elb:
                elb = Request("elasticloadbalancing:DescribeLoadBalancers", region=region)
                calls.append(Call(MEMBER_ACCESS, role, elb))
    for region in plan.regions:
        calls.append(Call(ACM, connector, Request("acm:ListCertificates", region=region)))
        if plan.secrets_manager:
            probe = Request("secretsmanager:DescribeSecret", secret_probe_arn(plan, region), region)
            calls.append(Call(SECRETS_MANAGER, connector, probe))
        if plan.elb:
            calls.append(
                Call(ELB, connector, Request("elasticloadbalancing:DescribeLoadBalancers", region=region))
            )
    return tuple(calls)


def managed_policy_documents(names: Sequence[str]) -> list[PolicyDocument]:
    """The AWS managed policies' documented action scope, as policy documents."""
    return [
        wrap_policy([{"Effect": "Allow", "Action": list(MANAGED_POLICY_ACTIONS[name]), "Resource": "*"}])
        for name in names
    ]


# OrganizationAccountAccessRole has AdministratorAccess (docs/facts.md#organization-account-access-role).
ADMINISTRATOR_ACCESS: PolicyDocument = wrap_policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}])


def caller_policies(plan: Plan, caller: Caller) -> list[PolicyDocument] | None:
    """The policy documents the plan gives `caller`; None where the plan does not define them.

    The connector (its user or sensor role): the inline policy (organization
    scope) and the managed or custom policies of the plan's style. The member role: the dedicated role's
    policies, or OrganizationAccountAccessRole's administrator rights; a custom
    common role is the admin's own, so the plan says nothing about it.
    """
    attached = attachments(plan)
    if caller is Caller.CONNECTOR:
        return [
            *(policy.document for policy in attached.inline),
            *managed_policy_documents([policy.name for policy in attached.managed]),
            *(policy.document for policy in attached.custom),
        ]
    if attached.member_role is not None:
        return [policy.document for policy in attached.member_role.policies]
    if plan.uses_default_role:
        return [ADMINISTRATOR_ACCESS]
    return None
