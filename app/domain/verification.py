"""Results of a live verification, their plain-language causes, and drift between runs.

Pure (stdlib + pydantic): the store saves these values as JSON and the web
renders them without importing boto3. `app/aws` produces them.

A result never carries a secret: the AWS messages kept in `detail` pass
through `redact()` first, which removes anything shaped like an access key id
and every secret the caller names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.checklist import custom_policy_step_id, step_ids
from app.domain.least_privilege import (
    ACM_POLICY_NAME,
    ELB_POLICY_NAME,
    ORGANIZATIONS_POLICY_NAME,
    SECRETS_POLICY_NAME,
)
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle

# The message AWS returns when Account Management trusted access is off
# (docs/facts.md#organizations), quoted verbatim in the explanation.
TRUSTED_ACCESS_MESSAGE = "Your organization must first enable trusted access with AWS Account Management."
ACCOUNT_SERVICE_PRINCIPAL = "account.amazonaws.com"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"


# Worst first: the status of a group is its worst member's.
_SEVERITY = {Status.FAIL: 3, Status.WARN: 2, Status.PASS: 1, Status.SKIPPED: 0}


def worst(statuses: Iterable[Status]) -> Status:
    result = Status.SKIPPED
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[result]:
            result = status
    return result


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
        "The connector user's own policies do not allow this call: no identity-based policy allows it."
    ),
    Cause.ACCESS_DENIED: "AWS denied the call: the user's policies do not allow it.",
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


# Plain words for a status in a count ("3 passed, 1 with warnings").
_STATUS_WORDS = {
    Status.PASS: "passed",
    Status.WARN: "with warnings",
    Status.FAIL: "failed",
    Status.SKIPPED: "skipped",
}


def count_sentence(summary: Mapping[str, int], kind: str, noun: str) -> str:
    """'12 checks: 9 passed, 1 with warnings, 2 failed' from Report.summary() (every item counted once)."""
    total = int(summary.get(kind, 0))
    parts = [
        f"{summary[f'{kind}_{status.value}']} {word}"
        for status, word in _STATUS_WORDS.items()
        if summary.get(f"{kind}_{status.value}", 0)
    ]
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")


def summary_sentence(summary: Mapping[str, int]) -> str:
    """The whole run in one sentence: checks, then member accounts when there are any."""
    sentence = count_sentence(summary, "checks", "checks")
    if summary.get("accounts"):
        sentence += "; " + count_sentence(summary, "accounts", "member accounts")
    return sentence + "."


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check (or one region of a check): what was called, what it means, what fixes it."""

    id: str
    title: str
    status: Status
    call: str
    explanation: str
    fix: str | None = None  # a checklist step id
    error_code: str | None = None
    cause: Cause | None = None
    region: str | None = None
    detail: str | None = None  # the AWS message, redacted

    @property
    def key(self) -> str:
        return f"{self.id}@{self.region}" if self.region else self.id


@dataclass(frozen=True, slots=True)
class RegionResult:
    region: str
    status: Status
    error_code: str | None = None
    cause: Cause | None = None
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class AccountResult:
    """One member account: could the common role be assumed, and ACM reached in each region."""

    account_id: str
    name: str
    joined_method: str  # CREATED | INVITED
    is_management: bool
    role_status: Status
    regions: tuple[RegionResult, ...] = ()
    error_code: str | None = None
    cause: Cause | None = None
    explanation: str = ""
    fix: str | None = None
    detail: str | None = None
    elapsed_ms: int = 0

    @property
    def status(self) -> Status:
        return worst([self.role_status, *(r.status for r in self.regions)])

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


@dataclass(frozen=True, slots=True)
class Report:
    """A whole verification run. Saved as JSON (never a secret, token or key)."""

    scope: str
    role_name: str
    regions: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    caller_arn: str = ""
    account_id: str = ""
    checks: tuple[CheckResult, ...] = ()
    accounts: tuple[AccountResult, ...] = ()
    source: str = "form"  # form | server | demo | cli
    simulated: tuple[str, ...] = ()  # demo mode: what the emulator only pretends
    # A re-check of chosen member accounts only (empty: every active account was checked).
    only_accounts: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        return worst([*(c.status for c in self.checks), *(a.status for a in self.accounts)])

    @property
    def elapsed_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, int]:
        counts = {"checks": len(self.checks), "accounts": len(self.accounts)}
        for status in Status:
            counts[f"checks_{status.value}"] = sum(1 for c in self.checks if c.status is status)
            counts[f"accounts_{status.value}"] = sum(1 for a in self.accounts if a.status is status)
        return counts

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def failed_accounts(self) -> list[AccountResult]:
        return [a for a in self.accounts if a.failed]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "role_name": self.role_name,
            "regions": list(self.regions),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "caller_arn": self.caller_arn,
            "account_id": self.account_id,
            "status": self.status.value,
            "source": self.source,
            "simulated": list(self.simulated),
            "only_accounts": list(self.only_accounts),
            "summary": self.summary(),
            "checks": [_check_dict(c) for c in self.checks],
            "accounts": [_account_dict(a) for a in self.accounts],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), sort_keys=True)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            scope=data["scope"],
            role_name=data["role_name"],
            regions=tuple(data["regions"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            caller_arn=data.get("caller_arn", ""),
            account_id=data.get("account_id", ""),
            source=data.get("source", "form"),
            simulated=tuple(data.get("simulated", ())),
            only_accounts=tuple(data.get("only_accounts", ())),
            checks=tuple(_check_from(c) for c in data.get("checks", ())),
            accounts=tuple(_account_from(a) for a in data.get("accounts", ())),
        )


def _cause(value: str | None) -> Cause | None:
    return Cause(value) if value else None


def _check_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "status": check.status.value,
        "call": check.call,
        "explanation": check.explanation,
        "fix": check.fix,
        "error_code": check.error_code,
        "cause": check.cause.value if check.cause else None,
        "region": check.region,
        "detail": check.detail,
    }


