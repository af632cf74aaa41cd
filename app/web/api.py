"""JSON API under /api/v1: the same plan → permissions, policies, checklist; wizards.

Plans are passed as query parameters to the read-only endpoints (they change
nothing, so GET), and as JSON bodies to the ones that store something.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, create_model

from app import __version__
from app.domain import artifacts, policies
from app.domain.attachments import attachments, permissions_json
from app.domain.checklist import Step, checklist
from app.domain.iam import REGIONS
from app.domain.plan import MAX_REGIONS, Plan, PlanError, parse_plan, plan_options
from app.store import db, steps, wizards
from app.store.database import MAX_NOTE, MAX_VERSION
from app.web.checklist import step_or_404
from app.web.deps import AccessDep, ActorDep, EditDep, EngineDep, SettingsDep, api_guard, engine_of
from app.web.lazy_route import LazyDirectRoute
from app.web.render import cached_json
from app.web.security import may_create_wizards


class Problem(BaseModel):
    """Every API error: a message, or (422) a list of {loc, msg, type}; never the input echoed."""

    detail: str | list[dict[str, Any]]


Responses = dict[int | str, dict[str, Any]]
_PROBLEM: dict[str, Any] = {"model": Problem}
# Error answers the routes below can give, documented so clients (and the
# schemathesis run in tests/web/test_schemathesis.py) know them.
REFUSED: Responses = {
    403: {
        **_PROBLEM,
        "description": "Refused: a cross-site request or no CSRF token, a view-only link on a change, "
        "or (creating wizards) a missing or wrong operator secret.",
    }
}
NO_LINK: Responses = {
    404: {**_PROBLEM, "description": "Unknown, expired or revoked link (one answer for all three)."}
}
TOO_LARGE: Responses = {
    400: {**_PROBLEM, "description": "The body is not valid JSON."},
    413: {**_PROBLEM, "description": "Request body too large."},
}
LIMITED: Responses = {
    429: {
        **_PROBLEM,
        "description": "Too many requests from this address.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    }
}

# Direct routes (app/web/routing.py): dependencies called without FastAPI solving them per request.
router = APIRouter(
    prefix="/api/v1", tags=["api"], dependencies=[Depends(api_guard)], route_class=LazyDirectRoute
)
health = APIRouter(tags=["health"], route_class=LazyDirectRoute)


# The domain's rules (app/domain/iam.py, plan.py), stated in the OpenAPI schema
# so clients and the fuzzer know them. The domain still checks every value and
# answers with its own per-field messages (loc ["plan", field]); the schema
# only documents, it does not replace that check. Both models are built from
# the domain's `Plan` and its `Option`s (docs/decisions.md, "One plan schema").
ALL_REGIONS: tuple[str, ...] = tuple(sorted({region for regions in REGIONS.values() for region in regions}))
Region = Annotated[str, Field(max_length=30, json_schema_extra={"enum": list(ALL_REGIONS)})]
_REGIONS_DOC = (
    "ACM regions, all of the chosen partition (at most 40); none given: the partition's home region."
)
_MAX_TEXT = 200


def _api_field(name: str, *, body: bool) -> tuple[Any, Any]:
    """(type, FieldInfo) of one plan field in the API: loose enough to reach the domain's own messages."""
    info = Plan.model_fields[name]
    option = plan_options()[name]
    default = info.default
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else None
    if option.widget in {"page", "select", "radio"}:
        values = tuple(member.value for member in info.annotation)  # type: ignore[union-attr]
        return Literal[values], Field(default=default.value, description=option.help)
    if option.widget == "checkbox":
        # JSON has real booleans: "yes" or 1 is not one (query strings have no other way).
        return (StrictBool if body else bool), Field(default=default, description=option.help)
    if option.widget == "regions":
        # At most MAX_REGIONS items as sent, as the schema says: 41 copies of one
        # region used to pass (the domain drops duplicates before it counts).
        return list[Region], Field(default_factory=list, max_length=MAX_REGIONS, description=_REGIONS_DOC)
    if option.widget in {"text", "textarea"}:
        # The domain's own rule speaks up to the option's limit (a PEM certificate is long).
        return str, Field(
            default=default,
            max_length=max(_MAX_TEXT, option.max_length),
            description=option.help,
            json_schema_extra=extra,
        )
    raise TypeError(f"no API form for plan field {name!r} ({option.widget})")


class _PlanInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def plan_input(self) -> dict[str, Any]:
        data = self.model_dump()
        if not data["regions"]:
            del data["regions"]  # the domain picks the partition's home region
        return data


