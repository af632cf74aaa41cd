"""The wizard in a real browser: both scopes end to end, ticks survive a reload, axe finds nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

AXE = Axe()


def assert_accessible(page: Page) -> None:
    results = AXE.run(page)
    violations = results.response["violations"]
    summary = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert summary == [], f"axe violations on {page.url}: {summary}"


def start_wizard(page: Page, base_url: str, *, check_accessibility: bool = True) -> str:
    page.goto(base_url + "/")
    if check_accessibility:  # axe runs as page script: not with JavaScript off
        assert_accessible(page)
    page.get_by_role("button", name="Start a new wizard").click()
    expect(page.get_by_role("heading", name="1. Scope")).to_be_visible()
    match = re.search(r"/w/([A-Za-z0-9_-]{43})/scope", page.url)
    assert match, page.url
    return match.group(1)


def test_organization_scope_end_to_end(page: Page, base_url: str, console_errors: list[str]) -> None:
    token = start_wizard(page, base_url)
    assert_accessible(page)
    page.get_by_label("Organization scope").check()
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="2. Options")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Common IAM role name").fill("DigiCertTLMRole")
    # htmx live preview: the role name appears in the preview without saving.
    expect(page.locator("#preview")).to_contain_text("arn:aws:iam::*:role/DigiCertTLMRole")
    page.get_by_label("eu-west-1").check()
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()
    assert_accessible(page)
    expect(page.locator("#inline-documented")).to_contain_text("arn:aws:iam::*:role/DigiCertTLMRole")
    expect(page.locator("#inline-corrected")).to_contain_text('"Resource": "*"')
    expect(page.get_by_text("RESOURCE_MISMATCH").first).to_be_visible()

    page.get_by_role("button", name="Next: Checklist").click()
    expect(page.get_by_role("heading", name="4. Checklist")).to_be_visible()
    assert_accessible(page)
    for title in ["Enable trusted access", "Create the IAM user", "Add the inline policy"]:
        step = page.locator("li.step", has_text=title)
        expect(step.locator("article")).to_have_css("border-left-width", "0px")
        step.get_by_role("button", name=re.compile("Mark as done")).click()
        expect(step.get_by_role("button", name=re.compile("Done"))).to_be_visible()
        # The done mark (the article's left border) follows the swapped status.
        expect(step.locator("article")).not_to_have_css("border-left-width", "0px")
    # htmx swapped only the steps' status: still on the same page, now reload.
    page.reload()
    done = page.locator("li.step .step-status.done")
    expect(done).to_have_count(3)
    expect(page.locator("li.step", has_text="Create the IAM user").locator(".step-status")).to_have_class(
        re.compile("done")
    )

    # One primary action: Next leads to Verify; the report is in the step list.
    expect(page.get_by_role("button", name=re.compile("^Next"))).to_have_text("Next: Verify")
    steps = page.get_by_role("navigation", name="Wizard steps")
    expect(steps.locator("li.step-started")).to_contain_text("3 of 9 ticked")
    steps.get_by_role("link", name=re.compile("Report")).click()
    expect(page.get_by_role("heading", name=re.compile("Checklist: 3 of 9 done"))).to_be_visible()
    assert_accessible(page)
    assert token in page.url
    assert console_errors == []


def test_account_scope_without_javascript_features(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    start_wizard(page, base_url)
    page.get_by_label("Account scope").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_label("Common IAM role name")).to_have_count(0)
    page.get_by_label("IAM user name").fill("bad/name")
    page.get_by_role("button", name="Save and continue").click()
    # The error is announced next to the field; nothing saved.
    expect(page.locator("#user_name-error")).to_contain_text("An IAM name has only")
    assert_accessible(page)
    page.get_by_label("IAM user name").fill("tlm-account-user")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()
    expect(page.get_by_role("heading", name="Inline policy")).to_have_count(0)
    page.get_by_role("button", name="Next: Checklist").click()
    expect(page.locator("li.step")).to_have_count(5)
    # The invalid form post was answered 422 on purpose; Chromium logs that status.
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_pages_work_with_javascript_disabled(browser: Any, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        start_wizard(page, base_url, check_accessibility=False)
        page.get_by_role("link", name=re.compile("Checklist")).click()
        step = page.locator("li.step", has_text="Create the IAM user")
        step.get_by_role("button", name=re.compile("Mark as done")).click()
        # A plain form post and redirect back to the checklist.
        expect(page.locator("li.step .step-status.done")).to_have_count(1)
        # And back: the form asks for the other state in its URL.
        step.get_by_role("button", name=re.compile("Done ✓")).click()
        expect(page.locator("li.step .step-status.done")).to_have_count(0)
        expect(step.get_by_role("button", name=re.compile("Mark as done"))).to_be_visible()
    finally:
        context.close()


def test_dedicated_member_role_bundle_download_and_reasons(page: Page, base_url: str, tmp_path: Any) -> None:
    start_wizard(page, base_url)
    page.get_by_role("link", name=re.compile("Options")).click()
    page.get_by_label("Common IAM role name").fill("TLMMemberRole")
    page.get_by_label("Deploy a dedicated least-privilege member role with this name").check()
    page.get_by_label("Least privilege (custom, scoped policies)").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name=re.compile("Dedicated member role"))).to_be_visible()
    assert_accessible(page)
    # Why each permission is there: open the first explanation and read it.
    first = page.locator("#why-heading ~ details").first
    first.locator("summary").click()
    expect(first.locator("table")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name=re.compile("Download everything")).click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    import zipfile

    names = zipfile.ZipFile(target).namelist()
    assert any(name.endswith("cloudformation/member-role-stackset.yaml") for name in names)
    assert any(name.endswith("manifest.json") for name in names)


def test_elb_option_reaches_policies_checklist_and_bundle(page: Page, base_url: str) -> None:
    start_wizard(page, base_url)
    page.get_by_role("link", name=re.compile("Options")).click()
    page.get_by_label("Also automate ELB listeners").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()
    expect(page.get_by_text("arn:aws:iam::aws:policy/ElasticLoadBalancingFullAccess").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Next: Checklist").click()
    expect(page.locator("#step-attach-ElasticLoadBalancingFullAccess")).to_have_count(1)
    # Least privilege: the scoped ELB policy and its document; the choice survives a reload.
    page.get_by_role("link", name=re.compile("Options")).click()
    expect(page.get_by_label("Also automate ELB listeners")).to_be_checked()
    page.get_by_label("Least privilege (custom, scoped policies)").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("DigiCertTLMElasticLoadBalancing").first).to_be_visible()
    expect(page.get_by_text("policy-elastic-load-balancing.json").first).to_be_visible()


def test_failed_htmx_requests_and_limits_are_told(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    """A note over the server's body limit (413) is not dropped silently; counters warn before submit."""
    start_wizard(page, base_url, check_accessibility=False)
    page.goto(page.url.rsplit("/", 1)[0] + "/options")
    role = page.get_by_label("Common IAM role name")
    role.fill("R" * 200)  # pasted: nothing cuts it to 64 behind the person's back
    expect(role).to_have_value("R" * 200)
    expect(page.locator("#role_name-counter")).to_have_text("Too long: 200 characters, at most 64.")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#role_name-error")).to_contain_text("Too long: IAM allows at most 64 characters.")

    page.goto(page.url.rsplit("/", 1)[0] + "/checklist")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    step = page.locator("li.step", has_text="Create the IAM user")
    step.get_by_text("Add note").click()
    note = step.get_by_label(re.compile("Note on step 2"))
    note.fill("x" * 70_000)  # more than the server's 64 KiB body limit: it answers 413
    expect(step.locator("small.counter")).to_have_text("Too long: 70000 characters, at most 2000.")
    step.get_by_role("button", name=re.compile("Save note")).click()
    feedback = step.locator(".request-feedback[role=alert]")
    expect(feedback).to_contain_text("Too long")
    expect(feedback).to_contain_text("Nothing was saved")
    # A good save afterwards clears the message.
    note.fill("Created in the management account")
    step.get_by_role("button", name=re.compile("Save note")).click()
    expect(step.get_by_text("Note saved.")).to_be_visible()
    expect(feedback).to_have_count(0)
    # Chromium and htmx log the refused statuses themselves (422, 413); nothing else may appear.
    expected = ("status of 413", "status of 422", "Response Status Error Code 413")
    assert [e for e in console_errors if not any(x in e for x in expected)] == []


