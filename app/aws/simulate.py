"""botocore `before-send` handlers that answer for AWS: simulated denials, throttling, latency.

They sit below our code and above the network: botocore's retries, parsers
and error classes all still run (a `Stubber` would bypass them). Demo mode
uses them for what the local emulator does not do (moto never evaluates a
role's trust policy); tests and the benchmark use them to inject faults.

A `before-send` handler gets the prepared request; returning an AWSResponse
short-circuits the HTTP call, returning None lets it through.
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSPreparedRequest, AWSResponse


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _header(request: AWSPreparedRequest, name: str) -> str:
    value = request.headers.get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def is_json_protocol(request: AWSPreparedRequest) -> bool:
    return bool(_header(request, "X-Amz-Target"))


def error_response(request: AWSPreparedRequest, *, status: int, code: str, message: str) -> AWSResponse:
    """An AWS error answer in the request's protocol (JSON with __type, or query XML)."""
    if is_json_protocol(request):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "simulated"}
    else:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>simulated</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(request.url, status, headers, _Body(body))


def request_region(request: AWSPreparedRequest) -> str:
    """The region a SigV4 request is signed for (…/Credential=KEY/DATE/REGION/SERVICE/aws4_request)."""
    auth = _header(request, "Authorization")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[2]
    except IndexError:
        return ""


def request_service(request: AWSPreparedRequest) -> str:
    """The service a SigV4 request is signed for (…/REGION/SERVICE/aws4_request)."""
    auth = _header(request, "Authorization")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3]
    except IndexError:
        return ""


def request_params(request: AWSPreparedRequest) -> dict[str, str]:
    """Top-level parameters of a query (form) or JSON request."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        return {}
    if is_json_protocol(request):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def account_of_role_arn(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class Latency:
    """Sleep before every request: a fixed network round trip, below boto3."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> None:
        time.sleep(self.seconds)


class Throttle:
    """Answer `Throttling` to the first `times` matching requests (None: always)."""

    def __init__(
        self, times: int | None, *, match: Callable[[AWSPreparedRequest], bool] | None = None
    ) -> None:
        self.times = times
        self.match = match
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if self.match is not None and not self.match(request):
            return None
        with self._lock:
            if self.times is not None and self.sent >= self.times:
                return None
            self.sent += 1
        code = "ThrottlingException" if is_json_protocol(request) else "Throttling"
        return error_response(request, status=400, code=code, message="Rate exceeded")


class DenyAssumeRole:
    """AccessDenied for AssumeRole into the given accounts, worded like AWS.

    AWS answers a missing role and a trust policy that does not trust the
    caller with the same message (no reason given); an SCP denial names the
    policy type. https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
    """

    def __init__(self, accounts: dict[str, str], *, caller_arn: str) -> None:
        # account id -> "role" (missing role / untrusted) or "scp"; `caller_arn`: whom AWS names as
        # the caller (an IAM user's ARN, or a role session's), as the run signs in.
        self.accounts = dict(accounts)
        self.caller_arn = caller_arn

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        role = request_params(request).get("RoleArn", "")
        kind = self.accounts.get(account_of_role_arn(role))
        if kind is None:
            return None
        message = f"User: {self.caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
        if kind == "scp":
            message += " with an explicit deny in a service control policy"
        return error_response(request, status=403, code="AccessDenied", message=message)


class DisabledRegions:
    """Reject requests to regions that are not enabled, as AWS does for opt-in regions."""

    def __init__(self, regions: set[str]) -> None:
        self.regions = set(regions)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if request_region(request) not in self.regions:
            return None
        code = "UnrecognizedClientException" if is_json_protocol(request) else "InvalidClientTokenId"
        return error_response(
            request, status=400, code=code, message="The security token included in the request is invalid."
        )


def _replay_key(request: AWSPreparedRequest) -> tuple[str, str, str, bytes]:
    body = request.body or b""
    data = (
        body.encode()
        if isinstance(body, str)
        else bytes(body)
        if isinstance(body, bytes | bytearray)
        else b""
    )
    # The path and query, not the host: the answers may be served for another endpoint.
    where = urlsplit(str(request.url))
    return (request_region(request), f"{where.path}?{where.query}", _header(request, "X-Amz-Target"), data)