def _plan_model(name: str, doc: str, *, body: bool) -> type[_PlanInput]:
    fields: dict[str, Any] = {field: _api_field(field, body=body) for field in Plan.model_fields}
    model: type[_PlanInput] = create_model(name, __base__=_PlanInput, __doc__=doc, **fields)
    return model


if TYPE_CHECKING:
    PlanQuery = _PlanInput
    PlanBody = _PlanInput
else:
    PlanQuery = _plan_model("PlanQuery", "A plan as query parameters; `regions` repeats.", body=False)
    PlanBody = _plan_model("PlanBody", "A plan as a JSON object.", body=True)


def plan_or_422(data: dict[str, Any]) -> Plan:
    try:
        return parse_plan(data)
    except PlanError as error:
        raise HTTPException(
            422,
            [
                {"loc": ["plan", field], "msg": message, "type": "plan"}
                for field, message in error.errors.items()
            ],
        ) from None


async def query_plan(query: Annotated[PlanQuery, Query()]) -> Plan:
    # async: a plain `def` dependency runs in a worker thread, and the hop cost
    # more than parsing a plan (app/web/deps.py); async, the plan API's routes
    # are DirectRoutes too (app/web/routing.py).
    return plan_or_422(query.plan_input())


PlanDep = Annotated[Plan, Depends(query_plan)]


class PermissionOut(BaseModel):
    name: str
    arn: str
    purpose: str
    optional: bool
    attached: bool
    notes: list[str]


class FindingOut(BaseModel):
    code: str
    action: str
    resource: str
    explanation: str


class PoliciesOut(BaseModel):
    plan: dict[str, Any]
    permissions: list[PermissionOut]
    inline_policy_name: str | None
    inline_policy_documented: dict[str, Any] | None
    inline_policy_findings: list[FindingOut]
    inline_policy_corrected: dict[str, Any] | None
    # Everything the plan attaches, in the shape of `connector-wizard policy --json` (README.md).
    attached: dict[str, Any]


class StepOut(BaseModel):
    id: str
    title: str
    why: str
    console: list[str]
    cli: list[str]
    warning: str | None
    done: bool | None = None
    done_by: str | None = None
    done_at: str | None = None
    note: str | None = None
    # Send it back with a note change (PUT …/note); 0 before the first note.
    note_version: int | None = None


def policies_out(plan: Plan) -> PoliciesOut:
    org = plan.is_organization
    documented = policies.documented_inline_policy(plan) if org else None
    attached_arns = attachments(plan).managed_arns
    return PoliciesOut(
        plan=plan.to_json_dict(),
        permissions=[
            PermissionOut(
                name=row.name,
                arn=row.arn,
                purpose=row.purpose,
                optional=row.optional,
                attached=row.arn in attached_arns,
                notes=list(row.notes),
            )
            for row in policies.documented_permissions(plan)
        ],
        inline_policy_name=policies.INLINE_POLICY_NAME if org else None,
        inline_policy_documented=documented,
        inline_policy_findings=[
            FindingOut(code=f.code, action=f.action, resource=f.resource, explanation=f.explanation)
            for f in (policies.lint_policy(documented) if documented else [])
        ],
        inline_policy_corrected=policies.corrected_inline_policy(plan) if org else None,
        attached=permissions_json(plan),
    )


def step_out(step: Step, states: dict[str, steps.StepRecord] | None = None) -> StepOut:
    """One step; with its stored state when `states` is given (None: the plan alone, no state fields)."""
    item = StepOut(
        id=step.id,
        title=step.title,
        why=step.why,
        console=list(step.console),
        cli=list(step.cli),
        warning=step.warning,
    )
    if states is not None:
        state = states.get(step.id)
        item.done = bool(state and state.done)
        item.done_by = state.done_by if state and state.done else None
        item.done_at = state.done_at.isoformat() if state and state.done_at else None
        item.note = state.note if state else ""
        item.note_version = state.version if state else 0
    return item


def steps_out(plan: Plan, states: dict[str, steps.StepRecord] | None = None) -> list[StepOut]:
    return [step_out(step, states) for step in checklist(plan)]


@router.get(
    "/plan/policies",
    response_model=PoliciesOut,
    summary="Permissions and inline policy for a plan",
    responses=LIMITED,
)
async def plan_policies(plan: PlanDep) -> Response:
    return plan_json("policies", plan)


@router.get(
    "/plan/checklist",
    response_model=list[StepOut],
    summary="Ordered setup steps for a plan",
    responses=LIMITED,
)
async def plan_checklist(plan: PlanDep) -> Response:
    return plan_json("checklist", plan)


class ArtifactOut(BaseModel):
    path: str
    title: str
    description: str
    media_type: str
    sha256: str


