"""CPU per request of the HTTP protocol layer: uvicorn's httptools protocol against ours, in one process.

Usage:  .venv/bin/python bench/protocol_profile.py [--rounds 25] [--requests 1000] [--compare MODULE:CLASS ...]

`connector-wizard serve` runs `app.web.server.LimitedHttpToolsProtocol`
(header size and read time, issue 12) where a bare uvicorn runs its own
`HttpToolsProtocol`. Both are driven here without sockets: 50 connections
(fake transports, so the loop's timer heap holds 50 connections' timers, as
under wrk) are fed the request wrk sends, in turn, and answered by a trivial
ASGI app; each round serves `--requests` requests with each protocol,
alternating, and the figure is `time.process_time` per request, the lowest
and the median of the rounds. `--compare` adds other protocol classes (an
older copy of server.py, say) to the same rounds. Prints, never fails: the
protocol's cost is reported, not a goal (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONNECTIONS = 50
# What wrk sends for a page of http_bench.py (its own headers, and the CSRF cookie and htmx header of a fragment).
REQUEST = (
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\nAccept: */*\r\n"
    b"Cookie: cw_csrf=bench-csrf-token-0123456789abcdef\r\nHX-Request: true\r\n\r\n"
)
BODY = b'{"hello":"world"}'


async def hello(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


class Transport(asyncio.Transport):
    """A socket's transport that counts what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: Any) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


Connection = tuple[HttpToolsProtocol, Transport]


async def serve(connections: list[Connection], requests: int) -> None:
    for index in range(requests):
        protocol, transport = connections[index % len(connections)]
        if transport.closed:
            raise RuntimeError(f"{type(protocol).__name__} closed a connection")
        before = transport.writes
        protocol.data_received(REQUEST)
        while transport.writes < before + 2:  # the head and the body
            await asyncio.sleep(0)


def load(spec: str) -> type[HttpToolsProtocol]:
    module, _, name = spec.partition(":")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, HttpToolsProtocol)):
        raise SystemExit(f"{spec} is not an HttpToolsProtocol")
    return found


async def main(options: argparse.Namespace) -> None:
    classes: dict[str, type[HttpToolsProtocol]] = {
        "uvicorn httptools": HttpToolsProtocol,
        "ours": load("app.web.server:LimitedHttpToolsProtocol"),
    }
    classes.update({spec: load(spec) for spec in options.compare})
    config = Config(app=hello, loop="asyncio", http="httptools", access_log=False, log_level="warning")
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    pools: dict[str, list[Connection]] = {}
    for name, protocol_class in classes.items():
        pool = []
        for _ in range(CONNECTIONS):
            transport = Transport()
            protocol = protocol_class(config, state, {}, loop)
            protocol.connection_made(transport)
            pool.append((protocol, transport))
        pools[name] = pool
        await serve(pool, 200)  # warm up
    spent: dict[str, list[float]] = {name: [] for name in pools}
    for index in range(options.rounds):
        for name in list(pools) if index % 2 == 0 else list(pools)[::-1]:
            started = time.process_time()
            await serve(pools[name], options.requests)
            spent[name].append((time.process_time() - started) / options.requests * 1e6)
    print(
        f"CPU us per request, {options.rounds} alternating rounds of {options.requests}, "
        f"{CONNECTIONS} connections, no sockets"
    )
    for name, values in spent.items():
        print(f"{name:<28} lowest {min(values):7.1f}   median {statistics.median(values):7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--compare", action="append", default=[], metavar="MODULE:CLASS")
    asyncio.run(main(parser.parse_args()))
