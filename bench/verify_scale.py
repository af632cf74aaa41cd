"""Benchmark: verify an organization of 1,000 member accounts × 2 regions against moto.

    python bench/verify_scale.py [--accounts 1000] [--regions us-east-1,eu-west-1]
                                 [--latency-ms 100] [--concurrency N] [--sweep 32,128]
                                 [--skip-sequential]

moto runs in a child process (ThreadedMotoServer on 127.0.0.1, a free port),
so this process holds only the wizard's side, as it would against AWS. A
fixed per-call latency is injected below boto3 with a botocore `before-send`
handler (app.aws.simulate.Latency) that sleeps before each request, like a
real AWS round trip. One run prints:

- the sequential time (concurrency 1) with the latency,
- the concurrent time with the latency,
- the concurrent time with zero latency (the CPU that remains),
- their ratio (goal: concurrent-with-latency ≤ 1.5 × zero-latency),
- this process's CPU per AWS request (goal, issue 14: ≤ 1 ms at the goal
  concurrency; requests are counted by a before-send hook, retries included),
- the user-facing time of the concurrent run with latency (goal, issue 14:
  ≤ 12 s for 1,000 accounts × 2 regions at 100 ms),
- the peak RSS of this process (goal: < 300 MB) and of the moto process.

The goals are measured at the app's default concurrency (AwsSettings,
CONNECTOR_WIZARD_VERIFY_CONCURRENCY) unless --concurrency says otherwise;
--sweep times other thread counts beside it.

Every timed run's report is checked: no failed check, every account listed,
and every check and account with the same outcome as the run recorded against
moto (a replay that answered wrongly, or a run that skipped accounts, would
otherwise be timed as a fast run). The process exits 1 when a report is wrong
or a goal is missed. moto's
own CPU shares the machine with this process, so the wall times here are an
upper bound of what a free endpoint would give.

Not run by the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.aws.clients import AwsSettings, ClientSet, Credentials
from app.aws.runner import verify
from app.aws.simulate import Latency, Recorder, Replay
from app.domain.plan import DEFAULT_USER_NAME, parse_plan
from app.domain.verification.results import Report, Status, summary_sentence


def _moto(port_queue: Any, stop: Any) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port_queue.put(server.get_host_and_port()[1])
    stop.wait()
    server.stop()


def _peak_rss_mb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _seed(endpoint: str, accounts: int) -> Credentials:
    import boto3
    from botocore.config import Config
    from pydantic import SecretStr

    admin = {"aws_access_key_id": "AKIAADMINBENCHSEEDER", "aws_secret_access_key": "x" * 40}
    config = Config(retries={"mode": "standard"})

    def client(service: str) -> Any:
        return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, config=config, **admin)

    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    org.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
    iam = client("iam")
    # The plan's own user: the identity check fails any other caller (Cause.WRONG_USER).
    iam.create_user(UserName=DEFAULT_USER_NAME)
    key = iam.create_access_key(UserName=DEFAULT_USER_NAME)["AccessKey"]
    for index in range(accounts):
        org.create_account(AccountName=f"Workload {index:04d}", Email=f"aws+{index}@example.com")
    return Credentials(access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"]))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


MOTO_PID = 0


class _Count:
    """A before-send handler that counts requests (retries included) and lets them through."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.requests += 1


class Run(NamedTuple):
    seconds: float
    report: Report
    cpu_seconds: float
    requests: int
    note: str


def _run(
    plan: Any,
    endpoint: str,
    credentials: Credentials,
    *,
    concurrency: int,
    latency: float,
    answers: list[Any],
) -> Run:
    """One timed verification; `answers`: the hooks that answer (Replay) or record (Recorder)."""
    count = _Count()
    hooks: list[Any] = [("before-send", count)]
    if latency:
        hooks.append(("before-send", Latency(latency)))
    hooks += answers
    clients = ClientSet(
        credentials=credentials,
        partition=plan.partition,
        aws=AwsSettings(endpoint_url=endpoint, concurrency=concurrency),
        hooks=hooks,
    )
    started, cpu, moto_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(MOTO_PID)
    report = verify(plan, clients)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    per_call = 1000 * cpu / max(count.requests, 1)
    note = (
        f"{count.requests} requests; CPU: this process {cpu:.1f} s ({per_call:.2f} ms per request), "
        f"moto {_cpu_seconds(MOTO_PID) - moto_cpu:.1f} s"
    )
    return Run(seconds, report, cpu, count.requests, note)


def _outcome(report: Report) -> list[tuple[Any, ...]]:
    """What a run found, without times: every check's and every account's (and region's) status and cause."""
    checks = sorted((c.id, c.region or "", c.status.value, c.cause) for c in report.checks)
    accounts = sorted(
        (a.account_id, a.role_status.value, a.cause, tuple((r.region, r.status.value) for r in a.regions))
        for a in report.accounts
    )
    return [*checks, *accounts]


