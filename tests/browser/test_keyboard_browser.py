"""The whole wizard with the keyboard alone: every action reachable by Tab, focus visible, focus kept after a tick."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

FOCUSED = r"""() => {
  const e = document.activeElement;
  const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
  const text = `${e.innerText || ''} ${label} ${e.getAttribute('aria-label') || ''}`;
  return {text: text.replace(/\s+/g, ' ').replace(/ :/g, ':').trim(),
          visible: e.matches(':focus-visible'), tag: e.tagName};
}"""


def tab_to(page: Page, name: str, limit: int = 150) -> None:
    """Press Tab until the focused element's text or label matches `name`; its focus must show."""
    pattern = re.compile(name)
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if pattern.search(focused["text"]):
            assert focused["visible"], f"focus on {name!r} is not visible"
            return
        seen.append(focused["text"][:30])
    raise AssertionError(f"{name!r} not reachable by Tab; went through {seen[:40]}")


def test_keyboard_only_walk_through_the_wizard(page: Page, base_url: str, console_errors: list[str]) -> None:
    page.goto(base_url + "/")
    tab_to(page, "^Start a new wizard$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="1. Scope")).to_be_visible()

    tab_to(page, "Organization scope")
    page.keyboard.press("Space")
    tab_to(page, "^Save and continue$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="2. Options")).to_be_visible()

    tab_to(page, "^Europe$")  # a set of regions, ticked in place
    page.keyboard.press("Enter")
    expect(page.locator("input[name=regions][value=eu-west-1]")).to_be_checked()
    tab_to(page, "^Save and continue$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()

    tab_to(page, "^Next: Checklist$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="4. Checklist")).to_be_visible()
    # htmx (a deferred script) must be running, or the tick is a plain form post that reloads the page.
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")

    tab_to(page, "^Mark as done: Enable trusted access")
    page.keyboard.press("Enter")
    done = page.locator("#tick-enable-trusted-access")
    expect(done).to_have_text(re.compile("Done ✓"))
    # htmx swapped the button: focus stays on it, so the next Tab goes on from here.
    expect(done).to_be_focused()
    tab_to(page, "^Add note on step 1$")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Done from the keyboard")
    tab_to(page, "^Save note on step 1$")
    page.keyboard.press("Enter")
    expect(page.locator("#note-enable-trusted-access")).to_contain_text("Note saved.")

    tab_to(page, "^Next: Verify$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("5. Verify"))).to_be_visible()
    tab_to(page, "^Next: Report$")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Report")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Checklist: 1 of"))).to_be_visible()
    assert console_errors == []