@router.get(
    "/plan/artifacts",
    response_model=list[ArtifactOut],
    summary="Every file the plan generates",
    responses=LIMITED,
)
async def plan_artifacts(plan: PlanDep) -> Response:
    return plan_json("artifacts", plan)


def artifacts_out(plan: Plan) -> list[ArtifactOut]:
    return [
        ArtifactOut(
            path=a.path,
            title=a.title,
            description=a.description,
            media_type=a.media_type,
            sha256=hashlib.sha256(a.data).hexdigest(),
        )
        for a in artifacts.artifacts(plan)
    ]


# The plan API's answers are a pure function of the plan: each is serialised
# once per plan as its response model would be (ModelField.serialize_json),
# and served as those bytes after (docs/decisions.md#direct-routes). Plans are
# immutable and hashable; the same query gives the same plan.
_PLAN_ANSWERS: dict[str, tuple[TypeAdapter[Any], Callable[[Plan], Any]]] = {
    "policies": (TypeAdapter(PoliciesOut), policies_out),
    "checklist": (TypeAdapter(list[StepOut]), steps_out),
    "artifacts": (TypeAdapter(list[ArtifactOut]), artifacts_out),
}


@lru_cache(maxsize=256)
def _plan_answer(kind: str, plan: Plan) -> bytes:
    adapter, build = _PLAN_ANSWERS[kind]
    return adapter.dump_json(build(plan), by_alias=True)


def plan_json(kind: str, plan: Plan) -> Response:
    """The plan API's `kind` answer for `plan` (policies, checklist, artifacts), as JSON."""
    return Response(_plan_answer(kind, plan), media_type="application/json")


@router.get(
    "/plan/artifacts/{path:path}",
    summary="One generated file",
    response_class=Response,
    responses={
        200: {"content": {media_type: {} for media_type in sorted(set(artifacts.MEDIA_TYPES.values()))}},
        404: {"description": "No such file for this plan"},
        **LIMITED,
    },
)
async def plan_artifact(plan: PlanDep, path: Annotated[str, Path(max_length=200)]) -> Response:
    found = artifacts.artifact(plan, path)
    if found is None:
        raise HTTPException(404, "This plan has no such file.")
    return Response(found.data, media_type=found.media_type)


@router.get(
    "/plan/bundle.zip",
    summary="Every generated file as a zip with manifest.json",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **LIMITED},
)
async def plan_bundle(plan: PlanDep) -> Response:
    return Response(
        # ~10 ms of CPU for a plan not built before: in a worker thread (issue 12, finding 3).
        await asyncio.to_thread(artifacts.bundle_zip, plan),
        media_type=artifacts.ZIP_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{artifacts.bundle_file_name(plan)}"'},
    )


class WizardOut(BaseModel):
    plan: dict[str, Any]
    version: int
    can_edit: bool
    created_at: str
    updated_at: str
    steps: list[StepOut]


# What FastAPI's response model serialises a WizardOut with (ModelField.serialize_json).
_WIZARD_OUT = TypeAdapter(WizardOut)


class CreatedWizardOut(BaseModel):
    edit_url: str
    token: str
    wizard: WizardOut


def wizard_out(
    wizard: wizards.WizardRecord, can_edit: bool, states: dict[str, steps.StepRecord]
) -> WizardOut:
    return WizardOut(
        plan=wizard.plan.to_json_dict(),
        version=wizard.version,
        can_edit=can_edit,
        created_at=wizard.created_at.isoformat(),
        updated_at=wizard.updated_at.isoformat(),
        steps=steps_out(wizard.plan, states),
    )


@router.post(
    "/wizards",
    status_code=201,
    response_model=CreatedWizardOut,
    summary="Create a wizard",
    responses={**REFUSED, **TOO_LARGE, **LIMITED},
)
async def create_wizard(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    body: Annotated[PlanBody | None, Body()] = None,
) -> CreatedWizardOut:
    if not may_create_wizards(request, settings, request.headers.get("x-operator-secret", "")):
        raise HTTPException(
            403, "This server requires the operator secret (X-Operator-Secret) to create wizards."
        )
    plan = plan_or_422(body.plan_input()) if body else Plan()
    wizard, token = wizards.create_wizard(
        engine, plan=plan, actor=actor, now=db.utcnow(), link_days=settings.link_days
    )
    # A new wizard's first link is an edit link.
    return CreatedWizardOut(edit_url=f"/w/{token}", token=token, wizard=wizard_out(wizard, True, {}))


