"""HTTP throughput of the wizard against a bare FastAPI "hello", measured in one run.

Usage:  .venv/bin/python bench/http_bench.py [--duration 10] [--connections 50]

Needs Debian's `wrk`. Starts uvicorn servers on 127.0.0.1 one after the other
(never at once, so they do not compete for the 2 cores): a bare FastAPI app
served as the wizard is (the asyncio loop, see app/cli.py) — the baseline —,
the same app on uvicorn's default uvloop for reference, and the wizard (SQLite
in a temp folder). Prints requests/s, latency
percentiles and the ratio of each wizard route to the bare app, plus idle RSS
and cold start time. Absolute numbers swing ±20% between runs on a shared
machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

HELLO_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/hello")
async def hello():
    return {"hello": "world"}
"""

TICK_LUA = """
-- Alternate done=true / done=false on one step, like a person clicking, sent
-- as htmx sends the tick button's form: the state in the form's action URL,
-- the CSRF token in the X-CSRF-Token header (base.html hx-headers) and in the
-- form's hidden field, HX-Request for the fragment.
local n = 0
request = function()
  n = n + 1
  local done = (n %% 2 == 0) and "true" or "false"
  return wrk.format("POST", "%(path)s?done=" .. done, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "cw_csrf=%(csrf)s",
    ["X-CSRF-Token"] = "%(csrf)s",
    ["HX-Request"] = "true",
  }, "csrf_token=%(csrf)s")
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} not ready")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(url: str, duration: int, connections: int, script: Path | None = None) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)

    def pct(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
        "socket_detail": socket_errors.group(1) if socket_errors else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra setting for the wizard server"
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench needs wrk: apt-get install -y --no-install-recommends wrk")

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_WIZARD_")}
        extra = dict(item.split("=", 1) for item in options.env)

        # 1. the bare FastAPI hello app: served as the wizard is (the asyncio loop,
        # app/cli.py), the baseline of the ratios; and with uvicorn's defaults
        # (uvloop), for reference.
        (tmpdir / "hello_app.py").write_text(HELLO_APP)
        for name, loop in (("hello", "asyncio"), ("hello (uvloop)", "uvloop")):
            port = free_port()
            hello = start(
                [
                    PYTHON,
                    "-m",
                    "uvicorn",
                    "hello_app:app",
                    "--port",
                    str(port),
                    "--loop",
                    loop,
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env,
                tmpdir,
            )
            try:
                wait_ready(f"http://127.0.0.1:{port}/hello")
                results[name] = wrk(f"http://127.0.0.1:{port}/hello", options.duration, options.connections)
            finally:
                stop(hello)

        # 2. the wizard, as `connector-wizard serve` runs it
        port = free_port()
        wizard_env = {
            **env,
            "CONNECTOR_WIZARD_DATABASE_URL": f"sqlite:///{tmpdir / 'bench.sqlite3'}",
            "CONNECTOR_WIZARD_PORT": str(port),
            "CONNECTOR_WIZARD_PURGE_INTERVAL_MINUTES": "0",
            # wrk is one address sending thousands of requests a second: the
            # per-address limit would answer most of them 429 (cheaply).
            "CONNECTOR_WIZARD_LINK_RATE_PER_MINUTE": "0",
            **extra,
        }
        started = time.monotonic()
        wizard = start([PYTHON, "-m", "app.cli", "serve"], wizard_env, ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/healthz")
            cold_start = time.monotonic() - started
            time.sleep(1)
            idle_rss = rss_mb(wizard.pid)
            csrf = "bench-csrf-token-0123456789abcdef"
            request = urllib.request.Request(  # noqa: S310 - loopback only
                base + "/api/v1/wizards",
                data=json.dumps({"scope": "organization"}).encode(),
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-CSRF-Token": csrf,
                    "Cookie": f"cw_csrf={csrf}",
                },
            )
            with urllib.request.urlopen(request) as response:  # noqa: S310
                token = json.load(response)["token"]
            results["checklist page"] = wrk(
                f"{base}/w/{token}/checklist", options.duration, options.connections
            )
            script = tmpdir / "tick.lua"
            script.write_text(TICK_LUA % {"path": f"/w/{token}/steps/create-user", "csrf": csrf})
            results["tick (htmx)"] = wrk(base + "/", options.duration, options.connections, script)
            loaded_rss = rss_mb(wizard.pid)
        finally:
            stop(wizard)

    hello_rps = results["hello"]["rps"]
    uvloop_rps = results["hello (uvloop)"]["rps"]
    print(f"command: {' '.join(['python', 'bench/http_bench.py', *sys.argv[1:]])}")
    print(f"wrk -t2 -c{options.connections} -d{options.duration}s, 127.0.0.1, one server at a time")
    print("ratio: to the hello served like the wizard (asyncio loop); uvloop ratio: to the hello on uvloop")
    print(
        f"{'route':<16}{'req/s':>10}{'ratio':>8}{'uvloop ratio':>14}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<16}{r['rps']:>10.0f}{r['rps'] / hello_rps:>8.2f}{r['rps'] / uvloop_rps:>14.2f}"
            f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non_2xx']:>9.0f}"
        )
    print(f"cold start to first 200: {cold_start:.2f} s (goal <= 1.5 s)")
    print(f"idle RSS: {idle_rss:.0f} MB (goal <= 120 MB); after load: {loaded_rss:.0f} MB")
    print("goals: checklist page >= 0.25 of hello, tick >= 0.20, p99 <= 50 ms, zero errors")
    failed = False
    for name, r in results.items():
        if r["non_2xx"] or r["socket_errors"]:
            failed = True
            print(
                f"WARNING: {name}: {r['non_2xx']:.0f} non-2xx; socket errors: {r['socket_detail'] or 'none'}"
            )
    # Throughput measured on error responses means nothing: fail the run.
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