def _check_from(data: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=data["id"],
        title=data["title"],
        status=Status(data["status"]),
        call=data["call"],
        explanation=data["explanation"],
        fix=data.get("fix"),
        error_code=data.get("error_code"),
        cause=_cause(data.get("cause")),
        region=data.get("region"),
        detail=data.get("detail"),
    )


def _account_dict(account: AccountResult) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "joined_method": account.joined_method,
        "is_management": account.is_management,
        "status": account.status.value,
        "role_status": account.role_status.value,
        "error_code": account.error_code,
        "cause": account.cause.value if account.cause else None,
        "explanation": account.explanation,
        "fix": account.fix,
        "detail": account.detail,
        "elapsed_ms": account.elapsed_ms,
        "regions": [
            {
                "region": r.region,
                "status": r.status.value,
                "error_code": r.error_code,
                "cause": r.cause.value if r.cause else None,
                "explanation": r.explanation,
            }
            for r in account.regions
        ],
    }


def _account_from(data: dict[str, Any]) -> AccountResult:
    return AccountResult(
        account_id=data["account_id"],
        name=data["name"],
        joined_method=data.get("joined_method", ""),
        is_management=bool(data.get("is_management")),
        role_status=Status(data["role_status"]),
        error_code=data.get("error_code"),
        cause=_cause(data.get("cause")),
        explanation=data.get("explanation", ""),
        fix=data.get("fix"),
        detail=data.get("detail"),
        elapsed_ms=int(data.get("elapsed_ms", 0)),
        regions=tuple(
            RegionResult(
                region=r["region"],
                status=Status(r["status"]),
                error_code=r.get("error_code"),
                cause=_cause(r.get("cause")),
                explanation=r.get("explanation", ""),
            )
            for r in data.get("regions", ())
        ),
    )


# --- re-checking chosen accounts ---------------------------------------------------

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
MAX_CHOSEN_ACCOUNTS = 1000


def parse_account_ids(text: str) -> tuple[str, ...]:
    """Comma-separated 12-digit account ids, in order, without repeats; ValueError names the rule."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise ValueError("Give at least one account id.")
    if len(ids) > MAX_CHOSEN_ACCOUNTS:
        raise ValueError(f"Give at most {MAX_CHOSEN_ACCOUNTS} account ids.")
    if not all(_ACCOUNT_ID.fullmatch(i) for i in ids):
        raise ValueError("Each account id is 12 digits, separated by commas.")
    return tuple(dict.fromkeys(ids))


class NotMembers(ValueError):
    """Chosen account ids that are not active members of the organization (nothing is saved)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        count = len(self.ids)
        super().__init__(
            f"{count} of the chosen account ids {'is' if count == 1 else 'are'} not an active member "
            "account of this organization."
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
    """The checklist step that grants the user `need` (organizations, acm, secrets-manager, elb)."""
    if plan.style is PolicyStyle.DOCUMENTED:
        return f"attach-{MANAGED_POLICY_FOR[need]}"
    step_id = custom_policy_step_id(CUSTOM_POLICY_FOR[need])
    # The plan may not grant it (no organizations policy for one account, no
    # Secrets Manager policy when not chosen): then the user itself is the fix.
    return step_id if step_id in step_ids(plan) else "create-user"


# --- redaction ------------------------------------------------------------------

# Access key ids: AKIA (long-term) / ASIA (temporary) and the other documented
# prefixes, then 16+ upper-case letters and digits.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA|AGPA|ANPA|ANVA|APKA|AIPA)[A-Z0-9]{12,124}\b")
MAX_DETAIL = 500


def redact(message: str | None, secrets: Sequence[str] = ()) -> str | None:
    """`message` without access key ids or any of `secrets`, shortened; None stays None."""
    if message is None:
        return None
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    message = _KEY_ID.sub("[access key id]", message)
    return message[:MAX_DETAIL]


# --- drift ----------------------------------------------------------------------


class Change(StrEnum):
    FIXED = "fixed"  # was failing, passes now
    BROKE = "broke"  # was passing, fails now
    CHANGED = "changed"  # another status change
    NEW = "new"  # not in the previous run
    GONE = "gone"  # not in this run


@dataclass(frozen=True, slots=True)
class DriftItem:
    key: str
    label: str
    before: Status | None
    after: Status | None
    change: Change


@dataclass(frozen=True)
class Drift:
    items: tuple[DriftItem, ...] = ()
    previous_started_at: datetime | None = None
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.items)

    def count(self, change: Change) -> int:
        return sum(1 for item in self.items if item.change is change)


