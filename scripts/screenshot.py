"""Regenerate docs/screenshot.png: a live server on loopback, Debian's chromium, the policies page.

Usage: .venv/bin/python scripts/screenshot.py [PAGE]   (PAGE: policies, options, checklist, report)
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.main import create_app
from tests.browser.conftest import CHROMIUM
from tests.conftest import make_settings
from tests.live import LiveServer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    page_name = sys.argv[1] if len(sys.argv) > 1 else "policies"
    out = ROOT / "docs" / ("screenshot.png" if page_name == "policies" else f"screenshot-{page_name}.png")
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(create_app(make_settings(Path(tmp))))
        url = server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(url + "/")
                page.get_by_role("button", name="Start a new wizard").click()
                token = re.search(r"/w/([^/]+)/", page.url).group(1)  # type: ignore[union-attr]
                page.goto(f"{url}/w/{token}/options")
                page.get_by_label("Common IAM role name").fill("DigiCertTLMRole")
                page.get_by_role("button", name="Save and continue").click()
                page.goto(f"{url}/w/{token}/{page_name}")
                page.screenshot(path=str(out), full_page=page_name != "policies")
                browser.close()
        finally:
            server.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
