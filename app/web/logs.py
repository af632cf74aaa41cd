"""Request logs with share tokens masked, and the logging configuration `serve` uses.

`AccessLog` is a pure ASGI middleware: every request gets an id (a sane
incoming `X-Request-ID` from a load balancer is kept, otherwise a new one),
echoed in the `X-Request-ID` response header and attached to every log line
written while the request runs; at the end one line says method, path (share
tokens masked), status and duration. uvicorn's own access log stays off: it
prints raw paths, and a share link is a capability (docs/security.md).

`logging_config()` is the dictConfig that `connector-wizard serve` hands to
uvicorn, which applies it in every worker process. Its formatters mask tokens
in whole lines too — exception text and other libraries' messages included —
as a second line of defence behind the path masking.

Imports nothing of ours but app.domain.tokens; no store, no AWS.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.tokens import TOKEN_PATTERN
from app.web.security import replace_headers

ACCESS_LOGGER = "connector_wizard.access"
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.encode()
_REQUEST_ID_NAMES = frozenset({_REQUEST_ID_RAW})
MASK = "***"

# Everything after /w/ and /api/v1/wizards/ up to the next "/" is a share
# token (or a mistyped one, which may still hold a real token): mask it whole.
_PATH_TOKEN = re.compile(r"(/w/|/api/v1/wizards/)[^/?#\s\"'<>]+")
# Anywhere in a line: a run of exactly a token's length and alphabet.
_BARE_TOKEN = re.compile(rf"(?<![A-Za-z0-9_-]){TOKEN_PATTERN.pattern}(?![A-Za-z0-9_-])")
# An incoming request id is kept only if it is short and plain.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

log = logging.getLogger(ACCESS_LOGGER)


def mask_path(path: str) -> str:
    return _PATH_TOKEN.sub(lambda match: match.group(1) + MASK, path)


def mask_text(text: str) -> str:
    return _BARE_TOKEN.sub(MASK, mask_path(text))


class AccessLog:
    """Request id for every request; one masked log line per request when `enabled`."""

    def __init__(self, app: ASGIApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500  # if the app fails before it answers, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                replace_headers(message, [(_REQUEST_ID_RAW, request_id.encode("latin-1"))], _REQUEST_ID_NAMES)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.enabled:
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                method = str(scope.get("method", ""))
                path = mask_path(str(scope.get("path", "")))
                client = scope.get("client")
                if log.isEnabledFor(logging.INFO):
                    # makeRecord + handle is what log.info() does, less finding the
                    # caller's file and line (a frame walk; no format here prints them).
                    log.handle(
                        log.makeRecord(
                            log.name,
                            logging.INFO,
                            __file__,
                            0,
                            "%s %s %d %.2fms",
                            (method, path, status, duration_ms),
                            None,
                            extra={
                                "method": method,
                                "path": path,
                                "status": status,
                                "duration_ms": duration_ms,
                                "client": client[0] if client else None,
                            },
                        )
                    )
            request_id_var.reset(reset)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_RAW:
            text: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(text) and not _BARE_TOKEN.search(text):
                return text
            return None
    return None


def install(app: FastAPI, *, access_log: bool) -> None:
    # Added last, so it wraps the other middleware and sees their answers (413, 403) too.
    app.add_middleware(AccessLog, enabled=access_log)


# --- logging configuration ---------------------------------------------------------

# LogRecord's own attributes; anything else on a record came through `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# uvicorn's copy of the message with terminal colour codes.
_DROPPED_EXTRA = frozenset({"color_message"})


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class QuietMigrationContext(logging.Filter):
    """Drops Alembic's per-connection chatter: /readyz opens a MigrationContext on every probe."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


# Characters that end a line, move the cursor or start a terminal escape
# sequence: C0 and C1 controls, DEL, the Unicode line and paragraph
# separators, and the bidirectional overrides that reorder what a terminal
# shows. In a text log line they become visible escapes, so a path with
# %0a, %0d, %1b or %00 cannot write a fake line or colour the terminal
# (issue 12, finding 5; docs/hardening.md).
_CONTROL = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROL}
_ESCAPES |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_ESCAPES_KEEPING_NEWLINES = {code: text for code, text in _ESCAPES.items() if code != ord("\n")}


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (\\n, \\x1b, \\u2028)."""
    return text.translate(_ESCAPES)


def _indented_block(text: str) -> str:
    """A traceback: its own lines kept, each indented, every other control character escaped.

    Indented, no continuation line can pass for a record of its own.
    """
    return text.translate(_ESCAPES_KEEPING_NEWLINES).replace("\n", "\n    ")


class TextFormatter(logging.Formatter):
    """One line per record (a traceback follows, indented), control characters escaped, tokens masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indented_block(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented_block(super().formatStack(stack_info))

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _DROPPED_EXTRA and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Masked value by value: masking the encoded line could cut through its quotes.
        return json.dumps(_masked(entry), default=lambda value: mask_text(str(value)), ensure_ascii=False)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for the server: one stderr handler, masked, text or JSON."""
    formatter = "app.web.logs.JsonFormatter" if log_format == "json" else "app.web.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "app.web.logs.RequestIdFilter"},
            "quiet_migration_context": {"()": "app.web.logs.QuietMigrationContext"},
        },
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Ours replaces it (masked); uvicorn's prints raw paths.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            "uvicorn": {"level": level},
            "alembic.runtime.plugins": {"level": "WARNING"},
            "alembic.runtime.migration": {"filters": ["quiet_migration_context"]},
            # botocore at DEBUG prints request headers, the session token among them.
            "botocore": {"level": "WARNING"},
            "boto3": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
        },
    }
