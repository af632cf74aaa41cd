"""Regenerate the screenshots in docs/screens: every page at 390 and 1280 px.

A live server on loopback in demo mode (a local AWS emulator, no real AWS),
Debian's chromium, the same walk as the layout tests (tests/browser/tour.py).
The README shows two of them.

Usage: .venv/bin/python scripts/screenshots.py [--out DIR] [--full] [--dark] [--only NAME ...] [--width W ...]
  --full   whole pages (default: at most MAX_HEIGHT px tall, which keeps docs/ small)
  --dark   with prefers-color-scheme: dark (file names end in -dark)
  --only   just these pages (names as in tests/browser/tour.py); --width: just these widths
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from playwright.sync_api import sync_playwright

from app.main import create_app
from app.settings import Settings
from tests.browser.tour import build_tour
from tests.live import LiveServer

ROOT = Path(__file__).resolve().parent.parent
# Debian's browser, as in tests/browser/conftest.py (not imported: it is a pytest plugin module).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREEN_WIDTHS = (390, 1280)
MAX_HEIGHT = 2200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--width", nargs="*", type=int, default=list(SCREEN_WIDTHS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scheme: Literal["dark", "light"] = "dark" if args.dark else "light"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{Path(tmp) / 'screens.sqlite3'}",
            demo=True,
            purge_interval_minutes=0,
        )
        server = LiveServer(create_app(settings))
        url = server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                tour = build_tour(page, url)
                for width in args.width:
                    context = browser.new_context(
                        viewport={"width": width, "height": 900}, color_scheme=scheme
                    )
                    shot = context.new_page()
                    for name, address in tour.pages.items():
                        if args.only and name not in args.only:
                            continue
                        shot.goto(address)
                        suffix = "-dark" if args.dark else ""
                        target = args.out / f"{name}-{width}{suffix}.png"
                        if args.full:
                            shot.screenshot(path=str(target), full_page=True)
                        else:
                            height = min(shot.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
                            shot.screenshot(
                                path=str(target),
                                full_page=True,
                                clip={"x": 0, "y": 0, "width": width, "height": height},
                            )
                        print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
                    context.close()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
