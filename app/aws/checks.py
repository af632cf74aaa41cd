"""The live checks (docs/architecture.md, "A plan's journey"), each a function of clients.

Every function returns result values (app.domain.verification); expected AWS
failures never escape as exceptions. All calls are read-only: the only one
that creates anything is sts:GetSessionToken, whose temporary credentials are
dropped unused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.aws.clients import SESSION_NAME, ClientSet
from app.aws.errors import Failure, classify
from app.domain import check_calls as calls
from app.domain.check_calls import CHECK_ACTIONS, check_actions, member_role_arn, secret_probe_name
from app.domain.iam import (
    PARTITION_LABELS,
    account_management_absent,
    has_account_management,
    has_opt_in_regions,
)
from app.domain.plan import Plan
from app.domain.principal import connector_principal_noun, credentials_step_id
from app.domain.verification.causes import (
    ACCOUNT_SERVICE_PRINCIPAL,
    CAUSE_TEXT,
    Cause,
    fix_step,
    management_account_role_note,
    permission_step,
)
from app.domain.verification.results import AccountResult, CheckResult, RegionResult, Status

# An IAM user's ARN: arn:PARTITION:iam::ACCOUNT:user/[PATH/]NAME; a role session's (the sensor
# role's, for role principals): arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME,
# without the role's path (docs/facts.md#temporary-credentials).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
_USER_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):user/(?:.*/)?(?P<name>[^/]+)")
_ROLE_SESSION_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/(?P<session>.+)"
)


@dataclass(frozen=True, slots=True)
class Identity:
    arn: str
    account_id: str


@dataclass(frozen=True, slots=True)
class MemberAccount:
    id: str
    name: str
    joined_method: str


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A live check's fixed facts: the id its results carry, its title; its AWS call(s) are the domain's.

    app.domain.check_calls.CHECK_ACTIONS lists what each check calls; a domain
    test proves every plan's policies allow it, and tests/aws record a run's
    real calls against it.
    """

    id: str
    title: str
    actions: tuple[str, ...] | None = None  # set by for_plan(); None: every action the check may call

    @property
    def call(self) -> str:
        return ", ".join(CHECK_ACTIONS[self.id] if self.actions is None else self.actions)

    def for_plan(self, plan: Plan) -> CheckSpec:
        """This check as a run of `plan` makes it: its "call" lists only what that run calls."""
        return replace(self, actions=check_actions(self.id, plan))

    def result(self, status: Status, explanation: str, **fields: Any) -> CheckResult:
        return CheckResult(
            id=self.id, title=self.title, status=status, call=self.call, explanation=explanation, **fields
        )

    def passed(self, explanation: str, **fields: Any) -> CheckResult:
        return self.result(Status.PASS, explanation, **fields)

    def skipped(self, why: str, **fields: Any) -> CheckResult:
        return self.result(Status.SKIPPED, why, **fields)

    def found(
        self,
        plan: Plan,
        cause: Cause,
        *,
        status: Status = Status.FAIL,
        before: str = "",
        after: str = "",
    ) -> CheckResult:
        """A cause the check itself found in an answer (not an error): its text, and its step as the fix."""
        return self.result(status, before + CAUSE_TEXT[cause] + after, cause=cause, fix=fix_step(plan, cause))

    def failed(
        self,
        plan: Plan,
        failure: Failure,
        *,
        fix: str | None,
        region: str | None = None,
        context: str = "",
    ) -> CheckResult:
        """The call failed: the cause's text (and context), the cause's step (app.domain.verification.causes.
        fix_step), or `fix`, the step granting what this check calls, for a denial."""
        return self.result(
            Status.FAIL,
            CAUSE_TEXT[failure.cause] + (f" {context}" if context else ""),
            fix=fix_step(plan, failure.cause, fix),
            error_code=failure.code,
            cause=failure.cause,
            region=region,
            detail=failure.detail,
        )


