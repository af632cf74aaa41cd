"""Start-up imports nothing it does not need (issue 14; docs/decisions.md#cold-start).

boto3 and botocore are only needed once a verification runs: app/web/verify.py
imports app/aws behind its lazy AWS seam. This runs a fresh interpreter, starts
the app (lifespan and migrations included), serves a page, and fails if either
was imported. Alembic is only needed when there is a migration to apply:
a start on a database already at head reads the version table itself
(app/store/db.py, the "at head" seam). SQLAlchemy and the store's modules
are only needed by the first request that reads the database: a restart
checks the revision with the standard library (app/store/database.py, the
"store on first use" seam). The time itself is measured by
bench/cold_start.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from app.domain.plan import Plan
from app.main import create_app
from app.store import db, wizards
from tests.conftest import make_settings

NOT_AT_START = ("boto3", "botocore", "moto")

PROGRAM = """
import json, sys
from fastapi.testclient import TestClient
import app.cli
from app.main import create_app
from app.settings import Settings

settings = Settings(
    _env_file=None, database_url=sys.argv[1], purge_interval_minutes=0, allowed_hosts="testserver"
)
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
    if sys.argv[2:] == ["api"]:
        assert client.get("/api/v1/plan/checklist").status_code == 200
        headers = {"X-CSRF-Token": client.cookies["cw_csrf"]}
        created = client.post("/api/v1/wizards", json={"scope": "account"}, headers=headers)
        assert created.status_code == 201, created.text
        assert client.get("/api/v1/wizards/" + created.json()["token"]).status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200
deep = {"sqlalchemy.orm", "pydantic.v1"} & set(sys.modules)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} | deep)))
"""


def _run(program: str, database_url: str, *args: str) -> Any:
    """Run `program` in a fresh interpreter; what it printed last, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", program, database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _start_and_list_imports(database_url: str) -> set[str]:
    loaded = set(_run(PROGRAM, database_url))
    assert "fastapi" in loaded  # the probe does see what start-up imported
    return loaded


def test_start_up_and_a_page_import_no_aws_sdk(tmp_path: Path) -> None:
    loaded = _start_and_list_imports(f"sqlite:///{tmp_path / 'start.sqlite3'}")
    assert loaded.isdisjoint(NOT_AT_START), sorted(loaded & set(NOT_AT_START))


def test_start_pages_the_api_and_its_schema_never_import_pydantic_v1(tmp_path: Path) -> None:
    # The "no pydantic.v1 check without pydantic.v1" seam (app/web/pydantic_v1.py).
    loaded = set(_run(PROGRAM, f"sqlite:///{tmp_path / 'v1.sqlite3'}", "api"))
    assert "fastapi" in loaded and "pydantic.v1" not in loaded


def test_a_restart_on_a_database_at_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.sqlite3'}"
    assert "alembic" in _start_and_list_imports(url)  # the first start migrates
    loaded = _start_and_list_imports(url)
    assert "alembic" not in loaded and "mako" not in loaded, sorted(loaded & {"alembic", "mako"})
    # The "tables without the ORM" seam (app/store/models.py): neither a start nor a page maps anything.
    assert "sqlmodel" not in loaded and "sqlalchemy.orm" not in loaded, sorted(
        loaded & {"sqlmodel", "sqlalchemy.orm"}
    )


GC_PROGRAM = """
import gc, json, sys
from fastapi.testclient import TestClient
from app.main import create_app
from app.settings import Settings

gc.disable()  # as `connector-wizard serve` starts a single-process server
settings = Settings(
    _env_file=None, database_url=sys.argv[1], purge_interval_minutes=0, allowed_hosts="testserver"
)
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def test_the_lifespan_switches_the_collector_back_on_after_start_up(tmp_path: Path) -> None:
    state = _run(GC_PROGRAM, f"sqlite:///{tmp_path / 'gc.sqlite3'}")
    assert state["enabled"] is True
    assert state["frozen"] > 10_000  # what start-up loaded is out of the collector's reach


LAZY_PROGRAM = """
import json, sys
from fastapi.testclient import TestClient
import app.cli
from app.main import create_app
from app.settings import Settings
from app.web.lazy_route import LazyRoute

settings = Settings(
    _env_file=None, database_url=sys.argv[1], purge_interval_minutes=0, allowed_hosts="testserver"
)
app = create_app(settings)
with TestClient(app) as client:
    assert client.get("/healthz").status_code == 200
    routes = [r for r in app.routes if isinstance(r, LazyRoute)]
    print(json.dumps({
        "routes": len(routes),
        "analysed": sorted(r.path for r in routes if r.analysed),
    }))
