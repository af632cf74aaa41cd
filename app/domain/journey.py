"""Where a wizard stands: each of its six steps done, current, to do (or failed).

Pure: the web layer reads the plan's version, the checklist's ticks and the
last verification's status, and this module decides what the step list
shows (docs/ux.md, "The step list").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The wizard's pages in order: (slug, title). Verify is optional.
STEPS: tuple[tuple[str, str], ...] = (
    ("scope", "Scope"),
    ("options", "Options"),
    ("policies", "Policies"),
    ("checklist", "Checklist"),
    ("verify", "Verify"),
    ("report", "Report"),
)


class StepState(StrEnum):
    DONE = "done"
    STARTED = "started"  # some of the checklist is ticked
    FAILED = "failed"  # the last verification found failures
    TODO = "todo"


@dataclass(frozen=True, slots=True)
class StepStatus:
    slug: str
    title: str
    number: int
    state: StepState
    note: str  # a few words on the state ("3 of 9 ticked"), empty when the state says it all


def step_statuses(
    *, plan_saved: bool, ticked: int, total: int, verification: str | None
) -> tuple[StepStatus, ...]:
    """The state of each step.

    - Scope, Options and Policies are done once the plan was saved, or once
      work on the checklist or a verification started (the plan was used as it is).
    - Checklist: done when every step is ticked, started when some are.
    - Verify: done when the last run passed (or passed with warnings), failed when it failed.
    - Report is what the others lead to: never "done".
    """
    used = plan_saved or ticked > 0 or verification is not None
    states: dict[str, tuple[StepState, str]] = {
        "scope": (StepState.DONE if used else StepState.TODO, ""),
        "options": (StepState.DONE if used else StepState.TODO, ""),
        "policies": (StepState.DONE if used and (ticked or verification) else StepState.TODO, ""),
        "checklist": (
            StepState.DONE if total and ticked >= total else StepState.STARTED if ticked else StepState.TODO,
            f"{ticked} of {total} ticked" if total else "",
        ),
        "verify": (
            StepState.DONE
            if verification in {"pass", "warn"}
            else StepState.FAILED
            if verification == "fail"
            else StepState.TODO,
            "with warnings" if verification == "warn" else "",
        ),
        "report": (StepState.TODO, ""),
    }
    return tuple(
        StepStatus(slug, title, number, *states[slug]) for number, (slug, title) in enumerate(STEPS, start=1)
    )
