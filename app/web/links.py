"""Share links: /w/{token}/links, for edit links only.

Mint view (or edit) links, list every link with its state, revoke one, all
view links, or all links (after a confirmation page). A new token is shown
once: the POST that minted it answers with a redirect (post/redirect/get, so a
reload sends nothing again) and a short-lived cookie, limited to the share
page's path, that carries the token to the next GET, which shows it and
deletes the cookie. The database keeps only its SHA-256, so it can never be
shown again.

Nothing here logs or stores a raw token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.domain import audit
from app.domain.tokens import looks_like_token
from app.settings import Settings
from app.store import db, share_links
from app.web.deps import ActorDep, EditDep, EngineDep, SettingsDep, engine_of, page_router, settings_of
from app.web.errors import ErrorPage
from app.web.nav import WizardNav, wizard_nav
from app.web.render import render, render_page
from app.web.security import cookies_secure, public_base_url

router = page_router()

MAX_LABEL = 100  # models.SHARE_LINK.c.label


def _token(request: Request) -> str:
    return str(request.path_params["token"])


@dataclass(frozen=True)
class LinkRow:
    link: share_links.LinkRecord
    state: str  # "active" | "expired" | "revoked"
    is_current: bool

    @property
    def grants(self) -> str:
        return audit.LINK_GRANTS.get(self.link.kind, "")


@dataclass(frozen=True)
class MintForm:
    label: str
    days: int
    kind: str
    errors: dict[str, str]


@dataclass(frozen=True)
class MintedLink:
    """The link minted by the POST just before this page: shown to this browser once, never cached."""

    url: str
    link: share_links.LinkRecord
    grants: str


@dataclass(frozen=True)
class LinksPage:
    """What links.html receives (docs/architecture.md#page-contexts)."""

    nav: WizardNav
    rows: list[LinkRow]
    form: MintForm
    max_days: int
    # What each kind of link grants, by kind.
    grants: dict[str, str]
    minted: MintedLink | None = None
    # Why nothing was revoked (422).
    error: str | None = None


@dataclass(frozen=True)
class RevokeAllPage:
    """What revoke_all.html receives: the navigation only."""

    nav: WizardNav


def _link_rows(engine: Any, access: share_links.Access) -> list[LinkRow]:
    now = db.utcnow()
    rows = []
    for link in share_links.list_links(engine, wizard_id=access.wizard.id):
        if link.revoked_at is not None:
            state = "revoked"
        elif not link.is_active(now):
            state = "expired"
        else:
            state = "active"
        rows.append(LinkRow(link, state, link.id == access.link.id))
    # Active links first, newest first within each state.
    order = {"active": 0, "expired": 1, "revoked": 2}
    return sorted(rows, key=lambda row: (order[row.state], -row.link.id))


def _links_page(
    request: Request,
    engine: Any,
    access: share_links.Access,
    settings: Settings,
    *,
    form: MintForm | None = None,
    minted: MintedLink | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = _links_context(
        request, access, settings, _link_rows(engine, access), form=form, minted=minted, error=error
    )
    return render(request, "links.html", context, status_code=status_code)


def _links_context(
    request: Request,
    access: share_links.Access,
    settings: Settings,
    rows: list[LinkRow],
    *,
    form: MintForm | None = None,
    minted: MintedLink | None = None,
    error: str | None = None,
) -> LinksPage:
    return LinksPage(
        nav=wizard_nav(request, access, "links"),
        rows=rows,
        form=form or MintForm(label="", days=settings.link_days, kind="view", errors={}),
        max_days=settings.max_link_days,
        grants=audit.LINK_GRANTS,
        minted=minted,
        error=error,
    )


MINTED_COOKIE = "cw_minted"
MINTED_SECONDS = 120  # long enough for the redirect, short enough to be gone if it is not followed


def _share_path(request: Request) -> str:
    return f"/w/{_token(request)}/links"


def _minted_shown_once(request: Request, engine: Any, access: share_links.Access) -> MintedLink | None:
    """The link minted by the POST just before this GET (its cookie), if it belongs to this wizard."""
    raw = request.cookies.get(MINTED_COOKIE, "")
    found = share_links.resolve(engine, token=raw, now=db.utcnow()) if looks_like_token(raw) else None
    if found is None or found.wizard.id != access.wizard.id:
        return None
    base = public_base_url(request)
    return MintedLink(f"{base}/w/{raw}", found.link, audit.LINK_GRANTS[found.link.kind])


@router.get("/w/{token}/links")
async def links_page(request: Request, access: EditDep) -> Response:
    engine, settings = engine_of(request), settings_of(request)
    if MINTED_COOKIE in request.cookies:
        # The page with a new token on it is this browser's, once: never kept in the page cache.
        minted = _minted_shown_once(request, engine, access)
        response = _links_page(request, engine, access, settings, minted=minted)
        response.delete_cookie(MINTED_COOKIE, path=_share_path(request))
        return response
    rows: list[LinkRow] = []

    def context() -> LinksPage:
        rows.extend(_link_rows(engine, access))
        return _links_context(request, access, settings, rows)

    def valid_until() -> datetime | None:
        # A link's state reads "expired" from its expiry on: the page holds until the first one.
        expiries = [row.link.expires_at for row in rows if row.state == "active" and row.link.expires_at]
        return min(expiries, default=None)

    return render_page(request, "links.html", access, context, valid_until=valid_until)


@router.post("/w/{token}/links")
async def mint_link(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    label: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=20)] = "view",
) -> Response:
    label = "".join(ch for ch in label if ch.isprintable()).strip()
    errors: dict[str, str] = {}
    if len(label) > MAX_LABEL:
        errors["label"] = f"At most {MAX_LABEL} characters."
    try:
        lifetime = int(days) if days.strip() else settings.link_days
    except ValueError:
        lifetime = -1
    if not 1 <= lifetime <= settings.max_link_days:
        errors["days"] = f"Enter a whole number of days from 1 to {settings.max_link_days}."
    if kind not in audit.LINK_GRANTS:
        errors["kind"] = "Choose view or edit."
    if errors:
        form = MintForm(label=label[:MAX_LABEL], days=max(lifetime, 1), kind="view", errors=errors)
        return _links_page(request, engine, access, settings, form=form, status_code=422)
    _, token = share_links.mint_link(
        engine,
        wizard_id=access.wizard.id,
        kind=kind,
        label=label,
        actor=actor,
        now=db.utcnow(),
        days=lifetime,
    )
    response = RedirectResponse(_share_path(request), status_code=303)
    response.set_cookie(
        MINTED_COOKIE,
        token,
        max_age=MINTED_SECONDS,
        path=_share_path(request),
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
    )
    return response


