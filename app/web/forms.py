"""Turn submitted form fields into plan input, the same for htmx and plain posts.

HTML forms send checkboxes only when ticked and multi-selects as repeated
fields; this module is where those HTML habits become a plan dict. Which field
is which kind of input comes from the plan's own schema (`Option.widget` in
app/domain/plan.py), so a new plan field is parsed here without an edit.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, QueryParams

from app.domain.plan import Plan, plan_options

# Fields the options form edits (scope has its own page).
OPTION_FIELDS = tuple(name for name, option in plan_options().items() if option.widget != "page")
_CHECKBOXES = frozenset(name for name, option in plan_options().items() if option.widget == "checkbox")
_MAX_FIELD = 2000


def options_input(current: Plan, data: FormData | QueryParams) -> dict[str, Any]:
    """The current plan with the options form's fields applied (strings, unvalidated)."""
    merged: dict[str, Any] = current.to_json_dict()
    for name in OPTION_FIELDS:
        widget = plan_options()[name].widget
        if name in _CHECKBOXES:
            merged[name] = data.get(name) in {"on", "true", "1", "yes"}
        elif widget == "regions":
            values = [str(v)[:_MAX_FIELD] for v in data.getlist(name)]
            merged[name] = [r.strip() for v in values for r in v.split(",")]
        elif name in data:
            merged[name] = str(data.get(name) or "")[:_MAX_FIELD].strip()
    return merged
