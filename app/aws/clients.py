"""The one boto3 seam: credentials, client configuration, and a warm shared Session.

Everything that talks to AWS gets its clients from a `ClientSet` made here.

- Credentials stay `SecretStr` until the boto3 call that needs them, and live
  only in the `ClientSet` of one run: nothing here writes them anywhere.
- One process-wide boto3 Session, created once and kept warm: a new Session
  reloads the service models (≈ 47 ms for the first client), a client from a
  warm Session costs ≈ 1.4–2.3 ms here. Sessions are not thread-safe
  (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/session.html#multithreading-or-multiprocessing-with-sessions),
  so clients are created under a lock; clients themselves are thread-safe
  (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients)
  and a run reuses each one.
- botocore Config: connect/read timeouts, standard retries (they retry
  throttling and transient errors with backoff,
  https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html),
  and `ignore_configured_endpoint_urls` so that the only endpoint override is
  the operator's setting, never an environment variable or a user's input.
- Regional endpoints come from botocore's partition data for the region;
  global services (Organizations) use the partition's home region.
- botocore and urllib3 loggers are pinned at WARNING: at DEBUG botocore logs
  request headers, `X-Amz-Security-Token` included.
- Timestamps in answers are parsed without dateutil when they have the one
  form AWS uses (`parse_timestamp`): ~13% of a request's CPU
  (docs/decisions.md#verify-concurrency).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, ReadOnlyCredentials
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from app.domain.iam import HOME_REGION, Partition

USER_AGENT = "aws-connector-wizard"
SESSION_NAME = "connector-wizard-verify"

# (event name, handler): registered on every client of a run. Demo mode and
# tests use `before-send` handlers to simulate what the emulator cannot.
Hook = tuple[str, Callable[..., Any]]

_LOGGERS_PINNED = ("botocore", "boto3", "urllib3", "s3transfer")


def pin_loggers() -> None:
    """Keep library loggers at WARNING whatever the root level (they log secrets at DEBUG)."""
    for name in _LOGGERS_PINNED:
        logging.getLogger(name).setLevel(logging.WARNING)


# Access key ids are 16-128 characters of [\w]; secrets are 40 characters in
# practice. https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKey.html
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")


class Credentials(BaseModel):
    """Credentials typed into the verify form: in memory for one run only."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None

    @field_validator("access_key_id")
    @classmethod
    def _key_id(cls, value: str) -> str:
        value = value.strip()
        if not _KEY_ID.fullmatch(value):
            raise ValueError("An access key id is 16–128 upper-case letters and digits, like AKIA… or ASIA….")
        return value

    @field_validator("secret_access_key")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not 16 <= len(raw) <= 128 or any(c.isspace() for c in raw):
            raise ValueError("A secret access key is 40 characters, without spaces.")
        return SecretStr(raw)

    @field_validator("session_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        raw = raw.strip()
        if len(raw) > 8192 or any(c.isspace() for c in raw):
            raise ValueError("A session token is one line without spaces.")
        return SecretStr(raw)

    def secrets(self) -> list[str]:
        """The values that must never appear anywhere (for redaction and tests)."""
        values = [self.secret_access_key.get_secret_value()]
        if self.session_token is not None:
            values.append(self.session_token.get_secret_value())
        return values

    def __repr__(self) -> str:  # pydantic's repr already masks; keep the key id out too
        return "Credentials(access_key_id='…', secret_access_key=SecretStr('**********'))"


@dataclass(frozen=True)
class AwsSettings:
    """What the operator decides: endpoint override, timeouts, retries, concurrency."""

    endpoint_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_attempts: int = 3  # in total, the first try included
    concurrency: int = 64  # docs/decisions.md#verify-concurrency

    def config(self) -> Config:
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            # One client serves every worker thread of a run: give urllib3 a
            # connection per worker, or it discards and reopens connections.
            max_pool_connections=max(10, self.concurrency + 2),
            user_agent_extra=USER_AGENT,
            ignore_configured_endpoint_urls=True,
        )


