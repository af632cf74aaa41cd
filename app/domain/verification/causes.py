"""Why a verification call failed, in plain words, and which checklist step fixes it.

Pure: app/aws/errors.py maps a botocore error to a `Cause`; `CAUSE_TEXT` says
what it means to an admin, and `fix_step` names the step of the plan's
checklist that fixes it (`permission_step`: the one that grants what was missing).
Both ask app/domain/principal.py for the steps that hold the connector's user or
role and its credentials, so a role plan's failure never points at a user's step.
"""

from __future__ import annotations

from enum import StrEnum

from app.domain.checklist import custom_policy_step_id, step_ids
from app.domain.least_privilege import (
    ACM_POLICY_NAME,
    ELB_POLICY_NAME,
    ORGANIZATIONS_POLICY_NAME,
    SECRETS_POLICY_NAME,
)
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle
from app.domain.principal import credentials_step_id, principal_step_id

# The message AWS returns when Account Management trusted access is off
# (docs/facts.md#organizations), quoted verbatim in the explanation.
TRUSTED_ACCESS_MESSAGE = "Your organization must first enable trusted access with AWS Account Management."
ACCOUNT_SERVICE_PRINCIPAL = "account.amazonaws.com"


class Cause(StrEnum):
    """Why a call failed, in terms an admin can act on."""

    ROLE_MISSING = "role-missing"
    ROLE_NOT_ASSUMABLE = "role-not-assumable"
    SCP_DENY = "scp-deny"
    CALLER_POLICY = "caller-policy"
    ACCESS_DENIED = "access-denied"
    MEMBER_ROLE_PERMISSIONS = "member-role-permissions"
    TRUSTED_ACCESS_DISABLED = "trusted-access-disabled"
    NOT_MANAGEMENT_ACCOUNT = "not-management-account"
    NOT_ALL_FEATURES = "not-all-features"
    NOT_IN_ORGANIZATION = "not-in-organization"
    NOT_IAM_USER = "not-iam-user"
    WRONG_USER = "wrong-user"
    WRONG_ROLE = "wrong-role"  # a role principal's plan, and another identity's credentials
    INVALID_CREDENTIALS = "invalid-credentials"
    WRONG_SECRET = "wrong-secret"  # noqa: S105 (a cause name)
    EXPIRED_CREDENTIALS = "expired-credentials"
    NO_CREDENTIALS = "no-credentials"
    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    REGION_NOT_ENABLED = "region-not-enabled"
    TEMPORARY_CREDENTIALS = "temporary-credentials"
    ROLE_CREDENTIALS = "role-credentials"  # the connector is a role: no key, no GetSessionToken
    UNEXPECTED = "unexpected"


# One plain sentence (or two) per cause. Sources:
# AccessDenied wording: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
# OrganizationAccountAccessRole: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
# Opt-in regions: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
CAUSE_TEXT: dict[Cause, str] = {
    Cause.ROLE_MISSING: (
        "The role does not exist in this account. It was invited into the organization, and only "
        "accounts that AWS Organizations created get OrganizationAccountAccessRole automatically."
    ),
    Cause.ROLE_NOT_ASSUMABLE: (
        "The role cannot be assumed: either it does not exist in this account, or its trust policy "
        "does not trust the management account. AWS answers both with the same AccessDenied."
    ),
    Cause.SCP_DENY: (
        "A service control policy explicitly denies this call. IAM allows it, but the organization's "
        "SCPs win; an organization administrator must change the SCP."
    ),
    Cause.CALLER_POLICY: (
        "The connector's own policies do not allow this call: no identity-based policy of its IAM user "
        "or sensor role allows it."
    ),
    Cause.ACCESS_DENIED: "AWS denied the call: the connector's own policies do not allow it.",
    Cause.MEMBER_ROLE_PERMISSIONS: (
        "The role was assumed, but its permissions policy does not allow this call in the member account."
    ),
    Cause.TRUSTED_ACCESS_DISABLED: (
        "Trusted access for AWS Account Management is not enabled. AWS says: “" + TRUSTED_ACCESS_MESSAGE + "”"
    ),
    Cause.NOT_MANAGEMENT_ACCOUNT: (
        "These credentials belong to a member account, not the organization's management account. "
        "Only the management account can list member accounts."
    ),
    Cause.NOT_ALL_FEATURES: (
        "The organization has only consolidated billing enabled. Trusted access for AWS Account "
        "Management needs an organization with all features enabled."
    ),
    Cause.NOT_IN_ORGANIZATION: "This account is not part of an AWS organization.",
    Cause.NOT_IAM_USER: (
        "These credentials are not an IAM user's. The connector signs in as an IAM user: verify with "
        "that user's access key (or a session token made from it with `aws sts get-session-token`)."
    ),
    Cause.WRONG_USER: (
        "These keys belong to another identity than the plan's connector user: every other check then "
        "shows what that identity can do, not the connector's user."
    ),
    Cause.WRONG_ROLE: (
        "These credentials belong to another identity than the plan's sensor role: every other check then "
        "shows what that identity can do, not the sensor role's."
    ),
    Cause.INVALID_CREDENTIALS: (
        "AWS does not recognise this access key id: it was mistyped, deleted or deactivated."
    ),
    Cause.WRONG_SECRET: "The secret access key does not match the access key id.",
    Cause.EXPIRED_CREDENTIALS: "The session token has expired: create a new one and run again.",
    Cause.NO_CREDENTIALS: "No AWS credentials were found in the default credential chain.",
    Cause.THROTTLED: (
        "AWS rate-limited the call and it still failed after retries. Nothing is wrong with the "
        "permissions as far as we know: run the verification again later, or lower the concurrency."
    ),
    Cause.TIMEOUT: "AWS did not answer in time (after retries). Check the network path and run again.",
    Cause.UNREACHABLE: "The AWS endpoint could not be reached: check DNS, proxies and firewalls.",
    Cause.REGION_NOT_ENABLED: (
        "This region is not enabled for the account (an opt-in region): enable it in the account's "
        "settings, or remove it from the plan's regions."
    ),
    Cause.TEMPORARY_CREDENTIALS: (
        "These are already temporary credentials; AWS does not allow GetSessionToken with them. "
        "The connector's long-term key can call it."
    ),
    # docs/facts.md#temporary-credentials
    Cause.ROLE_CREDENTIALS: (
        "Not checked: the plan's connector is a role, whose credentials are temporary. AWS refuses "
        "GetSessionToken to role credentials, and there is no long-term access key whose account "
        "GetAccessKeyInfo could confirm. This is not a failure of the plan."
    ),
    Cause.UNEXPECTED: "AWS returned an unexpected error.",
}


