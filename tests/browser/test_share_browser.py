"""Sharing in a real browser: the helpdesk mints a view link, the customer watches progress live.

Two browser contexts (two people, separate cookies) on the live server. The
view page polls the progress fragment (htmx, every 5 s); the test waits for
the tick made in the other context to show up, and checks that the viewer
cannot tick. No page may log a CSP violation or any other console error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_wizard_browser import assert_accessible, start_wizard

pytestmark = pytest.mark.browser

POLL_WAIT_MS = 12_000  # the view page polls every 5 s


def test_view_link_watches_progress_live_and_cannot_tick(
    page: Page, browser: Any, base_url: str, console_errors: list[str]
) -> None:
    start_wizard(page, base_url, check_accessibility=False)

    # The helpdesk (edit link) mints a view link on the Share page.
    page.get_by_role("navigation", name="Wizard steps").get_by_role("link", name="Share").click()
    expect(page.get_by_role("heading", name="Share this wizard")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile("^Label")).fill("for the customer")
    page.get_by_label(re.compile("^Valid for")).fill("7")
    page.get_by_role("button", name="Make link").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    assert_accessible(page)
    view_url = page.locator("#minted-url").inner_text().strip()
    assert re.fullmatch(re.escape(base_url) + r"/w/[A-Za-z0-9_-]{43}", view_url), view_url
    expect(page.get_by_role("row", name=re.compile("for the customer"))).to_contain_text("active")

    # The customer opens it in another browser: the checklist, read-only.
    viewer_context = browser.new_context()
    viewer = viewer_context.new_page()
    viewer.set_default_timeout(10_000)
    viewer_errors: list[str] = []
    viewer.on("console", lambda m: viewer_errors.append(m.text) if m.type == "error" else None)
    viewer.on("pageerror", lambda e: viewer_errors.append(str(e)))
    try:
        viewer.goto(view_url)
        expect(viewer.get_by_role("heading", name="4. Checklist")).to_be_visible()
        expect(viewer.get_by_text("Read-only link.")).to_be_visible()
        progress = viewer.locator("#progress")
        expect(progress).to_contain_text("0 of 9 steps done")
        expect(viewer.get_by_role("button", name=re.compile("Mark as done"))).to_have_count(0)
        expect(viewer.get_by_role("link", name="Share")).to_have_count(0)
        expect(viewer.locator("textarea")).to_have_count(0)
        assert_accessible(viewer)

        # The helpdesk ticks a step and writes a note (htmx, no reload).
        page.goto(page.url.rsplit("/", 1)[0] + "/checklist")
        step = page.locator("li.step", has_text="Create the IAM user")
        step.get_by_role("button", name=re.compile("Mark as done")).click()
        expect(step.get_by_role("button", name=re.compile("Done"))).to_be_visible()
        expect(page.locator("#progress")).to_contain_text("1 of 9 steps done")  # out of band
        step.get_by_text("Add note").click()
        step.get_by_label(re.compile("Note on step 2")).fill("Created in the management account")
        step.get_by_role("button", name=re.compile("Save note")).click()
        expect(step.get_by_text("Note saved.")).to_be_visible()

        # The viewer's page catches up by itself: the summary and the step's state.
        expect(progress).to_contain_text("1 of 9 steps done", timeout=POLL_WAIT_MS)
        expect(viewer.locator("#state-create-user")).to_contain_text("Done ✓")
        expect(viewer.locator("#state-create-user")).to_contain_text("Done by anonymous")
        expect(viewer.locator("#state-enable-trusted-access")).to_contain_text("Not done yet")

        # And cannot tick, even by posting the form by hand with a valid CSRF token.
        csrf = next(c["value"] for c in viewer_context.cookies() if c["name"] == "cw_csrf")
        token = view_url.rsplit("/", 1)[1]
        answer = viewer.request.post(
            f"{base_url}/w/{token}/steps/enable-trusted-access?done=true",
            form={"csrf_token": csrf},
            headers={"Origin": base_url},
        )
        assert answer.status == 403
        viewer.reload()
        expect(progress).to_contain_text("1 of 9 steps done")
        assert viewer_errors == [], viewer_errors
    finally:
        viewer_context.close()
    assert console_errors == [], console_errors


def test_report_prints_as_a_clean_document(page: Page, base_url: str, console_errors: list[str]) -> None:
    start_wizard(page, base_url, check_accessibility=False)
    page.goto(page.url.rsplit("/", 1)[0] + "/report")
    print_button = page.get_by_role("button", name="Print")
    expect(print_button).to_be_visible()  # app.js shows it (hidden without JavaScript)
    expect(page.get_by_role("link", name="Download Markdown")).to_be_visible()
    assert_accessible(page)
    page.emulate_media(media="print")
    for hidden in (".steps", ".pager", ".report-actions", ".site-footer"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.get_by_role("heading", name="Report")).to_be_visible()
    expect(page.get_by_role("heading", name="Artifacts")).to_be_visible()
    expect(page.locator("code.digest").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert console_errors == []
