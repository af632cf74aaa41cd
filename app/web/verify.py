"""The Verify page: live checks with the connector's credentials, progress, the account matrix, drift.

Credentials typed into the form become a `Credentials` (SecretStr) and go to
one background thread; they are never stored, logged, put in a cookie, a URL
or a hidden field, and the form never echoes them back. The server's own
identity is offered only when the operator allows it, and only against the
operator secret: a share link alone never reaches it (docs/security.md).

A run happens in a background thread (boto3 is synchronous); the page polls
its progress with htmx (`hx-trigger="every 1s"` on the progress fragment, which
stops when the run is done) and, without JavaScript, offers a Refresh link.
Runs live in the database (app/store/verifications.py, issue 12): the process
that starts a run records its job, runs it in a thread and writes the job's
progress and a heartbeat every second; any process or replica answers a poll
from that row, and a job whose heartbeat is older than
`verify_interrupted_after_seconds` reads as interrupted (its process died).
Limits, decided in one write transaction over every process:
`max_concurrent_verifications` runs at once, one run at a time per wizard, and
at least MIN_SECONDS_BETWEEN_RUNS between two starts of a wizard.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import SecretStr, ValidationError

from app.domain.checklist import step_ids
from app.domain.fixes import FIX_SCRIPT, Fix, failed_account_ids, failure_keys, fix_script, fixes
from app.domain.plan import Plan
from app.domain.principal import sensor_profile_options
from app.domain.verification.drift import Drift, drift
from app.domain.verification.jobs import JobState, RunRefused, VerificationProgress
from app.domain.verification.results import AccountResult, CheckResult, Status
from app.settings import Settings
from app.store import db, verifications
from app.web import ratelimit
from app.web.deps import (
    AccessDep,
    ActorDep,
    EditDep,
    EngineDep,
    SettingsDep,
    engine_of,
    page_router,
    settings_of,
)
from app.web.nav import WizardNav, wizard_nav
from app.web.render import is_htmx, render, render_page
from app.web.security import checked_operator_secret

# The lazy AWS seam: this module is the web layer's only door to app/aws, and it
# imports app/aws (so boto3 and botocore) inside the functions that run a
# verification, never at module level. boto3 + botocore were the largest
# import start-up paid for nothing: a server serves pages long before (if ever)
# it verifies (python -X importtime; docs/decisions.md#cold-start, measured by
# bench/cold_start.py). tests/web/test_cold_start.py fails if start-up imports them.
if TYPE_CHECKING:
    from sqlalchemy import Engine  # and the store's SQLAlchemy on first use, like app/aws

    from app.aws.clients import AwsSettings, ClientSet, Credentials, Hook
    from app.aws.demo import DemoOrganization

log = logging.getLogger("connector_wizard.verify")

router = page_router()

MIN_SECONDS_BETWEEN_RUNS = 10.0
# A message, not a token:
ROLE_NEEDS_SESSION_TOKEN = "This plan's connector is a role: paste its session's session token too."  # noqa: S105
MAX_FIELD = 8192  # a session token can be a few kilobytes; nothing else is near this


# --- the demo organization ------------------------------------------------------


@dataclass(frozen=True)
class DemoSetup:
    organization: DemoOrganization
    # Added to every demo run after the organization's own handlers (the demo's latency).
    extra_hooks: tuple[Hook, ...]
    notes: tuple[str, ...]

    @property
    def endpoint_url(self) -> str:
        return self.organization.endpoint_url

    def hooks_for(self, plan: Plan) -> tuple[Hook, ...]:
        """A run's handlers: the simulation's, naming the plan's own principal as the caller, then the extra ones."""
        return (*self.organization.hooks(plan), *self.extra_hooks)

    def credentials_for(self, plan: Plan) -> Credentials:
        """The plan's own connector principal in the emulator (a user's key or a role's session)."""
        from app.aws.demo import connector_credentials  # the lazy AWS seam (top of this module)

        return connector_credentials(self.organization, plan)


def start_demo(app: FastAPI, settings: Settings) -> Any:
    """Start (or reuse, with aws_endpoint_url) the local emulator and seed the demo organization.

    Returns the emulator to stop at shutdown (None when it belongs to someone else).
    """
    from app.aws import demo  # the lazy AWS seam (top of this module)
    from app.aws.simulate import Latency

    emulator: demo.DemoEmulator | None = None
    if settings.aws_endpoint_url:
        organization = demo.seed_organization(settings.aws_endpoint_url)
    else:
        emulator, organization = demo.start_demo()
    extra: tuple[Hook, ...] = ()
    if settings.demo_latency_ms:
        extra = (("before-send", Latency(settings.demo_latency_ms / 1000)),)
    app.state.demo = DemoSetup(organization, extra, organization.notes)
    log.info(
        "demo organization ready at %s (%d member accounts)",
        organization.endpoint_url,
        len(organization.accounts),
    )
    return emulator


