"""Every failed htmx request is told beside what the person did (issue 15 item 2; docs/ux.md, "Feedback").

Each test runs its own live server on a fresh SQLite file, so a tiny rate limit
or a broken database touches nobody else. The failures are real: another tab
saves first (409), the client really is over the link rate limit (429), the
database really lost a table (500).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Locator, Page, expect

from app.main import create_app
from app.web.ratelimit import RateLimiter
from tests.browser.test_wizard_browser import start_wizard
from tests.conftest import make_settings
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def own_app(tmp_path: Path, **overrides: object) -> FastAPI:
    return create_app(
        make_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'errors.sqlite3'}", **overrides)
    )


def serve(app: FastAPI) -> Iterator[str]:
    server = LiveServer(app)
    yield server.start()
    server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(own_app(tmp_path))


class StoppableClock:
    """The link limiter's clock (RateLimiter's `clock` seam): monotonic time until stopped, then still.

    With 20 requests a minute the bucket gains a token every 3 s: on a loaded
    machine the click below came after one, and the tick passed. Stopped, the
    clock lets no token back, so an emptied bucket stays empty for the click.
    """

    def __init__(self) -> None:
        self.stopped_at: float | None = None

    def __call__(self) -> float:
        return time.monotonic() if self.stopped_at is None else self.stopped_at

    def stop(self) -> None:
        self.stopped_at = time.monotonic()


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[tuple[str, StoppableClock]]:
    app = own_app(tmp_path, link_rate_per_minute=20)
    clock = StoppableClock()
    limiter: RateLimiter = app.state.limiters["links"]  # the app's own limiter, only its clock replaced
    limiter.clock = clock
    for url in serve(app):
        yield url, clock


def open_checklist(page: Page, base_url: str) -> str:
    token = start_wizard(page, base_url, check_accessibility=False)
    page.goto(f"{base_url}/w/{token}/checklist")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    return token


def note_form(page: Page) -> tuple[Locator, Locator]:
    step = page.locator("li.step", has_text="Create the IAM user")
    step.get_by_text("Add note").click()
    return step, step.get_by_label(re.compile("Note on step 2"))


def test_stale_note_save_is_told(page: Page, server: str) -> None:
    """409: another tab saved the note after this page loaded; this tab's save says so."""
    open_checklist(page, server)
    step, note = note_form(page)

    other = page.context.new_page()  # another person on the same link
    other.goto(page.url)
    other_step, other_note = note_form(other)
    other_note.fill("Theirs")
    other_step.get_by_role("button", name=re.compile("Save note")).click()
    expect(other_step.get_by_text("Note saved.")).to_be_visible()
    other.close()

    note.fill("Mine")
    step.get_by_role("button", name=re.compile("Save note")).click()
    alert = step.locator("[role=alert]")
    expect(alert).to_contain_text("someone else saved this note first")
    expect(step.locator("pre.unsaved")).to_have_text("Mine")  # the person's text is kept


def test_rate_limited_tick_is_told(page: Page, limited_server: tuple[str, StoppableClock]) -> None:
    """429: the client is over the link rate limit; the tick it tried says so beside the tick."""
    url, clock = limited_server
    token = open_checklist(page, url)
    clock.stop()  # from here on the bucket refills no more, however long the click takes
    with httpx.Client(base_url=url) as client:  # same address: the same budget
        statuses = [client.get(f"/w/{token}/checklist").status_code for _ in range(25)]
    assert 429 in statuses, statuses
    step = page.locator("li.step", has_text="Create the IAM user")
    step.get_by_role("button", name=re.compile("Mark as done")).click()
    feedback = step.locator(".request-feedback[role=alert]")
    expect(feedback).to_contain_text(re.compile("too many", re.IGNORECASE))


def test_server_failure_is_told(page: Page, server: str, tmp_path: Path) -> None:
    """500: the database lost a table under the running server; the note save says it failed."""
    open_checklist(page, server)
    step, note = note_form(page)
    with sqlite3.connect(tmp_path / "errors.sqlite3") as db:
        db.execute("DROP TABLE step_state")
    note.fill("Created in the management account")
    step.get_by_role("button", name=re.compile("Save note")).click()
    feedback = step.locator(".request-feedback[role=alert]")
    expect(feedback).to_contain_text("Nothing was changed")
