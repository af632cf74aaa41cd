"""One render() for pages and htmx fragments.

Pattern: htmx "Template Fragments" — one template per page, the swappable
parts as named {% block %}s. An htmx request (HX-Request header) gets only the
named block; everyone else the whole page. `Vary: HX-Request` always, so a
cache never serves a fragment as a page.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from app.resources import resource_path
from app.web.security import CSRF_COOKIE


@cache
def _static_version(name: str) -> str:
    path = resource_path("static") / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """URL of a static file with a content hash, so browsers never keep a stale copy."""
    return f"/static/{name}?v={_static_version(name)}"


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_path("templates")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.globals["static_url"] = static_url
    # The macros are a global module rather than an {% import %} in each page:
    # a block rendered on its own (an htmx fragment) skips the page's top-level
    # code, imports included. Macros get everything they need as arguments.
    env.globals["m"] = env.get_template("_macros.html").make_module()
    env.filters["dt"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    return env


class TemplateResponse(HTMLResponse):
    """Like Starlette's: exposes .template and .context to the test client."""

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        content: str,
        status_code: int,
        headers: dict[str, str] | None,
    ) -> None:
        self.template = template
        self.context = context
        super().__init__(content, status_code=status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "http.response.debug" in scope.get("extensions", {}):
            await send(
                {"type": "http.response.debug", "info": {"template": self.template, "context": self.context}}
            )
        await super().__call__(scope, receive, send)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> TemplateResponse:
    """Render template `name`; only `block` when htmx asked for it."""
    env: jinja2.Environment = request.app.state.templates
    template = env.get_template(name)
    full = {"request": request, **getattr(request.state, "template_globals", {}), **context}
    if block is not None and is_htmx(request):
        content = "".join(template.blocks[block](template.new_context(full)))
    else:
        content = template.render(full)
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    response = TemplateResponse(template, full, content, status_code, all_headers)
    set_csrf_cookie(request, response)
    return response


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Set the CSRF cookie if this request minted a token (security.csrf_token_for)."""
    token = getattr(request.state, "new_csrf_token", None)
    if token is not None:
        secure = bool(request.app.state.settings.hsts)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