# --- background runs --------------------------------------------------------------

HEARTBEAT_MAX_SECONDS = 1.0  # progress polls read the job row: at most this stale
INTERRUPTED_MESSAGE = (
    "The verification was interrupted: the server process running it stopped before it finished. "
    "Nothing was saved. Run the checks again."
)
FAILED_MESSAGE = "The verification stopped unexpectedly; nothing was saved. Try again."


@dataclass(frozen=True)
class Job:
    """A verification job as the page shows it, read from the database (any process may run it)."""

    id: str
    wizard_id: str
    started_at: datetime
    source: str
    state: JobState
    progress: VerificationProgress = field(default_factory=VerificationProgress)
    run_id: str | None = None

    @classmethod
    def of(cls, record: verifications.JobRecord) -> Job:
        return cls(
            record.id,
            record.wizard_id,
            record.started_at,
            record.source,
            record.state,
            record.progress,
            record.run_id,
        )

    @property
    def done(self) -> bool:
        return self.state is not JobState.RUNNING

    @property
    def error(self) -> str | None:
        if self.state is JobState.INTERRUPTED:
            return INTERRUPTED_MESSAGE
        if self.state is JobState.FAILED:
            return FAILED_MESSAGE
        return None


class Verifier:
    """This process's verifications. Jobs and limits live in the database (shared by every process);
    the credentials live only here, in the thread that runs the job."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._mine: set[str] = set()

    @property
    def interrupted_after(self) -> float:
        return self._settings.verify_interrupted_after_seconds

    def job(self, engine: Engine, wizard_id: str, job_id: str | None) -> Job | None:
        """The wizard's job `job_id`, or its newest one (None), from the database."""
        record = verifications.find_job(
            engine,
            wizard_id=wizard_id,
            job_id=job_id,
            now=db.utcnow(),
            interrupted_after=self.interrupted_after,
        )
        return Job.of(record) if record else None

    def start(
        self,
        *,
        engine: Engine,
        wizard_id: str,
        plan: Plan,
        credentials: Credentials | None,
        source: str,
        actor: str,
        demo: DemoSetup | None,
        only_accounts: tuple[str, ...] = (),
    ) -> Job:
        """Record the job (or raise RunRefused), then run it in a thread of this process."""
        record = verifications.start_job(
            engine,
            wizard_id=wizard_id,
            source=source,
            now=db.utcnow(),
            interrupted_after=self.interrupted_after,
            min_seconds_between_runs=MIN_SECONDS_BETWEEN_RUNS,
            server_cap=self._settings.max_concurrent_verifications,
        )
        job = Job.of(record)
        with self._lock:
            self._mine.add(job.id)
        from app.aws.clients import AwsSettings  # the lazy AWS seam (top of this module)

        aws = AwsSettings(
            endpoint_url=demo.endpoint_url if demo else self._settings.aws_endpoint_url,
            connect_timeout=self._settings.aws_connect_timeout,
            read_timeout=self._settings.aws_read_timeout,
            concurrency=self._settings.verify_concurrency,
        )
        thread = threading.Thread(
            target=self._work,
            args=(job, engine, plan, aws, credentials, demo, actor, only_accounts),
            name=f"verify-{job.id}",
            daemon=True,
        )
        thread.start()
        return job

    def _work(
        self,
        job: Job,
        engine: Engine,
        plan: Plan,
        aws: AwsSettings,
        credentials: Credentials | None,
        demo: DemoSetup | None,
        actor: str,
        only_accounts: tuple[str, ...],
    ) -> None:
        latest = [VerificationProgress()]
        stop = threading.Event()

        def progress(value: VerificationProgress) -> None:
            latest[0] = value  # the heartbeat writes it

        def heartbeat() -> None:
            interval = min(HEARTBEAT_MAX_SECONDS, self.interrupted_after / 5)
            try:
                while not stop.wait(interval):
                    try:
                        verifications.beat(engine, job_id=job.id, progress=latest[0], now=db.utcnow())
                    except Exception as error:  # a missed beat is retried; too many read as interrupted
                        log.warning("verification %s heartbeat failed: %s", job.id, type(error).__name__)
            finally:
                db.release_held_connections(engine)

        beating = threading.Thread(target=heartbeat, name=f"verify-{job.id}-heartbeat", daemon=True)
        beating.start()
        from app.aws.clients import ClientSet  # the lazy AWS seam (top of this module)
        from app.aws.runner import verify

        clients: ClientSet | None = None
        try:
            if demo is not None and job.source == "demo":
                # Made here, off the event loop: creating the principal or its session calls the emulator.
                credentials = demo.credentials_for(plan)
            clients = ClientSet(
                credentials=credentials,
                partition=plan.partition,
                aws=aws,
                hooks=demo.hooks_for(plan) if demo else (),
            )
            credentials = None  # the client set holds the only reference now
            # A re-check of accounts that left the organization since (NotMembers) fails like
            # any other stopped run: nothing is saved, the page offers a new run.
            report = verify(
                plan,
                clients,
                progress=progress,
                source=job.source,
                simulated=demo.notes if demo else (),
                only_accounts=only_accounts,
            )
            stop.set()
            beating.join()
            verifications.save_run(engine, wizard_id=job.wizard_id, report=report, actor=actor, job_id=job.id)
        except Exception as error:  # a failed run must not take the server down; the page says so
            log.error("verification %s failed: %s", job.id, type(error).__name__)
            stop.set()
            with contextlib.suppress(Exception):  # if even this fails, the stale heartbeat tells
                verifications.end_jobs(engine, job_ids=[job.id], state=JobState.FAILED, now=db.utcnow())
        finally:
            del clients  # the only reference to the credentials
            stop.set()
            with self._lock:
                self._mine.discard(job.id)
            db.release_held_connections(engine)

    def shutdown(self, engine: Engine) -> None:
        """This process is stopping: its unfinished jobs are interrupted now, not after the timeout."""
        with self._lock:
            mine = sorted(self._mine)
        if mine:
            verifications.end_jobs(engine, job_ids=mine, state=JobState.INTERRUPTED, now=db.utcnow())


