"""One moto server for the whole session (ThreadedMotoServer on 127.0.0.1, a free port), reset per test.

Starting moto costs ~0.1 s and its first requests load service models, so the
suite shares one server and forgets its state through moto's reset API
(POST /moto-api/reset) before each test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from app.aws.clients import AwsSettings, ClientSet, Credentials, Hook
from app.aws.demo import DemoEmulator, DemoOrganization, seed_organization
from app.aws.runner import verify
from app.domain.plan import Plan, parse_plan
from app.domain.verification import Report


@pytest.fixture(scope="session")
def moto_server() -> Iterator[DemoEmulator]:
    emulator = DemoEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def endpoint(moto_server: DemoEmulator) -> str:
    moto_server.reset()
    return moto_server.url


def plan_of(**values: Any) -> Plan:
    return parse_plan(values)


def run(
    plan: Plan,
    endpoint: str,
    credentials: Credentials | None,
    hooks: Sequence[Hook] = (),
    **aws: Any,
) -> Report:
    settings = AwsSettings(endpoint_url=endpoint, **aws)
    clients = ClientSet(credentials=credentials, partition=plan.partition, aws=settings, hooks=hooks)
    return verify(plan, clients)


def run_org(plan: Plan, org: DemoOrganization, extra_hooks: Sequence[Hook] = (), **aws: Any) -> Report:
    return run(plan, org.endpoint_url, org.credentials, [*org.hooks(), *extra_hooks], **aws)


@pytest.fixture
def small_org(endpoint: str) -> DemoOrganization:
    return seed_organization(endpoint, created=3, invited=1, untrusted=1)