class Recorder:
    """Record each request's answer, to serve it again with `Replay` (bench/verify_scale.py).

    Register both hooks before any hook that answers requests itself (such as
    DenyAssumeRole): before-send notes which request this thread sends,
    after-call stores the answer it got (the last attempt's, retries included).
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str, bytes], tuple[int, dict[str, str], bytes]] = {}
        self._lock = threading.Lock()
        self._sending = threading.local()

    def hooks(self) -> list[tuple[str, Callable[..., Any]]]:
        return [("before-send", self._before_send), ("after-call", self._after_call)]

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> None:
        self._sending.key = _replay_key(request)

    def _after_call(self, http_response: AWSResponse, **_: Any) -> None:
        key = self._sending.__dict__.pop("key", None)  # never a previous request's key
        if key is not None:
            answer = (http_response.status_code, dict(http_response.headers), http_response.content)
            with self._lock:
                self.answers[key] = answer


class Replay:
    """Answer each request with the answer `Recorder` stored for the same request, below boto3.

    An endpoint that costs nothing: no socket, no emulator CPU, while botocore
    still serialises, signs, retries and parses as against AWS. A request never
    recorded gets an error answer, so a changed check shows in the report.
    """

    def __init__(self, answers: dict[tuple[str, str, str, bytes], tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = answers

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        answer = self.answers.get(_replay_key(request))
        if answer is None:
            return error_response(request, status=400, code="NotRecorded", message="No recorded answer.")
        status, headers, body = answer
        return AWSResponse(request.url, status, headers, _Body(body))


def _operation(request: AWSPreparedRequest) -> str:
    """The API operation of a query (Action=…) or JSON (X-Amz-Target: Service.Operation) request."""
    target = _header(request, "X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    return request_params(request).get("Action", "")


class SessionCredentialLimits:
    """Refuse STS calls that AWS refuses to temporary credentials (moto allows them).

    Credentials from GetSessionToken may call no STS API but AssumeRole and
    GetCallerIdentity; role credentials cannot call GetSessionToken
    (docs/facts.md#temporary-credentials).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html
    """

    ALLOWED = frozenset({"AssumeRole", "GetCallerIdentity"})

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not _header(request, "X-Amz-Security-Token") or request_service(request) != "sts":
            return None
        operation = _operation(request)
        if not operation or operation in self.ALLOWED:
            return None
        return error_response(
            request,
            status=403,
            code="AccessDenied",
            message=f"Cannot call {operation} with session credentials",
        )


class CallerIdentity:
    """Answer GetCallerIdentity for requests signed with one access key id, as AWS would.

    moto answers a GetSessionToken session with a placeholder user; AWS names
    the IAM user whose session it is.
    """

    def __init__(self, access_key_id: str, *, arn: str, account_id: str) -> None:
        self.access_key_id = access_key_id
        self.arn = arn
        self.account_id = account_id

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if _operation(request) != "GetCallerIdentity" or f"Credential={self.access_key_id}/" not in _header(
            request, "Authorization"
        ):
            return None
        body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{escape(self.arn)}</Arn><UserId>AIDASIMULATED</UserId>"
            f"<Account>{escape(self.account_id)}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>simulated</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        ).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, _Body(body))


class DenyOperation:
    """AccessDenied for one operation, worded like AWS for a caller whose policies do not allow it."""

    def __init__(self, operation: str, action: str, *, caller_arn: str) -> None:
        self.operation = operation
        self.action = action
        self.caller_arn = caller_arn

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if _operation(request) != self.operation:
            return None
        code = "AccessDeniedException" if is_json_protocol(request) else "AccessDenied"
        message = (
            f"User: {self.caller_arn} is not authorized to perform: {self.action} "
            f"because no identity-based policy allows the {self.action} action"
        )
        return error_response(request, status=400, code=code, message=message)


class PartitionArns:
    """Reject a request that names an ARN of another partition than the region it is sent to.

    AWS's partitions are separate: a role ARN of `aws` means nothing to STS in
    `aws-us-gov` (docs/facts.md#partitions). moto does not check this.
    """

    def __init__(self, partition_of_region: Callable[[str], str | None]) -> None:
        self.partition_of_region = partition_of_region
        self.rejected: list[str] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        partition = self.partition_of_region(request_region(request))
        if partition is None:
            return None
        for value in request_params(request).values():
            if value.startswith("arn:") and value.split(":")[1] != partition:
                self.rejected.append(value)
                return error_response(
                    request,
                    status=400,
                    code="ValidationError",
                    message=f"ARN {value} is not in the {partition} partition",
                )
        return None