def verifier(request: Request) -> Verifier:
    """This process's verifier, created with the app (main.create_app)."""
    found: Verifier = request.app.state.verifier
    return found


# --- page context -----------------------------------------------------------------


@dataclass(frozen=True)
class VerifyView:
    """What the Verify page shows."""

    plan: Plan
    run: verifications.RunRecord | None
    drift: Drift | None
    history: list[verifications.RunRecord]
    job: Job | None  # running now (in any server process)
    ended: Job | None  # the last attempt, when it was interrupted or failed (nothing saved)
    failures_only: bool
    server_option: bool
    server_needs_secret: bool
    demo_notes: tuple[str, ...]
    errors: dict[str, str]
    refused: str | None
    fixable: frozenset[str]
    recheck: bool = False

    @property
    def fixes(self) -> list[Fix]:
        report = self.run.report if self.run else None
        return fixes(self.plan, report) if report is not None else []

    @property
    def failure_count(self) -> int:
        report = self.run.report if self.run else None
        return len(failure_keys(report)) if report is not None else 0

    @property
    def recheck_accounts(self) -> tuple[str, ...]:
        """The member accounts that failed in the newest run: what "re-check only what failed" checks."""
        report = self.run.report if self.run else None
        newest = bool(self.history) and self.run is not None and self.history[0].id == self.run.id
        return failed_account_ids(report) if report is not None and newest else ()

    @property
    def checks(self) -> list[CheckResult]:
        report = self.run.report if self.run else None
        if report is None:
            return []
        return [c for c in report.checks if not self.failures_only or c.status is Status.FAIL]

    @property
    def accounts(self) -> list[AccountResult]:
        report = self.run.report if self.run else None
        if report is None:
            return []
        return [a for a in report.accounts if not self.failures_only or a.failed]

    @property
    def export_credentials_command(self) -> str:
        """What prints a session of the sensor role on its host (docs/facts.md#temporary-credentials)."""
        return " ".join(
            ("aws", "configure", "export-credentials", *sensor_profile_options(self.plan), "--format=env")
        )

    @property
    def cli_verify_command(self) -> str:
        """The CLI's verification on the sensor's host, with the sensor's own credentials."""
        options = (f"--principal={self.plan.principal.value}", *sensor_profile_options(self.plan))
        return " ".join(("connector-wizard", "verify", *options, "…"))

    def fix_url(self, token: str, step_id: str | None) -> str | None:
        if step_id is None or step_id not in self.fixable:
            return None
        return f"/w/{token}/checklist#step-{step_id}"


