"""`connector-wizard serve` bounds header size, header read time and connections (issue 12, finding 4).

A real server process on 127.0.0.1, driven with raw sockets: every socket has
a timeout and every loop a fixed count, so nothing here can hang.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _connect(server: Any) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.settimeout(10)
    return sock


def _status(sock: socket.socket) -> tuple[int | None, bytes]:
    """The status of the answer (None if the server closed without one) and all it sent."""
    received = b""
    try:
        while len(received) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and b"content-length: 0" in received.lower():
                break
    except ConnectionResetError:
        pass
    if not received.startswith(b"HTTP/1.1 "):
        return None, received
    return int(received.split(b" ", 2)[1]), received


def _read_health_ok(sock: socket.socket) -> None:
    """Read one whole /healthz answer off a kept-alive connection; it must be a 200."""
    received = b""
    while b'"status":"ok"' not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received


def _send_all(sock: socket.socket, data: bytes, chunk: int = 65536) -> int:
    """Send until done or the server closed the connection; the bytes it took."""
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent : sent + chunk])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One server for the module: each test leaves no connection open behind it."""
    folder = tmp_path_factory.mktemp("limits")
    process = ServerProcess(
        f"sqlite:///{folder / 'w.sqlite3'}",
        folder / "server.log",
        CONNECTOR_WIZARD_MAX_HEADER_BYTES="16384",
        CONNECTOR_WIZARD_HEADER_TIMEOUT_SECONDS="1",
        CONNECTOR_WIZARD_MAX_CONNECTIONS="4",
    )
    yield process
    process.stop()


def test_one_endless_header_gets_431_long_before_it_ends(server: Any) -> None:
    with _connect(server) as sock:
        huge = REQUEST + b"X-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
        sent = _send_all(sock, huge)
        status, _ = _status(sock)
    assert status == 431
    assert sent < len(huge)  # the server stopped reading: 8 MiB never went in


def test_many_small_headers_past_the_limit_get_431(server: Any) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 100) for n in range(200))  # ~22 KB
    with _connect(server) as sock:
        sock.sendall(REQUEST + headers + b"\r\n")
        status, _ = _status(sock)
    assert status == 431


def test_headers_within_the_limit_are_served(server: Any) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 100) for n in range(100))  # ~11 KB
    with _connect(server) as sock:
        sock.sendall(REQUEST + headers + b"Connection: close\r\n\r\n")
        status, body = _status(sock)
    assert status == 200 and b'"status":"ok"' in body


def test_a_half_sent_request_is_closed_after_the_header_timeout(server: Any) -> None:
    with _connect(server) as sock:
        sock.sendall(REQUEST)  # no blank line: the headers never end
        started = time.monotonic()
        status, _ = _status(sock)
        waited = time.monotonic() - started
    assert status == 408
    assert waited < 9  # closed by the server (1 s setting), not by this socket's 10 s timeout


def test_a_silent_connection_is_closed_too(server: Any) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed without an answer
    assert time.monotonic() - started < 9


def test_connections_past_the_limit_get_503(server: Any) -> None:
    idle = [_connect(server) for _ in range(4)]
    try:
        with _connect(server) as sock:
            sock.sendall(REQUEST + b"Connection: close\r\n\r\n")
            status, _ = _status(sock)
        assert status == 503
    finally:
        for sock in idle:
            sock.close()
    # Once they are gone the server answers again (they are closed within the header timeout anyway).
    for _ in range(50):
        with _connect(server) as sock:
            sock.sendall(REQUEST + b"Connection: close\r\n\r\n")
            status, _ = _status(sock)
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200


def test_keep_alive_requests_each_get_their_own_header_budget(server: Any) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 100) for n in range(100))  # ~11 KB each
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(REQUEST + headers + b"\r\n")
            _read_health_ok(sock)


@pytest.mark.parametrize("pause", [0.0, 1.5], ids=["at once", "after the first budget ran out"])
def test_a_half_sent_request_after_a_served_one_is_closed_after_the_header_timeout(
    server: Any, pause: float
) -> None:
    """Each request on a kept-alive connection has its own budget from its first byte.

    One timer per connection checks the current request's deadline
    (app/web/server.py): started at once, the second request's budget ends
    after the timer the connection started with; started after that timer
    went off idle, it must start a new one.
    """
    with _connect(server) as sock:
        sock.sendall(REQUEST + b"\r\n")
        _read_health_ok(sock)
        time.sleep(pause)  # within uvicorn's 5 s keep-alive
        sock.sendall(REQUEST)  # no blank line: these headers never end
        started = time.monotonic()
        status, answer = _status(sock)
        waited = time.monotonic() - started
    assert status == 408, answer
    assert 0.5 < waited < 9  # the server's 1 s budget, counted from this request's first byte
