"""HTML pages of the wizard: scope → options → policies → checklist → (verify) → report.

Thin routes: parse the form, call the domain, call the store, render. Every
htmx interaction is also a plain form post (303 redirect back) so the wizard
works without JavaScript. Routes are `async def` and call the store directly:
SQLite reads and short writes take microseconds, and serialising them on the
event loop measured faster than a thread pool contending for the write lock
(docs/decisions.md, "Database").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.domain import artifacts, explanations, least_privilege, policies
from app.domain.artifacts.documents import DOCUMENTED_INLINE_POLICY_FILE
from app.domain.attachments import Attachments, attachments
from app.domain.connector_auth import INTRO as PRINCIPAL_INTRO
from app.domain.connector_auth import PRINCIPAL_CHOICES, PrincipalChoice
from app.domain.evidence import Evidence
from app.domain.iam import PARTITION_LABELS, REGION_NAMES, REGIONS, Partition, RegionSet, region_sets
from app.domain.plan import (
    Plan,
    PlanError,
    PolicyStyle,
    Scope,
    in_scope,
    parse_plan,
    plan_options,
)
from app.domain.principal import SENSOR_ROLE_TRUST_FILE, connector_principal_noun
from app.store import db, share_links, steps, verifications, wizards
from app.store.database import MAX_VERSION
from app.web.checklist import ChecklistItem, checklist_items
from app.web.deps import (
    ACTOR_COOKIE,
    AccessDep,
    ActorDep,
    EditDep,
    EngineDep,
    SettingsDep,
    actor_cookie_value,
    engine_of,
    page_router,
)
from app.web.evidence import build_evidence, last_verification_run
from app.web.forms import OPTION_FIELDS, options_input
from app.web.nav import WizardNav, wizard_nav
from app.web.render import is_htmx, render, render_page
from app.web.security import cookies_secure, may_create_wizards

router = page_router()


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- start --------------------------------------------------------------------


@dataclass(frozen=True)
class HomePage:
    """What home.html receives (docs/architecture.md#page-contexts)."""

    needs_operator_secret: bool
    # Why the start was refused (a wrong operator secret).
    error: str | None = None
    # No wizard yet: base.html shows no step list.
    nav: None = None


@router.get("/")
async def home(request: Request, settings: SettingsDep) -> Response:
    return render(request, "home.html", HomePage(needs_operator_secret=settings.operator_secret is not None))


@router.post("/wizards")
async def create_wizard(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    operator_secret: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not may_create_wizards(request, settings, operator_secret):
        return render(
            request,
            "home.html",
            HomePage(needs_operator_secret=True, error="That operator secret is not right."),
            status_code=403,
        )
    _, token = wizards.create_wizard(
        engine, plan=Plan(), actor=actor, now=db.utcnow(), link_days=settings.link_days
    )
    return _see_other(f"/w/{token}/scope?new=1")


@router.post("/me")
async def set_actor(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=300)] = "/",
) -> Response:
    """Remember the display name used in the audit trail (a cookie, not an account)."""
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = _see_other(target)
    response.set_cookie(
        ACTOR_COOKIE,
        actor_cookie_value(name),
        max_age=365 * 86400,
        httponly=True,
        samesite="strict",
        # Served over HTTPS: never sent in the clear (issue 12, finding 9).
        secure=cookies_secure(request),
    )
    return response


# --- wizard pages -------------------------------------------------------------


@router.get("/w/{token}")
async def wizard_root(request: Request, access: AccessDep) -> Response:
    # A view link is for watching progress: it opens on the checklist.
    first = "scope" if access.can_edit else "checklist"
    return _see_other(f"/w/{request.path_params['token']}/{first}")


