"""Results of a live verification: checks, member accounts, the whole report, and its JSON.

Pure (stdlib + pydantic): the store saves a `Report` as JSON and the web
renders it without importing boto3; `app/aws` produces them. The values are
plain frozen dataclasses, built as `app/aws` gives them (not validated: a run
builds thousands); pydantic writes and reads their JSON (`Report.to_json`,
`Report.from_json`), validating what it reads (docs/decisions.md). A stored
report of an earlier version still loads: what a report derives (each
account's and the report's status, the summary counts) is written for readers
of the JSON and ignored on the way back in, and every field added since the
first version has a default (tests/domain/test_stored_reports.py).

A result never carries a secret: the AWS messages kept in `detail` pass
through `redaction.redact()` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import ConfigDict, TypeAdapter, computed_field, field_serializer, field_validator

from app.domain.verification.causes import Cause

# The derived values are computed fields written under their plain names.
_JSON = ConfigDict(serialize_by_alias=True)


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"


# Worst first: the status of a group is its worst member's.
_SEVERITY = {Status.FAIL: 3, Status.WARN: 2, Status.PASS: 1, Status.SKIPPED: 0}


def worst(statuses: Iterable[Status]) -> Status:
    result = Status.SKIPPED
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[result]:
            result = status
    return result


# Plain words for a status in a count ("3 passed, 1 with warnings").
_STATUS_WORDS = {
    Status.PASS: "passed",
    Status.WARN: "with warnings",
    Status.FAIL: "failed",
    Status.SKIPPED: "skipped",
}


def count_sentence(summary: Mapping[str, int], kind: str, noun: str) -> str:
    """'12 checks: 9 passed, 1 with warnings, 2 failed' from Report.summary() (every item counted once)."""
    total = int(summary.get(kind, 0))
    parts = [
        f"{summary[f'{kind}_{status.value}']} {word}"
        for status, word in _STATUS_WORDS.items()
        if summary.get(f"{kind}_{status.value}", 0)
    ]
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")


def summary_sentence(summary: Mapping[str, int]) -> str:
    """The whole run in one sentence: checks, then member accounts when there are any."""
    sentence = count_sentence(summary, "checks", "checks")
    if summary.get("accounts"):
        sentence += "; " + count_sentence(summary, "accounts", "member accounts")
    return sentence + "."


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check (or one region of a check): what was called, what it means, what fixes it."""

    id: str
    title: str
    status: Status
    call: str
    explanation: str
    fix: str | None = None  # a checklist step id
    error_code: str | None = None
    cause: Cause | None = None
    region: str | None = None
    detail: str | None = None  # the AWS message, redacted

    @property
    def key(self) -> str:
        return f"{self.id}@{self.region}" if self.region else self.id


@dataclass(frozen=True, slots=True)
class RegionResult:
    region: str
    status: Status
    error_code: str | None = None
    cause: Cause | None = None
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class AccountResult:
    """One member account: could the common role be assumed, and ACM reached in each region."""

    __pydantic_config__ = _JSON

    account_id: str
    name: str
    joined_method: str  # CREATED | INVITED
    is_management: bool
    role_status: Status
    regions: tuple[RegionResult, ...] = ()
    error_code: str | None = None
    cause: Cause | None = None
    explanation: str = ""
    fix: str | None = None
    detail: str | None = None
    elapsed_ms: int = 0

    @property
    def status(self) -> Status:
        return worst([self.role_status, *(r.status for r in self.regions)])

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    # In the JSON, for its readers; ignored when a report is read back. A plain
    # property beside it: pydantic's descriptor would slow every `status` read.
    @computed_field(alias="status")  # type: ignore[prop-decorator]
    @property
    def _status_json(self) -> Status:
        return self.status


@dataclass(frozen=True, slots=True)
class Report:
    """A whole verification run. Saved as JSON (never a secret, token or key)."""

    __pydantic_config__ = _JSON

    scope: str
    role_name: str
    regions: tuple[str, ...]
    started_at: datetime
    finished_at: datetime
    caller_arn: str = ""
    account_id: str = ""
    checks: tuple[CheckResult, ...] = ()
    accounts: tuple[AccountResult, ...] = ()
    source: str = "form"  # form | server | demo | cli
    simulated: tuple[str, ...] = ()  # demo mode: what the emulator only pretends
    # A re-check of chosen member accounts only (empty: every active account was checked).
    only_accounts: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        return worst([*(c.status for c in self.checks), *(a.status for a in self.accounts)])

    @property
    def elapsed_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, int]:
        counts = {"checks": len(self.checks), "accounts": len(self.accounts)}
        for status in Status:
            counts[f"checks_{status.value}"] = sum(1 for c in self.checks if c.status is status)
            counts[f"accounts_{status.value}"] = sum(1 for a in self.accounts if a.status is status)
        return counts

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def failed_accounts(self) -> list[AccountResult]:
        return [a for a in self.accounts if a.failed]

    # --- JSON, by pydantic -----------------------------------------------------------

    @computed_field(alias="status")  # type: ignore[prop-decorator]
    @property
    def _status_json(self) -> Status:
        return self.status

    @computed_field(alias="summary")  # type: ignore[prop-decorator]
    @property
    def _summary_json(self) -> dict[str, int]:
        return self.summary()

    @field_serializer("started_at", "finished_at")
    def _time_json(self, value: datetime) -> str:
        # isoformat(), as every earlier version wrote it ("+00:00", not pydantic's "Z").
        return value.isoformat()

    @field_validator("started_at", "finished_at")
    @classmethod
    def _time_in_utc(cls, value: datetime) -> datetime:
        # The stdlib's UTC, as datetime.fromisoformat gave it, rather than pydantic's own zero offset.
        return value.replace(tzinfo=UTC) if value.utcoffset() == timedelta(0) else value

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON values, with its status and summary counts (`verify --json`)."""
        data: dict[str, Any] = _codec().dump_python(self, mode="json")
        return data

    def to_json(self) -> str:
        """The JSON the store saves."""
        return _codec().dump_json(self).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """A stored report, of this version or an earlier one (derived values are recomputed)."""
        return _codec().validate_json(text)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Report:
        return _codec().validate_python(data)


@cache  # built on first use: start-up does not need it
def _codec() -> TypeAdapter[Report]:
    return TypeAdapter(Report)
