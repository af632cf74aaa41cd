"""Server settings: one class, read from CONNECTOR_WIZARD_* environment variables.

Every field must appear in the README's settings table (tests/test_settings.py
checks). Invalid values fail at start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CONNECTOR_WIZARD_"
MIN_OPERATOR_SECRET = 16
# Answered without configuration: a local instance, opened on this machine.
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
# A DNS name or an IPv4/IPv6 address, as it stands in a Host header without its port.
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|[0-9a-f:.]{2,45}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///connector-wizard.sqlite3",
        description="SQLAlchemy URL of the database; SQLite file by default, postgresql+psycopg://… for several replicas.",
    )
    host: str = Field(default="127.0.0.1", description="Address `connector-wizard serve` binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `connector-wizard serve` binds.")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes for `serve`.")
    log_format: Literal["text", "json"] = Field(default="text", description="Log line format.")
    access_log: bool = Field(default=True, description="Log one line per request (share tokens masked).")
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are trusted (`*`: any); empty: none.",
    )

    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        le=1048576,
        description="Largest request line and headers `serve` reads (431 beyond).",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds `serve` waits for a request's headers to be complete before it closes the connection.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        le=100000,
        description="Connections (and requests in progress) one `serve` process holds at once; 503 beyond.",
    )
    public_url: str = Field(
        default="",
        description="The address people open, e.g. https://wizard.example.com: the base of minted links and the origin changes must come from; its host is allowed.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names the server answers besides localhost, 127.0.0.1, ::1 and the public URL's host (other Host headers get 400); `*`: any.",
    )

    operator_secret: SecretStr | None = Field(
        default=None,
        description="If set (16 characters or more), required to create wizards and to use the server's own AWS identity.",
    )
    allow_server_credentials: bool = Field(
        default=False,
        description="Let verification use the server's own AWS credential chain (never through a share link).",
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        description="Send every AWS call to this endpoint (a local emulator); operators only, never from a user.",
    )
    demo: bool = Field(
        default=False,
        description="Start a local AWS emulator seeded with a simulated organization and verify against it.",
    )
    verify_concurrency: int = Field(
        # 64: the user-facing time goal at a 100 ms round trip within the management
        # account's STS rate (docs/decisions.md#verify-concurrency).
        default=64,
        ge=1,
        le=128,
        description="Member-account checks run at once in one verification.",
    )
    max_concurrent_verifications: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Verification runs the server runs at once, counted over every process and replica sharing the database.",
    )
    verify_interrupted_after_seconds: float = Field(
        default=30.0,
        ge=2,
        le=3600,
        description="A running verification whose server process has not reported for this long is shown as interrupted (its process stopped or died).",
    )
    demo_latency_ms: int = Field(
        default=0,
        ge=0,
        le=5000,
        description="Demo mode: add this many milliseconds before every AWS call, like a real network round trip.",
    )
    aws_connect_timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds to connect to AWS.")
    aws_read_timeout: float = Field(
        default=15.0, gt=0, le=300, description="Seconds to wait for an AWS answer."
    )

    link_days: int = Field(default=30, ge=1, description="Default lifetime of a share link, in days.")
    max_link_days: int = Field(default=365, ge=1, description="Longest lifetime a share link may be given.")
    max_body_bytes: int = Field(
        default=65536, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    hsts: bool = Field(
        default=False, description="Send Strict-Transport-Security (set it when served over HTTPS)."
    )
    link_rate_per_minute: int = Field(
        default=300,
        ge=0,
        description="Requests per minute one client address may make with share links (/w/…, /api/v1/wizards/…) and to the plan API (/api/v1/plan/…); 0: no limit.",
    )
    verify_rate_per_minute: int = Field(
        default=6, ge=0, description="Verification runs per minute one client address may start; 0: no limit."
    )
    purge_interval_minutes: int = Field(
        default=60, ge=0, description="How often the server purges expired links and wizards (0: never)."
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value:
            return ""
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path.strip("/"):
            raise ValueError("must be an http:// or https:// address with a host and no path")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be an http:// or https:// address with a host and no path")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: str) -> str:
        items = [item.strip().lower().rstrip(".") for item in value.split(",") if item.strip()]
        for item in items:
            if item != "*" and not _HOST_NAME.fullmatch(item):
                raise ValueError("must be host names or IP addresses separated by commas (no ports), or *")
        return ",".join(items)

    @field_validator("operator_secret")
    @classmethod
    def _long_operator_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Set but empty used to mean "no secret": anyone could create wizards (issue 12, finding 2).
        # Unset means no secret; set means a real one.
        if value is not None and len(value.get_secret_value()) < MIN_OPERATOR_SECRET:
            raise ValueError(
                f"must be at least {MIN_OPERATOR_SECRET} characters (unset it to let anyone create wizards)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError("must be IP addresses or networks separated by commas, or *") from None
        return ",".join(items)

    @model_validator(mode="after")
    def _link_days_within_max(self) -> Settings:
        if self.link_days > self.max_link_days:
            raise ValueError("link_days must not exceed max_link_days")
        return self

    @property
    def host_names(self) -> frozenset[str]:
        """The Host header names this server answers (without port), `*` for any."""
        names = set(DEFAULT_HOSTS)
        if self.public_url:
            names.add(str(urlsplit(self.public_url).hostname))
        names.update(name for name in self.allowed_hosts.split(",") if name)
        return frozenset(names)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
