"""uvicorn's httptools protocol with the limits uvicorn lacks: header size and header read time.

uvicorn bounds neither with httptools (its default HTTP implementation when
installed): a 64 MiB header was read into memory, and a request whose
headers never end kept its connection open for ever (issue 12, finding 4;
docs/hardening.md). `h11_max_incomplete_event_size` only bounds uvicorn's
other implementation, h11, and answers 400 there. This subclass:

- answers 431 Request Header Fields Too Large and closes the connection once
  the request line and headers pass `max_header_bytes` (counted as they
  arrive, so one endless header is cut off too);
- closes a connection whose request headers are not complete within
  `header_timeout` seconds of its first byte (or of the connection, if it
  sends nothing), with 408 Request Timeout if part of a request came.

Concurrent connections are bounded by uvicorn's own `limit_concurrency`
(503 beyond it). `connector-wizard serve` passes this class as `http`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

PROTOCOL = "app.web.server:LimitedHttpToolsProtocol"
# Read by every worker process (uvicorn's Config carries no field of ours).
HEADER_TIMEOUT_ENV = "CONNECTOR_WIZARD_HEADER_TIMEOUT_SECONDS"


class _HeadersTooLarge(Exception):
    pass


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # The h11 setting carries our limit for both implementations.
        self.max_header_bytes = config.h11_max_incomplete_event_size or 16384
        self.header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV, "10"))
        self._awaiting_headers = True
        self._received = 0  # bytes since the current request's headers started
        self._too_large = False
        # When the current request's headers must be complete; None while none is awaited.
        self._header_deadline: float | None = None
        self._header_timer: asyncio.TimerHandle | None = None

    # --- header read time ----------------------------------------------------------
    # One timer per connection, not per request: a request sets its deadline
    # and the timer, when it fires, checks it and waits again for a later one.
    # Arming and cancelling a timer for every request cost ~10 us a request
    # (a TimerHandle, a push onto the loop's heap, which every connection's
    # cancelled handles also crowd until they expire; bench/README.md).

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_deadline = None
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _expect_headers(self) -> None:
        """Start the current request's header budget (if not started) and make sure the timer runs."""
        if self._header_deadline is None:
            self._header_deadline = self.loop.time() + self.header_timeout
        if self._header_timer is None:
            self._header_timer = self.loop.call_at(self._header_deadline, self._header_timed_out)

    def _header_timed_out(self) -> None:
        self._header_timer = None
        deadline = self._header_deadline
        if deadline is None or not self._awaiting_headers or self.transport.is_closing():
            return  # no headers awaited now: the next request's first bytes start the timer again
        if self.loop.time() < deadline:
            # A later request's budget (keep-alive): wait until its own deadline.
            self._header_timer = self.loop.call_at(deadline, self._header_timed_out)
            return
        if self._received:
            self._send_and_close(408, "Request headers not received in time.")
        else:
            self.transport.close()

    # --- header size ----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # HttpToolsProtocol.data_received, with the byte count and the 431 answer.
        self._unset_keepalive_if_required()
        if self._awaiting_headers:
            self._received += len(data)
            self._expect_headers()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._too_large:
                self._send_and_close(431, "Request header fields too large.")
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._awaiting_headers and self._received > self.max_header_bytes:
            # Still inside the headers, and past the limit: do not wait for the rest.
            self._send_and_close(431, "Request header fields too large.")

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_deadline = None  # the timer stays: it finds no deadline and stops
        # The target and the headers as the parser handed them over (uvicorn keeps
        # both for the request), each header with its ": " and CRLF. Counted here
        # once rather than in an on_url and an on_header of our own, which cost
        # ~4 us a request (a call into ours and uvicorn's per header; bench/README.md).
        parsed = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if parsed > self.max_header_bytes:
            # Headers that arrived in one read: complete, but still too large.
            self._too_large = True
            raise _HeadersTooLarge
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection (keep-alive) starts its own count.
        self._awaiting_headers = True
        self._received = 0

    def _send_and_close(self, status: int, message: str) -> None:
        body = message.encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
