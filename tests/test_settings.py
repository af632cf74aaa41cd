"""Settings fail fast and are all documented in the README."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.settings import ENV_PREFIX, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(
        re.findall(r"^\|\s*`(CONNECTOR_WIZARD_[A-Z0-9_]+)`", README.read_text(), flags=re.MULTILINE)
    )
    expected = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README table"
    assert documented - expected == set(), "README documents settings that do not exist"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("PORT", "99999"),
        ("LINK_DAYS", "400"),
        ("LOG_FORMAT", "xml"),
        ("FORWARDED_ALLOW_IPS", "proxy.internal"),
    ],
)
def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch, env: str, value: str) -> None:
    monkeypatch.setenv(ENV_PREFIX + env, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_are_safe() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.allow_server_credentials is False
    assert settings.operator_secret is None
    assert settings.is_sqlite
    assert settings.host == "127.0.0.1"


# `connector-wizard serve` in a fresh interpreter, counting the Settings it builds. The wrapper
# only counts: every construction still runs Settings' own __init__, and the server is real.
_COUNTING_SERVE = """
import atexit, sys
from app.settings import Settings

built = []
original = Settings.__init__

def counting(self, *args, **kwargs):
    built.append(1)
    original(self, *args, **kwargs)

Settings.__init__ = counting
atexit.register(lambda: print(f"Settings built: {len(built)}", file=sys.stderr, flush=True))
from app.cli import main
sys.exit(main(["serve"]))
"""


def test_serve_builds_its_settings_once(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(ENV_PREFIX)}
    environment |= {
        f"{ENV_PREFIX}DATABASE_URL": f"sqlite:///{tmp_path / 'once.sqlite3'}",
        f"{ENV_PREFIX}HOST": "127.0.0.1",
        f"{ENV_PREFIX}PORT": "0",
        f"{ENV_PREFIX}PURGE_INTERVAL_MINUTES": "0",
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", _COUNTING_SERVE], env=environment, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while not (found := re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log.read_text())):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.05)
            ready = httpx.get(found.group(1) + "/readyz", timeout=10)
            assert ready.status_code == 200  # the app runs with the settings the CLI built
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=30) == 0, log.read_text()[-3000:]
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)
    assert "Settings built: 1\n" in log.read_text(), log.read_text()[-3000:]
