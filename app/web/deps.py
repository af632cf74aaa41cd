"""Dependency aliases for routes (pattern: full-stack-fastapi-template deps.py).

All `async def`: FastAPI runs a plain `def` dependency in a worker thread, and
six thread hops per request cost more than the work they do (a SQLite read
here takes microseconds; profiled with cProfile).

Each dependency also costs ~25 µs of FastAPI's solving per request, so the
wizard's GET pages take only the guard and the access dependency and call
`engine_of` / `settings_of` themselves, and a tick calls the guard and the
access check without dependency injection (bench/README.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from app.domain.tokens import looks_like_token
from app.settings import Settings
from app.store import db, share_links
from app.web.lazy_route import LazyDirectRoute
from app.web.ratelimit import limit_share_links
from app.web.security import csrf_token_for, verify_csrf

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.store.database import Database

ACTOR_COOKIE = "cw_name"
ANONYMOUS = "anonymous"
MAX_ACTOR_LENGTH = 60

# One message for unknown, expired and revoked links, so a response never tells
# which (issue 5: byte-identical).
LINK_NOT_FOUND = "This wizard link does not exist, has expired or was revoked."


def engine_of(request: Request) -> Engine:
    """The engine, created by the first request that needs it (app/store/database.py)."""
    database: Database = request.app.state.database
    return database.engine


async def get_engine(request: Request) -> Engine:
    return engine_of(request)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


def clean_actor(value: str | None) -> str:
    """A display name: printable, trimmed, at most 60 characters; else 'anonymous'."""
    if not value:
        return ANONYMOUS
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()[:MAX_ACTOR_LENGTH]
    return cleaned or ANONYMOUS


def actor_cookie_value(name: str) -> str:
    """The display name as a cookie value: percent-encoded UTF-8.

    A cookie value is Latin-1 bytes at most (Starlette refuses others, and RFC 6265
    allows only a subset of ASCII): `Łukasz`, `李雷` or an emoji once failed
    with a 500 (issue 12, finding 7).
    """
    return quote(clean_actor(name), safe="")


def actor_of(request: Request) -> str:
    return clean_actor(unquote(request.cookies.get(ACTOR_COOKIE, "")))


def name_field_value(actor: str) -> str:
    """What the display-name field shows: the name, or nothing for anonymous (its placeholder says so)."""
    return "" if actor == ANONYMOUS else actor


async def get_actor(request: Request) -> str:
    return actor_of(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[str, Depends(get_actor)]
TokenPath = Annotated[str, Path(min_length=1, max_length=100, description="A share link token.")]


async def get_access(request: Request, token: TokenPath) -> share_links.Access:
    engine = engine_of(request)  # first: on a first request, creating it runs the store's code
    access = share_links.resolve(engine, token=token, now=db.utcnow()) if looks_like_token(token) else None
    if access is None:
        raise HTTPException(404, LINK_NOT_FOUND)
    request.state.access = access
    return access


async def get_edit_access(request: Request, token: TokenPath) -> share_links.Access:
    # Calls get_access rather than depending on it: one dependency to solve, not two.
    access = await get_access(request, token)
    if not access.can_edit:
        raise HTTPException(403, "This is a view-only link: it cannot change anything.")
    return access


if TYPE_CHECKING:
    EngineDep = Annotated[Engine, Depends(get_engine)]
    AccessDep = Annotated[share_links.Access, Depends(get_access)]
    EditDep = Annotated[share_links.Access, Depends(get_edit_access)]
else:
    # FastAPI reads only the Depends of a dependency's annotation; naming the
    # types at run time would import SQLAlchemy and the store with this module,
    # which start-up leaves to the first request (docs/decisions.md#cold-start).
    EngineDep = Annotated[object, Depends(get_engine)]
    AccessDep = Annotated[object, Depends(get_access)]
    EditDep = Annotated[object, Depends(get_edit_access)]


def page_globals(request: Request) -> None:
    """Values every page template needs: the CSRF token, who is acting, demo mode."""
    settings: Settings = request.app.state.settings
    request.state.template_globals = {
        "csrf_token": csrf_token_for(request),
        "actor_name": name_field_value(actor_of(request)),
        "demo": settings.demo,
    }


# Router guards. One dependency doing three things rather than three
# dependencies: FastAPI's dependency solving costs ~25 µs per dependency per
# request, as much as a cached page's database read (cProfile, bench/README.md).


async def page_guard(request: Request) -> None:
    """Every HTML page: share-link rate limit first, then the CSRF check, then the template globals."""
    limit_share_links(request)
    await verify_csrf(request)
    page_globals(request)


async def api_guard(request: Request) -> None:
    """Every JSON API route: share-link rate limit first, then the CSRF check."""
    limit_share_links(request)
    await verify_csrf(request)


def page_router() -> APIRouter:
    """A router of wizard pages: `page_guard` on every route, each a DirectRoute (app/web/routing.py) analysed on first use (app/web/lazy_route.py)."""
    return APIRouter(dependencies=[Depends(page_guard)], include_in_schema=False, route_class=LazyDirectRoute)
