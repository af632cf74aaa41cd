"""Share links, the audit trail, step notes, live progress and the evidence export.

- /w/{token}/links: edit links only. Mint view (or edit) links, list every
  link with its state, revoke one, all view links, or all links (after a
  confirmation page). A new token is shown once: the POST that minted it
  answers with a redirect (post/redirect/get, so a reload sends nothing again)
  and a short-lived cookie, limited to the share page's path, that carries the
  token to the next GET, which shows it and deletes the cookie. The database
  keeps only its SHA-256, so it can never be shown again.
- /w/{token}/activity: the audit trail as a timeline (any link).
- /w/{token}/checklist/progress: the progress fragment view pages poll.
- /w/{token}/steps/{step_id}/note: versioned notes; a stale save gets 409
  and the current note (htmx swaps it in), never a silent overwrite.
- /w/{token}/report.md and report.json: the evidence export (any link).

Nothing here logs or stores a raw token.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.domain import audit, evidence
from app.domain.checklist import checklist
from app.domain.tokens import looks_like_token
from app.settings import Settings
from app.store import audit_log, db, share_links, steps, verifications
from app.web.deps import AccessDep, ActorDep, EditDep, EngineDep, SettingsDep, page_guard
from app.web.render import is_htmx, render
from app.web.security import cookies_secure, public_base_url
from app.web.views import (
    ChecklistItem,
    checklist_context,
    checklist_items,
    step_or_404,
    stored_checklist_items,
    wizard_nav,
)

router = APIRouter(dependencies=[Depends(page_guard)], include_in_schema=False)

MAX_LABEL = 100  # models.ShareLink.label
ACTIVITY_LIMIT = 100  # entries on one page of the activity
EXPORT_ACTIVITY_LIMIT = 10_000  # in the evidence export


def _token(request: Request) -> str:
    return str(request.path_params["token"])


# --- share links ----------------------------------------------------------------


@dataclass(frozen=True)
class LinkRow:
    link: share_links.LinkRecord
    state: str  # "active" | "expired" | "revoked"
    is_current: bool

    @property
    def grants(self) -> str:
        return audit.LINK_GRANTS.get(self.link.kind, "")


@dataclass(frozen=True)
class MintForm:
    label: str
    days: int
    kind: str
    errors: dict[str, str]


def _link_rows(engine: Any, access: share_links.Access) -> list[LinkRow]:
    now = db.utcnow()
    rows = []
    for link in share_links.list_links(engine, wizard_id=access.wizard.id):
        if link.revoked_at is not None:
            state = "revoked"
        elif not link.is_active(now):
            state = "expired"
        else:
            state = "active"
        rows.append(LinkRow(link, state, link.id == access.link.id))
    # Active links first, newest first within each state.
    order = {"active": 0, "expired": 1, "revoked": 2}
    return sorted(rows, key=lambda row: (order[row.state], -row.link.id))


def _links_page(
    request: Request,
    engine: Any,
    access: share_links.Access,
    settings: Settings,
    *,
    form: MintForm | None = None,
    minted: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "nav": wizard_nav(request, access, "links"),
        "rows": _link_rows(engine, access),
        "form": form or MintForm(label="", days=settings.link_days, kind="view", errors={}),
        "max_days": settings.max_link_days,
        "grants": audit.LINK_GRANTS,
        "minted": minted,
        "error": error,
    }
    return render(request, "links.html", context, status_code=status_code)


MINTED_COOKIE = "cw_minted"
MINTED_SECONDS = 120  # long enough for the redirect, short enough to be gone if it is not followed


def _share_path(request: Request) -> str:
    return f"/w/{_token(request)}/links"


def _minted_shown_once(request: Request, engine: Any, access: share_links.Access) -> dict[str, Any] | None:
    """The link minted by the POST just before this GET (its cookie), if it belongs to this wizard."""
    raw = request.cookies.get(MINTED_COOKIE, "")
    found = share_links.resolve(engine, token=raw, now=db.utcnow()) if looks_like_token(raw) else None
    if found is None or found.wizard.id != access.wizard.id:
        return None
    base = public_base_url(request)
    return {"url": f"{base}/w/{raw}", "link": found.link, "grants": audit.LINK_GRANTS[found.link.kind]}


@router.get("/w/{token}/links")
async def links_page(request: Request, access: EditDep, engine: EngineDep, settings: SettingsDep) -> Response:
    minted = _minted_shown_once(request, engine, access)
    response = _links_page(request, engine, access, settings, minted=minted)
    if MINTED_COOKIE in request.cookies:
        response.delete_cookie(MINTED_COOKIE, path=_share_path(request))
    return response


@router.post("/w/{token}/links")
async def mint_link(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    label: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=20)] = "view",
) -> Response:
    label = "".join(ch for ch in label if ch.isprintable()).strip()
    errors: dict[str, str] = {}
    if len(label) > MAX_LABEL:
        errors["label"] = f"At most {MAX_LABEL} characters."
    try:
        lifetime = int(days) if days.strip() else settings.link_days
    except ValueError:
        lifetime = -1
    if not 1 <= lifetime <= settings.max_link_days:
        errors["days"] = f"Enter a whole number of days from 1 to {settings.max_link_days}."
    if kind not in audit.LINK_GRANTS:
        errors["kind"] = "Choose view or edit."
    if errors:
        form = MintForm(label=label[:MAX_LABEL], days=max(lifetime, 1), kind="view", errors=errors)
        return _links_page(request, engine, access, settings, form=form, status_code=422)
    _, token = share_links.mint_link(
        engine,
        wizard_id=access.wizard.id,
        kind=kind,
        label=label,
        actor=actor,
        now=db.utcnow(),
        days=lifetime,
    )
    response = RedirectResponse(_share_path(request), status_code=303)
    response.set_cookie(
        MINTED_COOKIE,
        token,
        max_age=MINTED_SECONDS,
        path=_share_path(request),
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
    )
    return response


def _revoked_own_link(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": 200,
            "title": "Link revoked",
            "message": "The link you used is revoked: it no longer opens this wizard, "
            "for you or anyone else who has it.",
        },
    )


@router.post("/w/{token}/links/{link_id}/revoke")
async def revoke_link(
    request: Request, access: EditDep, engine: EngineDep, actor: ActorDep, link_id: int
) -> Response:
    ids = {link.id for link in share_links.list_links(engine, wizard_id=access.wizard.id)}
    if link_id not in ids:
        # Another wizard's link is "not found" too: an edit link never reaches past its wizard.
        raise HTTPException(404, "This wizard has no such link.")
    share_links.revoke_links(
        engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow(), link_id=link_id
    )
    if link_id == access.link.id:
        return _revoked_own_link(request)
    return RedirectResponse(f"/w/{_token(request)}/links", status_code=303)


@router.get("/w/{token}/links/revoke-all")
async def confirm_revoke_all(request: Request, access: EditDep) -> Response:
    """The step before revoking every link: what it does, a way back, and the button that does it."""
    return render(request, "revoke_all.html", {"nav": wizard_nav(request, access, "links")})


@router.post("/w/{token}/links/revoke")
async def revoke_many(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    which: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if which == "view":
        share_links.revoke_links(
            engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow(), kind="view"
        )
        return RedirectResponse(f"/w/{_token(request)}/links", status_code=303)
    if which == "all":
        if confirm != "yes":
            return _links_page(
                request,
                engine,
                access,
                settings,
                error="Nothing was revoked: confirm first (Revoke every link…) that every link, yours included, should stop working.",
                status_code=422,
            )
        share_links.revoke_links(engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow())
        return _revoked_own_link(request)
    raise HTTPException(422, "Choose which links to revoke.")


# --- activity -------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event: audit_log.EventRecord
    text: str


def _step_titles(access: share_links.Access) -> dict[str, str]:
    return {step.id: step.title for step in checklist(access.wizard.plan)}


def _timeline(engine: Any, access: share_links.Access, limit: int, offset: int = 0) -> list[TimelineEntry]:
    titles = _step_titles(access)
    return [
        TimelineEntry(event, audit.describe(event.kind, event.detail, titles))
        for event in audit_log.events(engine, wizard_id=access.wizard.id, limit=limit, offset=offset)
    ]


@router.get("/w/{token}/activity")
async def activity_page(
    request: Request, access: AccessDep, engine: EngineDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    """The audit trail, newest first, a page of ACTIVITY_LIMIT entries at a time (issue 12, finding 3)."""
    # One more than a page: whether an older page exists, without counting them all.
    timeline = _timeline(engine, access, ACTIVITY_LIMIT + 1, offset=(page - 1) * ACTIVITY_LIMIT)
    context = {
        "nav": wizard_nav(request, access, "activity"),
        "timeline": timeline[:ACTIVITY_LIMIT],
        "limit": ACTIVITY_LIMIT,
        "page": page,
        "first_number": (page - 1) * ACTIVITY_LIMIT,
        "older": page + 1 if len(timeline) > ACTIVITY_LIMIT else None,
        "newer": page - 1 if page > 1 else None,
    }
    return render(request, "activity.html", context)


# --- checklist progress and notes ----------------------------------------------


@router.get("/w/{token}/checklist/progress")
async def checklist_progress(request: Request, access: AccessDep, engine: EngineDep) -> Response:
    """The progress summary (and, out of band, each step's state) that view pages poll.

    Without htmx it is the checklist page itself: the out-of-band copies of the
    step states would repeat the page's own (and their ids) in one document.
    """
    context = {
        **checklist_context(wizard_nav(request, access, "checklist"), stored_checklist_items(engine, access)),
        "oob": is_htmx(request),
    }
    return render(request, "checklist.html", context, block="progress")


@router.post("/w/{token}/steps/{step_id}/note")
async def save_note(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    actor: ActorDep,
    step_id: str,
    note: Annotated[str, Form()] = "",
    version: Annotated[int, Form(ge=0, le=db.MAX_VERSION)] = 0,
) -> Response:
    number, step = step_or_404(access.wizard.plan, step_id)
    text = steps.clean_note(note)
    nav = wizard_nav(request, access, "checklist")

    def respond(
        state: steps.StepRecord | None,
        status: int,
        states: dict[str, steps.StepRecord] | None = None,
        **flags: Any,
    ) -> Response:
        item = ChecklistItem(number, step, state)
        if is_htmx(request):
            return render(
                request,
                "checklist.html",
                {"nav": nav, "item": item, **flags},
                block="note",
                status_code=status,
            )
        items = (
            stored_checklist_items(engine, access)
            if states is None
            else checklist_items(access.wizard.plan, states)
        )
        context = {**checklist_context(nav, items), "note_step": step_id, **flags}
        return render(request, "checklist.html", context, status_code=status)

    if len(text) > steps.MAX_NOTE:
        states = steps.step_states(engine, wizard_id=access.wizard.id)
        return respond(
            states.get(step_id),
            422,
            states,
            note_error=f"A note has at most {steps.MAX_NOTE} characters.",
            mine=text,
        )
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
        return respond(conflict.current, 409, note_conflict=True, mine=text)
    if is_htmx(request):
        return respond(state, 200, note_saved=True)
    return RedirectResponse(f"/w/{_token(request)}/checklist#step-{step_id}", status_code=303)


# --- evidence -------------------------------------------------------------------


def last_verification_run(engine: Any, wizard_id: str) -> verifications.RunRecord | None:
    """The last stored verification run, or None: its listing row (the summary, not the full results)."""
    return next(iter(verifications.list_runs(engine, wizard_id=wizard_id, limit=1)), None)


def _verification_summary(run: verifications.RunRecord | None) -> evidence.VerificationSummary | None:
    """What the evidence says of the last verification run, or None. Never invents one."""
    if run is None:
        return None
    return evidence.VerificationSummary(
        finished_at=run.finished_at, actor=run.actor, status=run.status.value, counts=dict(run.summary)
    )


def build_evidence(
    engine: Any,
    access: share_links.Access,
    actor: str,
    *,
    states: dict[str, steps.StepRecord],
    run: verifications.RunRecord | None,
    activity_limit: int = EXPORT_ACTIVITY_LIMIT,
    generated_at: datetime | None = None,
) -> evidence.Evidence:
    """The evidence export from the step states and last verification run the caller read."""
    plan = access.wizard.plan
    steps = [
        evidence.StepProgress(
            number=item.number,
            step_id=item.step.id,
            title=item.step.title,
            done=item.done,
            done_by=item.state.done_by if item.state else "",
            done_at=item.state.done_at if item.state else None,
            note=item.state.note if item.state else "",
        )
        for item in checklist_items(plan, states)
    ]
    activity = [
        evidence.ActivityEntry(
            at=e.event.at, actor=e.event.actor, kind=e.event.kind, text=e.text, detail=e.event.detail
        )
        for e in _timeline(engine, access, activity_limit)
    ]
    return evidence.Evidence(
        plan=plan,
        wizard_created_at=access.wizard.created_at,
        wizard_updated_at=access.wizard.updated_at,
        plan_version=access.wizard.version,
        generated_at=generated_at or db.utcnow(),
        generated_by=actor,
        steps=steps,
        artifacts=evidence.artifact_digests(plan),
        activity=activity,
        verification=_verification_summary(run),
    )


def _download_name(access: share_links.Access, extension: str) -> str:
    day = access.wizard.created_at.strftime("%Y%m%d")
    return f"connector-wizard-evidence-{access.wizard.plan.scope.value}-{day}.{extension}"


class ExportCache:
    """Evidence exports rendered once per wizard revision, least recently used dropped first.

    Keyed on the wizard's random id and its revision (which moves on every
    change, a finished verification included), never on a reused number
    (docs/hardening.md). Who asked and when are placeholders, stamped per request.
    """

    def __init__(self, max_entries: int = 16) -> None:
        self.max_entries = max_entries
        self.by_placeholder = f"actor{secrets.token_hex(16)}"
        self._entries: OrderedDict[tuple[str, int, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, key: tuple[str, int, str]) -> str | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: tuple[str, int, str], body: str) -> None:
        with self._lock:
            self._entries[key] = body
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def render_export(engine: Any, access: share_links.Access, fmt: str, by_placeholder: str) -> str:
    """The whole export, read and rendered (in a worker thread: ~0.5 s of CPU for 10,000 events)."""
    states = steps.step_states(engine, wizard_id=access.wizard.id)
    record = build_evidence(
        engine,
        access,
        by_placeholder,
        states=states,
        run=last_verification_run(engine, access.wizard.id),
        generated_at=evidence.GENERATED_AT_PLACEHOLDER,
    )
    if fmt == "json":
        return json.dumps(evidence.evidence_json(record), indent=2) + "\n"
    return evidence.evidence_markdown(record)


async def _export(request: Request, access: share_links.Access, engine: Any, actor: str, fmt: str) -> str:
    """The export in `fmt`, from the cache or built off the event loop, stamped for this request.

    Built in a worker thread so that other requests (/healthz included) are
    served meanwhile (issue 12, finding 3).
    """
    cache: ExportCache = request.app.state.export_cache
    key = (access.wizard.id, access.wizard.revision, fmt)
    body = cache.get(key)
    if body is None:
        body = await asyncio.to_thread(render_export, engine, access, fmt, cache.by_placeholder)
        cache.put(key, body)
    return evidence.stamp(body, fmt, by_placeholder=cache.by_placeholder, at=db.utcnow(), by=actor)


@router.get("/w/{token}/report.json")
async def report_json(request: Request, access: AccessDep, engine: EngineDep, actor: ActorDep) -> Response:
    return Response(
        await _export(request, access, engine, actor, "json"),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_download_name(access, "json")}"'},
    )


@router.get("/w/{token}/report.md")
async def report_markdown(
    request: Request, access: AccessDep, engine: EngineDep, actor: ActorDep
) -> Response:
    return Response(
        await _export(request, access, engine, actor, "md"),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_download_name(access, "md")}"'},
    )