IDENTITY = CheckSpec(calls.IDENTITY, "Identity")
ACCESS_KEY_INFO = CheckSpec(calls.ACCESS_KEY_INFO, "Access key info")
SESSION_TOKEN = CheckSpec(calls.SESSION_TOKEN, "Session token")
ORGANIZATION = CheckSpec(calls.ORGANIZATION, "Organization")
MEMBER_ACCOUNTS = CheckSpec(calls.MEMBER_ACCOUNTS, "Member accounts")
TRUSTED_ACCESS = CheckSpec(calls.TRUSTED_ACCESS, "Trusted access")
MEMBER_ACCESS = CheckSpec(calls.MEMBER_ACCESS, "Member access")
ACM = CheckSpec(calls.ACM, "ACM")
SECRETS_MANAGER = CheckSpec(calls.SECRETS_MANAGER, "Secrets Manager")
# One read for Application, Network and Classic Load Balancers alike: the IAM action
# elasticloadbalancing:DescribeLoadBalancers covers both APIs (docs/facts.md#elb-permissions).
ELB = CheckSpec(calls.ELB, "Elastic Load Balancing")


def _who(plan: Plan) -> str:
    """The connector as a sentence's subject: its IAM user, or its sensor role."""
    return f"The {connector_principal_noun(plan)}"


def _attempt(clients: ClientSet, fn: Any, /, *, region_may_be_disabled: bool = False, **kwargs: Any) -> Any:
    """Call fn(**kwargs); return its answer or a Failure."""
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as error:
        return classify(error, secrets=clients.secrets(), region_may_be_disabled=region_may_be_disabled)


# --- identity and the key ---------------------------------------------------------


def check_identity(clients: ClientSet, plan: Plan) -> tuple[CheckResult, Identity | None]:
    """Whose keys these are: an IAM user, and the plan's user in the plan's partition.

    Keys of another user (an administrator's own, say) would pass every other
    check while proving nothing about the connector's user, so they fail here,
    naming both. The checks still run with them: their results show what that
    identity can do.
    """
    answer = _attempt(clients, clients.client("sts").get_caller_identity)
    if isinstance(answer, Failure):
        return IDENTITY.failed(plan, answer, fix=credentials_step_id(plan)), None
    identity = Identity(arn=str(answer["Arn"]), account_id=str(answer["Account"]))
    if plan.uses_role_principal:
        return _role_identity(plan, identity), identity
    user = _USER_ARN.fullmatch(identity.arn)
    if user is None:
        parts = identity.arn.split(":")
        kind = (
            "the account's root user"
            if identity.arn.endswith(":root")
            else (parts[5].split("/")[0] if len(parts) > 5 else identity.arn)
        )
        return IDENTITY.found(plan, Cause.NOT_IAM_USER, before=f"Signed in as {kind}. "), identity
    expected = f"the IAM user {plan.user_name} in the {PARTITION_LABELS[plan.partition]} partition"
    if user["partition"] != plan.partition.value or user["name"] != plan.user_name:
        return (
            IDENTITY.result(
                Status.FAIL,
                f"These keys belong to {identity.arn}, but the plan's connector user is {expected}. "
                f"Verify with an access key of {plan.user_name}: checks run with anyone else's keys prove "
                "nothing about the connector's permissions.",
                cause=Cause.WRONG_USER,
                fix=fix_step(plan, Cause.WRONG_USER),
            ),
            identity,
        )
    explanation = (
        f"Signed in as the IAM user {identity.arn} in account {identity.account_id}, the plan's user."
    )
    return IDENTITY.passed(explanation), identity


def _role_identity(plan: Plan, identity: Identity) -> CheckResult:
    """A role principal's plan: the caller must be a session of the plan's sensor role, in its partition.

    The session name (an instance id, a certificate's serial, an admin's
    choice) says nothing about the role, so only the partition and the role
    name are compared (docs/facts.md#temporary-credentials).
    """
    session = _ROLE_SESSION_ARN.fullmatch(identity.arn)
    role = plan.sensor_role_name
    partition = plan.partition.value
    if session is not None and session["partition"] == partition and session["name"] == role:
        return IDENTITY.passed(
            f"Signed in as the sensor role {role} (session {session['session']}) in account "
            f"{identity.account_id}, the plan's role."
        )
    expected = (
        f"a session of the IAM role {role} in the {PARTITION_LABELS[plan.partition]} partition "
        f"(arn:{partition}:sts::ACCOUNT:assumed-role/{role}/SESSION)"
    )
    if session is not None:
        found = f"a session of the role {session['name']} in the partition {session['partition']}"
    elif _USER_ARN.fullmatch(identity.arn):
        found = "an IAM user's key"
    elif identity.arn.endswith(":root"):
        found = "the account's root user"
    else:
        found = "another kind of identity"
    return IDENTITY.result(
        Status.FAIL,
        f"These credentials are {found}, {identity.arn}, but the plan's connector is {expected}. "
        f"Verify with the credentials of {role}: checks run with anyone else's prove nothing about the "
        "sensor's permissions.",
        cause=Cause.WRONG_ROLE,
        fix=fix_step(plan, Cause.WRONG_ROLE),
    )


