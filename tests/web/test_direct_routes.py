"""DirectRoute (app/web/routing.py): routes that call their dependencies without FastAPI solving them.

The seam must not change an answer: every direct route is asked the same
requests served directly and through FastAPI's own handler (the
`serve_directly` switch), valid ones and each kind of refusal (unknown,
too long and view-only links, a bad query value, a missing CSRF token), and
the answers must be the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.main import create_app
from app.web.routing import DirectRoute, serve_directly
from tests.conftest import WizardClient, make_settings
from tests.web.routes import concrete_path, mint_link

# Per-request values in an answer: the time a report or an evidence file is generated.
_TIME = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00| UTC)?")


@pytest.fixture
def unlimited(tmp_path: Path) -> Iterator[WizardClient]:
    """A client of an app without the per-address limit: the comparison sends ~1,000 requests."""
    settings = make_settings(tmp_path, link_rate_per_minute=0)
    with WizardClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


def _direct_routes(app: FastAPI) -> list[DirectRoute]:
    return [route for route in app.router.routes if isinstance(route, DirectRoute) and route.direct]


def _answer(response: Any) -> tuple[int, str, str | None, bytes]:
    return (
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("location"),
        _TIME.sub(b"TIME", response.content),
    )


def test_every_route_is_a_direct_route_and_every_wizard_page_and_the_wizard_api_are_served_directly(
    client: WizardClient,
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    api_routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert api_routes and all(isinstance(route, DirectRoute) for route in api_routes)
    direct = {(method, route.path) for route in _direct_routes(app) for method in route.methods}
    pages = {
        ("GET", route.path) for route in api_routes if "GET" in route.methods and route.path.startswith("/w/")
    }
    assert pages and pages <= direct
    assert {
        ("GET", "/api/v1/wizards/{token}"),
        ("GET", "/api/v1/plan/checklist"),
        ("GET", "/api/v1/plan/policies"),
        ("POST", "/w/{token}/steps/{step_id}"),
        ("GET", "/healthz"),
    } <= direct
    # A route with a form or a body is left to FastAPI.
    assert ("POST", "/w/{token}/steps/{step_id}/note") not in direct


def test_a_direct_route_answers_as_fastapis_handler_would(unlimited: WizardClient) -> None:
    client = unlimited
    app = client.app
    assert isinstance(app, FastAPI)
    token = client.new_wizard()
    view = mint_link(client, token, kind="view")
    tokens = {"edit": token, "view": view, "unknown": "A" * 43, "too long": "A" * 101}
    csrf = client.csrf()
    compared = 0
    for route in _direct_routes(app):
        for method in sorted(route.methods):
            for kind, value in tokens.items():
                path = concrete_path(route.path, token=value, link_id=1)
                # Unknown query values are ignored; a route that reads one refuses a bad value.
                for query in ("", "?new=maybe&page=abc&run=x", "?page=0&new=true"):
                    if method == "GET":
                        requests: list[dict[str, Any]] = [{}, {"headers": {"HX-Request": "true"}}]
                    elif kind == "edit":
                        continue  # a valid write changes the wizard: only refusals are compared
                    else:
                        requests = [{}, {"headers": {"X-CSRF-Token": csrf}}]
                    for extra in requests:
                        answers = []
                        for direct in (True, False):
                            serve_directly(app.router.routes, direct)
                            try:
                                response = client.request(
                                    method, path + query, follow_redirects=False, **extra
                                )
                            finally:
                                serve_directly(app.router.routes, True)
                            answers.append(_answer(response))
                        assert answers[0] == answers[1], (method, path + query, extra)
                        compared += 1
    # Pages, fragments, downloads and refusals (422 for a too long token, 403, 404) were compared.
    assert compared > 300


def test_a_direct_route_matches_exactly_the_requests_an_apiroute_matches(client: WizardClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = [route for route in app.router.routes if isinstance(route, DirectRoute)]
    paths = [concrete_path(route.path, token="A" * 43, link_id=1) for route in routes]
    paths += ["/", "/w/", "/w/x/y/z", "/api/v1/plan/checklist/", "/static/app.css", "/nowhere"]
    checked = 0
    for route in routes:
        for path in paths:
            for method in ("GET", "POST", "PUT"):
                for root_path in ("", "/prefix"):
                    scope = {
                        "type": "http",
                        "method": method,
                        "path": root_path + path,
                        "root_path": root_path,
                    }
                    mine = route.matches(dict(scope))
                    fastapis = APIRoute.matches(route, dict(scope))
                    assert (mine[0], mine[1].get("path_params")) == (
                        fastapis[0],
                        fastapis[1].get("path_params"),
                    )
                    checked += 1
    assert checked > 1000
