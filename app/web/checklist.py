"""The checklist: its page, a tick, the progress fragment view pages poll, and step notes.

- /w/{token}/checklist: the plan's steps with their stored states.
- /w/{token}/steps/{step_id}: tick a step done or not done.
- /w/{token}/checklist/progress: the progress fragment view pages poll.
- /w/{token}/steps/{step_id}/note: versioned notes; a stale save gets 409
  and the current note (htmx swaps it in), never a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.domain.checklist import Step, checklist
from app.domain.plan import Plan
from app.store import db, share_links, steps
from app.store.database import MAX_NOTE, MAX_VERSION
from app.web.deps import (
    AccessDep,
    ActorDep,
    EditDep,
    EngineDep,
    actor_of,
    engine_of,
    page_router,
)
from app.web.nav import WizardNav, wizard_nav
from app.web.render import is_htmx, render, render_page

if TYPE_CHECKING:
    from sqlalchemy import Engine  # SQLAlchemy is loaded on first use (docs/decisions.md#cold-start)

router = page_router()


def _token(request: Request) -> str:
    return str(request.path_params["token"])


# --- the checklist with its stored states ---------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    number: int
    step: Step
    state: steps.StepRecord | None

    @property
    def done(self) -> bool:
        return self.state is not None and self.state.done


@dataclass(frozen=True, slots=True)
class ChecklistProgress:
    """How many of the plan's steps are done, of how many."""

    done: int
    total: int

    @classmethod
    def of(cls, items: list[ChecklistItem]) -> ChecklistProgress:
        return cls(sum(1 for item in items if item.done), len(items))

    @classmethod
    def of_plan(cls, plan: Plan, done_step_ids: frozenset[str]) -> ChecklistProgress:
        """From the ids of the done steps (steps.done_step_ids); ids outside this plan do not count."""
        steps = checklist(plan)
        return cls(sum(1 for step in steps if step.id in done_step_ids), len(steps))


def checklist_items(plan: Plan, states: dict[str, steps.StepRecord]) -> list[ChecklistItem]:
    """The plan's steps, numbered, each with its state from `states`."""
    return [ChecklistItem(n, step, states.get(step.id)) for n, step in enumerate(checklist(plan), start=1)]


@dataclass(frozen=True)
class NoteOutcome:
    """What a note save says beside its step's note; nothing (the default) on any other page."""

    step_id: str = ""
    saved: bool = False
    # Someone else saved the note first (409): theirs is in the box, `mine` below it.
    conflict: bool = False
    # Why the note was refused (422).
    error: str | None = None
    mine: str = ""

    def about(self, step_id: str) -> NoteOutcome:
        """What to say beside the note of step `step_id`: this outcome if it is that step's, else nothing."""
        return self if step_id == self.step_id else NoteOutcome()


@dataclass(frozen=True)
class ChecklistPage:
    """What checklist.html receives, whole or as its progress fragment (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    items: list[ChecklistItem]
    progress: ChecklistProgress
    # The progress fragment view pages poll brings each step's state along (out of band).
    oob: bool = False
    note_outcome: NoteOutcome = NoteOutcome()
    # Only a tick's fragment (TickFragment) updates the summary from a step.
    tick_progress: None = None


@dataclass(frozen=True)
class TickFragment:
    """What a tick (htmx) gets: its step's status block, and the summary out of band."""

    nav: WizardNav
    item: ChecklistItem
    tick_progress: ChecklistProgress


@dataclass(frozen=True)
class NoteFragment:
    """What a note save (htmx) gets: its step's note block."""

    nav: WizardNav
    item: ChecklistItem
    note_outcome: NoteOutcome


def checklist_context(
    nav: WizardNav,
    items: list[ChecklistItem],
    *,
    oob: bool = False,
    note_outcome: NoteOutcome = NoteOutcome(),
) -> ChecklistPage:
    """The checklist page with `items` (each step and its stored state)."""
    return ChecklistPage(nav, items, ChecklistProgress.of(items), oob=oob, note_outcome=note_outcome)


def stored_checklist_items(engine: Engine, access: share_links.Access) -> list[ChecklistItem]:
    """The wizard's checklist with every step's stored state."""
    return checklist_items(access.wizard.plan, steps.step_states(engine, wizard_id=access.wizard.id))


def step_or_404(plan: Plan, step_id: str) -> tuple[int, Step]:
    """The plan's step `step_id` and its 1-based number; 404 if the plan has no such step."""
    for number, step in enumerate(checklist(plan), start=1):
        if step.id == step_id:
            return number, step
    raise HTTPException(404, "This plan has no such step.")


# --- the page and a tick ------------------------------------------------------