def _view(
    request: Request,
    access: Any,
    engine: Engine,
    settings: Settings,
    *,
    failures_only: bool = False,
    run_id: str | None = None,
    errors: dict[str, str] | None = None,
    refused: str | None = None,
    recheck: bool = False,
    latest: Job | None = None,
) -> VerifyView:
    """What the page shows; `latest` is the wizard's newest job when the caller read it already."""
    wizard_id = access.wizard.id
    run = (
        verifications.get_run(engine, wizard_id=wizard_id, run_id=run_id)
        if run_id
        else verifications.latest_run(engine, wizard_id=wizard_id)
    )
    previous = (
        verifications.previous_run(engine, wizard_id=wizard_id, before=run.started_at)
        if run is not None
        else None
    )
    demo: DemoSetup | None = getattr(request.app.state, "demo", None)
    plan = access.wizard.plan
    if latest is None:
        latest = verifier(request).job(engine, wizard_id, None)
    return VerifyView(
        plan=plan,
        run=run,
        drift=drift(previous.report, run.report)
        if run and run.report and previous and previous.report
        else None,
        history=verifications.list_runs(engine, wizard_id=wizard_id, limit=10),
        job=latest if latest is not None and not latest.done else None,
        ended=latest if latest is not None and latest.error else None,
        failures_only=failures_only,
        server_option=settings.allow_server_credentials and demo is None,
        server_needs_secret=settings.operator_secret is None,
        demo_notes=demo.notes if demo else (),
        errors=errors or {},
        refused=refused,
        fixable=frozenset(step_ids(plan)),
        recheck=recheck,
    )


@dataclass(frozen=True)
class VerifyPage:
    """What verify.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    view: VerifyView
    # The run in progress, if any (its block polls itself).
    job: Job | None
    token: str


@dataclass(frozen=True)
class VerifyProgressFragment:
    """What a run's progress block (htmx) receives."""

    job: Job
    token: str


def _context(request: Request, access: Any, view: VerifyView) -> VerifyPage:
    return VerifyPage(wizard_nav(request, access, "verify"), view, view.job, request.path_params["token"])


def _page(
    request: Request, access: Any, view: VerifyView, status_code: int = 200, block: str | None = None
) -> Response:
    return render(
        request, "verify.html", _context(request, access, view), status_code=status_code, block=block
    )


@router.get("/w/{token}/verify")
async def verify_page(
    request: Request,
    # View links read the results (the helpdesk's verification report) but get
    # no credential form, and every POST needs an edit link.
    access: AccessDep,
    failures: str = "",
    run: str = "",
    recheck: str = "",
) -> Response:
    engine = engine_of(request)
    # A run's progress moves without the wizard's revision (a heartbeat is no
    # change to the wizard), so the page also depends on the newest job as read now.
    latest = verifier(request).job(engine, access.wizard.id, None)

    def context() -> VerifyPage:
        view = _view(
            request,
            access,
            engine,
            settings_of(request),
            failures_only=failures in {"1", "true", "on"},
            run_id=_run_id(run),
            recheck=recheck in {"1", "true", "on"},
            latest=latest,
        )
        return _context(request, access, view)

    return render_page(request, "verify.html", access, context, depends_on=latest)


def _run_id(value: str) -> str | None:
    return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else None


@router.get("/w/{token}/verify/fix.sh")
async def download_fix_script(
    request: Request, access: AccessDep, engine: EngineDep, run: str = ""
) -> Response:
    """fix.sh for the failures of one run (the newest without `run`): exactly what failed, nothing else."""
    wizard_id = access.wizard.id
    run_id = _run_id(run)
    record = (
        verifications.get_run(engine, wizard_id=wizard_id, run_id=run_id)
        if run_id
        else verifications.latest_run(engine, wizard_id=wizard_id)
    )
    if record is None and not run:
        # Nothing verified yet: the verify page says so and offers the run.
        return RedirectResponse(f"/w/{request.path_params['token']}/verify", status_code=303)
    if record is None or record.report is None:
        raise HTTPException(404, "No such verification run.")
    script = fix_script(access.wizard.plan, record.report)
    return Response(
        script,
        media_type="text/x-shellscript; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{FIX_SCRIPT}"'},
    )


def _credentials_from(form: Any) -> Credentials:
    from app.aws.clients import Credentials  # the lazy AWS seam (top of this module)

    return Credentials(
        access_key_id=str(form.get("access_key_id", "")),
        secret_access_key=SecretStr(str(form.get("secret_access_key", ""))),
        session_token=SecretStr(str(form.get("session_token"))) if form.get("session_token") else None,
    )


