"""The step list's states: what counts as done, started, failed."""

from __future__ import annotations

from app.domain.journey import StepState, step_statuses


def states(**kwargs: object) -> dict[str, str]:
    values = {"plan_saved": False, "ticked": 0, "total": 9, "verification": None, **kwargs}
    return {s.slug: s.state.value for s in step_statuses(**values)}  # type: ignore[arg-type]


def test_a_new_wizard_has_everything_to_do() -> None:
    assert set(states().values()) == {StepState.TODO}


def test_a_saved_plan_marks_scope_and_options_done_but_not_policies() -> None:
    got = states(plan_saved=True)
    assert (got["scope"], got["options"], got["policies"], got["checklist"]) == (
        "done",
        "done",
        "todo",
        "todo",
    )


def test_ticks_start_then_finish_the_checklist_and_say_how_far() -> None:
    started = step_statuses(plan_saved=True, ticked=3, total=9, verification=None)
    checklist = next(s for s in started if s.slug == "checklist")
    assert (checklist.state, checklist.note) == (StepState.STARTED, "3 of 9 ticked")
    assert states(ticked=3)["policies"] == "done"  # ticking means the plan was used as it is
    assert states(ticked=9)["checklist"] == "done"


def test_verification_status_feeds_the_verify_step_and_report_is_never_done() -> None:
    assert states(verification="pass")["verify"] == "done"
    assert states(verification="warn")["verify"] == "done"
    assert states(verification="fail")["verify"] == "failed"
    assert states(plan_saved=True, ticked=9, verification="pass")["report"] == "todo"