class _ThreadIdentity(BotocoreCredentials):  # type: ignore[misc]
    """Credentials that sign each request with the member-account identity of the calling thread.

    Why: a member account's checks need its own AssumeRole credentials, and a
    client per account and region costs 2–9 ms of CPU to create (most of a
    check's CPU). botocore's signer asks `get_frozen_credentials()` for every
    request it signs, retries included, in the thread making the call
    (botocore/signers.py RequestSigner.get_auth_instance), so one client per
    region can serve every member account: the worker sets its account's
    credentials for the duration of its calls (`use`). A call outside `use`
    raises instead of signing with someone else's identity.
    """

    method = "connector-wizard-member"

    def __init__(self) -> None:  # no super().__init__: every field is per thread
        self._local = threading.local()

    def _current(self) -> ReadOnlyCredentials:
        current: ReadOnlyCredentials | None = getattr(self._local, "value", None)
        if current is None:
            raise RuntimeError("a member-account client was used outside its account's check")
        return current

    @property
    def access_key(self) -> str:
        return str(self._current().access_key)

    @property
    def secret_key(self) -> str:
        return str(self._current().secret_key)

    @property
    def token(self) -> str | None:
        return self._current().token  # type: ignore[no-any-return]

    @property
    def account_id(self) -> str | None:
        return None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._current()

    @contextmanager
    def use(self, assumed: dict[str, Any]) -> Iterator[None]:
        if getattr(self._local, "value", None) is not None:
            raise RuntimeError("member-account identities do not nest")
        self._local.value = ReadOnlyCredentials(
            assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"], None
        )
        try:
            yield
        finally:
            self._local.value = None


class _ThreadIdentityProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = _ThreadIdentity.method

    def __init__(self, identity: _ThreadIdentity) -> None:
        super().__init__()
        self._identity = identity

    def load(self) -> _ThreadIdentity:
        return self._identity


