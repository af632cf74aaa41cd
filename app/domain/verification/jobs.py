"""A verification job while it runs: its progress, its state as every process sees it, and when one may start."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class VerificationProgress:
    """Where a running verification is; the web polls it."""

    done: int = 0
    total: int = 0
    phase: str = "starting"
    failures: int = 0

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class JobState(StrEnum):
    """Where a verification job stands, as every server process sees it (issue 12)."""

    RUNNING = "running"
    DONE = "done"  # finished; its report is a stored run
    FAILED = "failed"  # stopped on an unexpected error; nothing saved
    INTERRUPTED = "interrupted"  # the process running it stopped or died; nothing saved


def job_state(stored: str, *, heartbeat_age_seconds: float, interrupted_after_seconds: float) -> JobState:
    """The state a reader reports: a running job whose heartbeat is older than the limit was interrupted.

    The process running a job writes its heartbeat every few seconds; when that
    process dies nothing else will ever finish the job, so it must not show
    as running forever (docs/scale-out.md).
    """
    state = JobState(stored)
    if state is JobState.RUNNING and heartbeat_age_seconds > interrupted_after_seconds:
        return JobState.INTERRUPTED
    return state


class RunRefused(Exception):
    """A verification that may not start now; the message says why and when to try again."""


def start_refusal(
    *,
    wizard_running: bool,
    seconds_since_last_start: float | None,
    min_seconds_between_runs: float,
    server_running: int,
    server_cap: int,
) -> str | None:
    """Why a new run may not start (None: it may): one at a time per wizard, an interval, a server cap."""
    if wizard_running:
        return "A verification of this wizard is already running: wait for it to finish."
    if seconds_since_last_start is not None:
        wait = min_seconds_between_runs - seconds_since_last_start
        if wait > 0:
            return f"A verification just ran: try again in {int(wait) + 1} seconds."
    if server_running >= server_cap:
        return "The server is running as many verifications as it allows: try again in a minute."
    return None
