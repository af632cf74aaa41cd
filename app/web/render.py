"""One render() for pages and htmx fragments.

Pattern: htmx "Template Fragments" — one template per page, the swappable
parts as named {% block %}s. An htmx request (HX-Request header) gets only the
named block; everyone else the whole page. `Vary: HX-Request` always, so a
cache never serves a fragment as a page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from app.domain import least_privilege
from app.domain.policies import render_json
from app.domain.verification.results import summary_sentence
from app.resources import resource_path
from app.store import share_links
from app.web.security import CSRF_COOKIE, cookies_secure


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
    # A verification's counts in words, the same sentence on every page that shows one.
    env.globals["summary_sentence"] = summary_sentence
    # The macros are a global module rather than an {% import %} in each page:
    # a block rendered on its own (an htmx fragment) skips the page's top-level
    # code, imports included. Macros get everything they need as arguments.
    # Filters first: a template compiled before a filter exists fails when it is used.
    env.filters["dt"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    # A policy document as the bytes of its file (never Jinja's tojson, which sorts keys):
    # what a page shows and what is downloaded are the same bytes, with the same sha256.
    env.filters["policy_json"] = render_json
    # The Secrets Manager prefix's caveat, worded once in the domain (docs/secret-prefix.md).
    env.globals["secret_prefix_note"] = least_privilege.secret_prefix_note
    env.globals["uses_secret_prefix"] = least_privilege.uses_secret_prefix
    env.globals["SECRET_PREFIX_ASSUMED"] = least_privilege.SECRET_PREFIX_ASSUMED
    env.filters["sha256"] = lambda text: hashlib.sha256(str(text).encode("utf-8")).hexdigest()
    env.filters["breakable"] = breakable
    env.globals["m"] = _MacrosOnFirstUse(env)
    return env


class _MacrosOnFirstUse:
    """`m` in templates: the macros module, compiled when a template first uses it, not at start-up.

    Compiling _macros.html was the largest single cost of `create_app()`
    (docs/decisions.md#cold-start, measured in bench/README.md), and the first
    200 of a start (a health check) renders no template. Jinja looks macros up
    with getattr, which lands here.
    """

    def __init__(self, env: jinja2.Environment) -> None:
        self._env = env
        self._module: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._module is None:
            self._module = self._env.get_template("_macros.html").make_module()
        return getattr(self._module, name)


# After ":" and "/" (ARNs, API names, paths) and inside long camel-case names
# (ListAWSServiceAccessForOrganization): lines break there rather than one
# character per line, and no page scrolls sideways (docs/ux.md).
_BREAK_AFTER = re.compile(r"([:/])(?=[^\s])")
_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")


def breakable(value: object) -> Markup:
    """`value` escaped, with <wbr> where an ARN or an API name may wrap. Copying the text is unchanged."""
    text = str(escape(value))
    text = _BREAK_AFTER.sub(r"\1<wbr>", text)
    return Markup(_CAMEL_HUMP.sub("<wbr>", text))  # noqa: S704 - built from escaped text


class TemplateResponse(HTMLResponse):
    """Like Starlette's: exposes .template and .context to the test client."""

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        content: str | bytes,
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


class PageCache:
    """Whole pages rendered once per wizard revision, with per-request values swapped in.

    A wizard page depends only on the wizard's state (its revision moves on
    every change, see models.Wizard.revision), the link used to open it, and
    two per-browser values: the CSRF token and the display name. Those two are
    rendered as random placeholders and replaced on the way out, so a page is
    rendered once and served many times. The checklist page spent ~80% of its
    time in Jinja2 and the database (profiled with cProfile, bench/http_bench.py).

    A page is kept as UTF-8 bytes cut at its placeholders, and served by
    joining the pieces with this request's values: encoding the page and two
    str.replace passes over its 28 KB cost ~40 µs a request, two bytes.replace
    passes ~20 µs, the join ~3 µs (cProfile and timeit, bench/README.md).
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[tuple[bytes, ...], dict[str, Any]]] = OrderedDict()
        # Unguessable, so no user-typed text can contain them.
        nonce = secrets.token_hex(16)
        self.csrf_placeholder = f"csrf{nonce}"
        self.actor_placeholder = f"actor{nonce}"
        self._placeholders = re.compile(f"({self.csrf_placeholder}|{self.actor_placeholder})".encode())

    def cut(self, html: str) -> tuple[bytes, ...]:
        """The page as bytes, cut so that every odd piece is a placeholder."""
        return tuple(self._placeholders.split(html.encode()))

    def fill(self, pieces: tuple[bytes, ...], *, csrf_token: str, actor: str) -> bytes:
        """The page with this request's CSRF token and display name in place, HTML-escaped as Jinja would."""
        values = {
            self.csrf_placeholder.encode(): str(escape(csrf_token)).encode(),
            self.actor_placeholder.encode(): str(escape(actor)).encode(),
        }
        filled = list(pieces)
        for index in range(1, len(filled), 2):
            filled[index] = values[filled[index]]
        return b"".join(filled)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every page (after a purge: nothing deleted stays in memory)."""
        self._entries.clear()

    def get(self, key: Hashable) -> tuple[tuple[bytes, ...], dict[str, Any]] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, pieces: tuple[bytes, ...], context: dict[str, Any]) -> None:
        self._entries[key] = (pieces, context)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def render_cached(
    request: Request,
    name: str,
    key: Hashable,
    build_context: Callable[[], dict[str, Any]],
) -> TemplateResponse:
    """Render page `name` for `key` once; later requests with the same key reuse it."""
    cache: PageCache = request.app.state.page_cache
    globals_ = getattr(request.state, "template_globals", {})
    full_key = (name, key, globals_.get("demo"))
    entry = cache.get(full_key)
    env: jinja2.Environment = request.app.state.templates
    template = env.get_template(name)
    if entry is None:
        context = {
            "request": request,
            **globals_,
            "csrf_token": cache.csrf_placeholder,
            "actor_name": cache.actor_placeholder,
            **build_context(),
        }
        rendered = template.render(context)
        # Kept without the request: a cache entry outlives it (the test client reads the rest).
        entry = (cache.cut(rendered), {key: value for key, value in context.items() if key != "request"})
        cache.put(full_key, *entry)
    pieces, context = entry
    html = cache.fill(
        pieces,
        csrf_token=str(globals_.get("csrf_token", "")),
        actor=str(globals_.get("actor_name", "")),
    )
    response = TemplateResponse(template, context, html, 200, {"Vary": "HX-Request"})
    set_csrf_cookie(request, response)
    return response


def page_key(access: share_links.Access) -> tuple[str, int, int]:
    """A page is the same for one link (its token is in every URL) at one wizard revision.

    The wizard's random id comes first: revisions count from 0 in every wizard, and
    on a database migrated before 0005 a purged link's id could be handed out again,
    which once served one wizard's cached page to another (issue 12, finding 1).
    """
    return (access.wizard.id, access.link.id, access.wizard.revision)


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
        secure = cookies_secure(request)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