_TEMPORARY_KEY_INFO = (
    "Not checked: these are temporary credentials, and AWS lets session credentials call no STS API "
    "other than AssumeRole and GetCallerIdentity. The connector's long-term key can call it; this is not a "
    "failure of the plan."
)


def check_access_key_info(clients: ClientSet, plan: Plan, identity: Identity) -> CheckResult:
    if not plan.is_organization:
        return ACCESS_KEY_INFO.skipped("Only the organization scope's inline policy grants this.")
    if plan.uses_role_principal:
        # No access key to look up: the connector is a role (docs/facts.md#temporary-credentials).
        return ACCESS_KEY_INFO.found(plan, Cause.ROLE_CREDENTIALS, status=Status.SKIPPED)
    key_id = clients.access_key_id()
    if key_id is None:
        return ACCESS_KEY_INFO.skipped("No access key is in use.")
    temporary = clients.temporary_credentials()
    if temporary and _USER_ARN.fullmatch(identity.arn):
        # A user's session credentials (GetSessionToken) may call no STS API but
        # AssumeRole and GetCallerIdentity (docs/facts.md#temporary-credentials).
        return ACCESS_KEY_INFO.skipped(_TEMPORARY_KEY_INFO, cause=Cause.TEMPORARY_CREDENTIALS)
    answer = _attempt(clients, clients.client("sts").get_access_key_info, AccessKeyId=key_id)
    if isinstance(answer, Failure):
        if temporary and answer.is_access_denied:
            return ACCESS_KEY_INFO.skipped(
                _TEMPORARY_KEY_INFO, cause=Cause.TEMPORARY_CREDENTIALS, error_code=answer.code
            )
        context = (
            "As documented, the inline policy scopes sts:GetAccessKeyInfo to a role ARN, which grants "
            'nothing: use the corrected inline policy (this action on "*").'
            if answer.is_access_denied
            else ""
        )
        return ACCESS_KEY_INFO.failed(plan, answer, fix="put-inline-policy", context=context)
    account = str(answer.get("Account", ""))
    if account != identity.account_id:
        return ACCESS_KEY_INFO.result(
            Status.WARN, f"The key belongs to account {account}, but the caller is in {identity.account_id}."
        )
    return ACCESS_KEY_INFO.passed(f"The key in use belongs to account {account}.")


def check_session_token(clients: ClientSet, plan: Plan) -> CheckResult:
    if not plan.is_organization:
        return SESSION_TOKEN.skipped("Only the organization scope's inline policy names this.")
    if plan.uses_role_principal:
        # AWS refuses GetSessionToken to role credentials (docs/facts.md#temporary-credentials).
        return SESSION_TOKEN.found(plan, Cause.ROLE_CREDENTIALS, status=Status.SKIPPED)
    if clients.temporary_credentials():
        return SESSION_TOKEN.found(plan, Cause.TEMPORARY_CREDENTIALS, status=Status.SKIPPED)
    # The shortest session AWS allows; the credentials it returns are dropped.
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
    answer = _attempt(clients, clients.client("sts").get_session_token, DurationSeconds=900)
    if isinstance(answer, Failure):
        if answer.is_access_denied and "session credentials" in (answer.detail or "").lower():
            cause = Cause.TEMPORARY_CREDENTIALS
            return SESSION_TOKEN.skipped(CAUSE_TEXT[cause], cause=cause, error_code=answer.code)
        return SESSION_TOKEN.failed(plan, answer, fix="put-inline-policy")
    return SESSION_TOKEN.passed("The user can get temporary credentials (they were discarded unused).")


# --- organization -------------------------------------------------------------------


