"""One render() for pages and htmx fragments.

Pattern: htmx "Template Fragments" — one template per page, the swappable
parts as named {% block %}s. An htmx request (HX-Request header) gets only the
named block; everyone else the whole page. `Vary: HX-Request` always, so a
cache never serves a fragment as a page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, NamedTuple, Protocol

import jinja2
import jinja2.meta
import jinja2.nodes
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from app.domain import least_privilege
from app.domain.policies import render_json
from app.domain.verification.results import summary_sentence
from app.resources import resource_path
from app.store import database, db, share_links
from app.web.security import CSRF_COOKIE, cookies_secure


@cache
def _static_version(name: str) -> str:
    path = resource_path("static") / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """URL of a static file with a content hash, so browsers never keep a stale copy."""
    return f"/static/{name}?v={_static_version(name)}"


class TemplateEnvironment(jinja2.Environment):
    """Jinja's Environment, each template's globals a plain dict rather than a ChainMap over the environment's.

    Every render starts by copying its template's globals and the variables
    into a new context (`Template.new_context`); Jinja keeps a template's
    globals as a `ChainMap` in front of the environment's, which that copy
    walks key by key in Python: ~12 µs of timeit per render, ~25 µs of a tick
    in process, for the 12 globals here, Jinja's own and ours
    (docs/decisions.md#route-index, bench/README.md, "the tick, fifth round").
    A dict copies in C. What is lost is only that a
    global added to the environment after a template is loaded would not reach
    it: `make_templates` sets every global before any template loads.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Per template name: whether its own source names now_iso or now_text, and the
        # templates it extends, includes or imports (None: named by an expression).
        self._time_facts: dict[str, tuple[bool, tuple[str | None, ...]]] = {}
        self._reads_time: dict[str, bool] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def _parse(self, source: str, name: str | None, filename: str | None) -> jinja2.nodes.Template:
        # Jinja's one parse of a template's source (jinja2 is pinned: this hook is internal),
        # read here for `reads_time` rather than parsed a second time (~6-26 ms a page).
        tree = super()._parse(source, name, filename)
        if name is not None:
            names_time = any(node.name in TIME_VARIABLES for node in tree.find_all(jinja2.nodes.Name))
            self._time_facts[name] = (names_time, tuple(jinja2.meta.find_referenced_templates(tree)))
        return tree

    def reads_time(self, name: str) -> bool:
        """Whether template `name`, or one it extends, includes or imports, names now_iso or now_text.

        Found once per template from the tree Jinja parsed it into: `render`
        reads the clock and formats it (~4 µs of timeit, ~8 µs of a tick in
        process) only for a template that can show it. A template named by an
        expression, or one never parsed here, is taken to read it. The macros
        (`m`) cannot: a macro gets only its arguments.
        """
        found = self._reads_time.get(name)
        if found is None:
            self._reads_time[name] = False  # a template that reaches itself again adds nothing
            self.get_template(name)  # parsed on first load (auto_reload is off: never again)
            facts = self._time_facts.get(name)
            found = (
                facts is None
                or facts[0]
                or any(other is None or self.reads_time(other) for other in facts[1])
            )
            self._reads_time[name] = found
        return found


def make_templates() -> TemplateEnvironment:
    env = TemplateEnvironment(
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
    env.filters["dt"] = format_time
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


class PageContext(Protocol):
    """What a template receives: a frozen dataclass whose fields are the template's variables.

    One dataclass per page or fragment, built by one function next to its
    route (docs/architecture.md#page-contexts). A field the template reads and
    the context lacks fails the render (StrictUndefined); a field the builder
    forgets fails mypy.
    """

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


def template_variables(context: PageContext) -> dict[str, Any]:
    """A context's fields as its template's variables (shallow: each value as it is)."""
    return {field.name: getattr(context, field.name) for field in dataclasses.fields(context)}


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


# What differs between two requests for the same page beyond its cache key
# (page_key): the browser's CSRF token, the display name it set, and the time
# the page is generated at. A cached page holds placeholders for them.
PER_REQUEST = ("csrf_token", "actor_name", "now_iso", "now_text")
TIME_VARIABLES = frozenset({"now_iso", "now_text"})


def per_request_values(request: Request, *, with_time: bool = True) -> dict[str, str]:
    """This request's values of PER_REQUEST (page_globals set the first two); the time only if asked."""
    globals_ = getattr(request.state, "template_globals", {})
    values = {
        "csrf_token": str(globals_.get("csrf_token", "")),
        "actor_name": str(globals_.get("actor_name", "")),
    }
    if with_time:
        now = db.utcnow()
        values["now_iso"] = now.isoformat()
        values["now_text"] = format_time(now)
    return values


def format_time(value: datetime | None) -> str:
    """A time as every page shows it (the `dt` filter)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@dataclass(frozen=True, slots=True)
class CachedPage:
    # The page as UTF-8 bytes cut at its placeholders: every odd piece is the
    # name (a PER_REQUEST entry, as bytes) of the value that goes there.
    pieces: tuple[bytes, ...]
    context: dict[str, Any]
    # After this time the page may read differently (a link expires): rendered again.
    valid_until: datetime | None
    # Whether the page shows the time it is served at (reading the clock and
    # formatting it cost ~4 µs a page that does not need it).
    shows_time: bool = False


class PageCache:
    """Wizard pages and fragments rendered once per key, with per-request values swapped in.

    A page depends on the wizard's state (its revision moves on every change,
    see the revision column of models.WIZARD), the link used to open it, the
    URL, htmx or not, and what a route names besides (page_key). The PER_REQUEST values are
    rendered as random placeholders and filled on the way out, so a page is
    rendered once and served many times: a whole render was ~80% of a page's
    time (cProfile, bench/README.md).

    A page is kept as UTF-8 bytes cut at its placeholders, and served by
    joining the pieces with this request's values: encoding the page and a
    str.replace pass per value over its 28 KB cost ~20 µs each, the join ~3 µs
    (cProfile and timeit, bench/README.md).
    """

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[PageKey, CachedPage] = OrderedDict()
        # Unguessable, so no user-typed text can contain them.
        nonce = secrets.token_hex(16)
        self.placeholders = {name: f"{name.replace('_', '')}{nonce}" for name in PER_REQUEST}
        self._names = {value.encode(): name.encode() for name, value in self.placeholders.items()}
        self._pattern = re.compile(b"(" + b"|".join(map(re.escape, self._names)) + b")")

    def cut(self, html: str) -> tuple[bytes, ...]:
        """The page as bytes, cut so that every odd piece names a placeholder's value."""
        pieces = self._pattern.split(html.encode())
        for index in range(1, len(pieces), 2):
            pieces[index] = self._names[pieces[index]]
        return tuple(pieces)

    @staticmethod
    def fill(pieces: tuple[bytes, ...], values: dict[str, str]) -> bytes:
        """The page with this request's values in place, HTML-escaped as Jinja would."""
        escaped = {name.encode(): str(escape(value)).encode() for name, value in values.items()}
        filled = list(pieces)
        for index in range(1, len(filled), 2):
            filled[index] = escaped[filled[index]]
        return b"".join(filled)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every page (after a purge: nothing deleted stays in memory)."""
        self._entries.clear()

    def cached_keys(self) -> list[PageKey]:
        return list(self._entries)

    def get(self, key: PageKey, now: datetime) -> CachedPage | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.valid_until is not None and now >= entry.valid_until:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: PageKey, entry: CachedPage) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


# A longer query string is rendered every time rather than kept: a cache key
# holds the query, and nobody's form sends this much (the options form with
# every region of a partition ticked sends ~1 KB).
MAX_CACHED_QUERY = 4096


class PageKey(NamedTuple):
    """Everything a wizard page or fragment depends on, so that one key is one page.

    - the wizard's random id and its revision: the revision moves on every
      change (app/store/wizards.py, `changed`, called by every write); the id
      comes first because revisions count from 0 in every wizard, and on a
      database migrated before 0005 a purged link's id could be handed out
      again, which once served one wizard's cached page to another (issue 12,
      finding 1);
    - the link's id and kind: its token is in every URL and its kind decides
      what the page offers (a view link gets no forms);
    - the template and the block (an htmx request gets a fragment), the path
      and the query string, and demo mode;
    - `depends_on`: what else the route read (a running verification's state).
    """

    wizard_id: str
    revision: int
    link_id: int
    link_kind: str
    template: str
    block: str | None
    path: str
    query: bytes
    demo: bool
    depends_on: Hashable


def page_key(
    request: Request, access: share_links.Access, name: str, block: str | None, depends_on: Hashable
) -> PageKey:
    globals_ = getattr(request.state, "template_globals", {})
    return PageKey(
        access.wizard.id,
        access.wizard.revision,
        access.link.id,
        access.link.kind,
        name,
        block,
        request.scope["path"],
        request.scope.get("query_string", b""),
        bool(globals_.get("demo")),
        depends_on,
    )


def render_page(
    request: Request,
    name: str,
    access: share_links.Access,
    build_context: Callable[[], PageContext],
    *,
    block: str | None = None,
    depends_on: Hashable = (),
    valid_until: Callable[[], datetime | None] | None = None,
    headers: dict[str, str] | None = None,
) -> TemplateResponse:
    """A wizard page (or its `block` for htmx), rendered once per page_key and served from the cache after.

    Every GET page and fragment of a wizard goes through here: the first
    request for a key renders it with placeholders for the PER_REQUEST
    values, later ones fill the placeholders. `build_context` runs only on a
    miss: a cached page costs no context. Whatever the page shows must come from the wizard's state (the
    revision), the link, the URL, or `depends_on`; a page that changes with
    time says until when it holds (`valid_until`, asked after `build_context`).
    """
    htmx_block = block if block is not None and is_htmx(request) else None
    env: jinja2.Environment = request.app.state.templates
    template = env.get_template(name)

    def build() -> CachedPage:
        cache: PageCache = request.app.state.page_cache
        globals_ = getattr(request.state, "template_globals", {})
        context = {
            "request": request,
            **globals_,
            **cache.placeholders,
            **template_variables(build_context()),
        }
        pieces = cache.cut(_render_template(template, context, htmx_block))
        return CachedPage(
            pieces,
            # Kept without the request: a cache entry outlives it (the test client reads the rest).
            {key: value for key, value in context.items() if key != "request"},
            valid_until() if valid_until is not None else None,
            shows_time=b"now_iso" in pieces[1::2] or b"now_text" in pieces[1::2],
        )

    entry = _cached_entry(request, access, name, htmx_block, depends_on, build)
    if entry is None:
        return render(request, name, build_context(), block=block, headers=headers)
    html = PageCache.fill(entry.pieces, per_request_values(request, with_time=entry.shows_time))
    response = TemplateResponse(template, entry.context, html, 200, {"Vary": "HX-Request", **(headers or {})})
    set_csrf_cookie(request, response)
    return response


def cached_json(
    request: Request,
    name: str,
    access: share_links.Access,
    build: Callable[[], bytes],
    *,
    depends_on: Hashable = (),
) -> Response:
    """A wizard's JSON answer, built once per page_key like a page (render_page) and served from the cache after.

    For API answers that are a pure function of what a PageKey holds (the
    wizard's revision, the link's kind, the URL): `build` runs only on a miss
    and returns the body's bytes as the route's response model would serialise
    them. No per-request values: a JSON answer has no CSRF token or name.
    """
    entry = _cached_entry(request, access, name, None, depends_on, lambda: CachedPage((build(),), {}, None))
    if entry is None:
        return Response(build(), media_type="application/json")
    return Response(entry.pieces[0], media_type="application/json")


def _cached_entry(
    request: Request,
    access: share_links.Access,
    name: str,
    block: str | None,
    depends_on: Hashable,
    build: Callable[[], CachedPage],
) -> CachedPage | None:
    """The page cache's entry for this request's page_key, `build` run and kept on a miss.

    None when the query string is too long to be part of a key
    (MAX_CACHED_QUERY): the caller answers without the cache.
    """
    if len(request.scope.get("query_string", b"")) > MAX_CACHED_QUERY:
        return None
    cache: PageCache = request.app.state.page_cache
    key = page_key(request, access, name, block, depends_on)
    entry = cache.get(key, db.utcnow())
    if entry is None:
        entry = build()
        cache.put(key, entry)
    return entry


def _render_template(template: jinja2.Template, context: dict[str, Any], block: str | None) -> str:
    if block is None:
        return template.render(context)
    return "".join(template.blocks[block](template.new_context(context)))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: PageContext,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> TemplateResponse:
    """Render template `name`; only `block` when htmx asked for it."""
    env: TemplateEnvironment = request.app.state.templates
    template = env.get_template(name)
    full = {
        "request": request,
        **getattr(request.state, "template_globals", {}),
        **template_variables(context),
    }
    if env.reads_time(name):
        now = database.utcnow()  # not db's: a page without the database does not load the store
        full.setdefault("now_iso", now.isoformat())
        full.setdefault("now_text", format_time(now))
    content = _render_template(template, full, block if block is not None and is_htmx(request) else None)
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    response = TemplateResponse(template, full, content, status_code, all_headers)
    set_csrf_cookie(request, response)
    return response


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Set the CSRF cookie if this request minted a token (security.csrf_token_for)."""
    token = getattr(request.state, "new_csrf_token", None)
    if token is not None:
        # The header Response.set_cookie(httponly=True, samesite="strict", path="/",
        # secure=...) writes, written directly: its SimpleCookie was ~10% of a
        # cached page served to a browser without the cookie (cProfile,
        # bench/README.md); tests/web/test_page_cache.py compares the two. The
        # token is URL-safe base64 (secrets.token_urlsafe): nothing to quote.
        secure = "; Secure" if cookies_secure(request) else ""
        header = f"{CSRF_COOKIE}={token}; HttpOnly; Path=/; SameSite=strict{secure}"
        response.raw_headers.append((b"set-cookie", header.encode("latin-1")))
