"""Shared fixtures: a temporary database per test, the app, a client that speaks CSRF.

The database is a SQLite file by default. Under `scripts/with-postgres.sh`
(which sets CONNECTOR_WIZARD_TEST_POSTGRES_URL) tests asking for
`database_url` also run against a fresh PostgreSQL database each (marked
`postgres`), and CONNECTOR_WIZARD_TEST_BACKEND=postgresql moves every
`make_settings` app (the web tests) onto PostgreSQL too. With
CONNECTOR_WIZARD_REQUIRE_POSTGRES=1 (CI) a missing server fails the run
instead of skipping the PostgreSQL cases.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

# Hooks: a whole-suite run that collects fewer tests than tests/min-tests.txt fails, under xdist too.
from tests.floor import pytest_collection_finish, pytest_xdist_node_collection_finished  # noqa: F401

REPO = Path(__file__).resolve().parent.parent

POSTGRES_URL_ENV = "CONNECTOR_WIZARD_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "CONNECTOR_WIZARD_REQUIRE_POSTGRES"
BACKEND_ENV = "CONNECTOR_WIZARD_TEST_BACKEND"


def postgres_server_url() -> str:
    """The test server's URL; skips (or fails, when PostgreSQL is required) without one."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if not url:
        message = f"{POSTGRES_URL_ENV} is not set (run under scripts/with-postgres.sh)"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


def new_postgres_database() -> str:
    """CREATE a fresh, empty database on the test server; return its URL.

    Left for the throwaway cluster to take with it (with-postgres.sh deletes it).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server_url())
    name = f"cw_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def default_database_url(tmp_path: Path) -> str:
    if os.environ.get(BACKEND_ENV) == "postgresql":
        return new_postgres_database()
    return f"sqlite:///{tmp_path / 'wizard.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind: a SQLite file, and a PostgreSQL database."""
    if request.param == "postgresql":
        return new_postgres_database()
    return f"sqlite:///{tmp_path / 'wizard.sqlite3'}"


def make_sqlite_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on a SQLite file whatever backend the run uses: for tests that read the file itself."""
    return make_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'wizard.sqlite3'}", **overrides)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": default_database_url(tmp_path),
        "purge_interval_minutes": 0,
        # The test client's Host (http://testserver), besides the default local names.
        "allowed_hosts": "testserver",
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
def sqlite_settings(tmp_path: Path) -> Settings:
    return make_sqlite_settings(tmp_path)


@pytest.fixture
def sqlite_client(sqlite_settings: Settings) -> Iterator[WizardClient]:
    """A client of an app on a SQLite file, for tests that read the file itself."""
    with WizardClient(create_app(sqlite_settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def client(settings: Settings) -> Iterator[WizardClient]:
    with WizardClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


# The random seed of this run's random fuzzing (schemathesis), printed in the
# report header; set it to replay a run.
FUZZ_SEED_ENV = "CONNECTOR_WIZARD_FUZZ_SEED"
FUZZ_SEED = int(os.environ.get(FUZZ_SEED_ENV) or secrets.randbelow(2**32))


def pytest_report_header() -> str:
    return f"random fuzzing seed: {FUZZ_SEED} (replay: {FUZZ_SEED_ENV}={FUZZ_SEED})"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files under tests/golden")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadgroup`, pyproject addopts) every browser test is in one
    group, which one worker runs: one browser and one live server per run, as without
    xdist, and not one chromium per worker. A `same_worker` module is a group of its
    own: its last test reads what the others left in the process (docs/decisions.md#ci-time)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif item.get_closest_marker("same_worker"):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


class ServerProcess:
    """`connector-wizard serve` in its own process on 127.0.0.1 (port 0), logging to a file."""

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        import subprocess
        import sys

        self.log_path = log_path
        environment = {
            **{key: value for key, value in os.environ.items() if not key.startswith("CONNECTOR_WIZARD_")},
            "CONNECTOR_WIZARD_DATABASE_URL": database_url,
            "CONNECTOR_WIZARD_HOST": "127.0.0.1",
            "CONNECTOR_WIZARD_PORT": "0",
            "CONNECTOR_WIZARD_PURGE_INTERVAL_MINUTES": "0",
            **env,
        }
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=REPO,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.base_url = self._wait_for_port()

    def _wait_for_port(self) -> str:
        import re
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = re.search(
                r"Uvicorn running on (http://127\.0\.0\.1:\d+)", self.log_path.read_text(errors="replace")
            )
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"server did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """A factory: start_server(database_url, **CONNECTOR_WIZARD_env) -> ServerProcess; all stopped after."""
    servers: list[ServerProcess] = []

    def start(database_url: str, **env: str) -> ServerProcess:
        server = ServerProcess(database_url, tmp_path / f"server-{len(servers)}.log", **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


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