def test_the_preview_follows_a_change_made_while_a_preview_is_on_its_way(
    page: Page, base_url: str, console_errors: list[str]
) -> None:
    """The last choice typed is the one previewed, even when it was typed while an earlier preview was in flight.

    The first preview request is held by the browser until the second change is
    typed, so the race is not left to timing (docs/ux.md#pages, live preview).
    """
    start_wizard(page, base_url, check_accessibility=False)
    page.get_by_label("Organization scope").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="2. Options")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")

    held: list[Any] = []
    sent: list[str] = []

    def hold_the_first(route: Any) -> None:
        sent.append(route.request.url)
        if not held:
            held.append(route)  # answered below, after the second change
        else:
            route.continue_()

    page.route(re.compile(r"/options/preview\?"), hold_the_first)
    role = page.get_by_label("Common IAM role name")
    role.fill("FirstChoice")
    for _ in range(100):  # the route handler runs while the page waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1 and "FirstChoice" in held[0].request.url, sent
    role.fill("SecondChoice")
    page.wait_for_timeout(600)  # past the 400 ms that typing waits before it asks
    assert len(sent) == 1, sent  # the second waits for the first's answer
    held[0].continue_()
    expect(page.locator("#preview")).to_contain_text("role/SecondChoice")
    assert len(sent) == 2 and "SecondChoice" in sent[1], sent
    assert console_errors == []  # nothing was cancelled