@router.get("/w/{token}/checklist")
async def checklist_page(request: Request, access: AccessDep) -> Response:
    def context() -> ChecklistPage:
        return checklist_context(
            wizard_nav(request, access, "checklist"), stored_checklist_items(engine_of(request), access)
        )

    return render_page(request, "checklist.html", access, context)


# The state a tick asks for, from its URL: the form's action is
# /w/{token}/steps/{step_id}?done=true (or false), "on"/"off"/"1"/"0" also taken.
DONE_VALUES = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}


# A tick, the write a wizard session sends most, is a normal route again: a
# DirectRoute calls the guard and the access check without FastAPI's
# dependency solving, which cost ~100 µs of a ~650 µs tick when it was a
# hand-spliced Starlette route for that reason (app/web/routing.py,
# bench/README.md).
@router.post("/w/{token}/steps/{step_id}")
async def tick_step(
    request: Request, access: EditDep, step_id: str, done: Annotated[str, Query()] = ""
) -> Response:
    # In the URL, not the body: an htmx tick sends its CSRF token in a header
    # (base.html, hx-headers), so it needs no form parse at all, which cost
    # ~35 µs of a tick (bench/README.md). A form posted without JavaScript
    # carries the token in its body, and the CSRF check reads it there. A
    # query parameter of the route, not read from request.query_params: a
    # DirectRoute keeps its query values per query string (app/web/routing.py),
    # so a tick parses no query string either (~10 µs, bench/README.md).
    wanted = DONE_VALUES.get(done)
    if wanted is None:
        raise HTTPException(422, "A tick's done value must be true or false.")
    engine, actor = engine_of(request), actor_of(request)
    plan = access.wizard.plan
    number, step = step_or_404(plan, step_id)
    wizard_id = access.wizard.id
    state = steps.set_step_done(
        engine, wizard_id=wizard_id, step_id=step_id, done=wanted, actor=actor, now=db.utcnow()
    )
    token = request.path_params["token"]
    if is_htmx(request):
        # The progress summary comes along out of band.
        context = TickFragment(
            nav=wizard_nav(request, access, "checklist"),
            item=ChecklistItem(number, step, state),
            tick_progress=ChecklistProgress.of_plan(plan, steps.done_step_ids(engine, wizard_id=wizard_id)),
        )
        return render(request, "checklist.html", context, block="status")
    return RedirectResponse(f"/w/{token}/checklist#step-{step_id}", status_code=303)


# --- checklist progress and notes ----------------------------------------------


@router.get("/w/{token}/checklist/progress")
async def checklist_progress(request: Request, access: AccessDep) -> Response:
    """The progress summary (and, out of band, each step's state) that view pages poll.

    Without htmx it is the checklist page itself: the out-of-band copies of the
    step states would repeat the page's own (and their ids) in one document.
    """

    def context() -> ChecklistPage:
        items = stored_checklist_items(engine_of(request), access)
        return checklist_context(wizard_nav(request, access, "checklist"), items, oob=is_htmx(request))

    return render_page(request, "checklist.html", access, context, block="progress")


@router.post("/w/{token}/steps/{step_id}/note")
async def save_note(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    actor: ActorDep,
    step_id: str,
    note: Annotated[str, Form()] = "",
    version: Annotated[int, Form(ge=0, le=MAX_VERSION)] = 0,
) -> Response:
    number, step = step_or_404(access.wizard.plan, step_id)
    text = steps.clean_note(note)
    nav = wizard_nav(request, access, "checklist")

    def respond(
        state: steps.StepRecord | None,
        status: int,
        outcome: NoteOutcome,
        states: dict[str, steps.StepRecord] | None = None,
    ) -> Response:
        item = ChecklistItem(number, step, state)
        if is_htmx(request):
            fragment = NoteFragment(nav, item, outcome)
            return render(request, "checklist.html", fragment, block="note", status_code=status)
        items = (
            stored_checklist_items(engine, access)
            if states is None
            else checklist_items(access.wizard.plan, states)
        )
        context = checklist_context(nav, items, note_outcome=outcome)
        return render(request, "checklist.html", context, status_code=status)

    if len(text) > MAX_NOTE:
        states = steps.step_states(engine, wizard_id=access.wizard.id)
        refused = NoteOutcome(step_id, error=f"A note has at most {MAX_NOTE} characters.", mine=text)
        return respond(states.get(step_id), 422, refused, states)
    try:
        state = steps.set_step_note(
            engine,
            wizard_id=access.wizard.id,
            step_id=step_id,
            note=text,
            expected_version=version,
            actor=actor,
            now=db.utcnow(),
        )
    except db.Conflict as conflict:
        return respond(conflict.current, 409, NoteOutcome(step_id, conflict=True, mine=text))
    if is_htmx(request):
        return respond(state, 200, NoteOutcome(step_id, saved=True))
    return RedirectResponse(f"/w/{_token(request)}/checklist#step-{step_id}", status_code=303)
