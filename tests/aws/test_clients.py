"""The client seam's own costs (app/aws/clients.py): one client per (service, region) per run,
and timestamps parsed as botocore parses them (issue 14, verification client cost)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from pydantic import SecretStr

from app.aws.clients import AwsSettings, ClientSet, Credentials, _SharedSession, parse_timestamp
from app.aws.simulate import _Body
from app.domain.iam import Partition

CREDENTIALS = Credentials(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=SecretStr("x" * 40))


class _CountingSession(_SharedSession):
    """The real shared Session, counting the clients it is asked to make."""

    def __init__(self) -> None:
        super().__init__()
        self.made = 0

    def client(self, service: str, **kwargs: Any) -> Any:
        self.made += 1
        return super().client(service, **kwargs)

    def member_client(self, service: str, **kwargs: Any) -> Any:
        self.made += 1
        return super().member_client(service, **kwargs)


def test_threads_asking_for_the_same_client_at_once_get_one_client_made_once() -> None:
    # When a run starts every worker asks for the STS and ACM clients at the same
    # moment; each used to make its own (2-9 ms of CPU each) and drop it.
    shared = _CountingSession()
    clients = ClientSet(
        credentials=CREDENTIALS,
        partition=Partition.AWS,
        aws=AwsSettings(endpoint_url="http://127.0.0.1:9"),
        hooks=[("before-send", lambda **_: None)],
        shared=shared,
    )
    threads = 16
    start = threading.Barrier(threads)
    got: list[Any] = []

    def ask() -> None:
        start.wait()
        got.append(clients.client("sts"))
        got.append(clients.member_client("acm", "eu-west-1"))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert shared.made == 2
    assert len({id(client) for client in got}) == 2
    assert len(got) == 2 * threads


AWS_FORMS = [
    "2026-12-02T15:00:00Z",
    "2026-12-02T15:00:00.000Z",
    "2026-12-02T15:00:00.5Z",
    "2026-12-02T15:00:00.123456Z",
    "2026-12-02T15:00:00.1234567Z",
]
OTHER_FORMS: list[Any] = [
    1764687600,
    1764687600.25,
    "1764687600",
    "Tue, 02 Dec 2026 15:00:00 GMT",
    "2026-12-02T15:00:00+01:00",
    "2026-12-02 15:00:00",
]


@pytest.mark.parametrize("value", AWS_FORMS + OTHER_FORMS)
def test_a_timestamp_is_the_instant_botocore_parses(value: Any) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse_timestamp(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)


@pytest.mark.parametrize("value", AWS_FORMS)
def test_the_form_aws_sends_is_parsed_in_utc(value: str) -> None:
    assert parse_timestamp(value).tzinfo is UTC


def test_a_timestamp_that_is_none_of_them_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("not a time")
    with pytest.raises(ValueError):
        botocore_parse_timestamp("not a time")


def test_the_run_s_clients_parse_answers_with_it() -> None:
    xml = (
        b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
        b"<Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        b"<SessionToken>t</SessionToken><Expiration>2026-12-02T15:00:00.000Z</Expiration></Credentials>"
        b"</AssumeRoleResult></AssumeRoleResponse>"
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, _Body(xml))

    clients = ClientSet(
        credentials=CREDENTIALS,
        partition=Partition.AWS,
        aws=AwsSettings(endpoint_url="http://127.0.0.1:9"),
        hooks=[("before-send", answer)],
        shared=_SharedSession(),
    )
    assumed = clients.client("sts").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/connector", RoleSessionName="connector-wizard-verify"
    )
    expiration = assumed["Credentials"]["Expiration"]
    assert expiration == datetime(2026, 12, 2, 15, tzinfo=UTC)
    assert expiration.tzinfo is UTC  # ours, not dateutil's
