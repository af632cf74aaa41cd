"""Routes whose FastAPI analysis waits for their first use (issue 14, cold start).

Seam "routes analysed on first use" (docs/decisions.md#cold-start). FastAPI
analyses a route when it is declared: the endpoint's signature, every
parameter and dependency (the page guard, the forms), the response model, the
body model. For the app's 40 routes that was ~10% of the CPU of importing the
app and creating it (bench/README.md, cold_start), none of which a start
needs. A `LazyRoute` keeps what matching a request and building a URL
read (the path, its regex and converters, the methods, the name, the endpoint,
whether it is in the schema) and runs the route class's own `__init__`
(`DirectRoute`'s, app/web/routing.py, then FastAPI's `APIRoute.__init__`), with
the same arguments, the first time anything else of it is read: serving its
first request, or the OpenAPI schema. So the route table, each route's
behaviour and the schema are what the eager class gives; only when the
analysis runs moves (a route's first request pays for its own analysis, a few
ms). Every router's `route_class` is `LazyDirectRoute`.
tests/web/test_cold_start.py checks that a start analyses no route but the
one it serves; tests/web/test_lazy_routes.py that each route, analysed, and
the schema equal what eager APIRoutes give.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import compile_path, get_name
from starlette.types import Receive, Scope, Send

from app.web import long_lived
from app.web.routing import DirectRoute

# Realising is synchronous and normally happens on the event loop; the lock
# covers a schema built from another thread (a test client, a CLI command).
_REALISING = threading.RLock()


class LazyRoute(APIRoute):
    """A route whose analysis (the next class's `__init__` in the MRO) runs on first use.

    Put it first among the bases of a concrete route class (`LazyDirectRoute`).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Exactly what APIRoute.__init__ sets for these (fastapi/routing.py,
        # _populate_api_route_state), computed the same way.
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if kwargs.get("name") is None else kwargs["name"]
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.methods = {method.upper() for method in (kwargs.get("methods") or ["GET"])}
        self.include_in_schema = kwargs.get("include_in_schema", True)
        # Kept after the analysis too: tests build an eager APIRoute from them to compare.
        self.arguments: tuple[str, Callable[..., Any], dict[str, Any]] = (path, endpoint, kwargs)
        self._deferred: tuple[str, Callable[..., Any], dict[str, Any]] | None = self.arguments

    @property
    def analysed(self) -> bool:
        return self.__dict__.get("_deferred") is None

    def analyse(self) -> None:
        """Run FastAPI's analysis now (idempotent)."""
        with _REALISING:
            deferred = self.__dict__.get("_deferred")
            if deferred is None:
                return
            # Cleared first: an attribute read during the analysis before it is
            # set raises AttributeError, as it would on an eager route.
            self._deferred = None
            path, endpoint, kwargs = deferred
            try:
                super().__init__(path, endpoint, **kwargs)
            except BaseException:
                self._deferred = deferred
                raise

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request; after the route's first, freeze what it built (app/web/long_lived.py).

        The analysis, and the templates and statements the first request
        compiles, live as long as the process, as start-up's do; left to the
        collector, every full collection walked them (~9,000 objects for one
        request to each wizard page, 6-15 ms a full collection; bench/README.md).
        """
        if self.__dict__.get("_served"):
            await super().handle(scope, receive, send)
            return
        self._served = True  # first: requests arriving meanwhile do not freeze again
        try:
            await super().handle(scope, receive, send)
        finally:
            long_lived.freeze()

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set yet: the ones the analysis sets.
        if name.startswith("__") or self.__dict__.get("_deferred") is None:
            raise AttributeError(name)
        self.analyse()
        return getattr(self, name)


class LazyDirectRoute(LazyRoute, DirectRoute):
    """A DirectRoute analysed on first use: every router's `route_class`."""
