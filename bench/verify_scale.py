"""Benchmark: verify an organization of 1,000 member accounts × 2 regions against moto.

    python bench/verify_scale.py [--accounts 1000] [--regions us-east-1,eu-west-1]
                                 [--latency-ms 50] [--concurrency 16] [--skip-sequential]

moto runs in a child process (ThreadedMotoServer on 127.0.0.1, a free port),
so this process holds only the wizard's side, as it would against AWS. A
fixed per-call latency is injected below boto3 with a botocore `before-send`
handler (app.aws.simulate.Latency) that sleeps before each request, like a
real AWS round trip. One run prints:

- the sequential time (concurrency 1) with the latency,
- the concurrent time with the latency,
- the concurrent time with zero latency (the CPU that remains),
- their ratio (goal: concurrent-with-latency ≤ 1.5 × zero-latency),
- the peak RSS of this process (goal: < 300 MB) and of the moto process.

Not run by the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.aws.clients import AwsSettings, ClientSet, Credentials
from app.aws.runner import verify
from app.aws.simulate import Latency
from app.domain.plan import parse_plan
from app.domain.verification import Report, Status


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
    iam.create_user(UserName="connector")
    key = iam.create_access_key(UserName="connector")["AccessKey"]
    for index in range(accounts):
        org.create_account(AccountName=f"Workload {index:04d}", Email=f"aws+{index}@example.com")
    return Credentials(access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"]))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


MOTO_PID = 0


def _run(
    plan: Any, endpoint: str, credentials: Credentials, *, concurrency: int, latency: float
) -> tuple[float, Report, str]:
    hooks = [("before-send", Latency(latency))] if latency else []
    clients = ClientSet(
        credentials=credentials,
        partition=plan.partition,
        aws=AwsSettings(endpoint_url=endpoint, concurrency=concurrency),
        hooks=hooks,
    )
    started, cpu, moto_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(MOTO_PID)
    report = verify(plan, clients)
    cpu_note = (
        f"CPU: this process {time.process_time() - cpu:.1f} s, moto {_cpu_seconds(MOTO_PID) - moto_cpu:.1f} s"
    )
    return time.perf_counter() - started, report, cpu_note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=16)
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
    try:
        endpoint = f"http://127.0.0.1:{port_queue.get(timeout=60)}"
        started = time.perf_counter()
        credentials = _seed(endpoint, args.accounts)
        print(f"seeded {args.accounts} accounts in {time.perf_counter() - started:.1f} s at {endpoint}")

        plan = parse_plan({"regions": args.regions, "secrets_manager": False})
        latency = args.latency_ms / 1000
        # Warm-up: loads the service models into the shared Session once.
        _run(parse_plan({"scope": "account"}), endpoint, credentials, concurrency=args.concurrency, latency=0)

        zero, report, zero_cpu = _run(plan, endpoint, credentials, concurrency=args.concurrency, latency=0)
        # Explicit checks, not `assert`: python -O would strip those and time a broken run.
        if report.status is Status.FAIL:
            print(f"FAILED: the zero-latency verification failed: {report.summary()}", file=sys.stderr)
            return 1
        if len(report.accounts) != args.accounts + 1:
            print(
                f"FAILED: the report lists {len(report.accounts)} accounts, "
                f"expected {args.accounts + 1} (management + {args.accounts} seeded)",
                file=sys.stderr,
            )
            return 1
        calls = 1 + len(report.accounts) * (1 + len(plan.regions))
        print(
            f"concurrent ({args.concurrency} threads), zero latency:  {zero:7.2f} s  "
            f"({calls} member calls; {zero_cpu})"
        )
        concurrent, _, cpu = _run(plan, endpoint, credentials, concurrency=args.concurrency, latency=latency)
        print(
            f"concurrent ({args.concurrency} threads), {args.latency_ms:.0f} ms latency: "
            f"{concurrent:7.2f} s  ({cpu})"
        )
        if not args.skip_sequential:
            sequential, _, cpu = _run(plan, endpoint, credentials, concurrency=1, latency=latency)
            print(
                f"sequential (1 thread), {args.latency_ms:.0f} ms latency:       {sequential:7.2f} s  "
                f"({cpu}; "
                f"concurrent is {sequential / concurrent:.1f}x faster)"
            )
        ratio = concurrent / zero
        print(
            f"ratio concurrent-with-latency / zero-latency: {ratio:.2f} "
            f"(goal <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})"
        )
        rss = _peak_rss_mb()
        print(
            f"peak RSS: this process {rss:.0f} MB (goal < 300: {'met' if rss < 300 else 'NOT met'}), "
            f"moto process {_peak_rss_mb(child.pid):.0f} MB"
        )
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