def check_organization(clients: ClientSet, plan: Plan, identity: Identity) -> CheckResult:
    answer = _attempt(clients, clients.client("organizations").describe_organization)
    if isinstance(answer, Failure):
        return ORGANIZATION.failed(plan, answer, fix=permission_step(plan, "organizations"))
    org = answer["Organization"]
    management = str(org.get("MasterAccountId", ""))
    if management != identity.account_id:
        after = f" The management account is {management}; the caller is in {identity.account_id}."
        return ORGANIZATION.found(plan, Cause.NOT_MANAGEMENT_ACCOUNT, after=after)
    if org.get("FeatureSet") != "ALL":
        return ORGANIZATION.found(plan, Cause.NOT_ALL_FEATURES)
    return ORGANIZATION.passed(
        f"Organization {org.get('Id')} with all features; the caller is its management account."
    )


def list_member_accounts(clients: ClientSet, plan: Plan) -> tuple[CheckResult, list[MemberAccount]]:
    paginator = clients.client("organizations").get_paginator("list_accounts")
    accounts: list[MemberAccount] = []
    inactive = 0
    try:
        for page in paginator.paginate():
            for account in page.get("Accounts", ()):
                # "Status" is deprecated in favour of "State" (2025); read either.
                state = account.get("State") or account.get("Status")
                if state != "ACTIVE":
                    inactive += 1
                    continue
                accounts.append(
                    MemberAccount(
                        id=str(account["Id"]),
                        name=str(account.get("Name", "")),
                        joined_method=str(account.get("JoinedMethod", "")),
                    )
                )
    except (ClientError, BotoCoreError) as error:
        failure = classify(error, secrets=clients.secrets())
        return MEMBER_ACCOUNTS.failed(plan, failure, fix=permission_step(plan, "organizations")), []
    note = f" ({inactive} suspended or closing, not checked)" if inactive else ""
    return MEMBER_ACCOUNTS.passed(f"{len(accounts)} active accounts{note}."), accounts


def check_trusted_access(clients: ClientSet, plan: Plan) -> CheckResult:
    if not has_account_management(plan.partition):
        return TRUSTED_ACCESS.skipped(account_management_absent(plan.partition))
    paginator = clients.client("organizations").get_paginator("list_aws_service_access_for_organization")
    principals: set[str] = set()
    try:
        for page in paginator.paginate():
            principals.update(str(s["ServicePrincipal"]) for s in page.get("EnabledServicePrincipals", ()))
    except (ClientError, BotoCoreError) as error:
        failure = classify(error, secrets=clients.secrets())
        return TRUSTED_ACCESS.failed(plan, failure, fix=permission_step(plan, "organizations"))
    if ACCOUNT_SERVICE_PRINCIPAL not in principals:
        return TRUSTED_ACCESS.found(plan, Cause.TRUSTED_ACCESS_DISABLED)
    return TRUSTED_ACCESS.passed(f"{ACCOUNT_SERVICE_PRINCIPAL} is enabled for the organization.")


# --- the connector's own regional access (its user or sensor role) ---------------------------------------------------


def check_acm(clients: ClientSet, plan: Plan, region: str) -> CheckResult:
    answer = _attempt(
        clients,
        clients.client("acm", region).list_certificates,
        region_may_be_disabled=has_opt_in_regions(plan.partition),
        MaxItems=1,
    )
    if isinstance(answer, Failure):
        return ACM.failed(plan, answer, fix=permission_step(plan, "acm"), region=region)
    return ACM.passed(f"{_who(plan)} can list certificates in {region}.", region=region)


def check_secrets_manager(clients: ClientSet, plan: Plan, region: str) -> CheckResult:
    if not plan.secrets_manager:
        why = "Not chosen: the DigiCert sensor stores temporary private keys instead."
        return SECRETS_MANAGER.skipped(why, region=region)
    # A name under the plan's prefix that the connector never creates: AWS answers
    # ResourceNotFoundException when the user may use it, AccessDenied when not
    # (app.domain.check_calls.SECRET_PROBE_NAME).
    name = secret_probe_name(plan)
    answer = _attempt(
        clients,
        clients.client("secretsmanager", region).describe_secret,
        region_may_be_disabled=has_opt_in_regions(plan.partition),
        SecretId=name,
    )
    if isinstance(answer, Failure) and answer.code != "ResourceNotFoundException":
        context = f"(Asked for {name}, a secret under the plan's prefix {plan.secret_prefix}.)"
        return SECRETS_MANAGER.failed(
            plan, answer, fix=permission_step(plan, "secrets-manager"), region=region, context=context
        )
    return SECRETS_MANAGER.passed(
        f"{_who(plan)} may use secrets whose names start with {plan.secret_prefix} in {region}.",
        region=region,
    )