def _revoked_own_link(request: Request) -> Response:
    return render(
        request,
        "error.html",
        ErrorPage(
            title="Link revoked",
            message="The link you used is revoked: it no longer opens this wizard, "
            "for you or anyone else who has it.",
        ),
    )


@router.post("/w/{token}/links/{link_id}/revoke")
async def revoke_link(
    request: Request, access: EditDep, engine: EngineDep, actor: ActorDep, link_id: int
) -> Response:
    ids = {link.id for link in share_links.list_links(engine, wizard_id=access.wizard.id)}
    if link_id not in ids:
        # Another wizard's link is "not found" too: an edit link never reaches past its wizard.
        raise HTTPException(404, "This wizard has no such link.")
    share_links.revoke_links(
        engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow(), link_id=link_id
    )
    if link_id == access.link.id:
        return _revoked_own_link(request)
    return RedirectResponse(f"/w/{_token(request)}/links", status_code=303)


@router.get("/w/{token}/links/revoke-all")
async def confirm_revoke_all(request: Request, access: EditDep) -> Response:
    """The step before revoking every link: what it does, a way back, and the button that does it."""
    return render_page(
        request, "revoke_all.html", access, lambda: RevokeAllPage(wizard_nav(request, access, "links"))
    )


@router.post("/w/{token}/links/revoke")
async def revoke_many(
    request: Request,
    access: EditDep,
    engine: EngineDep,
    settings: SettingsDep,
    actor: ActorDep,
    which: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if which == "view":
        share_links.revoke_links(
            engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow(), kind="view"
        )
        return RedirectResponse(f"/w/{_token(request)}/links", status_code=303)
    if which == "all":
        if confirm != "yes":
            return _links_page(
                request,
                engine,
                access,
                settings,
                error="Nothing was revoked: confirm first (Revoke every link…) that every link, yours included, should stop working.",
                status_code=422,
            )
        share_links.revoke_links(engine, wizard_id=access.wizard.id, actor=actor, now=db.utcnow())
        return _revoked_own_link(request)
    raise HTTPException(422, "Choose which links to revoke.")
