"""Map what boto3 raises to a plain cause (app.domain.verification.causes.Cause).

Only expected failures become causes; a bug in our own code still raises.
Error codes and wording:
- AccessDenied messages: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
  ("… with an explicit deny in a service control policy", "… because no
  identity-based policy allows the … action").
- STS errors: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
- Organizations errors: https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html
- Throttling codes retried by botocore's standard mode:
  https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from app.domain.verification.causes import Cause
from app.domain.verification.redaction import redact

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden"}
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
INVALID_KEY_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"})
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: the AWS error code (or exception name), the cause, the redacted message."""

    code: str
    cause: Cause
    detail: str | None

    @property
    def is_access_denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES


def classify(
    error: Exception, *, secrets: Sequence[str] = (), region_may_be_disabled: bool = False
) -> Failure:
    """A Failure for a boto3/botocore exception; anything else is re-raised by the caller.

    `region_may_be_disabled`: the same credentials already worked in the home
    region, so "this token is invalid" here means the region is not enabled
    (opt-in regions reject credentials until enabled:
    https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html).
    """
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code") or "Unknown")
        message = str(info.get("Message") or "")
        return Failure(code, _client_cause(code, message, region_may_be_disabled), redact(message, secrets))
    name = type(error).__name__
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return Failure(name, Cause.TIMEOUT, redact(str(error), secrets))
    if isinstance(error, EndpointConnectionError | ProxyConnectionError | SSLError | ConnectionClosedError):
        return Failure(name, Cause.UNREACHABLE, redact(str(error), secrets))
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return Failure(name, Cause.NO_CREDENTIALS, None)
    if isinstance(error, BotoCoreError):
        return Failure(name, Cause.UNEXPECTED, redact(str(error), secrets))
    raise error


def _client_cause(code: str, message: str, region_may_be_disabled: bool) -> Cause:
    lowered = message.lower()
    if code in THROTTLING_CODES:
        return Cause.THROTTLED
    if code in INVALID_KEY_CODES:
        return Cause.REGION_NOT_ENABLED if region_may_be_disabled else Cause.INVALID_CREDENTIALS
    if code == "SignatureDoesNotMatch":
        return Cause.WRONG_SECRET
    if code in EXPIRED_CODES:
        return Cause.EXPIRED_CREDENTIALS
    if code == "AWSOrganizationsNotInUseException":
        return Cause.NOT_IN_ORGANIZATION
    if code in ACCESS_DENIED_CODES:
        if "trusted access" in lowered:
            return Cause.TRUSTED_ACCESS_DISABLED
        if "service control polic" in lowered:
            return Cause.SCP_DENY
        if "no identity-based policy allows" in lowered:
            return Cause.CALLER_POLICY
        return Cause.ACCESS_DENIED
    if code == "OptInRequired":
        return Cause.REGION_NOT_ENABLED
    return Cause.UNEXPECTED
