"""The verifier outside the `aws` partition, both policy styles, against moto over HTTP.

moto serves every partition: a client for us-gov-west-1 or cn-northwest-1 gets
`arn:aws-us-gov:`/`arn:aws-cn:` ARNs back. What moto does not do, AWS's
refusal of another partition's ARN, the demo organization's `PartitionArns`
hook does (app/aws/simulate.py), so an `arn:aws` hard-coded in the
assume-role ARN or in the user-ARN pattern fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest

from app.aws.demo import seed_organization
from app.domain.check_calls import CHECK_ACTIONS
from app.domain.iam import Partition
from app.domain.plan import PolicyStyle
from app.domain.verification.causes import Cause
from app.domain.verification.results import Report, Status
from tests.aws.conftest import plan_of, run_org


def _check(report: Report, check_id: str, region: str | None = None) -> Any:
    return next(c for c in report.checks if c.id == check_id and c.region == region)


@pytest.mark.parametrize("style", list(PolicyStyle))
@pytest.mark.parametrize("partition", [Partition.AWS_US_GOV, Partition.AWS_CN])
def test_an_organization_in_another_partition(
    endpoint: str, partition: Partition, style: PolicyStyle
) -> None:
    org = seed_organization(endpoint, created=2, invited=1, untrusted=0, partition=partition)
    assert org.user_arn.startswith(f"arn:{partition.value}:iam::")
    sent: list[str] = []

    def record(request: AWSPreparedRequest, **_: object) -> None:
        sent.append(request.url)

    report = run_org(plan_of(partition=partition.value, style=style.value), org, [("before-send", record)])

    identity = _check(report, "identity")
    assert identity.status is Status.PASS, identity.explanation
    assert report.caller_arn == org.user_arn
    assert _check(report, "organization").status is Status.PASS
    assert _check(report, "member-accounts").status is Status.PASS
    created = {a.id for a in org.accounts_of("created")}
    rows = {a.account_id: a for a in report.accounts}
    # The role ARN is in the plan's partition: AssumeRole works in every created account.
    assert all(rows[a].status is Status.PASS for a in created), [rows[a].explanation for a in created]
    invited = org.accounts_of("invited")[0].id
    assert rows[invited].cause is Cause.ROLE_MISSING
    region = "us-gov-west-1" if partition is Partition.AWS_US_GOV else "cn-northwest-1"
    assert _check(report, "acm", region).status is Status.PASS
    assert _check(report, "secrets-manager", region).status is Status.PASS
    trusted = _check(report, "trusted-access")
    if partition is Partition.AWS_US_GOV:
        # No AWS Account Management in GovCloud: nothing to enable, nothing to check (docs/facts.md#govcloud).
        assert trusted.status is Status.SKIPPED and "not offered" in trusted.explanation
    else:
        assert trusted.status is Status.PASS
    assert sent and all(":5" not in url or "127.0.0.1" in url for url in sent)


def test_the_checks_call_exactly_the_declared_actions(endpoint: str) -> None:
    org = seed_organization(endpoint, created=1, invited=0, untrusted=0, partition=Partition.AWS_CN)
    called: set[tuple[str, str]] = set()

    def record(model: Any, **_: object) -> None:
        called.add((model.service_model.signing_name, model.name))

    plan = plan_of(partition="aws-cn", style="least-privilege", elb=True)
    run_org(plan, org, [("before-call", record)])
    actions = {f"{service}:{operation}" for service, operation in called}
    declared = {action for check_actions in CHECK_ACTIONS.values() for action in check_actions}
    assert actions == declared
