"""Browser tests: Playwright for Python driving Debian's chromium, loopback only.

One live server (uvicorn in a thread on 127.0.0.1, port 0) and one browser per
test session; each test gets a fresh browser context (pytest-playwright).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.main import create_app
from tests.conftest import make_settings

# Keep Playwright's bookkeeping inside the project, not in the home folder.
os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", str(Path(__file__).resolve().parents[2] / ".playwright"))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class LiveServer:
    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("browser"))
    server = LiveServer(create_app(settings))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    # Defined here: pytest-playwright's own fallback raises a deprecation warning.
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # Never leave loopback.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        ],
    }


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Console errors and CSP violations seen on the page during the test."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture(autouse=True)
def _fail_fast(page: Any) -> None:
    # Pages here are local and small: 10 s is already generous; 30 s only slows failures.
    page.set_default_timeout(10_000)
