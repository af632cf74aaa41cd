"""Cold start of the wizard against a bare FastAPI app, measured alternately in one run.

Usage:  .venv/bin/python bench/cold_start.py [--starts 7]

Each start is a new Python process on 127.0.0.1, timed from the spawn to the
first 200: the wizard as `connector-wizard serve` starts it (`/healthz`), and
the bare app under uvicorn with the same loop and log options (`/hello`). The
wizard starts twice per round: on its database from the round before, at head,
as every start after the first finds it (a restart, a deploy, a reboot), and on
a new SQLite file, as on the first start of an install, so its migrations run.
The three alternate so all see the same machine load; the ratio of the medians
is the result. Goal (issue 14; docs/decisions.md#cold-start): a restart of the
wizard <= 1.5x bare. The first start's ratio is printed beside it. Exits 1
when the goal is missed.

Python's bytecode caches are warm (one untimed start of each first), as after
any install: PYTHONDONTWRITEBYTECODE is dropped from the children's
environment, or the wizard would compile each of its modules on every start
while the bare app's (installed, so compiled by pip) would not.
Besides the wall time, the CPU time each server used up to its first 200
(/proc/PID/stat) is printed: on a shared machine it moves much less with the
neighbours' load than the wall time does.
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far (proc(5): fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_start(command: list[str], env: dict[str, str], cwd: Path, url_of: str) -> tuple[float, float]:
    """Seconds from spawning `command` to the first 200 from `url_of` (a path; the port is filled in),
    and the CPU seconds the server had used by then."""
    port = free_port()
    args = [part.replace("{port}", str(port)) for part in command]
    child_env = {key: value.replace("{port}", str(port)) for key, value in env.items()}
    started = time.monotonic()
    process = start(args, child_env, cwd)
    try:
        wait_ready(f"http://127.0.0.1:{port}{url_of}", timeout=60)
        elapsed = time.monotonic() - started
        return elapsed, cpu_seconds(process.pid)
    finally:
        stop(process)


def _times(values: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=7, help="timed starts of each server")
    options = parser.parse_args()
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONNECTOR_WIZARD_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    kinds = ("bare", "restart", "first")
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
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

        def wizard(database: Path) -> tuple[list[str], dict[str, str], Path, str]:
            env = {
                **base_env,
                "CONNECTOR_WIZARD_DATABASE_URL": f"sqlite:///{database}",
                "CONNECTOR_WIZARD_PORT": "{port}",
                "CONNECTOR_WIZARD_PURGE_INTERVAL_MINUTES": "0",
            }
            return [PYTHON, "-m", "app.cli", "serve"], env, ROOT, "/healthz"

        kept = tmpdir / "kept.sqlite3"  # created and migrated by the untimed round
        for n in range(options.starts + 1):
            specs = {"bare": bare, "restart": wizard(kept), "first": wizard(tmpdir / f"new{n}.sqlite3")}
            # Rotate which goes first, so none always follows another's exit.
            order = kinds[n % 3 :] + kinds[: n % 3]
            if n == 0:
                order = ("first", "bare", "restart")  # "restart" needs the database "first" migrates
                specs["first"] = wizard(kept)
            measured = {kind: timed_start(*specs[kind]) for kind in order}
            if n == 0:
                continue  # untimed: fills the bytecode caches
            for kind, (seconds, cpu_used) in measured.items():
                wall[kind].append(seconds)
                cpu[kind].append(cpu_used)
    median = {kind: statistics.median(wall[kind]) for kind in kinds}
    cpu_median = {kind: statistics.median(cpu[kind]) for kind in kinds}
    ratio = median["restart"] / median["bare"]
    print(f"command: python bench/cold_start.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    labels = {
        "bare": "bare FastAPI (uvicorn, /hello)",
        "restart": "wizard restart (database at head)",
        "first": "wizard first start (new database)",
    }
    for kind in kinds:
        print(f"{labels[kind] + ':':36} wall {_times(wall[kind])} s; cpu {_times(cpu[kind])} s")
    for kind in kinds:
        print(
            f"median {labels[kind] + ':':36} wall {median[kind]:.2f} s "
            f"({median[kind] / median['bare']:.2f}x), cpu {cpu_median[kind]:.2f} s "
            f"({cpu_median[kind] / cpu_median['bare']:.2f}x)"
        )
    print(f"ratio (restart / bare, wall medians): {ratio:.2f}x (goal <= {GOAL}x)")
    if ratio > GOAL:
        print("GOAL MISSED: cold start")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
