"""Helpers for verification tests; the moto server fixtures (`moto_server`, `endpoint`) live in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from app.aws.clients import AwsSettings, ClientSet, Credentials, Hook
from app.aws.demo import DemoOrganization, seed_organization
from app.aws.runner import verify
from app.domain.plan import Plan, parse_plan
from app.domain.verification.results import Report


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
    return run(plan, org.endpoint_url, org.credentials, [*org.hooks(plan), *extra_hooks], **aws)


@pytest.fixture
def small_org(endpoint: str) -> DemoOrganization:
    return seed_organization(endpoint, created=3, invited=1, untrusted=1)


def member_role_credentials(org: DemoOrganization) -> Credentials:
    """Temporary credentials of OrganizationAccountAccessRole in the first created member account."""
    admin = {"aws_access_key_id": "AKIAADMINDEMOSEEDER0", "aws_secret_access_key": "x" * 40}
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=org.endpoint_url, **admin)
    member = org.accounts_of("created")[0].id
    assumed = sts.assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    return Credentials(
        access_key_id=assumed["AccessKeyId"],
        secret_access_key=SecretStr(assumed["SecretAccessKey"]),
        session_token=SecretStr(assumed["SessionToken"]),
    )