@dataclass(frozen=True)
class ScopePage:
    """What scope.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    # Just created: the page says its address is the edit link.
    is_new: bool = False
    # No scope chosen (422).
    error: str | None = None
    # Someone else saved first (409): the page shows their choice.
    conflict: bool = False


def scope_context(
    request: Request,
    access: share_links.Access,
    *,
    is_new: bool = False,
    error: str | None = None,
    conflict: bool = False,
) -> ScopePage:
    return ScopePage(wizard_nav(request, access, "scope"), is_new=is_new, error=error, conflict=conflict)


@router.get("/w/{token}/scope")
async def scope_page(request: Request, access: AccessDep, new: bool = False) -> Response:
    return render_page(request, "scope.html", access, lambda: scope_context(request, access, is_new=new))


@router.post("/w/{token}/scope")
async def save_scope(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    actor: ActorDep,
    scope: Annotated[str, Form(max_length=20)] = "",
    version: Annotated[int, Form(ge=0, le=MAX_VERSION)] = 0,
) -> Response:
    token = request.path_params["token"]
    try:
        plan = parse_plan(in_scope(access.wizard.plan, scope))
    except PlanError:
        context = scope_context(request, access, error="Choose organization or account.")
        return render(request, "scope.html", context, status_code=422)
    try:
        _save_plan(engine, access, plan, version, actor)
    except PlanConflict as conflict:
        # The page as it is saved now, with a word that the choice was not saved.
        context = scope_context(request, conflict.current, conflict=True)
        return render(request, "scope.html", context, status_code=409)
    return _see_other(f"/w/{token}/options")


class PlanConflict(Exception):
    """A form loaded at an older version of the plan: someone saved since. The route answers 409."""

    def __init__(self, current: share_links.Access) -> None:
        super().__init__("The wizard changed since the form was loaded.")
        # The link with the wizard as it is saved now: what the 409 page shows.
        self.current = current


def _save_plan(
    engine: Any, access: share_links.Access, plan: Plan, version: int, actor: str
) -> wizards.WizardRecord:
    """Save with the version the form was loaded at; raises PlanConflict when that form is stale."""
    if plan == access.wizard.plan and version == access.wizard.version:
        return access.wizard
    try:
        return wizards.update_plan(
            engine,
            wizard_id=access.wizard.id,
            plan=plan,
            expected_version=version,
            actor=actor,
            now=db.utcnow(),
        )
    except db.Conflict as conflict:
        raise PlanConflict(share_links.Access(link=access.link, wizard=conflict.current)) from conflict


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return "—" if value in (None, "") else str(value)


def _differences(mine: dict[str, Any], saved: Plan) -> list[tuple[str, str, str]]:
    """(label, yours, saved) for each options field where the submitted form and the saved plan differ."""
    current = saved.to_json_dict()
    labels = {name: option.label[:1].upper() + option.label[1:] for name, option in plan_options().items()}
    return [
        (labels[name], _shown(mine.get(name)), _shown(current.get(name)))
        for name in OPTION_FIELDS
        if _shown(mine.get(name)) != _shown(current.get(name))
    ]


@dataclass(frozen=True)
class OptionsView:
    plan_input: dict[str, Any]
    errors: dict[str, str]
    regions_by_partition: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {p.value: r for p, r in REGIONS.items()}
    )
    partitions: tuple[tuple[str, str], ...] = tuple((p.value, PARTITION_LABELS[p]) for p in Partition)
    styles: tuple[tuple[str, str], ...] = (
        (PolicyStyle.DOCUMENTED.value, "As documented (AWS managed policies)"),
        (PolicyStyle.LEAST_PRIVILEGE.value, "Least privilege (custom, scoped policies)"),
    )
    # DigiCert's documented authentication methods, per principal (app/domain/connector_auth.py).
    principals: tuple[PrincipalChoice, ...] = PRINCIPAL_CHOICES
    principal_intro: str = PRINCIPAL_INTRO

    def value(self, name: str) -> Any:
        return self.plan_input.get(name)

    def hidden_errors(self) -> list[tuple[str, str]]:
        """Errors of fields this scope's form does not show (sent anyway): (label, message)."""
        scope = self.plan_input.get("scope")
        options = plan_options()
        return [
            (options[name].label if name in options else name, message)
            for name, message in self.errors.items()
            if name in options and scope not in {s.value for s in options[name].scopes}
        ]

    def regions_shown(self) -> tuple[str, ...]:
        partition = self.plan_input.get("partition")
        return self.regions_by_partition.get(str(partition), REGIONS[Partition.AWS])

    def region_name(self, region: str) -> str:
        return REGION_NAMES.get(region, "")

    def region_sets(self) -> tuple[RegionSet, ...]:
        return region_sets(_partition_or_default(self.plan_input.get("partition")))


def _partition_or_default(value: Any) -> Partition:
    try:
        return Partition(str(value))
    except ValueError:
        return Partition.AWS


@dataclass(frozen=True)
class OptionsConflict:
    """A stale options save (409): the fields where the form and the saved plan differ."""

    # (label, yours, saved) for each such field.
    changes: list[tuple[str, str, str]]


