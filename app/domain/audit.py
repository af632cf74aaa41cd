"""The audit trail in plain words: one sentence per stored event.

Pure (stdlib). The store keeps events as (kind, detail dict); the timeline
page, the report and the evidence export all describe them with `describe()`,
so the three never disagree. Unknown kinds (from a newer version) still get a
readable line instead of an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.plan import plan_options

# What a link lets its holder do; shown on the share page and in docs/security.md.
LINK_GRANTS: dict[str, str] = {
    "edit": (
        "Can change the plan, tick steps, write notes, run verification with credentials they type, "
        "and mint or revoke links (this one included)."
    ),
    "view": (
        "Can see the plan, the policies, the checklist progress, the activity and the report. "
        "Cannot change anything and never sees the verification or credential forms."
    ),
}

# The plan's fields in words: each field's own label (app/domain/plan.py).
# Fields older versions had keep their words for the events that name them.
_PLAN_FIELDS = {"external_id": "external ID"} | {
    name: option.label for name, option in plan_options().items()
}


def _step(detail: Mapping[str, Any], step_titles: Mapping[str, str]) -> str:
    step = str(detail.get("step", ""))
    title = step_titles.get(step)
    return f"“{title}”" if title else f"step {step or '?'}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def describe(kind: str, detail: Mapping[str, Any], step_titles: Mapping[str, str] | None = None) -> str:
    """What happened, as a sentence without its actor: 'ticked “Create the IAM user”'."""
    titles = step_titles or {}
    if kind == "wizard.created":
        scope = detail.get("scope")
        return f"started the wizard ({scope} scope)" if scope else "started the wizard"
    if kind == "step.done":
        return f"ticked {_step(detail, titles)}"
    if kind == "step.undone":
        return f"unticked {_step(detail, titles)}"
    if kind == "step.note":
        return f"saved a note on {_step(detail, titles)}"
    if kind == "plan.changed":
        changed = [_PLAN_FIELDS.get(str(name), str(name)) for name in detail.get("changed") or []]
        what = f": {', '.join(changed)}" if changed else ""
        return f"changed the plan{what} (version {detail.get('version', '?')})"
    if kind == "plan.dropped":
        dropped = [_PLAN_FIELDS.get(str(name), str(name)) for name in detail.get("fields") or []]
        return f"an upgrade removed from the plan what it no longer takes: {', '.join(dropped) or '?'}"
    if kind == "link.minted":
        label = detail.get("label")
        named = f" “{label}”" if label else ""
        return f"created a {detail.get('link_kind', '?')} link{named}, valid {_plural(int(detail.get('days', 0)), 'day')}"
    if kind == "link.revoked":
        count = int(detail.get("count", 0))
        if detail.get("link_id") is not None:
            return "revoked a link"
        if detail.get("link_kind"):
            return f"revoked {_plural(count, str(detail['link_kind']) + ' link')}"
        return f"revoked every link ({count})"
    if kind == "verification.finished":
        status = detail.get("status", "?")
        accounts = detail.get("accounts")
        failed = detail.get("failed_checks")
        parts = [f"ran a verification: {status}"]
        if accounts is not None:
            parts.append(_plural(int(accounts), "account"))
        if failed:
            parts.append(f"{_plural(int(failed), 'failed check')}")
        return ", ".join(parts)
    return kind.replace(".", " ")