@router.get(
    "/wizards/{token}",
    response_model=WizardOut,
    summary="A wizard's plan and checklist state",
    responses={**NO_LINK, **LIMITED},
)
async def get_wizard(request: Request, access: AccessDep) -> Response:
    # A pure function of the wizard's revision (a tick or a note moves it) and
    # the link's kind: served from the page cache like a page (render.py).
    def body() -> bytes:
        states = steps.step_states(engine_of(request), wizard_id=access.wizard.id)
        return _WIZARD_OUT.dump_json(wizard_out(access.wizard, access.can_edit, states), by_alias=True)

    return cached_json(request, "api:wizard", access, body)


class PlanUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0, le=MAX_VERSION)
    plan: PlanBody


@router.put(
    "/wizards/{token}/plan",
    response_model=WizardOut,
    summary="Replace the plan (409 if stale)",
    responses={
        409: {"description": "The wizard changed since `version`: the current plan and version."},
        **REFUSED,
        **NO_LINK,
        **TOO_LARGE,
        **LIMITED,
    },
)
async def put_plan(access: EditDep, engine: EngineDep, actor: ActorDep, update: PlanUpdate) -> Any:
    plan = plan_or_422(update.plan.plan_input())
    try:
        wizard = wizards.update_plan(
            engine,
            wizard_id=access.wizard.id,
            plan=plan,
            expected_version=update.version,
            actor=actor,
            now=db.utcnow(),
        )
    except db.Conflict as conflict:
        current: wizards.WizardRecord = conflict.current
        return JSONResponse(
            {
                "detail": "The wizard changed since that version.",
                "version": current.version,
                "plan": current.plan.to_json_dict(),
            },
            status_code=409,
        )
    return wizard_out(wizard, access.can_edit, steps.step_states(engine, wizard_id=access.wizard.id))


class StepUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    done: StrictBool


@router.put(
    "/wizards/{token}/steps/{step_id}",
    response_model=StepOut,
    summary="Tick or untick a step (idempotent)",
    responses={
        **REFUSED,
        404: {**_PROBLEM, "description": "Unknown, expired or revoked link, or no such step in this plan."},
        **TOO_LARGE,
        **LIMITED,
    },
)
async def put_step(
    access: EditDep,
    engine: EngineDep,
    actor: ActorDep,
    step_id: Annotated[str, Path(max_length=100)],
    update: StepUpdate,
) -> StepOut:
    _, step = step_or_404(access.wizard.plan, step_id)
    state = steps.set_step_done(
        engine, wizard_id=access.wizard.id, step_id=step_id, done=update.done, actor=actor, now=db.utcnow()
    )
    return step_out(step, {step_id: state} if state is not None else {})


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The note's version as last read (0 before the first note); a stale one gets 409.
    version: int = Field(ge=0, le=MAX_VERSION)
    note: str = Field(max_length=MAX_NOTE)


class NoteOut(BaseModel):
    step_id: str
    note: str
    version: int


class NoteConflictOut(NoteOut):
    detail: str


@router.put(
    "/wizards/{token}/steps/{step_id}/note",
    response_model=NoteOut,
    summary="Save a step's note (409 if someone saved since `version`)",
    responses={
        409: {"model": NoteConflictOut, "description": "Someone saved first: their note and version."},
        **REFUSED,
        404: {**_PROBLEM, "description": "Unknown, expired or revoked link, or no such step in this plan."},
        **TOO_LARGE,
        **LIMITED,
    },
)
async def put_note(
    access: EditDep,
    engine: EngineDep,
    actor: ActorDep,
    step_id: Annotated[str, Path(max_length=100)],
    update: NoteUpdate,
) -> Any:
    step_or_404(access.wizard.plan, step_id)
    try:
        state = steps.set_step_note(
            engine,
            wizard_id=access.wizard.id,
            step_id=step_id,
            note=steps.clean_note(update.note),
            expected_version=update.version,
            actor=actor,
            now=db.utcnow(),
        )
    except db.Conflict as conflict:
        current: steps.StepRecord | None = conflict.current
        return JSONResponse(
            NoteConflictOut(
                detail="Someone saved this note since that version.",
                step_id=step_id,
                note=current.note if current else "",
                version=current.version if current else 0,
            ).model_dump(),
            status_code=409,
        )
    return NoteOut(step_id=step_id, note=state.note, version=state.version)


@health.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@health.get(
    "/readyz",
    summary="Readiness: database reachable, migrations at head",
    responses={503: {"description": "Not ready"}},
)
async def readyz(engine: EngineDep) -> Any:
    try:
        current = db.current_revision(engine)
    except Exception:  # any database failure means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    head = db.head_revision()
    if current != head:
        return JSONResponse({"status": "unavailable", "migration": current, "head": head}, status_code=503)
    return {"status": "ok", "migration": current}
