"""CPU per request of every route http_bench.py measures, in process, and where it goes.

Usage:  .venv/bin/python bench/http_profile.py [--requests 2000] [--rounds 3] [--compare]
                                               [--profile ROUTE] [--only ROUTE,...]

The whole app (middleware, access log to /dev/null, SQLite in a temp folder)
is driven by a loop of `await app(scope, receive, send)`: no sockets, no
uvicorn, so the number is the app's own cost per request (bench/README.md,
"In process"). Each route's figure is `time.process_time` per request, the
lowest of `--rounds`; `--profile ROUTE` prints a cProfile of that route
instead; `--compare` measures every route twice, alternating, served by its
DirectRoute and by FastAPI's own handler (app/web/routing.py). Requests are those http_bench.py sends (same paths, htmx headers for
the fragments, the tick alternating done=true/false as htmx sends it).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_bench import FRAGMENTS, PAGES  # noqa: E402

CSRF = "bench-csrf-token-0123456789abcdef"


def _scope(method: str, url: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    path, _, query = url.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes = b"") -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope, headers=list(scope["headers"]), state={}), receive, send)
    return status


def _requests(token: str) -> dict[str, list[tuple[dict[str, Any], bytes]]]:
    """Each route's request(s): pages once, the tick as two alternating requests."""
    routes: dict[str, list[tuple[dict[str, Any], bytes]]] = {}
    routes["healthz"] = [(_scope("GET", "/healthz", []), b"")]
    for name, path in PAGES.items():
        headers = [(b"hx-request", b"true")] if name in FRAGMENTS else []
        routes[name] = [(_scope("GET", path.format(token=token), headers), b"")]
    tick = []
    for done in ("true", "false"):
        headers = [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"cookie", f"cw_csrf={CSRF}".encode()),
            (b"x-csrf-token", CSRF.encode()),
            (b"hx-request", b"true"),
            (b"content-length", str(len("csrf_token=" + CSRF)).encode()),
        ]
        url = f"/w/{token}/steps/create-user?done={done}"
        tick.append((_scope("POST", url, headers), f"csrf_token={CSRF}".encode()))
    routes["tick (htmx)"] = tick
    return routes


async def _main(options: argparse.Namespace) -> int:
    tmp = tempfile.mkdtemp()
    os.environ["CONNECTOR_WIZARD_DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["CONNECTOR_WIZARD_LINK_RATE_PER_MINUTE"] = "0"
    os.environ["CONNECTOR_WIZARD_PURGE_INTERVAL_MINUTES"] = "0"
    from app.main import create_app
    from app.settings import Settings

    # The access log as `serve` writes it, to /dev/null.
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    from app.web.logs import RequestIdFilter, TextFormatter

    handler.setFormatter(TextFormatter())
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)

    app = create_app(Settings())
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        create = _scope(
            "POST",
            "/api/v1/wizards",
            [
                (b"content-type", b"application/json"),
                (b"x-csrf-token", CSRF.encode()),
                (b"cookie", f"cw_csrf={CSRF}".encode()),
            ],
        )
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": json.dumps({"scope": "organization"}).encode()}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await app(create, receive, send)
        token = json.loads(b"".join(body))["token"]
        routes = _requests(token)
        if options.only:
            routes = {name: routes[name] for name in options.only.split(",")}
        for name, requests in routes.items():
            for scope, payload in requests:
                status = await _call(app, scope, payload)
                if status != 200:
                    print(f"{name}: {status}", file=sys.stderr)
                    return 1
        if options.profile:
            requests = routes[options.profile]
            profile = cProfile.Profile()
            profile.enable()
            for index in range(options.requests):
                scope, payload = requests[index % len(requests)]
                await _call(app, scope, payload)
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats(options.sort).print_stats(options.lines)
            return 0
        print(f"in process, CPU us per request (lowest of {options.rounds} rounds of {options.requests})")
        variants = ("fastapi", "direct") if options.compare else ("direct",)
        results: dict[tuple[str, str], float] = {}
        for _ in range(options.rounds):
            for name, requests in routes.items():
                # Alternating, so that both variants see the same neighbours.
                for variant in variants:
                    if options.compare:
                        from app.web.routing import serve_directly

                        serve_directly(app.router.routes, variant == "direct")
                    gc.collect()
                    started = time.process_time()
                    for index in range(options.requests):
                        scope, payload = requests[index % len(requests)]
                        await _call(app, scope, payload)
                    spent = (time.process_time() - started) / options.requests * 1e6
                    key = (name, variant)
                    results[key] = min(results.get(key, spent), spent)
        print(f"{'route':<16}" + "".join(f"{variant:>10}" for variant in variants))
        for name in routes:
            print(f"{name:<16}" + "".join(f"{results[name, variant]:>10.0f}" for variant in variants))
    finally:
        await lifespan.__aexit__(None, None, None)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", metavar="ROUTE")
    parser.add_argument("--only", metavar="ROUTE,...")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="each route also through FastAPI's handler (app/web/routing.py)",
    )
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--lines", type=int, default=45)
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