@dataclass(frozen=True)
class OptionsPage:
    """What options.html and its form and preview fragments receive (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    # The form's values and messages.
    options: OptionsView
    # The policies of the plan the preview shows (the saved one while the form is not valid).
    preview: PolicyPreview
    # The preview fragment also swaps in the partition's region checkboxes (out of band).
    oob: bool = False
    # An htmx preview also swaps in the secret prefix's caveat (out of band): it names the
    # connector of the principal now chosen, and the prefix now typed.
    live: bool = False
    # Why the ticked regions changed (a set chosen, or a partition switched, without JavaScript).
    regions_notice: str | None = None
    conflict: OptionsConflict | None = None


def options_context(
    request: Request,
    access: share_links.Access,
    *,
    shown: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    previewed: Plan | None = None,
    oob: bool = False,
    live: bool = False,
    regions_notice: str | None = None,
    conflict: OptionsConflict | None = None,
) -> OptionsPage:
    """The options page showing `shown` in the form (the saved plan without it), previewing `previewed`
    (the saved plan without it)."""
    plan = access.wizard.plan
    return OptionsPage(
        nav=wizard_nav(request, access, "options"),
        options=OptionsView(plan_input=shown or plan.to_json_dict(), errors=errors or {}),
        preview=_preview(previewed or plan),
        oob=oob,
        live=live,
        regions_notice=regions_notice,
        conflict=conflict,
    )


@router.get("/w/{token}/options")
async def options_page(request: Request, access: AccessDep) -> Response:
    return render_page(request, "options.html", access, lambda: options_context(request, access))


@router.get("/w/{token}/options/preview")
async def options_preview(request: Request, access: AccessDep) -> Response:
    """Live policy preview for the options form (htmx); saves nothing. Everything it shows is in its URL."""

    def context() -> OptionsPage:
        data = options_input(access.wizard.plan, request.query_params)
        try:
            plan = parse_plan(data)
            errors: dict[str, str] = {}
        except PlanError as error:
            plan, errors = access.wizard.plan, error.errors
        return options_context(
            request,
            access,
            shown=data,
            errors=errors,
            previewed=plan,
            # The partition changed: swap in its region checkboxes too (out of band).
            # Not on a whole page (no htmx): it has the fieldset already.
            oob=is_htmx(request) and request.query_params.get("shown_partition") != data.get("partition"),
            live=is_htmx(request),
        )

    return render_page(request, "options.html", access, context, block="preview")


@router.post("/w/{token}/options")
async def save_options(request: Request, access: EditDep, engine: EngineDep, actor: ActorDep) -> Response:
    form = await request.form()
    version = _int(form.get("version"))
    data = options_input(access.wizard.plan, form)
    chosen = _region_choice(form, data)
    if chosen is not None:
        # A set of regions chosen, or the partition changed, without JavaScript:
        # the form comes back with the new checkboxes; nothing is saved yet.
        data["regions"], notice = chosen
        context = options_context(request, access, shown=data, regions_notice=notice)
        return render(request, "options.html", context)
    try:
        plan = parse_plan(data)
    except PlanError as error:
        context = options_context(request, access, shown=data, errors=error.errors)
        return render(request, "options.html", context, block="form", status_code=422)
    try:
        _save_plan(engine, access, plan, version, actor)
    except PlanConflict as conflict:
        # What the person submitted stays in the form, with the saved plan's preview
        # beside it and each field that differs listed: nobody types their changes
        # again (issue 15.8).
        current = conflict.current
        changes = OptionsConflict(_differences(data, current.wizard.plan))
        context = options_context(request, current, shown=data, conflict=changes)
        return render(request, "options.html", context, status_code=409)
    return _see_other(f"/w/{request.path_params['token']}/policies")


def _region_choice(form: Any, data: dict[str, Any]) -> tuple[list[str], str] | None:
    """Regions to show ticked, and why, when the form asked for a set or switched partition; else None."""
    partition = _partition_or_default(data.get("partition"))
    key = str(form.get("region_set") or "")
    if key:
        if key == "none":
            return [], "No region is ticked: choose at least one, then save."
        found = next((s for s in region_sets(partition) if s.key == key), None)
        if found is not None:
            return list(
                found.regions
            ), f"{found.label}: {len(found.regions)} regions ticked. Save to keep them."
    shown = str(form.get("shown_partition") or "")
    if shown and shown != data.get("partition") and data.get("partition") in {p.value for p in Partition}:
        kept = [r for r in data.get("regions") or [] if r in REGIONS[partition]]
        ticked = kept or [region_sets(partition)[-1].regions[0]]
        return (
            ticked,
            f"The partition is now {PARTITION_LABELS[partition]}: its regions are shown. Check them, then save.",
        )
    return None


def _int(value: Any) -> int:
    """A form's version number; -1 (never current: a 409) when it is not one the database can hold."""
    try:
        number = int(str(value))
    except ValueError:
        return -1
    return number if 0 <= number <= MAX_VERSION else -1