def _statuses(report: Report) -> dict[str, tuple[str, Status]]:
    """Flatten a report to comparable items: key -> (label, status)."""
    items: dict[str, tuple[str, Status]] = {}
    for check in report.checks:
        label = check.title + (f" ({check.region})" if check.region else "")
        items["check:" + check.key] = (label, check.status)
    for account in report.accounts:
        name = f"{account.name} ({account.account_id})"
        items[f"account:{account.account_id}:role"] = (f"{name}: role", account.role_status)
        for region in account.regions:
            items[f"account:{account.account_id}:{region.region}"] = (
                f"{name}: ACM in {region.region}",
                region.status,
            )
    return items


def drift(previous: Report | None, current: Report) -> Drift:
    """What changed between two runs of the same wizard, worst news first."""
    if previous is None:
        return Drift()
    before, after = _statuses(previous), _statuses(current)
    if current.only_accounts:
        # A re-check of chosen accounts says nothing about the others: they are not gone.
        chosen = set(current.only_accounts)
        before = {
            k: v for k, v in before.items() if not k.startswith("account:") or k.split(":")[1] in chosen
        }
    items: list[DriftItem] = []
    unchanged = 0
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            if old[1] is new[1]:
                unchanged += 1
                continue
            if new[1] is Status.FAIL:
                change = Change.BROKE
            elif old[1] is Status.FAIL and new[1] is Status.PASS:
                change = Change.FIXED
            else:
                change = Change.CHANGED
            items.append(DriftItem(key, new[0], old[1], new[1], change))
        elif new is not None:
            items.append(DriftItem(key, new[0], None, new[1], Change.NEW))
        elif old is not None:
            items.append(DriftItem(key, old[0], old[1], None, Change.GONE))
    order = {Change.BROKE: 0, Change.FIXED: 1, Change.CHANGED: 2, Change.NEW: 3, Change.GONE: 4}
    items.sort(key=lambda item: (order[item.change], item.key))
    return Drift(tuple(items), previous.started_at, unchanged)


@dataclass(frozen=True, slots=True)
class VerificationProgress:
    """Where a running verification is; the web polls it."""

    done: int = 0
    total: int = 0
    phase: str = "starting"
    failures: int = 0

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class JobState(StrEnum):
    """Where a verification job stands, as every server process sees it (issue 12)."""

    RUNNING = "running"
    DONE = "done"  # finished; its report is a stored run
    FAILED = "failed"  # stopped on an unexpected error; nothing saved
    INTERRUPTED = "interrupted"  # the process running it stopped or died; nothing saved


def job_state(stored: str, *, heartbeat_age_seconds: float, interrupted_after_seconds: float) -> JobState:
    """The state a reader reports: a running job whose heartbeat is older than the limit was interrupted.

    The process running a job writes its heartbeat every few seconds; when that
    process dies nothing else will ever finish the job, so it must not show
    as running forever (docs/scale-out.md).
    """
    state = JobState(stored)
    if state is JobState.RUNNING and heartbeat_age_seconds > interrupted_after_seconds:
        return JobState.INTERRUPTED
    return state


class RunRefused(Exception):
    """A verification that may not start now; the message says why and when to try again."""


def start_refusal(
    *,
    wizard_running: bool,
    seconds_since_last_start: float | None,
    min_seconds_between_runs: float,
    server_running: int,
    server_cap: int,
) -> str | None:
    """Why a new run may not start (None: it may): one at a time per wizard, an interval, a server cap."""
    if wizard_running:
        return "A verification of this wizard is already running: wait for it to finish."
    if seconds_since_last_start is not None:
        wait = min_seconds_between_runs - seconds_since_last_start
        if wait > 0:
            return f"A verification just ran: try again in {int(wait) + 1} seconds."
    if server_running >= server_cap:
        return "The server is running as many verifications as it allows: try again in a minute."
    return None


__all__ = [
    "ACCOUNT_SERVICE_PRINCIPAL",
    "CAUSE_TEXT",
    "TRUSTED_ACCESS_MESSAGE",
    "AccountResult",
    "Cause",
    "Change",
    "CheckResult",
    "Drift",
    "DriftItem",
    "JobState",
    "NotMembers",
    "RegionResult",
    "Report",
    "RunRefused",
    "Status",
    "VerificationProgress",
    "count_sentence",
    "drift",
    "job_state",
    "management_account_role_note",
    "parse_account_ids",
    "permission_step",
    "redact",
    "start_refusal",
    "summary_sentence",
    "worst",
]
