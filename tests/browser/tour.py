"""A walk through every page of a filled-in wizard, shared by the layout tests and scripts/screenshots.py.

`build_tour` drives a real browser through an organization wizard in demo mode
(options saved, a few steps ticked, a note, a verification run, a view link
minted) and returns the URL of every page a person can reach, by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

WIDTHS = (390, 768, 1280, 1920)


@dataclass(frozen=True)
class Tour:
    base_url: str
    edit_token: str
    view_token: str
    pages: dict[str, str]  # name -> absolute URL


def _token(url: str) -> str:
    match = re.search(r"/w/([A-Za-z0-9_-]{43})", url)
    assert match, url
    return match.group(1)


def build_tour(page: Page, base_url: str, *, verify: bool = True) -> Tour:
    """Fill in an organization wizard through the UI; return every page's URL."""
    page.goto(base_url + "/")
    page.get_by_role("button", name="Start a new wizard").click()
    edit = _token(page.url)
    w = f"{base_url}/w/{edit}"
    page.get_by_label("Organization scope").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="2. Options")).to_be_visible()
    page.get_by_label("Common IAM role name").fill("DigiCertTLMConnectorMemberRole")
    page.get_by_label("Deploy a dedicated least-privilege member role with this name").check()
    page.get_by_label("Use AWS Secrets Manager for temporary private keys").check()
    page.locator("input[name=regions][value=eu-west-1]").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()

    # A few ticks and a note, through plain form posts (no timing to wait for).
    page.goto(f"{w}/checklist")
    for step_id in ("enable-trusted-access", "create-user"):
        page.locator(f"#status-{step_id} form button").click()
        expect(page.locator(f"#status-{step_id}.done")).to_have_count(1)
    if verify:
        page.goto(f"{w}/verify")
        page.get_by_role("button", name="Run as the demo connector").click()
        expect(page.get_by_role("heading", name=re.compile("Results: "))).to_be_visible(timeout=60_000)

    page.goto(f"{w}/links")
    page.get_by_label(re.compile("^Label")).fill("Customer helpdesk ticket 4711")
    page.get_by_role("button", name="Make link").click()
    view = _token(page.locator("#minted-url").inner_text())
    v = f"{base_url}/w/{view}"
    pages = {
        "home": f"{base_url}/",
        "scope": f"{w}/scope",
        "options": f"{w}/options",
        "policies": f"{w}/policies",
        "checklist": f"{w}/checklist",
        "verify": f"{w}/verify",
        "report": f"{w}/report",
        "share": f"{w}/links",
        "activity": f"{w}/activity",
        "view-checklist": f"{v}/checklist",
        "view-verify": f"{v}/verify",
        "view-options": f"{v}/options",
        "not-found": f"{base_url}/w/{'x' * 43}/scope",
    }
    return Tour(base_url, edit, view, pages)
