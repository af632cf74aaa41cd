"""`DirectRoute`: FastAPI routes whose dependencies are called directly, not solved per request.

The seam (docs/decisions.md#direct-routes). FastAPI's `solve_dependencies`
walks a route's dependency tree on every request: for each dependency it
builds a cache key, checks for overrides, generators and scopes, and looks
for path, query, header and cookie values even where there are none. For a
wizard page (the router guard, then the access check) that was ~30% of a
cached page's CPU, more than the page's own database read and render
(cProfile, bench/README.md, "every page through one mechanism").

Every route of the wizard's routers is a `DirectRoute`. When a route is
built, its FastAPI `Dependant` is checked: if every dependency is an
`async def` with no dependencies, body, header or cookie parameters of its
own (the guards, `get_access`, `get_engine`, ...) and the endpoint takes
nothing but those, the request, and path or query parameters, the route
serves requests itself:

1. it validates the path and query parameters of the dependencies and of the
   endpoint: the query with FastAPI's own `request_params_to_args`, each path
   parameter with its field's own `validate` as that function does
   (`_path_fields`; the same fields, the same validation); on any error, or
   while dependency overrides are set, the request goes to FastAPI's own
   handler instead, which answers exactly as it always did (its 422, after
   the guard), since nothing has run yet;
   valid query values are kept per query string (`_query_values`);
2. it awaits the dependencies in FastAPI's order (the router's first), each
   once, and the endpoint with their values;
3. a `Response` is returned as is; anything else is serialised by FastAPI's
   `serialize_response` with the route's response model and settings.

Every other route (a form, a JSON body, a sync dependency) is served by
FastAPI's handler unchanged. What is skipped is FastAPI's per-request
bookkeeping for features these routes do not use: the exit stacks for
`yield` dependencies and the native OpenTelemetry spans around dependencies
and the endpoint. tests/web/test_direct_routes.py checks which routes are
direct and that they answer as FastAPI's handler does, errors included.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_validation_alias, request_params_to_args
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

# Validated query values kept per route (_query_values), and the longest query string kept.
QUERY_CACHE_SIZE = 256
MAX_CACHED_QUERY = 4096

# The Dependant fields of what a direct route never has (FastAPI solves those).
_UNSUPPORTED = (
    "header_params",
    "cookie_params",
    "body_params",
    "websocket_param_name",
    "http_connection_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
    "own_oauth_scopes",
    "concurrency",
)


@dataclass(frozen=True, slots=True)
class _Call:
    """One dependency, or the endpoint: what to call and what it takes."""

    call: Callable[..., Any]
    name: str | None  # the endpoint's parameter that receives the value (None: a router guard)
    request_param: str | None
    dependant: Dependant
    # Each path parameter's field, its name in the URL and its error location (_path_values).
    path_fields: tuple[tuple[ModelField, str, tuple[str, str]], ...] = ()


def _plain(dependant: Dependant) -> bool:
    return not any(getattr(dependant, field) for field in _UNSUPPORTED)


def _path_fields(dependant: Dependant) -> tuple[tuple[ModelField, str, tuple[str, str]], ...] | None:
    """What `request_params_to_args` looks up for each path parameter, found once per route.

    For a path parameter it takes the value under the field's alias (FastAPI
    asserts a scalar type there when it analyses the route: no list, no
    model; and a Path has one alias) and calls the field's `validate` with
    the location ("path", alias); `_path_values` does that directly. The lookup around it (model, aliases, sequence and form
    checks) was most of the ~7-9 us a parameter cost, twice per wizard request
    (the access check's token, then the endpoint's); timeit, bench/README.md.
    None for anything else (FastAPI solves that route).
    """
    fields = []
    for field in dependant.path_params:
        if not isinstance(field.field_info, params.Path):
            return None
        alias = get_validation_alias(field)
        fields.append((field, alias, ("path", alias)))
    return tuple(fields)


def direct_calls(route: APIRoute) -> tuple[_Call, ...] | None:
    """The dependencies a direct route awaits in order, then its endpoint; None if FastAPI must solve them."""
    endpoint = route.dependant
    if not _plain(endpoint) or route.body_field is not None or route.is_json_stream or route.is_sse_stream:
        return None
    if not inspect.iscoroutinefunction(endpoint.call):
        return None  # a sync endpoint runs in a thread; a generator streams
    calls = []
    seen: set[Any] = set()
    for sub in endpoint.dependencies:
        path_fields = _path_fields(sub)
        if (
            sub.call is None
            or sub.dependencies
            or not _plain(sub)
            or not inspect.iscoroutinefunction(sub.call)
            or sub.call in seen  # FastAPI's per-request cache would call it once
            or path_fields is None
        ):
            return None
        seen.add(sub.call)
        calls.append(_Call(sub.call, sub.name, sub.request_param_name, sub, path_fields))
    path_fields = _path_fields(endpoint)
    if path_fields is None:
        return None
    calls.append(_Call(endpoint.call, None, endpoint.request_param_name, endpoint, path_fields))
    return tuple(calls)


class DirectRoute(APIRoute):
    """An APIRoute that calls its dependencies itself when they are plain (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        calls = direct_calls(self)
        self.direct = calls is not None
        self._calls: tuple[_Call, ...] = calls or ()
        self._query_cache: dict[tuple[int, bytes], dict[str, Any]] = {}
        if calls is not None:
            self.fastapi_app: ASGIApp = self.app
            self.app = self._direct_app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """APIRoute.matches, with the path's regex tried first: most routes a request is tried against are not its.

        The router tries every route in order, and a route that does not match
        cost ~1.5 µs through APIRoute.matches and Route.matches (the effective
        route context, the root path, the regex): ~30 of them before a plan API
        route. Without a root path or FastAPI's scope state for included
        routers (neither is set here), a failed regex is that route's answer.
        """
        if (
            scope["type"] == "http"
            and not scope.get("root_path")
            and "fastapi" not in scope
            and self.path_regex.match(scope["path"]) is None
        ):
            return Match.NONE, {}
        return super().matches(scope)

    async def _direct_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        arguments = self._arguments(request)
        if arguments is None:
            await self.fastapi_app(scope, receive, send)
            return

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await self._run(request, arguments)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    def _arguments(self, request: Request) -> list[dict[str, Any]] | None:
        """Each call's validated path and query values; None when FastAPI must answer (an error, overrides)."""
        provider = self.dependency_overrides_provider
        if provider is not None and getattr(provider, "dependency_overrides", None):
            return None
        arguments = []
        for index, call in enumerate(self._calls):
            values: dict[str, Any] = {}
            dependant = call.dependant
            if call.path_fields and not _path_values(call.path_fields, request.path_params, values):
                return None
            if dependant.query_params:
                query_values = self._query_values(index, dependant, request)
                if query_values is None:
                    return None
                values.update(query_values)
            if call.request_param:
                values[call.request_param] = request
            arguments.append(values)
        return arguments

    def _query_values(self, index: int, dependant: Dependant, request: Request) -> dict[str, Any] | None:
        """A call's validated query values, None if invalid; kept per query string, which they are a function of.

        Validating a plan given as query parameters (the plan API's PlanQuery,
        15 fields) was ~30% of such a request (cProfile, bench/README.md).
        Only valid values are kept, for at most QUERY_CACHE_SIZE query strings
        per route; the values are shared between requests, so a route must not
        change them (none does: they are read, and a plan is parsed from them).
        """
        query: bytes = request.scope.get("query_string", b"")
        key = (index, query)
        cached = self._query_cache.get(key)
        if cached is not None:
            return cached
        found, errors = request_params_to_args(dependant.query_params, request.query_params)
        if errors:
            return None
        if len(query) <= MAX_CACHED_QUERY:
            if len(self._query_cache) >= QUERY_CACHE_SIZE:
                self._query_cache.clear()
            self._query_cache[key] = found
        return found

    async def _run(self, request: Request, arguments: list[dict[str, Any]]) -> Response:
        *dependencies, endpoint = self._calls
        endpoint_values = arguments[-1]
        for call, values in zip(dependencies, arguments, strict=False):
            value = await call.call(**values)
            if call.name is not None:
                endpoint_values[call.name] = value
        raw = await endpoint.call(**endpoint_values)
        if isinstance(raw, Response):
            return raw
        return await self._serialize(raw)

    async def _serialize(self, raw: Any) -> Response:
        """FastAPI's answer for a value that is not a Response (get_request_handler, without dependencies' headers)."""
        dump_json = self.response_field is not None and isinstance(self.response_class, DefaultPlaceholder)
        content = await serialize_response(
            field=self.response_field,
            response_content=raw,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
            is_coroutine=True,
            dump_json=dump_json,
        )
        status = self.status_code or 200  # the response classes' own default
        if dump_json:
            response = Response(content=content, media_type="application/json", status_code=status)
        else:
            response_class = self.response_class
            if isinstance(response_class, DefaultPlaceholder):
                response_class = response_class.value
            response = response_class(content, status_code=status)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response


def _path_values(
    fields: tuple[tuple[ModelField, str, tuple[str, str]], ...],
    path_params: dict[str, Any],
    values: dict[str, Any],
) -> bool:
    """Validate each path parameter into `values` as request_params_to_args would; False on any error."""
    for field, alias, loc in fields:
        raw = path_params.get(alias)
        if raw is None:
            return False  # not in the URL: FastAPI's handler answers (its missing-field error)
        value, errors = field.validate(raw, values, loc=loc)
        if errors:
            return False
        values[field.name] = value
    return True


def serve_directly(routes: Sequence[BaseRoute], on: bool) -> None:
    """Serve every DirectRoute directly (on) or through FastAPI's handler (off): the A/B of the tests and bench."""
    for route in routes:
        if isinstance(route, DirectRoute) and route.direct:
            route.app = route._direct_app if on else route.fastapi_app
