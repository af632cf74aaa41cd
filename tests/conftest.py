"""Shared fixtures: a temporary SQLite file per test, the app, a client that speaks CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'wizard.sqlite3'}",
        "purge_interval_minutes": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


class WizardClient(TestClient):
    """A TestClient that fetches a CSRF cookie first and sends the token like a browser form would."""

    def csrf(self) -> str:
        if not self.cookies.get("cw_csrf"):
            self.get("/")
        token = self.cookies.get("cw_csrf")
        assert token
        return token

    def form_post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def new_wizard(self) -> str:
        """Create a wizard through the home page form; return its edit token."""
        response = self.form_post("/wizards", follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).split("/")[2]


@pytest.fixture
def client(settings: Settings) -> Iterator[WizardClient]:
    with WizardClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files under tests/golden")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


# --- AWS: one moto server per test session (issue 4) ----------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """moto's ThreadedMotoServer on 127.0.0.1 and a free port, shared by the whole session.

    Starting it and loading its service models costs ~1 s; tests forget its
    state with moto's reset API (POST /moto-api/reset) through `endpoint`.
    """
    from app.aws.demo import DemoEmulator

    emulator = DemoEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def endpoint(moto_server: Any) -> str:
    """The moto server's URL, with every resource of earlier tests forgotten."""
    moto_server.reset()
    return str(moto_server.url)
