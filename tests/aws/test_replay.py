"""Recorder and Replay (app/aws/simulate.py): the free endpoint bench/verify_scale.py times against.

A run recorded against moto, replayed with no server at all, must give the
same report: otherwise the benchmark would time something else than a
verification.
"""

from __future__ import annotations

from app.aws.demo import DemoOrganization
from app.aws.simulate import Recorder, Replay
from app.domain.verification.results import Report, Status
from tests.aws.conftest import plan_of, run

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def outline(report: Report) -> list[tuple[str, Status]]:
    checks = [(check.id, check.status) for check in report.checks]
    return checks + [(account.account_id, account.role_status) for account in report.accounts]


def test_a_replayed_run_reports_what_the_recorded_run_did(small_org: DemoOrganization) -> None:
    plan = plan_of(regions="us-east-1,eu-west-1")
    recorder = Recorder()
    recorded = run(
        plan, small_org.endpoint_url, small_org.credentials, [*recorder.hooks(), *small_org.hooks(plan)]
    )
    assert any(status is not Status.PASS for _, status in outline(recorded))  # the org's faults were recorded

    replayed = run(plan, NOWHERE, small_org.credentials, [("before-send", Replay(recorder.answers))])

    assert outline(replayed) == outline(recorded)
    assert len(replayed.accounts) == len(small_org.accounts) + 1


def test_a_request_never_recorded_is_answered_with_an_error(small_org: DemoOrganization) -> None:
    replayed = run(
        plan_of(regions="us-east-1"), NOWHERE, small_org.credentials, [("before-send", Replay({}))]
    )
    assert replayed.status is Status.FAIL
