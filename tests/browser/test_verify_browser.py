"""The Verify page in a real browser, demo mode: run, watch progress, read the matrix, follow a fix link."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.aws.simulate import Latency
from app.main import create_app
from tests.browser.conftest import LiveServer
from tests.browser.test_wizard_browser import assert_accessible, start_wizard
from tests.conftest import make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(tmp_path: Path, endpoint: str) -> Iterator[str]:
    """A live server in demo mode, seeding the session's moto server (reset for this test)."""
    app = create_app(make_settings(tmp_path, demo=True, aws_endpoint_url=endpoint))
    server = LiveServer(app)
    url = server.start()
    demo = app.state.demo
    # 20 ms per AWS call: the run lasts long enough to watch its progress.
    app.state.demo = dataclasses.replace(
        demo, extra_hooks=(*demo.extra_hooks, ("before-send", Latency(0.02)))
    )
    yield url
    server.stop()


def test_demo_verification_end_to_end(page: Page, demo_server: str, console_errors: list[Any]) -> None:
    start_wizard(page, demo_server, check_accessibility=False)
    expect(page.locator(".demo-banner")).to_be_visible()
    page.get_by_role("link", name=re.compile("Verify")).click()
    expect(page.get_by_role("heading", name="This is a simulation")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Run as the demo connector").click()
    # htmx swapped the form for the progress fragment, which polls until done.
    expect(page.get_by_role("heading", name="Verification running…")).to_be_visible()
    expect(page.locator("progress")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Results: FAIL"))).to_be_visible(timeout=30_000)

    matrix = page.locator("table.matrix")
    invited = matrix.locator("tr", has_text="Acquired Co. (invited)")
    expect(invited).to_contain_text("role missing")
    expect(matrix.locator("tr", has_text="Production")).to_contain_text("yes")
    assert_accessible(page)

    page.get_by_role("link", name="failures only").click()
    expect(matrix.locator("tr", has_text="Production")).to_have_count(0)
    expect(invited).to_be_visible()

    invited.get_by_role("link", name="Checklist: member-role").click()
    expect(page).to_have_url(re.compile(r"/checklist#step-member-role$"))
    expect(page.locator("#step-member-role")).to_be_visible()
    expect(page.locator("#step-member-role")).to_contain_text("OrganizationAccountAccessRole")
    assert console_errors == []


def test_without_javascript_a_run_ends_on_its_results(browser: Any, demo_server: str) -> None:
    """No script polls: the running page refreshes itself (meta refresh) until the results show."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        start_wizard(page, demo_server, check_accessibility=False)
        page.goto(page.url.rsplit("/", 1)[0] + "/verify")
        page.get_by_role("button", name="Run as the demo connector").click()
        # No click, no reload by the test: the page gets there by itself.
        expect(page.get_by_role("heading", name=re.compile("Results: FAIL"))).to_be_visible(timeout=40_000)
        expect(page.get_by_text("No verification has run")).to_have_count(0)
    finally:
        context.close()
