"""`RouteIndex`: a request is tried only against the routes its path's shape can match.

The seam (docs/decisions.md#route-index). Starlette, and FastAPI's router
after it, try the app's routes in order until one matches; each one passed
over costs a method call and its path regex, ~1.1 µs against a wizard path
(the regex scans the share token before it fails), ~2 µs in the server. The
tick is the 17th route, a plan API route the 32nd, `/healthz` the 42nd: ~20 µs
of timeit before the tick's own route was found, ~40 µs of a ~660 µs tick in
process (bench/README.md, "the tick, fifth round").

What cannot match is known from a route's path alone. A `Route` or `Mount`
matches with its anchored path regex, compiled by Starlette's `compile_path`;
a parameter's regex with one of Starlette's str, int, float or uuid
convertors never matches a "/", so such a route matches only paths with
exactly as many "/" as its path format; a `path` convertor (`.*`, and a
Mount's `{path}` tail) matches any number, so such a route matches paths
with at least as many. `RouteIndex` keeps, for each number of "/", the routes
that may match a path with that many, in the router's order, and any other
kind of route (one whose matching this reasoning does not cover) in every
list. A request is tried against its list exactly as FastAPI's router tries
every route: the first full match is served, else the first partial one
(the path matched, the method did not: its 405). Nothing matched, or a
request this does not cover (a root path, FastAPI's included-router scope
state, a websocket or the lifespan), goes to FastAPI's own router, which
tries every route again and answers as it always did (a slash redirect, its
low-priority routes, 404): so the lists only ever skip routes whose regex
cannot match.

The lists are built from the router's route list and rebuilt when it changes
(compared element by element on every request, ~0.3 µs: a route added or
replaced after start-up is seen). tests/web/test_route_index.py checks that
every route of the app, and paths around them, are answered by the same
route and scope with the index as without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import APIRouter
from fastapi.telemetry._api import _route_selected
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

# Convertors whose regex matches no "/" (starlette/convertors.py): a parameter
# of theirs keeps a path's number of "/" that of the route's path format.
_NO_SLASH = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)


def _slashes(route: BaseRoute) -> tuple[int, bool] | None:
    """The number of "/" in the paths `route` can match, and whether more are possible; None: any path."""
    if not isinstance(route, Route | Mount):
        return None
    at_least = any(not isinstance(convertor, _NO_SLASH) for convertor in route.param_convertors.values())
    return route.path_format.count("/"), at_least


def candidate_lists(routes: Sequence[BaseRoute]) -> tuple[tuple[BaseRoute, ...], ...]:
    """For n = 0, 1, ..., the routes, in order, that may match a path with n "/"; the last list for any n beyond."""
    shapes = [_slashes(route) for route in routes]
    top = 1 + max((shape[0] for shape in shapes if shape is not None), default=0)
    return tuple(
        tuple(
            route
            for route, shape in zip(routes, shapes, strict=True)
            if shape is None or shape[0] == n or (shape[1] and shape[0] <= n)
        )
        for n in range(top + 1)
    )


class RouteIndex:
    """The router's loop over its routes, over the routes a path's number of "/" allows (module docstring)."""

    def __init__(self, router: APIRouter, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback  # FastAPI's router: every route, then its redirects and 404
        self._routes: list[BaseRoute] = []
        self._lists: tuple[tuple[BaseRoute, ...], ...] = ((),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path") or "fastapi" in scope:
            await self.fallback(scope, receive, send)
            return
        routes = self.router.routes
        if routes != self._routes:  # identical elements compare by identity: ~40 pointer checks
            self._lists = candidate_lists(routes)
            self._routes = list(routes)
        lists = self._lists
        candidates = lists[min(scope["path"].count("/"), len(lists) - 1)]
        partial: tuple[BaseRoute, Scope] | None = None
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                await self._handle(route, child_scope, scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            await self._handle(*partial, scope, receive, send)
            return
        await self.fallback(scope, receive, send)

    async def _handle(
        self, route: BaseRoute, child_scope: Scope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # What FastAPI's APIRouter.app does with the route it selects.
        if "router" not in scope:
            scope["router"] = self.router
        scope.update(child_scope)
        _route_selected(scope=scope, path=getattr(route, "path_format", None), mount=isinstance(route, Mount))
        await route.handle(scope, receive, send)


def install(router: APIRouter) -> None:
    """Route the router's requests through a RouteIndex (its middleware stack is its own loop: no middleware of its own)."""
    router.middleware_stack = RouteIndex(router, router.middleware_stack)
