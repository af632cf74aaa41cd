"""Run every check of a plan: the connector's own checks, then member accounts × regions concurrently.

The pool is bounded (`AwsSettings.concurrency`, 64 by default). Against AWS a
check is a chain of round trips and the threads mostly wait, so the pool size
sets how many round trips are in flight; the default is chosen from
bench/verify_scale.py and the management account's STS rate
(docs/decisions.md#verify-concurrency). One botocore client per
(service, region) is shared by all threads; member-account clients are made
once per account from the warm Session (app.aws.clients).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from app.aws import checks
from app.aws.clients import ClientSet
from app.domain.plan import Plan
from app.domain.verification.causes import Cause
from app.domain.verification.jobs import VerificationProgress
from app.domain.verification.recheck import NotMembers
from app.domain.verification.results import AccountResult, CheckResult, Report, Status

ProgressCallback = Callable[[VerificationProgress], None]


def _now() -> datetime:
    return datetime.now(UTC)


class _Tracker:
    """Counts finished work and reports it; safe to call from worker threads."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.failures = 0
        self.phase = "starting"

    def add(self, count: int, phase: str | None = None) -> None:
        with self._lock:
            self.total += count
            if phase:
                self.phase = phase
        self._emit()

    def finish(self, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failures += int(failed)
        self._emit()

    def _emit(self) -> None:
        if self._callback is not None:
            with self._lock:
                progress = VerificationProgress(
                    done=self.done, total=self.total, phase=self.phase, failures=self.failures
                )
            self._callback(progress)


def _skip_all(plan: Plan, why: str) -> list[CheckResult]:
    specs = [checks.ACCESS_KEY_INFO, checks.SESSION_TOKEN]
    if plan.is_organization:
        specs += [
            checks.ORGANIZATION,
            checks.MEMBER_ACCOUNTS,
            checks.TRUSTED_ACCESS,
            checks.MEMBER_ACCESS.for_plan(plan),
        ]
    skipped = [spec.skipped(why) for spec in specs]
    for region in plan.regions:
        skipped += [
            checks.ACM.skipped(why, region=region),
            checks.SECRETS_MANAGER.skipped(why, region=region),
        ]
        if plan.elb:
            skipped.append(checks.ELB.skipped(why, region=region))
    return skipped


def _member_access_summary(plan: Plan, accounts: Sequence[AccountResult], skipped: str | None) -> CheckResult:
    spec = checks.MEMBER_ACCESS.for_plan(plan)  # its "call" names ELB only when the plan reads ELB
    if skipped is not None:
        return spec.skipped(skipped)
    failed = [a for a in accounts if a.failed]
    warned = [a for a in accounts if a.status is Status.WARN]
    if failed:
        role_failed = any(a.role_status is Status.FAIL for a in failed)
        return spec.result(
            Status.FAIL,
            f"{len(failed)} of {len(accounts)} accounts failed (causes in the account table).",
            fix="member-role" if role_failed else None,
        )
    return spec.result(
        Status.WARN if warned else Status.PASS,
        f"All {len(accounts)} accounts passed" + (f" ({len(warned)} with warnings)." if warned else "."),
    )


def verify(
    plan: Plan,
    clients: ClientSet,
    *,
    progress: ProgressCallback | None = None,
    source: str = "form",
    simulated: Sequence[str] = (),
    only_accounts: Collection[str] = (),
) -> Report:
    """Run the checks of `plan` with `clients`' identity and return the whole report.

    `only_accounts`: check just these member accounts (a re-check of what failed); NotMembers
    when one of them is not an active member of the organization.
    """
    started = _now()
    tracker = _Tracker(progress)
    regional_count = (3 if plan.elb else 2) * len(plan.regions)
    org_count = 3 if plan.is_organization else 0
    tracker.add(1 + 2 + regional_count + org_count, "checking the credentials")

    identity_result, identity = checks.check_identity(clients, plan)
    tracker.finish(identity_result.status is Status.FAIL)
    results: list[CheckResult] = [identity_result]
    accounts: list[AccountResult] = []

    def report() -> Report:
        return Report(
            scope=plan.scope.value,
            role_name=plan.role_name if plan.is_organization else "",
            regions=plan.regions,
            started_at=started,
            finished_at=_now(),
            caller_arn=identity.arn if identity else "",
            account_id=identity.account_id if identity else "",
            checks=tuple(results),
            accounts=tuple(accounts),
            source=source,
            simulated=tuple(simulated),
            only_accounts=tuple(only_accounts),
        )

    if identity is None:
        why = "Not run: the credentials did not work (see Identity)."
        results.extend(_skip_all(plan, why))
        return report()

    concurrency = max(1, clients.aws.concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="verify") as pool:

        def tracked(future: Future[CheckResult]) -> None:
            tracker.finish(
                not future.cancelled()
                and future.exception() is None
                and future.result().status is Status.FAIL
            )

        own: list[Future[CheckResult]] = [
            pool.submit(checks.check_access_key_info, clients, plan, identity),
            pool.submit(checks.check_session_token, clients, plan),
        ]
        for region in plan.regions:
            own.append(pool.submit(checks.check_acm, clients, plan, region))
            own.append(pool.submit(checks.check_secrets_manager, clients, plan, region))
            if plan.elb:
                own.append(pool.submit(checks.check_elb, clients, plan, region))
        org: list[Future[CheckResult]] = []
        listing: Future[tuple[CheckResult, list[checks.MemberAccount]]] | None = None
        if plan.is_organization:
            org.append(pool.submit(checks.check_organization, clients, plan, identity))
            org.append(pool.submit(checks.check_trusted_access, clients, plan))
            listing = pool.submit(checks.list_member_accounts, clients, plan)
        for future in (*own, *org):
            future.add_done_callback(tracked)

        members: list[checks.MemberAccount] = []
        listed_result: CheckResult | None = None
        skip_members: str | None = None
        if listing is not None:
            listed_result, members = listing.result()
            tracker.finish(listed_result.status is Status.FAIL)
            organization = org[0].result()
            if listed_result.status is Status.FAIL:
                skip_members = "Not run: the member accounts could not be listed."
            elif organization.cause in (Cause.NOT_IN_ORGANIZATION, Cause.NOT_MANAGEMENT_ACCOUNT):
                # Without an organization run from its management account the
                # list is not the organization's (see Organization).
                skip_members, members = "Not run: see the Organization check.", []
            if only_accounts:
                listed = {m.id for m in members}
                missing = [i for i in only_accounts if i not in listed]
                if missing and skip_members is None:
                    pool.shutdown(cancel_futures=True)
                    raise NotMembers(missing)
                members = [m for m in members if m.id in set(only_accounts)]
            tracker.add(len(members), f"checking {len(members)} accounts × {len(plan.regions)} regions")

        def one_account(member: checks.MemberAccount) -> AccountResult:
            result = checks.check_member_account(
                clients, plan, member, management_account_id=identity.account_id
            )
            tracker.finish(result.failed)
            return result

        # Results keep the organization's order, whatever order they finish in.
        account_futures = [pool.submit(one_account, member) for member in members]
        results.extend(f.result() for f in own[:2])
        if org and listed_result is not None:
            results.extend([org[0].result(), listed_result, org[1].result()])
        results.extend(f.result() for f in own[2:])
        accounts.extend(f.result() for f in account_futures)

    if plan.is_organization:
        results.append(_member_access_summary(plan, accounts, skip_members))
    return report()
