"""Cold start of the wizard against a bare FastAPI app, measured alternately in one run.

Usage:  .venv/bin/python bench/cold_start.py [--starts 7]

Each start is a new Python process on 127.0.0.1, timed from the spawn to the
first 200: the wizard as `connector-wizard serve` starts it (a new SQLite file
each time, so its migrations run as on a first start; `/healthz`), and the bare
app under uvicorn with the same loop and log options (`/hello`). The two
alternate so both see the same machine load; the ratio of the medians is the
result. Goal (issue 14): wizard <= 1.5x bare. Exits 1 when the goal is missed.
Python's bytecode caches are warm (one untimed start of each first), as after
any install.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from http_bench import HELLO_APP, PYTHON, ROOT, free_port, start, stop, wait_ready

GOAL = 1.5


def timed_start(command: list[str], env: dict[str, str], cwd: Path, url_of: str) -> float:
    """Seconds from spawning `command` to the first 200 from `url_of` (a path; the port is filled in)."""
    port = free_port()
    args = [part.replace("{port}", str(port)) for part in command]
    child_env = {key: value.replace("{port}", str(port)) for key, value in env.items()}
    started = time.monotonic()
    process = start(args, child_env, cwd)
    try:
        wait_ready(f"http://127.0.0.1:{port}{url_of}", timeout=60)
        return time.monotonic() - started
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=7, help="timed starts of each server")
    options = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_WIZARD_")}
    wizard_times: list[float] = []
    bare_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "hello_app.py").write_text(HELLO_APP)
        bare = (
            [
                PYTHON,
                "-m",
                "uvicorn",
                "hello_app:app",
                "--port",
                "{port}",
                "--loop",
                "asyncio",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            base_env,
            tmpdir,
            "/hello",
        )
        for n in range(options.starts + 1):
            wizard_env = {
                **base_env,
                "CONNECTOR_WIZARD_DATABASE_URL": f"sqlite:///{tmpdir / f'cold{n}.sqlite3'}",
                "CONNECTOR_WIZARD_PORT": "{port}",
                "CONNECTOR_WIZARD_PURGE_INTERVAL_MINUTES": "0",
            }
            wizard = ([PYTHON, "-m", "app.cli", "serve"], wizard_env, ROOT, "/healthz")
            # Alternate which goes first, so neither always follows the other's exit.
            pair = (wizard, bare) if n % 2 else (bare, wizard)
            times = {id(spec): timed_start(*spec) for spec in pair}
            if n == 0:
                continue  # untimed: fills the bytecode caches
            wizard_times.append(times[id(wizard)])
            bare_times.append(times[id(bare)])
    wizard_median, bare_median = statistics.median(wizard_times), statistics.median(bare_times)
    ratio = wizard_median / bare_median
    print(f"command: python bench/cold_start.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"wizard (connector-wizard serve, /healthz): {' '.join(f'{t:.2f}' for t in wizard_times)} s")
    print(f"bare FastAPI (uvicorn, /hello):            {' '.join(f'{t:.2f}' for t in bare_times)} s")
    print(
        f"medians: wizard {wizard_median:.2f} s, bare {bare_median:.2f} s; ratio {ratio:.2f}x (goal <= {GOAL}x)"
    )
    if ratio > GOAL:
        print("GOAL MISSED: cold start")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