def _report_problem(run: Run, accounts: int, expected: list[tuple[Any, ...]] | None) -> str | None:
    """What is wrong with a timed run's report, if anything (checked for every run)."""
    if run.report.status is Status.FAIL:
        failed = ", ".join(f"{c.id} ({c.cause})" for c in run.report.failures()) or "accounts only"
        return f"the verification failed: {failed}; {summary_sentence(run.report.summary())}"
    if len(run.report.accounts) != accounts + 1:
        return (
            f"the report lists {len(run.report.accounts)} accounts, "
            f"expected {accounts + 1} (management + {accounts} seeded)"
        )
    if expected is not None and _outcome(run.report) != expected:
        differ = len(set(_outcome(run.report)) ^ set(expected))
        return f"the report differs from the recorded run's in {differ} checks or accounts"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--goal-seconds", type=float, default=12.0, help="user-facing time, with latency")
    parser.add_argument("--goal-cpu-ms", type=float, default=1.0, help="this process's CPU per AWS request")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=AwsSettings().concurrency,
        help="threads for the goals (default: the app's, docs/decisions.md#verify-concurrency)",
    )
    parser.add_argument(
        "--sweep", type=lambda text: [int(n) for n in text.split(",")], default=[], help="more thread counts"
    )
    parser.add_argument("--skip-sequential", action="store_true", help="the sequential run takes minutes")
    args = parser.parse_args()
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"Python {sys.version.split()[0]}"
    )

    context = multiprocessing.get_context("spawn")
    port_queue, stop = context.Queue(), context.Event()
    child = context.Process(target=_moto, args=(port_queue, stop), daemon=True)
    child.start()
    global MOTO_PID
    MOTO_PID = child.pid or 0
    missed: list[str] = []
    try:
        endpoint = f"http://127.0.0.1:{port_queue.get(timeout=60)}"
        started = time.perf_counter()
        credentials = _seed(endpoint, args.accounts)
        print(f"seeded {args.accounts} accounts in {time.perf_counter() - started:.1f} s at {endpoint}")

        plan = parse_plan({"regions": args.regions, "secrets_manager": False})
        # Warm-up: loads the service models into the shared Session once.
        warm = parse_plan({"scope": "account"})
        _run(warm, endpoint, credentials, concurrency=args.concurrency, latency=0, answers=[])

        # Record moto's answers once, then time against them: an endpoint that costs
        # nothing (no socket, no emulator CPU), so the figures are this process's own.
        recorder = Recorder()
        recorded = _run(
            plan, endpoint, credentials, concurrency=args.concurrency, latency=0, answers=recorder.hooks()
        )
        print(
            f"recorded against moto ({args.concurrency} threads): {recorded.seconds:7.2f} s  ({recorded.note})"
        )
        replay = [("before-send", Replay(recorder.answers))]
        timed = [recorded]

        def timed_run(concurrency: int, latency_ms: float) -> Run:
            run = _run(
                plan,
                endpoint,
                credentials,
                concurrency=concurrency,
                latency=latency_ms / 1000,
                answers=replay,
            )
            print(
                f"replayed, {concurrency:3d} threads, {latency_ms:5.0f} ms round trip: {run.seconds:7.2f} s  ({run.note})"
            )
            timed.append(run)
            return run

        zero = timed_run(args.concurrency, 0)
        concurrent = timed_run(args.concurrency, args.latency_ms)
        for other in args.sweep:
            if other != args.concurrency:
                timed_run(other, args.latency_ms)
        if not args.skip_sequential:
            sequential = timed_run(1, args.latency_ms)
            print(f"concurrent is {sequential.seconds / concurrent.seconds:.1f}x faster than sequential")
        # Explicit checks, not `assert`: python -O would strip those and time a broken run.
        expected = _outcome(recorded.report)
        for run in timed:
            problem = _report_problem(run, args.accounts, None if run is recorded else expected)
            if problem:
                missed.append(problem)
        print(
            f"reports checked: {len(timed)} runs, against the recorded run's {len(expected)} checks and accounts"
        )
        print(f"ratio with / without the round trip: {concurrent.seconds / zero.seconds:.2f}")
        if concurrent.seconds > args.goal_seconds:
            missed.append(f"user-facing time {concurrent.seconds:.1f} s > {args.goal_seconds:g} s")

        # The goal is the app's, so it is judged at the goal concurrency (the zero and
        # 100 ms runs); the sweeps' thread counts are printed for comparison. A
        # sparser run (fewer threads, longer) pays more CPU per request on a shared
        # machine: its caches go cold between requests (bench/README.md).
        def per_call(runs: list[Run]) -> float:
            return 1000 * max(run.cpu_seconds / max(run.requests, 1) for run in runs)

        cpu_per_call = per_call([zero, concurrent])
        print(
            f"CPU per AWS request at {args.concurrency} threads, worst run: {cpu_per_call:.2f} ms "
            f"(goal <= {args.goal_cpu_ms:g} ms); every timed run's worst: {per_call(timed[1:]):.2f} ms"
        )
        if cpu_per_call > args.goal_cpu_ms:
            missed.append(f"CPU per AWS request {cpu_per_call:.2f} ms > {args.goal_cpu_ms:g} ms")
        rss = _peak_rss_mb()
        print(
            f"peak RSS: this process {rss:.0f} MB (goal < 300: {'met' if rss < 300 else 'NOT met'}), "
            f"moto process {_peak_rss_mb(child.pid):.0f} MB"
        )
        if rss >= 300:
            missed.append(f"peak RSS {rss:.0f} MB >= 300 MB")
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    for problem in missed:
        print(f"GOAL MISSED: {problem}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