def _field_errors(error: ValidationError) -> dict[str, str]:
    messages: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]) if item.get("loc") else "access_key_id"
        messages.setdefault(name, str(item.get("msg", "Invalid value.")).removeprefix("Value error, "))
    return messages


@router.post("/w/{token}/verify")
async def start_verification(
    request: Request, access: EditDep, engine: EngineDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    ratelimit.enforce(request.app.state.limiters["verify"], request)
    form = await request.form()
    if any(isinstance(v, str) and len(v) > MAX_FIELD for v in form.values()):
        raise HTTPException(413, "A field is too long.")
    source = str(form.get("source", "form"))
    demo: DemoSetup | None = getattr(request.app.state, "demo", None)
    credentials: Credentials | None
    errors: dict[str, str] = {}
    if source == "demo" and demo is not None:
        credentials = None  # the job makes the plan's own demo principal (DemoSetup.credentials_for)
    elif source == "server":
        if not settings.allow_server_credentials or demo is not None:
            errors["source"] = "This server does not allow verifying with its own identity."
        elif not checked_operator_secret(request, settings, str(form.get("operator_secret", ""))):
            errors["operator_secret"] = "The operator secret is required to use the server's own identity."  # noqa: S105 - a message
        credentials = None
    else:
        source = "form"
        try:
            credentials = _credentials_from(form)
        except ValidationError as error:
            errors = _field_errors(error)
            credentials = None
        if (
            credentials is not None
            and credentials.session_token is None
            and access.wizard.plan.uses_role_principal
        ):
            # The sensor role has no long-term key: whatever lacks a session token is not its session.
            errors["session_token"] = ROLE_NEEDS_SESSION_TOKEN
            credentials = None
    only_accounts: tuple[str, ...] = ()
    if form.get("recheck") == "failed":
        latest = verifications.latest_run(engine, wizard_id=access.wizard.id)
        only_accounts = failed_account_ids(latest.report) if latest and latest.report else ()
        if not only_accounts:
            errors["recheck"] = "No member account failed in the last run: run all checks instead."
    if errors:
        view = _view(request, access, engine, settings, errors=errors, recheck=bool(form.get("recheck")))
        # htmx swaps 422 answers (base.html's htmx-config): the form comes back with its messages.
        return _page(request, access, view, status_code=422, block="start")
    try:
        job = verifier(request).start(
            engine=engine,
            wizard_id=access.wizard.id,
            plan=access.wizard.plan,
            credentials=credentials,
            source=source,
            actor=actor,
            demo=demo,
            only_accounts=only_accounts,
        )
    except RunRefused as refusal:
        view = _view(request, access, engine, settings, refused=str(refusal))
        # htmx does not swap 4xx other than 409/422, so it gets the form with the
        # message as a 200 fragment; a plain form post gets the page with 429.
        if is_htmx(request):
            return _page(request, access, replace(view, job=None), block="start")
        return _page(request, access, view, status_code=429)
    finally:
        credentials = None  # the job's thread holds the only reference now
    token = request.path_params["token"]
    if is_htmx(request):
        return _progress(request, job)
    return RedirectResponse(f"/w/{token}/verify", status_code=303)


def _progress_headers(request: Request, job: Job) -> dict[str, str]:
    headers = {}
    if job.done and is_htmx(request):
        # htmx navigates to the results (a URL that differs from the page's by
        # more than its #fragment, or the browser would not reload); the
        # fragment itself stops polling either way.
        if job.run_id:
            headers["HX-Redirect"] = f"/w/{request.path_params['token']}/verify?run={job.run_id}#results"
        else:
            headers["HX-Refresh"] = "true"
    return headers


def _progress_context(request: Request, job: Job) -> VerifyProgressFragment:
    return VerifyProgressFragment(job, request.path_params["token"])


def _progress(request: Request, job: Job) -> Response:
    context = _progress_context(request, job)
    return render(request, "verify.html", context, block="progress", headers=_progress_headers(request, job))


@router.get("/w/{token}/verify/jobs/{job_id}")
async def verification_progress(request: Request, access: AccessDep, job_id: str) -> Response:
    job = verifier(request).job(engine_of(request), access.wizard.id, job_id[:32])
    if job is None:
        raise HTTPException(404, "No such verification run: it finished long ago or never existed.")
    if not is_htmx(request):
        return RedirectResponse(f"/w/{request.path_params['token']}/verify", status_code=303)
    # The job as read now is part of the key: its progress moves without the wizard's revision.
    return render_page(
        request,
        "verify.html",
        access,
        lambda: _progress_context(request, job),
        block="progress",
        depends_on=job,
        headers=_progress_headers(request, job),
    )
