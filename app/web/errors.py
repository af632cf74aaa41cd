"""Error responses: HTML for people, JSON for /api, never a traceback or an echo of input.

FastAPI's default 422 body repeats the submitted values (`input`); a wrong
form could carry a secret, so ours lists only where and what.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.web.render import render

log = logging.getLogger("connector_wizard.errors")

_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed by someone else",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
}


@dataclass(frozen=True)
class ErrorPage:
    """What error.html receives (docs/architecture.md#page-contexts)."""

    title: str
    message: str
    # The wizard the link opened, if it did: the way back leads there rather than to the start.
    wizard_url: str | None = None
    # The link is a view link: the page says what it can still do.
    read_only: bool = False
    # No step list around an error.
    nav: None = None


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, detail: object, headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    message = detail if isinstance(detail, str) else _TITLES.get(status, "Error")
    request.state.template_globals = {"csrf_token": "", "actor_name": "", "demo": False}
    # A link that opened its wizard (a view link asked to change something, say)
    # leads back into that wizard rather than to the start: no dead ends.
    access = getattr(request.state, "access", None)
    token = request.path_params.get("token") if access is not None else None
    return render(
        request,
        "error.html",
        ErrorPage(
            title=_TITLES.get(status, "Error"),
            message=message,
            wizard_url=f"/w/{token}" if token else None,
            read_only=access is not None and not access.can_edit,
        ),
        status_code=status,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, exc.detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        fields = ", ".join(p["loc"][-1] for p in problems if p["loc"]) or "the form"
        return _error(request, 422, f"Check {fields}: the value is missing or not valid.")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Logged with the exception type only; the page shows no details.
        log.error(
            "unhandled %s on %s %s", type(exc).__name__, request.method, request.scope.get("route_path", "?")
        )
        return _error(request, 500, "The server failed to handle this request. Nothing was changed.")