"""


def test_start_up_analyses_no_route_but_the_one_it_serves(tmp_path: Path) -> None:
    # The "routes analysed on first use" seam (app/web/lazy_route.py).
    state = _run(LAZY_PROGRAM, f"sqlite:///{tmp_path / 'lazy.sqlite3'}")
    assert state["routes"] > 30
    assert state["analysed"] == ["/healthz"]


def test_create_app_compiles_no_template(tmp_path: Path) -> None:
    templates = create_app(make_settings(tmp_path)).state.templates
    assert len(templates.cache) == 0, list(templates.cache)


CLI_GC_PROGRAM = """
import gc, json, sys
if sys.argv[1] == "off":
    gc.disable()
import app.cli
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def test_importing_the_cli_leaves_the_collector_as_it_was() -> None:
    # The first part of the "start-up without the cycle collector" seam (app/cli.py).
    on = _run(CLI_GC_PROGRAM, "on")
    assert on["enabled"] is True
    assert on["frozen"] > 10_000  # what the CLI's imports loaded is out of the collector's reach
    assert _run(CLI_GC_PROGRAM, "off")["enabled"] is False


FIRST_USE_PROGRAM = """
import json, sys, types
from fastapi.testclient import TestClient
import app.cli
from app.main import create_app
from app.settings import Settings

STORE = ["app.store." + name for name in ("db", "models", "prepared", "share_links", "steps", "wizards")]

def loaded():
    # type(), not an attribute: reading any attribute of a lazy module runs it.
    return ["sqlalchemy"] * ("sqlalchemy" in sys.modules) + [
        name for name in STORE if type(sys.modules.get(name)) is types.ModuleType
    ]

settings = Settings(
    _env_file=None, database_url=sys.argv[1], purge_interval_minutes=0, allowed_hosts="testserver"
)
seen = {}
with TestClient(create_app(settings)) as client:
    seen["start"] = loaded()
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
    seen["home"] = loaded()
    headers = {"X-CSRF-Token": client.cookies["cw_csrf"]}
    if len(sys.argv) < 3:  # the first start: a wizard for the restart to open
        created = client.post("/api/v1/wizards", json={"scope": "account"}, headers=headers)
        assert created.status_code == 201, created.text
        seen["token"] = created.json()["token"]
    else:
        token = sys.argv[2]
        seen["page"] = client.get(f"/w/{token}/checklist").status_code
        seen["after_page"] = loaded()
        seen["api"] = client.get(f"/api/v1/wizards/{token}").status_code
        seen["create"] = client.post("/api/v1/wizards", json={"scope": "account"}, headers=headers).status_code
        seen["ready"] = client.get("/readyz").json()
print(json.dumps(seen))
"""


def test_a_restart_loads_sqlalchemy_and_the_store_on_the_first_request_that_needs_them(
    tmp_path: Path,
) -> None:
    # The "store on first use" seam (app/store/database.py, app/store/__init__.py).
    url = f"sqlite:///{tmp_path / 'first-use.sqlite3'}"
    first = _run(FIRST_USE_PROGRAM, url)
    assert "sqlalchemy" in first["start"]  # a new database: migrated through the engine at start
    restart = _run(FIRST_USE_PROGRAM, url, first["token"])
    assert restart["start"] == [] and restart["home"] == []  # the home page reads no database either
    assert restart["page"] == 200 and restart["api"] == 200 and restart["create"] == 201
    store = ["db", "models", "prepared", "share_links", "steps", "wizards"]
    assert restart["after_page"] == ["sqlalchemy", *(f"app.store.{name}" for name in store)]
    assert restart["ready"] == {"status": "ok", "migration": db.head_revision()}


FIRST_REQUESTS = [
    "/w/{token}/checklist",
    "/w/{token}/scope",
    "/w/{token}/options",
    "/w/{token}/policies",
    "/w/{token}/report",
    "/w/{token}/activity",
    "/w/{token}/links",
    "/w/{token}/verify",
    "/w/{token}/report.json",
    "/api/v1/wizards/{token}",
    "/api/v1/plan/checklist",
    "/readyz",
]


def test_concurrent_first_requests_to_a_restarted_server_all_succeed(
    tmp_path: Path, start_server: Any
) -> None:
    # A real `serve` on a database at head, then every first request at once:
    # whichever creates the engine loads the store for all (app/store/database.py).
    url = f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    _, token = wizards.create_wizard(engine, plan=Plan(), actor="test", now=db.utcnow(), link_days=1)
    db.release_held_connections(engine)
    engine.dispose()
    server = start_server(url)
    paths = [path.format(token=token) for path in FIRST_REQUESTS]
    barrier = threading.Barrier(len(paths))

    def get(path: str) -> int:
        barrier.wait()
        return httpx.get(server.base_url + path, timeout=60).status_code

    with ThreadPoolExecutor(len(paths)) as pool:
        statuses = dict(zip(paths, pool.map(get, paths), strict=True))
    assert statuses == dict.fromkeys(paths, 200), server.log_text()[-3000:]
    assert "Traceback" not in server.log_text()
