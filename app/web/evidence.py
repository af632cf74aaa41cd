"""The evidence export: /w/{token}/report.md and report.json (any link), and
the evidence the report page summarises.

An export is rendered once per wizard revision (ExportCache) with who asked
and when as placeholders, stamped per request.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.domain import evidence
from app.store import db, share_links, steps, verifications
from app.web.activity import timeline
from app.web.checklist import checklist_items
from app.web.deps import AccessDep, ActorDep, EngineDep, page_router

router = page_router()

EXPORT_ACTIVITY_LIMIT = 10_000  # in the evidence export


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
        for e in timeline(engine, access, activity_limit)
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
