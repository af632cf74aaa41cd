"""Security headers, request body limit and CSRF protection.

Headers go on every response, errors included (a pure ASGI middleware wraps
everything, so even Starlette's own 404/405/500 pages get them).

CSRF (OWASP CSRF Prevention Cheat Sheet): an unsafe request must
 1. not come from another site: `Sec-Fetch-Site` (when sent) is same-origin or
    none, and `Origin` (when sent and not "null") is this server's own origin; and
 2. carry the token from the `cw_csrf` cookie back, in the `X-CSRF-Token`
    header (htmx sends it through `hx-headers`) or the `csrf_token` form field
    (plain form posts). Automation sends the same value in both places.
"""

from __future__ import annotations

import hmac
import json
import secrets

from fastapi import FastAPI, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from app.web.ratelimit import check_failures

CSRF_COOKIE = "cw_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


def replace_headers(message: Message, ours: list[tuple[bytes, bytes]], names: frozenset[bytes]) -> None:
    """Put `ours` on a response-start message, dropping any header of those (lower-case) names the app set.

    Raw pairs, not MutableHeaders: its per-header assignment cost ~30 µs a response.
    """
    kept = [(name, value) for name, value in message.get("headers", ()) if name.lower() not in names]
    message["headers"] = kept + ours


class SecurityHeaders:
    """Adds the security headers; `no-store` and `noindex` on everything but static files."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = list(_BASE_HEADERS)
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        page_only = [(b"cache-control", b"no-store"), (b"x-robots-tag", b"noindex, nofollow")]
        # Built once; replace_headers puts them on every response.
        self._static = headers
        self._pages = headers + page_only
        self._static_names = frozenset(name for name, _ in self._static)
        self._page_names = frozenset(name for name, _ in self._pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/"):
            ours, names = self._static, self._static_names
        else:
            ours, names = self._pages, self._page_names

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                replace_headers(message, ours, names)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for bodies over the limit, by Content-Length or by counting a stream."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                has_body = True
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(scope, send)
                    return
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:
            # Neither Content-Length nor Transfer-Encoding: the request has no
            # body (RFC 9112, section 6.3), nothing to count. Most requests
            # (every page) are such; wrapping receive and send for them cost a
            # few µs each (bench/http_profile.py).
            await self.app(scope, receive, send)
            return
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer 413 here and tell the app the client left: raising instead
                    # would reach FastAPI's body parser, which turns any error into a 400.
                    refused = True
                    if not started:
                        await _too_large(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            # The app may fail on the disconnect it was told about; the client has its 413.
            if not refused:
                raise


class AllowedHosts:
    """400 for a request whose Host header names a host this server does not answer to.

    Without it, a page on any site whose DNS name is re-pointed at 127.0.0.1
    (DNS rebinding) could drive a local instance as a same-origin page, and the
    client's Host would be trusted to build links (issue 12, finding 6;
    docs/hardening.md). The health probes answer any Host: load balancers and
    orchestrators call them by the container's address, and they tell nothing.
    """

    EXEMPT = frozenset({"/healthz", "/readyz"})

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts
        self.any_host = "*" in hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any_host or scope["path"] in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"host":
                if host_name(value.decode("latin-1")) not in self.hosts:
                    await _send_error(
                        scope,
                        send,
                        400,
                        "Unknown host: set CONNECTOR_WIZARD_PUBLIC_URL or CONNECTOR_WIZARD_ALLOWED_HOSTS.",
                    )
                    return
                break
        # No Host at all (HTTP/1.0) names no other site: nothing to rebind.
        await self.app(scope, receive, send)


def host_name(host: str) -> str:
    """The name in a Host header: lower case, without port, brackets or a final dot."""
    host = host.strip().lower()
    name, port = host, ""
    if host.startswith("[") and "]" in host:
        name, _, port = host[1:].partition("]")
        port = port.removeprefix(":")
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return host  # "localhost:80x" is no host of ours
    return name.rstrip(".")


async def _send_error(scope: Scope, send: Send, status: int, message: str) -> None:
    # JSON under /api/ like every other API error (the OpenAPI schema says so), text elsewhere.
    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": message}).encode()
        await _send(send, status, body, b"application/json")
    else:
        await _send(send, status, message.encode(), b"text/plain; charset=utf-8")


async def _too_large(scope: Scope, send: Send) -> None:
    await _send_error(scope, send, 413, "Request body too large.")


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def operator_secret_matches(settings: Settings, given: str) -> bool:
    """True when the operator secret is set and `given` is it (constant-time)."""
    if settings.operator_secret is None:
        return False
    return hmac.compare_digest(settings.operator_secret.get_secret_value().encode(), given.encode())


def checked_operator_secret(request: Request, settings: Settings, given: str) -> bool:
    """operator_secret_matches, under the limiter of failed attempts (429 past it)."""
    return check_failures(request, "secret", lambda: operator_secret_matches(settings, given))


def may_create_wizards(request: Request, settings: Settings, given: str) -> bool:
    """Without an operator secret anyone may start a wizard; with one, only who gives it."""
    return settings.operator_secret is None or checked_operator_secret(request, settings, given)


def public_base_url(request: Request) -> str:
    """Where people open the app: CONNECTOR_WIZARD_PUBLIC_URL, else this request's (allowed) host."""
    public_url: str = request.app.state.settings.public_url
    return public_url or str(request.base_url).rstrip("/")


def cookies_secure(request: Request) -> bool:
    """Whether our cookies get `Secure`: HTTPS as the client sees it.

    HSTS promised, or a trusted proxy said so (X-Forwarded-Proto).
    """
    # The scope's scheme is request.url's, without building the URL.
    return bool(request.app.state.settings.hsts) or request.scope.get("scheme") == "https"


def csrf_token_for(request: Request) -> str:
    """This browser's CSRF token: the cookie's, or a new one the response will set."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token
    state_token: str | None = getattr(request.state, "new_csrf_token", None)
    if state_token is None:
        state_token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = state_token
    return state_token


def _same_origin(request: Request, origin: str) -> bool:
    """The request's own origin (its Host passed AllowedHosts), or the configured public URL's."""
    host = request.headers.get("host", "")
    public_url: str = request.app.state.settings.public_url
    return origin in {f"http://{host}", f"https://{host}"} or (bool(public_url) and origin == public_url)


async def verify_csrf(request: Request) -> None:
    """Router dependency: reject cross-site and token-less unsafe requests with 403."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        raise HTTPException(403, "Cross-site request refused.")
    origin = request.headers.get("origin")
    # "null" is what browsers send under Referrer-Policy: no-referrer (Fetch
    # standard, "serializing a request origin"); Sec-Fetch-Site and the token decide then.
    if origin is not None and origin != "null" and not _same_origin(request, origin):
        raise HTTPException(403, "Cross-origin request refused.")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AllowedHosts, hosts=settings.host_names)
    # Outermost, around Starlette's ServerErrorMiddleware, so that 500 pages
    # get the headers too (user middleware sits inside ServerErrorMiddleware).
    build_inner = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return SecurityHeaders(build_inner(), hsts=settings.hsts)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
