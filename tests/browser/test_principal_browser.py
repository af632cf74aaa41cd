"""The connector principal on the Options page (issue 13.2), in a real browser, with and without JavaScript.

Each choice is saved through the form and shows up where it matters: the
Options page offers DigiCert's method for each choice; the Roles Anywhere
inputs show only when that choice is made (JavaScript), and every field stays
usable without it; the pages a keyless plan changes are axe-clean at 390 and
1280 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.main import create_app
from tests.browser.conftest import LiveServer
from tests.browser.test_layout_browser import OVERFLOW
from tests.browser.test_wizard_browser import AXE
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

CA_PEM = (Path(__file__).resolve().parents[1] / "fixtures" / "example-sensor-ca.pem").read_text()
LEAF_PEM = (Path(__file__).resolve().parents[1] / "fixtures" / "example-sensor-leaf.pem").read_text()
PCA_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/12345678-1234-1234-1234-123456789012"
LABELS = {
    "iam-user": "IAM user with an access key",
    "instance-role": "EC2 instance role: no key",
    "roles-anywhere": "IAM Roles Anywhere: no key, the sensor's own certificate",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(Path(tmp_path_factory.mktemp("principal")))
    live = LiveServer(create_app(settings))
    url = live.start()
    yield url
    live.stop()


def _context(browser: Any, *, javascript: bool, width: int = 1280) -> Any:
    return browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)


def _new_options_page(page: Page, server: str, scope: str = "Organization scope") -> str:
    page.goto(server + "/")
    page.get_by_role("button", name="Start a new wizard").click()
    page.get_by_label(scope).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="2. Options")).to_be_visible()
    return page.url


def _fill_roles_anywhere(page: Page) -> None:
    page.get_by_label("The CA certificate that issues the sensor's certificate (PEM)").fill(CA_PEM)
    page.get_by_label("Sensor certificate's subject CN").fill("sensor-01.example.com")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("principal", list(LABELS))
def test_choosing_each_principal_saves_it_and_hands_off_its_connector_setting(
    browser: Any, server: str, principal: str, javascript: bool
) -> None:
    context = _context(browser, javascript=javascript)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        options = _new_options_page(page, server)
        roles_anywhere = page.locator("#roles-anywhere-fields")
        user_name = page.get_by_label(re.compile("^IAM user name"))
        # The default: the IAM user. With JavaScript only its own fields show.
        expect(page.get_by_label(LABELS["iam-user"])).to_be_checked()
        if javascript:
            expect(roles_anywhere).to_be_hidden()
            expect(page.get_by_label(re.compile("^Sensor role name"))).to_be_hidden()
        else:
            expect(roles_anywhere).to_be_visible()
        # Each choice names DigiCert's documented method(s) it uses.
        for value, text in {
            "iam-user": "Self-authentication (Direct input)",
            "instance-role": "Default AWS credential provider chain",
            "roles-anywhere": "AWS profile name",
        }.items():
            expect(page.locator(f"#principal-{value}-method")).to_contain_text(text)

        page.get_by_label(LABELS[principal]).check()
        if javascript:
            expect(roles_anywhere).to_be_visible() if principal == "roles-anywhere" else expect(
                roles_anywhere
            ).to_be_hidden()
            expect(user_name).to_be_visible() if principal == "iam-user" else expect(user_name).to_be_hidden()
        if principal == "roles-anywhere":
            _fill_roles_anywhere(page)
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()

        page.goto(options)
        expect(page.get_by_label(LABELS[principal])).to_be_checked()
        page.goto(options.replace("/options", "/checklist"))
        handoff = page.locator("#step-configure-connector")
        expected = {
            "iam-user": "Self-authentication (Direct input)",
            "instance-role": "Default AWS credential provider chain",
            "roles-anywhere": "AWS profile name",
        }[principal]
        expect(handoff).to_contain_text(expected)
        assert errors == []
    finally:
        context.close()


def test_with_javascript_a_hidden_field_is_not_sent(browser: Any, server: str) -> None:
    # Typed into Roles Anywhere's fields, then another choice: the hidden fields are
    # disabled, so the plan saves without them instead of being refused for them.
    context = _context(browser, javascript=True)
    page = context.new_page()
    try:
        _new_options_page(page, server, "Account scope")
        page.get_by_label(LABELS["roles-anywhere"]).check()
        _fill_roles_anywhere(page)
        page.get_by_label(LABELS["instance-role"]).check()
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_pem_that_is_not_a_ca_is_refused_next_to_its_field(
    browser: Any, server: str, javascript: bool
) -> None:
    context = _context(browser, javascript=javascript)
    page = context.new_page()
    try:
        options = _new_options_page(page, server)
        page.get_by_label(LABELS["roles-anywhere"]).check()
        page.get_by_label("The CA certificate that issues the sensor's certificate (PEM)").fill(LEAF_PEM)
        page.get_by_label("Sensor certificate's subject CN").fill("sensor-01.example.com")
        page.get_by_role("button", name="Save and continue").click()
        field = page.get_by_label("The CA certificate that issues the sensor's certificate (PEM)")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#trust_anchor_certificate-error")).to_contain_text("not a CA certificate")
        expect(page.locator("#roles-anywhere-fields")).to_be_visible()  # the error is never hidden
        expect(page.get_by_label(LABELS["roles-anywhere"])).to_be_checked()
        page.goto(options)
        expect(page.get_by_label(LABELS["iam-user"])).to_be_checked()  # nothing was saved
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_keyless_pages_are_accessible_and_fit(browser: Any, server: str, width: int) -> None:
    context = _context(browser, javascript=True, width=width)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []

    def check(name: str) -> None:
        measured = page.evaluate(OVERFLOW)
        if measured["scrollWidth"] > measured["width"]:
            problems.append(f"{name}@{width}: scrollWidth {measured['scrollWidth']}: {measured['offenders']}")
        problems.extend(
            f"{name}@{width}: {v['id']}: {[n['target'] for n in v['nodes']][:3]}"
            for v in AXE.run(page).response["violations"]
        )

    try:
        options = _new_options_page(page, server)
        for principal in LABELS:
            page.get_by_label(LABELS[principal]).check()
            check(f"options[{principal}]")
        _fill_roles_anywhere(page)
        page.get_by_label("The CA certificate that issues the sensor's certificate (PEM)").fill("not a pem")
        page.get_by_role("button", name="Save and continue").click()
        expect(page.locator("#trust_anchor_certificate-error")).to_be_visible()
        check("options[error]")
        _fill_roles_anywhere(page)
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_role("heading", name="3. Policies")).to_be_visible()
        for name in ("policies", "checklist", "verify", "report"):
            page.goto(options.replace("/options", f"/{name}"))
            check(name)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_the_secret_prefix_caveat_follows_the_principal_chosen(browser: Any, server: str) -> None:
    # With JavaScript the live preview swaps the caveat in (out of band): where to look in
    # CloudTrail names the connector of the principal chosen, before anything is saved.
    context = _context(browser, javascript=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _new_options_page(page, server)
        note = page.locator("#secret_prefix-note")
        expect(note).to_contain_text("look for the connector user's CreateSecret events")
        page.get_by_label(LABELS["instance-role"]).check()
        expect(note).to_contain_text("look for the connector sensor role's CreateSecret events")
        page.get_by_label(LABELS["iam-user"]).check()
        expect(note).to_contain_text("look for the connector user's CreateSecret events")
        page.get_by_label("Secret name prefix (least privilege)").fill("tlm-keys/")
        expect(note).to_contain_text("The Secrets Manager name prefix tlm-keys/ is")
        page.get_by_label(LABELS["roles-anywhere"]).check()
        page.get_by_label("The CA certificate that issues the sensor's certificate (PEM)").fill(CA_PEM)
        page.get_by_label("Sensor certificate's subject CN").focus()  # the certificate's change event
        # A person's pace: the CN is typed once the preview answered the certificate. (Typed
        # within the same few milliseconds, its input event's 400 ms wait is dropped with the
        # preview element the answer replaces.)
        expect(page.locator("#preview")).to_contain_text("needs the sensor certificate's subject CN")
        page.get_by_label("Sensor certificate's subject CN").fill("sensor-01.example.com")
        expect(note).to_contain_text("look for the connector sensor role's CreateSecret events")
        expect(page.locator("#preview")).to_contain_text("sensor role digicert-tlm-sensor")
        assert page.locator("#secret_prefix-note").count() == 1  # swapped, not added
    finally:
        context.close()