@dataclass(frozen=True)
class PolicyPreview:
    plan: Plan
    # What the plan attaches (the options preview, the report and the policies page list this).
    attached: Attachments
    # The word before the connector's name (attached.principal_name): "user" or "sensor role".
    principal_noun: str
    # DigiCert's permissions table, for reference (attached or not).
    permissions: list[policies.ManagedPolicy]
    documented: policies.PolicyDocument
    findings: list[policies.LintFinding]


def _preview(plan: Plan) -> PolicyPreview:
    documented = policies.documented_inline_policy(plan)
    return PolicyPreview(
        plan=plan,
        attached=attachments(plan),
        principal_noun=connector_principal_noun(plan),
        permissions=policies.documented_permissions(plan),
        documented=documented,
        findings=policies.lint_policy(documented),
    )


@dataclass(frozen=True)
class PoliciesView:
    """Everything the policies page shows beyond the preview: styles, member role, downloads."""

    # The custom policies of the least-privilege style, for the comparison with as documented
    # (what the plan itself attaches is preview.attached).
    least_privilege_policies: list[least_privilege.CustomPolicy]
    diff: list[str]
    explanations: list[least_privilege.PolicyExplanation]
    files: list[artifacts.Artifact]
    bundle_name: str
    documented_file: str = DOCUMENTED_INLINE_POLICY_FILE
    sensor_trust_file: str = SENSOR_ROLE_TRUST_FILE


def _policies_view(plan: Plan) -> PoliciesView:
    return PoliciesView(
        least_privilege_policies=least_privilege.custom_user_policies(plan),
        diff=least_privilege.least_privilege_diff(plan),
        explanations=explanations.policy_explanations(plan),
        files=artifacts.artifacts(plan),
        bundle_name=artifacts.bundle_file_name(plan),
    )


@dataclass(frozen=True)
class PoliciesPage:
    """What policies.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    preview: PolicyPreview
    view: PoliciesView


def policies_context(request: Request, access: share_links.Access) -> PoliciesPage:
    plan = access.wizard.plan
    return PoliciesPage(wizard_nav(request, access, "policies"), _preview(plan), _policies_view(plan))


@router.get("/w/{token}/policies")
async def policies_page(request: Request, access: AccessDep) -> Response:
    return render_page(request, "policies.html", access, lambda: policies_context(request, access))


@router.get("/w/{token}/download/{path:path}")
async def download_artifact(access: AccessDep, path: str) -> Response:
    """One file of the plan's bundle, as an attachment."""
    found = artifacts.artifact(access.wizard.plan, path)
    if found is None:
        raise HTTPException(404, "This plan has no such file.")
    return Response(found.data, media_type=found.media_type, headers=_attachment(found.file_name))


@router.get("/w/{token}/bundle.zip")
async def download_bundle(access: AccessDep) -> Response:
    plan = access.wizard.plan
    return Response(
        # ~10 ms of CPU for a plan not built before: in a worker thread (issue 12, finding 3).
        await asyncio.to_thread(artifacts.bundle_zip, plan),
        media_type=artifacts.ZIP_MEDIA_TYPE,
        headers=_attachment(artifacts.bundle_file_name(plan)),
    )


def _attachment(file_name: str) -> dict[str, str]:
    # File names are ours (artifact paths), never user input: safe to quote as is.
    return {"Content-Disposition": f'attachment; filename="{file_name}"'}


# --- report -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPage:
    """What report.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    preview: PolicyPreview
    items: list[ChecklistItem]
    done_count: int
    evidence: Evidence
    scope_label: str
    verification: verifications.RunRecord | None


def report_context(request: Request, access: share_links.Access) -> ReportPage:
    plan = access.wizard.plan
    engine = engine_of(request)
    # Read once each: the page and its evidence summary show the same states and run.
    states = steps.step_states(engine, wizard_id=access.wizard.id)
    run = last_verification_run(engine, access.wizard.id)
    items = checklist_items(plan, states)
    # Who generated it and when are per request (render.PER_REQUEST); the page shows the time only.
    found = build_evidence(engine, access, "", activity_limit=50, states=states, run=run)
    return ReportPage(
        nav=wizard_nav(request, access, "report"),
        preview=_preview(plan),
        items=items,
        done_count=sum(1 for item in items if item.done),
        evidence=found,
        scope_label="Organization" if plan.scope is Scope.ORGANIZATION else "Account",
        verification=run,
    )


@router.get("/w/{token}/report")
async def report_page(request: Request, access: AccessDep) -> Response:
    return render_page(request, "report.html", access, lambda: report_context(request, access))
