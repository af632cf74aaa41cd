"""Error mapping on botocore's own exception objects."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from app.aws.errors import classify
from app.domain.verification.causes import TRUSTED_ACCESS_MESSAGE, Cause


def _error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AnOperation")


@pytest.mark.parametrize(
    ("code", "message", "cause"),
    [
        (
            "AccessDenied",
            "User: u is not authorized to perform: sts:AssumeRole on resource: r",
            Cause.ACCESS_DENIED,
        ),
        ("AccessDenied", "… with an explicit deny in a service control policy", Cause.SCP_DENY),
        (
            "AccessDeniedException",
            "… because no identity-based policy allows the acm:X action",
            Cause.CALLER_POLICY,
        ),
        ("AccessDeniedException", TRUSTED_ACCESS_MESSAGE, Cause.TRUSTED_ACCESS_DISABLED),
        ("AWSOrganizationsNotInUseException", "", Cause.NOT_IN_ORGANIZATION),
        ("Throttling", "Rate exceeded", Cause.THROTTLED),
        ("TooManyRequestsException", "", Cause.THROTTLED),
        ("InvalidClientTokenId", "", Cause.INVALID_CREDENTIALS),
        ("SignatureDoesNotMatch", "", Cause.WRONG_SECRET),
        ("ExpiredToken", "", Cause.EXPIRED_CREDENTIALS),
        ("OptInRequired", "", Cause.REGION_NOT_ENABLED),
        ("SomethingNew", "", Cause.UNEXPECTED),
    ],
)
def test_client_errors(code: str, message: str, cause: Cause) -> None:
    failure = classify(_error(code, message))
    assert (failure.code, failure.cause) == (code, cause)


def test_an_invalid_token_in_another_region_means_the_region_is_not_enabled() -> None:
    failure = classify(_error("UnrecognizedClientException"), region_may_be_disabled=True)
    assert failure.cause is Cause.REGION_NOT_ENABLED


def test_connection_failures() -> None:
    assert classify(ReadTimeoutError(endpoint_url="https://sts.amazonaws.com")).cause is Cause.TIMEOUT
    assert classify(EndpointConnectionError(endpoint_url="https://x")).cause is Cause.UNREACHABLE
    assert classify(NoCredentialsError()).cause is Cause.NO_CREDENTIALS


def test_messages_lose_key_ids_and_secrets() -> None:
    failure = classify(
        _error("InvalidClientTokenId", "key AKIAIOSFODNN7EXAMPLE secret s3cr3t-value"),
        secrets=["s3cr3t-value"],
    )
    assert failure.detail == "key [access key id] secret [redacted]"


def test_our_own_bugs_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("x"))
