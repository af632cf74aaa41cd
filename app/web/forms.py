"""Turn submitted form fields into plan input, the same for htmx and plain posts.

HTML forms send checkboxes only when ticked and multi-selects as repeated
fields; this module is where those HTML habits become a plan dict.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, QueryParams

from app.domain.plan import Plan

# Fields the options form edits (scope has its own page).
OPTION_FIELDS = (
    "user_name",
    "role_name",
    "dedicated_member_role",
    "external_id",
    "secrets_manager",
    "secret_prefix",
    "partition",
    "regions",
    "style",
)
_CHECKBOXES = {"dedicated_member_role", "secrets_manager"}
_MAX_FIELD = 2000


def options_input(current: Plan, data: FormData | QueryParams) -> dict[str, Any]:
    """The current plan with the options form's fields applied (strings, unvalidated)."""
    merged: dict[str, Any] = current.to_json_dict()
    for name in OPTION_FIELDS:
        if name in _CHECKBOXES:
            merged[name] = data.get(name) in {"on", "true", "1", "yes"}
        elif name == "regions":
            values = [str(v)[:_MAX_FIELD] for v in data.getlist("regions")]
            merged["regions"] = [r.strip() for v in values for r in v.split(",")]
        elif name in data:
            merged[name] = str(data.get(name) or "")[:_MAX_FIELD].strip()
    if merged.get("external_id") == "":
        merged["external_id"] = None
    return merged