# ISO 8601 in UTC with optional fractional seconds, the form of AWS's XML
# answers (AssumeRole's Expiration): 2026-12-02T15:00:00.000Z.
_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parsing, without dateutil for the form AWS sends.

    Seam "timestamps without dateutil" (docs/decisions.md#verify-concurrency):
    botocore parses every timestamp of an answer with `dateutil.parser` (after
    trying it as a number), ~0.1 ms each; AssumeRole's answer has one, so it
    was ~13% of the CPU of a member account's three calls (bench/README.md,
    verify_scale). The same instant comes back, in UTC; any other form (epoch
    numbers of the JSON protocols, RFC 822, offsets) goes to botocore's own
    parser. Installed with the extension point botocore offers for it
    (ResponseParserFactory.set_parser_defaults(timestamp_parser=...), which
    the AWS CLI uses for its --cli-timestamp-format).
    """
    if isinstance(value, str) and _ISO_UTC.fullmatch(value):
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    return botocore_parse_timestamp(value)  # type: ignore[no-any-return]


def _fast_timestamps(core: botocore.session.Session) -> botocore.session.Session:
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return core


class _SharedSession:
    """Warm boto3 Sessions for the process, and the lock that guards them.

    `session`: explicit credentials or the default chain (or, with `profile`,
    that profile of the AWS config files: `verify --profile` on the sensor
    host, whose profile may run a `credential_process`). `member`: a Session
    whose only credential provider is the thread identity above.
    """

    def __init__(self, profile: str | None = None) -> None:
        self._lock = threading.Lock()
        self._profile = profile
        self._session: boto3.Session | None = None
        self._member: boto3.Session | None = None
        self.identity = _ThreadIdentity()

    def _own(self) -> boto3.Session:
        """The Session of the run's own identity; the caller holds the lock."""
        if self._session is None:
            pin_loggers()
            self._session = boto3.Session(
                botocore_session=_fast_timestamps(botocore.session.Session()), profile_name=self._profile
            )
        return self._session

    def client(self, service: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._own().client(service, **kwargs)

    def member_client(self, service: str, **kwargs: Any) -> Any:
        with self._lock:
            if self._member is None:
                pin_loggers()
                core = _fast_timestamps(botocore.session.Session())
                core.register_component(
                    "credential_provider", CredentialResolver([_ThreadIdentityProvider(self.identity)])
                )
                self._member = boto3.Session(botocore_session=core)
            return self._member.client(service, **kwargs)

    def _default_credentials(self) -> Any:
        with self._lock:
            credentials = self._own().get_credentials()
        return None if credentials is None else credentials.get_frozen_credentials()

    def default_access_key_id(self) -> str | None:
        """The access key id the default credential chain resolves to (CLI and server identity)."""
        frozen = self._default_credentials()
        return None if frozen is None else str(frozen.access_key)

    def default_session_token_present(self) -> bool:
        """Whether the default chain's credentials are temporary (an instance role, SSO, a session)."""
        frozen = self._default_credentials()
        return frozen is not None and bool(frozen.token)


SHARED = _SharedSession()


class ProfileMissing(ValueError):
    """The named profile is in none of the AWS config files."""


def profile_session(profile: str) -> _SharedSession:
    """A warm Session for one named profile of the AWS config files (the CLI's `verify --profile`).

    Raises ProfileMissing at once, so a mistyped name is one line, not a failed run.
    """
    from botocore.exceptions import ProfileNotFound

    shared = _SharedSession(profile)
    try:
        with shared._lock:
            shared._own()
    except ProfileNotFound:
        raise ProfileMissing("no such profile in the AWS config files") from None
    return shared


class ClientSet:
    """The clients of one verification run, all with the same identity.

    `credentials=None` means the default credential chain (CLI, or the
    server's identity when the operator allows it). Clients are created on
    first use and reused for the rest of the run; the set (and with it the
    credentials) is dropped when the run ends.
    """

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        partition: Partition,
        aws: AwsSettings,
        hooks: Sequence[Hook] = (),
        shared: _SharedSession = SHARED,
    ) -> None:
        self._credentials = credentials
        self.partition = partition
        self.aws = aws
        self._hooks = tuple(hooks)
        self._shared = shared
        self._config = aws.config()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    @property
    def home_region(self) -> str:
        return HOME_REGION[self.partition]

    def temporary_credentials(self) -> bool:
        """Whether the run's credentials are temporary (a session token), typed in or from the default chain."""
        if self._credentials is not None:
            return self._credentials.session_token is not None
        return self._shared.default_session_token_present()

    def access_key_id(self) -> str | None:
        if self._credentials is not None:
            return self._credentials.access_key_id
        return self._shared.default_access_key_id()

    def secrets(self) -> list[str]:
        return self._credentials.secrets() if self._credentials is not None else []

    def _cached(self, key: tuple[str, str, str], make: Callable[[], Any]) -> Any:
        """The run's client for `key`, made by the first thread that needs it; the others wait for it.

        Clients used to be made outside the lock and the loser of a race dropped:
        when a run starts, every worker thread asks for the same STS and ACM
        clients at once, and 64 threads made ~40 clients where 6 were needed, at
        2-9 ms of CPU each, a third of a run's CPU per request at 200 accounts
        (bench/README.md, verify_scale). Creation is serialised by the shared
        Session's lock anyway, so waiting here costs no parallelism.
        """
        existing = self._clients.get(key)  # a dict read is atomic; a client is published complete
        if existing is not None:
            return existing
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = make()
                for event, handler in self._hooks:
                    client.meta.events.register(event, handler)
                self._clients[key] = client
            return client

    def client(self, service: str, region: str | None = None) -> Any:
        """A client with this run's identity, made once per (service, region)."""
        region = region or self.home_region
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
        if self.aws.endpoint_url:
            kwargs["endpoint_url"] = self.aws.endpoint_url
        if self._credentials is not None:
            kwargs["aws_access_key_id"] = self._credentials.access_key_id
            kwargs["aws_secret_access_key"] = self._credentials.secret_access_key.get_secret_value()
            if self._credentials.session_token is not None:
                kwargs["aws_session_token"] = self._credentials.session_token.get_secret_value()
        return self._cached(("own", service, region), lambda: self._shared.client(service, **kwargs))

    def member_client(self, service: str, region: str) -> Any:
        """A client that signs with the member-account identity set by `as_member` in this thread."""
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
        if self.aws.endpoint_url:
            kwargs["endpoint_url"] = self.aws.endpoint_url
        return self._cached(
            ("member", service, region), lambda: self._shared.member_client(service, **kwargs)
        )

    def as_member(self, assumed: dict[str, Any]) -> Any:
        """Context manager: member clients sign with `assumed` (AssumeRole's Credentials) in this thread."""
        return self._shared.identity.use(assumed)
