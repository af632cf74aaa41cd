"""RouteIndex (app/web/route_index.py): a request tried only against the routes its path can match.

The index must never change which route answers: for every route of the app
and paths around them (extra and missing segments, trailing slashes, static
files, unknown paths), the route the index selects is the one FastAPI's
router selects trying every route in order; and over HTTP a full match, a
405, a slash redirect, a 404 and a route added after start-up answer as they
do without it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette.routing import BaseRoute, Match, Route

from app.web.route_index import RouteIndex, candidate_lists
from tests.conftest import WizardClient
from tests.web.routes import concrete_path


def _select(routes: list[BaseRoute] | tuple[BaseRoute, ...], scope: dict[str, Any]) -> tuple[Any, ...]:
    """The route a router trying `routes` in order serves (first full match, else first partial), and its params."""
    partial = None
    for route in routes:
        match, child_scope = route.matches(dict(scope))
        if match == Match.FULL:
            return (route, "full", child_scope.get("path_params"))
        if match == Match.PARTIAL and partial is None:
            partial = (route, "partial", child_scope.get("path_params"))
    return partial or (None,)


def _paths(routes: list[BaseRoute]) -> list[str]:
    token = "A" * 43
    paths = [
        "/",
        "",
        "//",
        "/w/",
        "/w/x/y/z",
        "/nowhere",
        "/static/app.css",
        "/static/",
        "/static/a/b/c/d/e/f/g/h",
    ]
    for route in routes:
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if not template:
            continue
        path = concrete_path(template, token=token, link_id=1)
        paths += [path, path + "/", path + "/extra", path.rsplit("/", 1)[0], path + "/a/b/c/d/e/f"]
    paths.append(
        concrete_path("/w/{token}/download/{path:path}", token=token, link_id=1).replace(".md", "/a/b.md")
    )
    return sorted(set(paths))


def test_every_path_gets_the_route_trying_every_route_in_order_gives(client: WizardClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = list(app.router.routes)
    lists = candidate_lists(routes)
    # The index narrows: the tick's path is tried against a few routes, not every one.
    assert len(lists[4]) < len(routes) / 2
    checked = 0
    for path in _paths(routes):
        candidates = lists[min(path.count("/"), len(lists) - 1)]
        for method in ("GET", "POST", "PUT", "DELETE"):
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            assert _select(candidates, scope) == _select(routes, scope), (method, path)
            checked += 1
    assert checked > 400


def test_a_route_the_index_does_not_understand_is_in_every_list() -> None:
    class Odd(BaseRoute):
        def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
            return Match.NONE, {}

    odd = Odd()
    plain = Route("/a/{name}", lambda request: None)
    anywhere = Route("/files/{rest:path}", lambda request: None)
    lists = candidate_lists([odd, plain, anywhere])
    assert [list(each) for each in lists] == [[odd], [odd], [odd, plain, anywhere], [odd, anywhere]]


def test_the_app_routes_through_the_index_and_answers_as_before(client: WizardClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert isinstance(app.router.middleware_stack, RouteIndex)
    assert client.get("/healthz").status_code == 200
    # The path matches, the method does not: the route's 405 (a partial match).
    refused = client.put("/healthz")
    assert refused.status_code == 405
    # No route matches: FastAPI's router answers (slash redirect, then 404).
    redirect = client.get("/healthz/", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/healthz")
    assert client.get("/no/such/page").status_code == 404


def test_a_route_added_after_start_up_is_found(client: WizardClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert client.get("/late/one").status_code == 404
    router = APIRouter()

    @router.get("/late/{name}")
    async def late(name: str) -> dict[str, str]:
        return {"name": name}

    app.router.routes.extend(router.routes)  # as app/main.py add_routes does
    answer = client.get("/late/one")
    assert answer.status_code == 200 and answer.json() == {"name": "one"}