def management_account_role_note(plan: Plan) -> str:
    """Why the management account's row may have no assumable common role, for this plan's role.

    Only OrganizationAccountAccessRole is created by AWS Organizations, and only
    in the member accounts it creates; a dedicated member role comes from the
    StackSet, which never deploys to the management account (docs/facts.md#stacksets).
    """
    if plan.uses_default_role:
        return (
            f"The management account has no assumable {DEFAULT_ROLE_NAME}: AWS Organizations creates it only "
            "in the member accounts it creates. Create the role there too if the connector should manage "
            "certificates in the management account."
        )
    if plan.dedicated_member_role:
        return (
            f"The management account has no assumable {plan.role_name}: the member-role StackSet deploys it "
            "only to member accounts (service-managed StackSets never deploy to the management account). "
            "Deploy member-role-management-account.yaml there as a single stack if the connector should "
            "manage certificates in the management account."
        )
    return (
        f"The management account has no assumable {plan.role_name}: it has the role only if someone created "
        "it there as well as in the member accounts. Create it there too if the connector should manage "
        "certificates in the management account."
    )


# --- fixes ----------------------------------------------------------------------

MANAGED_POLICY_FOR = {
    "organizations": "AWSOrganizationsReadOnlyAccess",
    "acm": "AWSCertificateManagerFullAccess",
    "secrets-manager": "SecretsManagerReadWrite",
    "elb": "ElasticLoadBalancingFullAccess",
}
# The least-privilege style's custom policy for each need (its checklist step:
# checklist.custom_policy_step_id).
CUSTOM_POLICY_FOR = {
    "organizations": ORGANIZATIONS_POLICY_NAME,
    "acm": ACM_POLICY_NAME,
    "secrets-manager": SECRETS_POLICY_NAME,
    "elb": ELB_POLICY_NAME,
}


def permission_step(plan: Plan, need: str) -> str:
    """The checklist step that grants the connector `need` (organizations, acm, secrets-manager, elb)."""
    if plan.style is PolicyStyle.DOCUMENTED:
        step_id = f"attach-{MANAGED_POLICY_FOR[need]}"
    else:
        step_id = custom_policy_step_id(CUSTOM_POLICY_FOR[need])
    # The plan may not grant it (no organizations policy for one account, no
    # Secrets Manager policy when not chosen): then the user or role itself is the fix.
    return step_id if step_id in step_ids(plan) else principal_step_id(plan)


# Causes that mean the wrong credentials or a broken key: the step that gives the connector (or
# the sensor) its credentials, an access key, the instance profile or the AWS profile.
_CREDENTIALS_CAUSES = frozenset(
    {Cause.INVALID_CREDENTIALS, Cause.WRONG_SECRET, Cause.WRONG_USER, Cause.WRONG_ROLE}
)
# Causes that mean the principal itself is not the plan's (not a user; not in the management account).
_PRINCIPAL_CAUSES = frozenset({Cause.NOT_IAM_USER, Cause.NOT_MANAGEMENT_ACCOUNT})
_TRUSTED_ACCESS_CAUSES = frozenset(
    {Cause.TRUSTED_ACCESS_DISABLED, Cause.NOT_ALL_FEATURES, Cause.NOT_IN_ORGANIZATION}
)
_MEMBER_ROLE_CAUSES = frozenset({Cause.ROLE_MISSING, Cause.ROLE_NOT_ASSUMABLE, Cause.MEMBER_ROLE_PERMISSIONS})
# A denial whose fix depends on what was called: the check names the step that grants it.
CHECK_DEPENDENT_CAUSES = frozenset({Cause.CALLER_POLICY, Cause.ACCESS_DENIED})


def fix_step(plan: Plan, cause: Cause, check_step: str | None = None) -> str | None:
    """The step of `plan`'s checklist that fixes `cause`, or None when no step does.

    `check_step` is the step that grants what the failing check called (for a
    denial, CHECK_DEPENDENT_CAUSES). A step the plan's checklist lacks is never
    named (trusted access for Account Management where the partition has no
    such service, docs/facts.md#govcloud): the verify page links every fix.
    """
    if cause in CHECK_DEPENDENT_CAUSES:
        step = check_step
    elif cause in _CREDENTIALS_CAUSES:
        step = credentials_step_id(plan)
    elif cause in _PRINCIPAL_CAUSES:
        step = principal_step_id(plan)
    elif cause in _TRUSTED_ACCESS_CAUSES:
        step = "enable-trusted-access"
    elif cause in _MEMBER_ROLE_CAUSES:
        step = "member-role"
    else:
        return None
    return step if step in step_ids(plan) else None
