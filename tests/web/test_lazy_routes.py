"""Routes analysed on first use (app/web/lazy_route.py; docs/decisions.md#cold-start).

Deferring the analysis must not change what it produces: each route, once
analysed, holds what a DirectRoute (app/web/routing.py) made with the same
arguments holds, and the OpenAPI schema is the same as from eagerly analysed
routes. Start-up
itself analyses none (tests/web/test_cold_start.py).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.main import create_app
from app.web import long_lived
from app.web.lazy_route import LazyDirectRoute, LazyRoute
from app.web.routing import DirectRoute
from tests.conftest import make_settings


def _lazy_routes(tmp_path: Path) -> list[LazyRoute]:
    app = create_app(make_settings(tmp_path))
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    assert routes and all(isinstance(route, LazyRoute) for route in routes)
    return [route for route in routes if isinstance(route, LazyRoute)]


def _eager(route: LazyRoute) -> APIRoute:
    """The same route, analysed when made: the class the lazy one defers to (DirectRoute)."""
    assert isinstance(route, DirectRoute)
    path, endpoint, kwargs = route.arguments
    return DirectRoute(path, endpoint, **kwargs)


def _field(field: Any) -> Any:
    """A field's type; a model FastAPI creates per route (a form's body) by its name and schema."""
    if field is None:
        return None
    annotation = field.field_info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__, annotation.model_json_schema()
    return annotation


def _comparable(route: APIRoute) -> dict[str, Any]:
    """What FastAPI's analysis decided for a route, in terms that compare by value."""
    dependant = route.dependant
    return {
        "unique_id": route.unique_id,
        "name": route.name,
        "methods": route.methods,
        "path_format": route.path_format,
        "status_code": route.status_code,
        "response_class": route.response_class,
        "description": route.description,
        "include_in_schema": route.include_in_schema,
        "query": [p.name for p in dependant.query_params],
        "path": [p.name for p in dependant.path_params],
        "headers": [p.name for p in dependant.header_params],
        "cookies": [p.name for p in dependant.cookie_params],
        "body": [p.name for p in dependant.body_params],
        "dependencies": [d.call for d in dependant.dependencies],
        "body_field": _field(route.body_field),
        "response_field": _field(route.response_field),
        "direct": getattr(route, "direct", None),
        "attributes": sorted(k for k in vars(route) if k not in {"arguments", "_deferred", "_served"}),
    }


def test_every_route_analysed_late_holds_what_an_eager_route_holds(tmp_path: Path) -> None:
    for route in _lazy_routes(tmp_path):
        eager = _eager(route)
        route.analyse()
        assert route.analysed
        assert _comparable(route) == _comparable(eager), route.path


def test_the_openapi_schema_is_the_one_eager_routes_give(tmp_path: Path) -> None:
    lazy = _lazy_routes(tmp_path)
    eager = [_eager(route) for route in lazy]

    def schema(routes: list[Any]) -> dict[str, Any]:
        return get_openapi(title="t", version="1", routes=routes)

    served = schema(lazy)
    assert served == schema(eager)
    assert any(path.startswith("/api/v1/") for path in served["paths"])  # the API routes are in it


def test_a_route_is_analysed_when_it_first_serves_a_request(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    healthz = next(r for r in app.routes if isinstance(r, LazyRoute) and r.path == "/healthz")
    assert healthz.analysed


def test_what_a_route_builds_for_its_first_request_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its analysis lives as long as the process: out of the collector's reach, like start-up's (app/web/long_lived.py).

    Once per route: later requests leave the collector alone.
    """
    freezes: list[None] = []
    freeze = long_lived.freeze
    monkeypatch.setattr(long_lived, "freeze", lambda: (freezes.append(None), freeze())[1])
    router = APIRouter(route_class=LazyDirectRoute)

    @router.get("/probe/{name}")
    async def probe(name: str) -> dict[str, str]:
        return {"name": name}

    app = FastAPI()
    app.router.routes.extend(router.routes)
    (route,) = router.routes
    assert isinstance(route, LazyRoute) and not route.analysed
    with TestClient(app) as client:
        assert client.get("/probe/first").json() == {"name": "first"}
        assert len(freezes) == 1
        dependant = route.dependant  # made by the analysis the first request ran
        assert not any(obj is dependant for obj in gc.get_objects())  # frozen: in no generation
        assert client.get("/probe/second").json() == {"name": "second"}
    assert len(freezes) == 1
