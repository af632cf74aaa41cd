"""The application factory. Nothing happens at import time.

Run with `uvicorn --factory app.main:create_app` or `connector-wizard serve`.
The lifespan owns the database (app/store/database.py): it checks on start that
the database is at head, applying migrations if it is behind (and fails closed
if it cannot), and disposes the engine on shutdown. The engine itself, and the
store's code, are created by the first request that needs them
(docs/decisions.md#cold-start).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from app import __version__
from app.resources import resource_path
from app.settings import Settings
from app.store import db, wizards
from app.store.database import Database
from app.web import (
    activity,
    api,
    checklist,
    errors,
    evidence,
    links,
    logs,
    long_lived,
    pages,
    pydantic_v1,
    ratelimit,
    route_index,
    security,
    verify,
)
from app.web.render import PageCache, make_templates

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("connector_wizard")

# Every signal off, and no exporters set up from OTEL_* variables at start-up.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    pydantic_v1.install()  # before any route is analysed (app/web/pydantic_v1.py)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        database.open()  # refuses to start unless the database is reachable and at head
        app.state.database = database
        emulator = purge = None
        # From here on a start that fails still closes the database: a server that never
        # started never reaches its shutdown, and the checkpoints' thread would outlive it.
        try:
            # Demo mode: a local AWS emulator seeded with a simulated organization (issue 4).
            emulator = await asyncio.to_thread(verify.start_demo, app, settings) if settings.demo else None
            purge = (
                asyncio.create_task(_purge_forever(app, settings.purge_interval_minutes * 60))
                if settings.purge_interval_minutes
                else None
            )
            app.state.purge_task = purge
            _freeze_startup_objects()
            yield
        finally:
            if purge is not None:
                purge.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purge
            if database.started:  # no engine, no request ever started a run
                # Runs of this process end with it: say so now rather than after the heartbeat timeout.
                app.state.verifier.shutdown(database.engine)
            database.close()
            if emulator is not None:
                await asyncio.to_thread(emulator.stop)

    app = FastAPI(
        title="aws-connector-wizard",
        version=__version__,
        description="Plans, artifacts and checks for an AWS certificate-lifecycle connector.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry off (docs/decisions.md#no-native-telemetry):
        # its spans carry the raw path (`url.path`), share tokens included, and
        # asking for the global providers cost every request ~5-9 µs.
        telemetry=NO_TELEMETRY,
        # No Swagger UI: FastAPI's loads its scripts from a CDN, which the CSP
        # (and our rule of no asset from another origin) forbids.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.limiters = ratelimit.make_limiters(
        link_per_minute=settings.link_rate_per_minute, verify_per_minute=settings.verify_rate_per_minute
    )
    app.state.templates = make_templates()
    app.state.page_cache = PageCache()
    app.state.export_cache = evidence.ExportCache()
    # This process's verification runs: created with the app, ended with its lifespan.
    app.state.verifier = verify.Verifier(settings)
    app.mount("/static", StaticFiles(directory=resource_path("static")), name="static")
    for router in (
        pages.router,
        checklist.router,
        links.router,
        activity.router,
        evidence.router,
        verify.router,
        api.router,
        api.health,
    ):
        add_routes(app, router)
    # Each request tried only against the routes its path can match (docs/decisions.md#route-index).
    route_index.install(app.router)
    errors.install(app)
    security.install(app, settings)
    logs.install(app, access_log=settings.access_log)
    return app


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process: move everything alive after start-up out of the collector's reach.

    Why and what it costs: app/web/long_lived.py (a full collection walked
    every module, template and model: 50-70 ms pauses under load, ~2 ms after
    the freeze; bench/README.md).

    Start-up seam (docs/decisions.md#cold-start): a full collection here found
    nothing to free and took 70-80 ms of CPU, ~5% of a start, so only the young
    generations are collected first. `connector-wizard serve` goes further: it
    runs start-up with the collector off (app/cli.py), which saved another ~10%
    of a start's CPU; it is switched back on here, after freezing what start-up
    left alive (without collecting, as that would walk all of it: the cycles
    start-up left unreachable were ~850 objects, and stay).
    """
    global _frozen
    if not _frozen:
        long_lived.freeze()
        _frozen = True
    gc.enable()


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Put a router's routes on the app itself, in order, instead of `include_router`.

    FastAPI 0.163 keeps an included router as one nested route and walks it
    twice per request (matches, then _handle_selected): with five routers that
    was six `_match` calls and ~40 path regexes, a third of a cached page's
    time (cProfile, bench/README.md). Nothing is lost by adding the routes
    directly: an APIRoute already carries its router's prefix, dependencies
    (the guard) and schema settings (APIRouter.add_api_route copies them).
    """
    app.router.routes.extend(router.routes)


def engine_of(app: FastAPI) -> Engine:
    """The app's engine, created on first use (app/store/database.py)."""
    database: Database = app.state.database
    return database.engine


def purge_once(app: FastAPI, *, now: datetime) -> dict[str, int]:
    """Delete expired and revoked links and unreachable wizards, and forget every cached page of them."""
    counts = wizards.purge_expired(engine_of(app), now=now)
    app.state.page_cache.clear()
    app.state.export_cache.clear()
    return counts


async def _purge_forever(app: FastAPI, interval_seconds: float) -> None:
    """Purge expired links and wizards every `interval_seconds`, until cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            counts = purge_once(app, now=db.utcnow())
            log.info("purged expired links and wizards: %s", counts)
        except Exception:  # a failed purge must not stop the server; it runs again later
            log.exception("purge failed")
