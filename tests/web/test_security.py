"""Hardening: CSRF on every unsafe route, headers on every response, limits, no echo, no traceback.

The sweeps enumerate the app's own route table, so a route added later is
covered without touching this file.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import cli
from app.main import _purge_forever, create_app
from app.store import db, share_links, steps, wizards
from app.store.database import Database
from app.web.ratelimit import CREATE_PATHS, LINK_PREFIXES, RateLimiter
from app.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import REPO, WizardClient, make_settings, make_sqlite_settings
from tests.web.routes import UNSAFE, concrete_path, endpoints, link_ids, mint_link

ORIGIN = "http://testserver"
SAME_SITE = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}


def csrf_cases() -> list[tuple[str, dict[str, str], bool, bool]]:
    """(name, extra headers, send the right token, send a cookie) that must all be refused."""
    return [
        ("no token", SAME_SITE, False, True),
        ("wrong token", SAME_SITE, False, True),
        ("no cookie", SAME_SITE, True, False),
        ("foreign Origin", {"Origin": "https://evil.example"}, True, True),
        ("cross-site fetch", {"Sec-Fetch-Site": "cross-site"}, True, True),
        ("same-site fetch", {"Sec-Fetch-Site": "same-site"}, True, True),
        (
            "foreign Origin, same-origin fetch",
            {"Origin": "http://testserver.evil", "Sec-Fetch-Site": "same-origin"},
            True,
            True,
        ),
    ]


def _send(
    client: WizardClient, method: str, path: str, *, is_api: bool, token: str | None, headers: dict[str, str]
) -> Any:
    # Redirects not followed: the page a redirect leads to must not answer for the route.
    all_headers = dict(headers)
    if is_api:
        if token is not None:
            all_headers["X-CSRF-Token"] = token
        return client.request(method, path, json={}, headers=all_headers, follow_redirects=False)
    data = {"note": "n", "version": "0", "which": "view", "label": "l", "days": "3"}
    if token is not None:
        data["csrf_token"] = token
    return client.request(method, path, data=data, headers=all_headers, follow_redirects=False)


def _unsafe_endpoints(client: WizardClient) -> list[Any]:
    app = client.app
    assert isinstance(app, FastAPI)
    found = endpoints(app, UNSAFE)
    # The sweep covers the routes this app has (and fails if it suddenly finds none).
    assert {"POST /wizards", "POST /me", "POST /w/{token}/links", "PUT /api/v1/wizards/{token}/plan"} <= {
        str(e) for e in found
    }
    return found


def test_csrf_sweep_refuses_every_unsafe_route_without_proof(client: WizardClient) -> None:
    token = client.new_wizard()
    view_link = mint_link(client, token)
    view_id = max(link_ids(client, token))
    assert view_link
    before = client.get(f"/api/v1/wizards/{token}").json()
    right = client.csrf()
    for endpoint in _unsafe_endpoints(client):
        path = concrete_path(endpoint.path, token=token, link_id=view_id)
        for name, headers, send_right, with_cookie in csrf_cases():
            sent = right if send_right else (None if name == "no token" else "A" * 43)
            if not with_cookie:
                client.cookies.delete("cw_csrf")
            response = _send(
                client, endpoint.method, path, is_api=endpoint.is_api, token=sent, headers=headers
            )
            if not with_cookie:
                client.cookies.set("cw_csrf", right)
            assert response.status_code == 403, (str(endpoint), name, response.status_code)
    # Nothing changed on the way.
    assert client.get(f"/api/v1/wizards/{token}").json() == before
    assert len(link_ids(client, token)) == 2


def test_csrf_sweep_lets_same_origin_requests_with_the_token_through(client: WizardClient) -> None:
    right = client.csrf()
    for endpoint in _unsafe_endpoints(client):
        # A fresh wizard per route: some of these revoke links.
        token = client.new_wizard()
        mint_link(client, token)
        view_id = max(link_ids(client, token))
        path = concrete_path(endpoint.path, token=token, link_id=view_id)
        for headers in (SAME_SITE, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "null"}, {}):
            response = _send(
                client, endpoint.method, path, is_api=endpoint.is_api, token=right, headers=headers
            )
            assert response.status_code != 403, (str(endpoint), headers, response.text[:300])
            assert response.status_code < 500


# --- headers ------------------------------------------------------------------


def assert_security_headers(response: Any, *, static: bool = False) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    if not static:
        assert headers["cache-control"] == "no-store"
        assert headers["x-robots-tag"] == "noindex, nofollow"


def test_headers_on_every_get_route(client: WizardClient) -> None:
    token = client.new_wizard()
    mint_link(client, token)
    app = client.app
    assert isinstance(app, FastAPI)
    gets = endpoints(app, frozenset({"GET"}))
    assert len(gets) >= 15
    for endpoint in gets:
        path = concrete_path(endpoint.path, token=token, link_id=1)
        response = client.get(path, follow_redirects=False)
        # A verification job id only exists while a run is kept in memory: 404 is its right answer here.
        expected = {200, 303} | ({404} if "{job_id}" in endpoint.path else set())
        assert response.status_code in expected, (str(endpoint), response.status_code)
        assert_security_headers(response)
    static = client.get("/static/app.css")
    assert static.status_code == 200
    assert_security_headers(static, static=True)
    assert static.headers.get("cache-control") != "no-store"


def _boom_app(settings: Any) -> FastAPI:
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("kaboom: secret-detail-7f3a")

    app.add_api_route("/boom", boom, methods=["GET"])
    app.add_api_route("/api/v1/boom", boom, methods=["GET"])
    return app


@pytest.fixture
def boom_client(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, link_rate_per_minute=2, max_body_bytes=2048, hsts=True)
    # HTTPS: with HSTS on, the CSRF cookie is Secure and only comes back over HTTPS.
    with WizardClient(
        _boom_app(settings), base_url="https://testserver", raise_server_exceptions=False
    ) as test_client:
        yield test_client


def test_headers_on_every_error_status(boom_client: WizardClient, caplog: pytest.LogCaptureFixture) -> None:
    token = boom_client.new_wizard()
    responses = {
        404: boom_client.get("/no/such/page"),
        405: boom_client.delete("/healthz"),
        413: boom_client.form_post("/me", {"name": "x" * 5000}),
        422: boom_client.form_post(f"/w/{token}/scope", {"scope": "account", "version": "not-a-number"}),
    }
    boom_client.get(f"/w/{token}/scope")
    responses[429] = boom_client.get(f"/w/{token}/scope")
    with caplog.at_level(logging.DEBUG):
        responses[500] = boom_client.get("/boom")
    for status, response in responses.items():
        assert response.status_code == status, (status, response.text[:200])
        assert_security_headers(response)
        assert response.headers["strict-transport-security"].startswith("max-age=")
    assert int(responses[429].headers["retry-after"]) >= 1


def test_generic_500_page_has_no_traceback_and_logs_no_detail(
    boom_client: WizardClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        page = boom_client.get("/boom")
        api = boom_client.get("/api/v1/boom")
    assert page.status_code == 500 and api.status_code == 500
    assert "Something went wrong" in page.text and "Nothing was changed" in page.text
    assert api.json() == {"detail": "The server failed to handle this request. Nothing was changed."}
    for text in (page.text, api.text, caplog.text):
        assert "secret-detail-7f3a" not in text
        assert "Traceback" not in text
    assert "unhandled RuntimeError" in caplog.text


def test_422_never_echoes_the_input(client: WizardClient) -> None:
    marker = "AKIAEXAMPLESECRET9876"
    token = client.new_wizard()
    api = client.put(
        f"/api/v1/wizards/{token}/steps/create-user",
        json={"done": marker, "extra": marker},
        headers={"X-CSRF-Token": client.csrf()},
    )
    assert api.status_code == 422
    assert marker not in api.text
    assert {"loc", "msg", "type"} <= set(api.json()["detail"][0])
    query = client.get("/api/v1/plan/policies", params={"dedicated_member_role": marker})
    assert query.status_code == 422 and marker not in query.text
    form = client.form_post(f"/w/{token}/scope", {"scope": "account", "version": marker})
    assert form.status_code == 422 and marker not in form.text
    assert "version" in form.text  # it says which field
    too_long = client.form_post("/me", {"name": marker * 20})
    assert too_long.status_code == 422 and marker not in too_long.text


def test_body_limit_is_413_for_declared_and_streamed_bodies(boom_client: WizardClient) -> None:
    big = b"a=" + b"x" * 4096
    declared = boom_client.post(
        "/me", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert declared.status_code == 413

    def chunks() -> Any:
        for _ in range(8):
            yield b"x" * 1024

    streamed = boom_client.post(
        "/me", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
    api = boom_client.post("/api/v1/wizards", content=big, headers={"Content-Type": "application/json"})
    assert api.status_code == 413 and api.json() == {"detail": "Request body too large."}


# --- templates ------------------------------------------------------------------

TEMPLATES = sorted((REPO / "templates").glob("*.html"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
HX_ON = re.compile(r"\bhx-on", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_code_or_style(template: Path) -> None:
    text = template.read_text()
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("style= attribute", STYLE_ATTR),
        ("<style> element", STYLE_TAG),
        ("on*= handler", HANDLER_ATTR),
        ("hx-on", HX_ON),
        ("javascript: URL", JS_URL),
    ]:
        assert not pattern.search(text), f"{template.name}: {name}"


def test_the_template_scan_finds_what_it_looks_for() -> None:
    bad = '<script>x()</script><p style="a" onclick="b()" hx-on:click="c">'
    for pattern in (INLINE_SCRIPT, STYLE_ATTR, HANDLER_ATTR, HX_ON):
        assert pattern.search(bad)
    assert not INLINE_SCRIPT.search('<script src="/static/app.js" defer></script>')
    assert len(TEMPLATES) >= 10


# --- rate limits ---------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate_and_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, capacity=3, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("a") == pytest.approx(1.0)
    assert limiter.hit("b") == 0.0  # per key
    clock.now += 0.5
    assert limiter.hit("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.hit("a") == 0.0
    clock.now += 3600
    assert [limiter.hit("a") for _ in range(4)][-1] > 0  # never more than the capacity
    clock.now -= 100  # a clock that goes back gives nothing
    assert limiter.hit("a") > 0


def test_token_bucket_memory_is_bounded() -> None:
    limiter = RateLimiter(per_minute=60, max_keys=100, clock=FakeClock())
    for n in range(10_000):
        limiter.hit(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100


def test_token_bucket_is_exact_under_threads() -> None:
    limiter = RateLimiter(per_minute=1, capacity=200, clock=FakeClock())
    allowed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(1 for _ in range(50) if limiter.hit("same") == 0.0)
        with lock:
            allowed.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 200


def test_link_prefix_is_rate_limited_per_client_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, link_rate_per_minute=5)
    with WizardClient(create_app(settings), base_url=ORIGIN) as client:
        token = client.new_wizard()  # creation counts too: 1
        statuses = [client.get(f"/w/{token}/scope").status_code for _ in range(4)]
        assert statuses == [200] * 4
        limited = client.get(f"/w/{token}/checklist")
        assert limited.status_code == 429
        wait = int(limited.headers["retry-after"])
        assert 1 <= wait <= math.ceil(60 / 5)
        assert "Too many requests" in limited.text
        api = client.get(f"/api/v1/wizards/{token}")
        assert api.status_code == 429 and "Too many requests" in api.json()["detail"]
        # Unknown tokens count as well (guessing costs the same).
        assert client.get("/w/" + "A" * 43 + "/scope").status_code == 429
        # Pages without a link are not limited.
        assert client.get("/").status_code == 200
        assert client.get("/healthz").status_code == 200
    with WizardClient(create_app(settings), base_url=ORIGIN, client=("2001:db8::1", 5000)) as other:
        # Another address has its own bucket (IPv6 counted per /64).
        assert other.get(f"/w/{token}/scope").status_code == 200


def test_every_share_link_route_is_rate_limited(tmp_path: Path) -> None:
    # The limit lives in the routers' guards (deps.page_guard, deps.api_guard):
    # a route added to a router without its guard would escape it; this sweep notices.
    settings = make_settings(tmp_path, link_rate_per_minute=1)
    with WizardClient(create_app(settings), base_url=ORIGIN) as client:
        token = client.new_wizard()  # the one request a minute
        app = client.app
        assert isinstance(app, FastAPI)
        limited = [
            e
            for e in endpoints(app, frozenset({"GET", *UNSAFE}))
            if e.path.startswith(LINK_PREFIXES) or e.path in CREATE_PATHS
        ]
        assert len(limited) > 20, limited
        for endpoint in limited:
            path = concrete_path(endpoint.path, token=token, link_id=1)
            response = _send(
                client, endpoint.method, path, is_api=endpoint.is_api, token=None, headers=SAME_SITE
            )
            assert response.status_code == 429, (endpoint, response.status_code)
            assert int(response.headers["retry-after"]) >= 1


def test_routes_sit_on_the_app_itself_not_in_nested_routers(client: WizardClient) -> None:
    # main.add_routes: a nested router costs two extra route walks per request.
    app = client.app
    assert isinstance(app, FastAPI)
    kinds = {type(route).__name__ for route in app.routes}
    # DirectRoute: an APIRoute that calls its dependencies itself (app/web/routing.py).
    assert kinds <= {"APIRoute", "DirectRoute", "LazyDirectRoute", "Route", "Mount"}, (
        kinds
    )  # app/web/lazy_route.py
    assert sum(isinstance(route, APIRoute) for route in app.routes) > 30


def test_ipv6_clients_share_a_bucket_per_64(tmp_path: Path) -> None:
    from starlette.requests import Request

    from app.web.ratelimit import client_key

    def key(host: str) -> str:
        return client_key(Request({"type": "http", "client": (host, 1), "headers": []}))

    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("::ffff:192.0.2.7") == "192.0.2.7"
    assert key("192.0.2.7") == "192.0.2.7"


# --- operator secret -----------------------------------------------------------


def _count(settings: Any, table: str) -> int:
    path = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names


def test_operator_secret_guards_wizard_creation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "op-secret-5b1d9c"
    settings = make_sqlite_settings(tmp_path, operator_secret=secret)
    with caplog.at_level(logging.DEBUG), WizardClient(create_app(settings), base_url=ORIGIN) as client:
        home = client.get("/")
        assert 'name="operator_secret"' in home.text and secret not in home.text
        for given in ("", "wrong", secret + "x"):
            refused = client.form_post("/wizards", {"operator_secret": given}, follow_redirects=False)
            assert refused.status_code == 403
            assert secret not in refused.text
        api = client.post("/api/v1/wizards", json={}, headers={"X-CSRF-Token": client.csrf()})
        assert api.status_code == 403 and "X-Operator-Secret" in api.json()["detail"]
        wrong = client.post(
            "/api/v1/wizards", json={}, headers={"X-CSRF-Token": client.csrf(), "X-Operator-Secret": "nope"}
        )
        assert wrong.status_code == 403
        assert _count(settings, "wizard") == 0
        made = client.form_post("/wizards", {"operator_secret": secret}, follow_redirects=False)
        assert made.status_code == 303
        made_api = client.post(
            "/api/v1/wizards", json={}, headers={"X-CSRF-Token": client.csrf(), "X-Operator-Secret": secret}
        )
        assert made_api.status_code == 201
        assert _count(settings, "wizard") == 2
        # A link holder does not need the secret: it guards creation only.
        token = str(made.headers["location"]).split("/")[2]
        assert client.get(f"/w/{token}/scope").status_code == 200
    assert secret not in caplog.text


# --- expiry housekeeping -------------------------------------------------------


def _seed_for_purge(settings: Any) -> tuple[str, str]:
    """Wizard A: only an expired edit link. Wizard B: an active edit link and a revoked view link."""
    from datetime import timedelta

    from app.domain.plan import Plan

    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    now = db.utcnow()
    old, _ = wizards.create_wizard(engine, plan=Plan(), actor="t", now=now - timedelta(days=40), link_days=30)
    kept, kept_token = wizards.create_wizard(engine, plan=Plan(), actor="t", now=now, link_days=30)
    link, _ = share_links.mint_link(
        engine, wizard_id=kept.id, kind="view", label="", actor="t", now=now, days=5
    )
    share_links.revoke_links(engine, wizard_id=kept.id, actor="t", now=now, link_id=link.id)
    steps.set_step_done(engine, wizard_id=old.id, step_id="create-user", done=True, actor="t", now=now)
    engine.dispose()
    return old.id, kept_token


def test_cli_purge_deletes_expired_and_revoked_links_and_orphaned_wizards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_sqlite_settings(tmp_path)
    _, kept_token = _seed_for_purge(settings)
    assert cli.main(["db", "purge", "--database-url", settings.database_url]) == 0
    assert capsys.readouterr().out.strip() == "purged 2 links and 1 wizards"
    assert _count(settings, "wizard") == 1
    assert _count(settings, "share_link") == 1
    assert _count(settings, "step_state") == 0  # went with its wizard
    assert cli.main(["db", "purge", "--database-url", settings.database_url]) == 0
    assert capsys.readouterr().out.strip() == "purged 0 links and 0 wizards"
    with WizardClient(create_app(settings), base_url=ORIGIN) as client:
        assert client.get(f"/w/{kept_token}/scope").status_code == 200


def test_the_server_purges_on_a_schedule_and_survives_a_failed_purge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_sqlite_settings(tmp_path, purge_interval_minutes=60)
    _seed_for_purge(settings)
    app = create_app(settings)
    with WizardClient(app, base_url=ORIGIN):
        task = app.state.purge_task
        assert task is not None and not task.done()  # the lifespan started it
    assert task.cancelled()  # and stopped it on shutdown
    assert _count(settings, "wizard") == 2  # an hour had not passed

    broken = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables: purge fails
    good = Database(settings.database_url)
    app.state.database = broken

    async def run() -> None:
        task = asyncio.create_task(_purge_forever(app, 0.01))
        await asyncio.sleep(0.1)
        app.state.database = good
        for _ in range(100):
            await asyncio.sleep(0.02)
            if _count(settings, "wizard") == 1:
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # Its own thread and event loop: Playwright's sync API may hold this thread's loop.
    runner = threading.Thread(target=lambda: asyncio.run(run()))
    with caplog.at_level(logging.INFO, logger="connector_wizard"):
        runner.start()
        runner.join(timeout=30)
    assert not runner.is_alive()
    broken.close()
    good.close()
    assert "purge failed" in caplog.text
    assert _count(settings, "wizard") == 1 and _count(settings, "share_link") == 1


def test_no_purge_task_when_the_interval_is_zero(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, purge_interval_minutes=0))
    with WizardClient(app, base_url=ORIGIN):
        assert app.state.purge_task is None


def test_cached_pages_escape_the_per_browser_values(client: WizardClient) -> None:
    # render.PageCache fills the display name and CSRF token into a cached page
    # without Jinja: the escaping must match what Jinja does on the first render.
    edit = client.new_wizard()
    client.form_post("/me", {"name": "Alice <b>&", "back": "/"})
    first = client.get(f"/w/{edit}/checklist").text  # rendered, then cached
    second = client.get(f"/w/{edit}/checklist").text  # from the cache
    for page in (first, second):
        assert "Alice &lt;b&gt;&amp;" in page and "Alice <b>" not in page
    client.cookies.set("cw_csrf", 'abcdefghijklmnopqrstu"><i>x')
    for _ in range(2):
        page = client.get(f"/w/{edit}/checklist").text
        assert '"><i>x' not in page
        assert "abcdefghijklmnopqrstu&#34;&gt;&lt;i&gt;x" in page