def check_elb(clients: ClientSet, plan: Plan, region: str) -> CheckResult:
    answer = _attempt(
        clients,
        clients.client("elbv2", region).describe_load_balancers,
        region_may_be_disabled=has_opt_in_regions(plan.partition),
        PageSize=1,
    )
    if isinstance(answer, Failure):
        return ELB.failed(plan, answer, fix=permission_step(plan, "elb"), region=region)
    return ELB.passed(f"{_who(plan)} can list load balancers in {region}.", region=region)


# --- one member account -------------------------------------------------------------


def check_member_account(
    clients: ClientSet, plan: Plan, account: MemberAccount, *, management_account_id: str
) -> AccountResult:
    """sts:AssumeRole into the common role, then acm:ListCertificates in each chosen region."""
    started = time.perf_counter()
    is_management = account.id == management_account_id
    kwargs: dict[str, Any] = {
        "RoleArn": member_role_arn(plan, account.id),
        "RoleSessionName": SESSION_NAME,
        "DurationSeconds": 900,
    }
    answer = _attempt(clients, clients.client("sts").assume_role, **kwargs)

    def done(**fields: Any) -> AccountResult:
        return AccountResult(
            account_id=account.id,
            name=account.name,
            joined_method=account.joined_method,
            is_management=is_management,
            elapsed_ms=int((time.perf_counter() - started) * 1000),
            **fields,
        )

    if isinstance(answer, Failure):
        cause = answer.cause
        if cause is Cause.ACCESS_DENIED:
            invited = account.joined_method == "INVITED" and plan.uses_default_role
            cause = Cause.ROLE_MISSING if invited else Cause.ROLE_NOT_ASSUMABLE
        fix = fix_step(plan, cause, "put-inline-policy")
        explanation = CAUSE_TEXT[cause]
        status = Status.FAIL
        if is_management:
            # The management account is not where the common role is deployed
            # (management_account_role_note says why for this plan's role).
            status = Status.WARN
            explanation = management_account_role_note(plan) + " " + explanation
        return done(
            role_status=status,
            error_code=answer.code,
            cause=cause,
            explanation=explanation,
            fix=fix,
            detail=answer.detail,
            regions=tuple(
                RegionResult(r, Status.SKIPPED, explanation="Role not assumed.") for r in plan.regions
            ),
        )

    regions: list[RegionResult] = []
    with clients.as_member(answer["Credentials"]):
        for region in plan.regions:
            listed = _attempt(
                clients,
                clients.member_client("acm", region).list_certificates,
                region_may_be_disabled=has_opt_in_regions(plan.partition),
                MaxItems=1,
            )
            what = "ACM"
            if not isinstance(listed, Failure) and plan.elb:
                what = "Elastic Load Balancing"
                listed = _attempt(
                    clients,
                    clients.member_client("elbv2", region).describe_load_balancers,
                    region_may_be_disabled=has_opt_in_regions(plan.partition),
                    PageSize=1,
                )
            if isinstance(listed, Failure):
                # Inside a member account the caller is the member role: a denial, however
                # AWS words it ("no identity-based policy allows" is the caller's own
                # policies), is the member role's permissions.
                denied = listed.cause in (Cause.ACCESS_DENIED, Cause.CALLER_POLICY)
                cause = Cause.MEMBER_ROLE_PERMISSIONS if denied else listed.cause
                explanation = f"{what}: {CAUSE_TEXT[cause]}"
                regions.append(RegionResult(region, Status.FAIL, listed.code, cause, explanation))
            else:
                regions.append(RegionResult(region, Status.PASS))
    failed = [r for r in regions if r.status is Status.FAIL]
    return done(
        role_status=Status.PASS,
        regions=tuple(regions),
        cause=failed[0].cause if failed else None,
        explanation=failed[0].explanation
        if failed
        else "Role assumed; ACM"
        + (" and Elastic Load Balancing" if plan.elb else "")
        + " reachable in every chosen region.",
        fix=fix_step(plan, failed[0].cause) if failed and failed[0].cause else None,
        error_code=failed[0].error_code if failed else None,
    )
