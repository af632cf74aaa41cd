"""/w/{token}/activity: the audit trail as a timeline, for any link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from app.domain import audit
from app.domain.checklist import checklist
from app.store import audit_log, share_links
from app.web.deps import AccessDep, engine_of, page_router
from app.web.nav import WizardNav, wizard_nav
from app.web.render import render_page

router = page_router()

ACTIVITY_LIMIT = 100  # entries on one page of the activity


@dataclass(frozen=True)
class TimelineEntry:
    event: audit_log.EventRecord
    text: str


def _step_titles(access: share_links.Access) -> dict[str, str]:
    return {step.id: step.title for step in checklist(access.wizard.plan)}


def timeline(engine: Any, access: share_links.Access, limit: int, offset: int = 0) -> list[TimelineEntry]:
    titles = _step_titles(access)
    return [
        TimelineEntry(event, audit.describe(event.kind, event.detail, titles))
        for event in audit_log.events(engine, wizard_id=access.wizard.id, limit=limit, offset=offset)
    ]


@dataclass(frozen=True)
class ActivityPage:
    """What activity.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    # This page's entries, newest first.
    timeline: list[TimelineEntry]
    page: int
    # How many newer entries the pages before this one hold.
    first_number: int
    # The numbers of the pages beside this one, if there are any.
    older: int | None
    newer: int | None


def activity_context(request: Request, access: share_links.Access, page: int) -> ActivityPage:
    # One more than a page: whether an older page exists, without counting them all.
    entries = timeline(engine_of(request), access, ACTIVITY_LIMIT + 1, offset=(page - 1) * ACTIVITY_LIMIT)
    return ActivityPage(
        nav=wizard_nav(request, access, "activity"),
        timeline=entries[:ACTIVITY_LIMIT],
        page=page,
        first_number=(page - 1) * ACTIVITY_LIMIT,
        older=page + 1 if len(entries) > ACTIVITY_LIMIT else None,
        newer=page - 1 if page > 1 else None,
    )


@router.get("/w/{token}/activity")
async def activity_page(
    request: Request, access: AccessDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    """The audit trail, newest first, a page of ACTIVITY_LIMIT entries at a time (issue 12, finding 3)."""
    return render_page(request, "activity.html", access, lambda: activity_context(request, access, page))
