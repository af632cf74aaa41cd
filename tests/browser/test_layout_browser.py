"""Every page at every width: no sideways scroll, no CSP violation, axe-clean (light and dark).

One demo-mode server and one walk through a filled-in organization wizard
(tests/browser/tour.py) serve every test in this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from tests.browser.conftest import LiveServer
from tests.browser.test_wizard_browser import AXE
from tests.browser.tour import WIDTHS, Tour, build_tour
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

# What sticks out past the right edge of the screen, skipping what scrolls inside its own box.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const right = el.getBoundingClientRect().right;
    if (right > width + 1 && !el.parentElement.closest('.table-wrap, pre')) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} → ${Math.round(right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, offenders: out.slice(0, 5)};
}"""

MATRIX = """() => {
  const box = document.querySelector('table.matrix')?.closest('.table-wrap');
  return box ? [box.scrollWidth, box.clientWidth] : null;
}"""


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory, moto_server: Any, browser: Any) -> Iterator[Tour]:
    moto_server.reset()
    settings = make_settings(
        Path(tmp_path_factory.mktemp("layout")), demo=True, aws_endpoint_url=str(moto_server.url)
    )
    server = LiveServer(create_app(settings))
    url = server.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield build_tour(page, url)
    finally:
        context.close()
        server.stop()


def _visit_all(browser: Any, tour: Tour, width: int, check: Any, color_scheme: str = "light") -> list[str]:
    """Open every page of the tour at `width`; `check(page, name)` returns problems; console errors count too."""
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=color_scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems: list[str] = []
    try:
        for name, address in tour.pages.items():
            errors.clear()
            page.goto(address)
            problems += [f"{name}@{width}: {p}" for p in check(page, name)]
            # The 404 page is answered 404 on purpose; Chromium logs that status.
            real = [e for e in errors if not (name == "not-found" and "status of 404" in e)]
            problems += [f"{name}@{width}: console: {e}" for e in real]
    finally:
        context.close()
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browser: Any, tour: Tour, width: int) -> None:
    def check(page: Any, name: str) -> list[str]:
        measured = page.evaluate(OVERFLOW)
        if measured["scrollWidth"] > measured["width"]:
            return [f"scrollWidth {measured['scrollWidth']} > {measured['width']}: {measured['offenders']}"]
        if name.endswith("verify") and width >= 1280:
            # The member-account matrix fits a laptop screen without scrolling its own box.
            box = page.evaluate(MATRIX)
            if box and box[0] > box[1]:
                return [f"the account matrix needs {box[0]} px in a {box[1]} px box"]
        return []

    assert _visit_all(browser, tour, width, check) == []


# Phones in light mode, wide screens in dark mode: both colour schemes' contrast is checked.
@pytest.mark.parametrize(("width", "scheme"), [(390, "light"), (1280, "dark")])
def test_every_page_is_accessible(browser: Any, tour: Tour, width: int, scheme: str) -> None:
    def check(page: Any, name: str) -> list[str]:
        return [
            f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
            for v in AXE.run(page).response["violations"]
        ]

    problems = _visit_all(browser, tour, width, check, color_scheme=scheme)
    assert problems == [], "\n".join(problems)


def test_the_report_prints_on_a4_without_cut_tables(browser: Any, tour: Tour) -> None:
    """A4 less print.css's 15 mm margins is 180 mm, 680 CSS px: nothing may be wider when printed."""
    context = browser.new_context(viewport={"width": 680, "height": 1000})
    page = context.new_page()
    try:
        page.goto(tour.pages["report"])
        page.emulate_media(media="print")
        measured = page.evaluate(OVERFLOW.replace("!el.parentElement.closest('.table-wrap, pre')", "true"))
        assert measured["scrollWidth"] <= 680, measured
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
    finally:
        context.close()
