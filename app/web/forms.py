"""Turn submitted form fields into plan input, the same for htmx and plain posts.

HTML forms send checkboxes only when ticked and multi-selects as repeated
fields; this module is where those HTML habits become a plan dict. Which field
is which kind of input comes from the plan's own schema (`Option.widget` in
app/domain/plan.py), so a new plan field is parsed here without an edit.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, QueryParams

from app.domain.plan import Plan, plan_options, unused_options

# Fields the options form edits (scope has its own page).
OPTION_FIELDS = tuple(name for name, option in plan_options().items() if option.widget != "page")
_CHECKBOXES = frozenset(name for name, option in plan_options().items() if option.widget == "checkbox")
_MAX_FIELD = 2000


def options_input(current: Plan, data: FormData | QueryParams) -> dict[str, Any]:
    """The current plan with the options form's fields applied (strings, unvalidated).

    The form shows every principal's fields (it works without JavaScript), so
    when the principal changes, the fields the new principal does not use come
    back as the saved plan had them: those go back to their defaults, as
    `in_scope` does for a scope change. A value typed into one of them is kept,
    and refused by the plan's rule like any option the plan does not use.
    """
    merged: dict[str, Any] = current.to_json_dict()
    saved = dict(merged)
    for name in OPTION_FIELDS:
        option = plan_options()[name]
        # A text field's own limit (a PEM certificate is long), else the form's.
        limit = max(_MAX_FIELD, option.max_length)
        if name in _CHECKBOXES:
            merged[name] = data.get(name) in {"on", "true", "1", "yes"}
        elif option.widget == "regions":
            values = [str(v)[:_MAX_FIELD] for v in data.getlist(name)]
            merged[name] = [r.strip() for v in values for r in v.split(",")]
        elif name in data:
            merged[name] = str(data.get(name) or "")[:limit].strip()
    if merged.get("principal") != saved.get("principal"):
        for name in unused_options(merged.get("scope"), merged.get("principal")):
            if merged.get(name) == saved.get(name):
                merged.pop(name, None)
    return merged
