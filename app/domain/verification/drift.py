"""What changed between two verification runs of the same wizard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.verification.results import Report, Status


class Change(StrEnum):
    FIXED = "fixed"  # was failing, passes now
    BROKE = "broke"  # was passing, fails now
    CHANGED = "changed"  # another status change
    NEW = "new"  # not in the previous run
    GONE = "gone"  # not in this run


@dataclass(frozen=True, slots=True)
class DriftItem:
    key: str
    label: str
    before: Status | None
    after: Status | None
    change: Change


@dataclass(frozen=True)
class Drift:
    items: tuple[DriftItem, ...] = ()
    previous_started_at: datetime | None = None
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.items)

    def count(self, change: Change) -> int:
        return sum(1 for item in self.items if item.change is change)


def _statuses(report: Report) -> dict[str, tuple[str, Status]]:
    """Flatten a report to comparable items: key -> (label, status)."""
    items: dict[str, tuple[str, Status]] = {}
    for check in report.checks:
        label = check.title + (f" ({check.region})" if check.region else "")
        items["check:" + check.key] = (label, check.status)
    for account in report.accounts:
        name = f"{account.name} ({account.account_id})"
        items[f"account:{account.account_id}:role"] = (f"{name}: role", account.role_status)
        for region in account.regions:
            items[f"account:{account.account_id}:{region.region}"] = (
                f"{name}: ACM in {region.region}",
                region.status,
            )
    return items


def drift(previous: Report | None, current: Report) -> Drift:
    """What changed between two runs of the same wizard, worst news first."""
    if previous is None:
        return Drift()
    before, after = _statuses(previous), _statuses(current)
    if current.only_accounts:
        # A re-check of chosen accounts says nothing about the others: they are not gone.
        chosen = set(current.only_accounts)
        before = {
            k: v for k, v in before.items() if not k.startswith("account:") or k.split(":")[1] in chosen
        }
    items: list[DriftItem] = []
    unchanged = 0
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            if old[1] is new[1]:
                unchanged += 1
                continue
            if new[1] is Status.FAIL:
                change = Change.BROKE
            elif old[1] is Status.FAIL and new[1] is Status.PASS:
                change = Change.FIXED
            else:
                change = Change.CHANGED
            items.append(DriftItem(key, new[0], old[1], new[1], change))
        elif new is not None:
            items.append(DriftItem(key, new[0], None, new[1], Change.NEW))
        elif old is not None:
            items.append(DriftItem(key, old[0], old[1], None, Change.GONE))
    order = {Change.BROKE: 0, Change.FIXED: 1, Change.CHANGED: 2, Change.NEW: 3, Change.GONE: 4}
    items.sort(key=lambda item: (order[item.change], item.key))
    return Drift(tuple(items), previous.started_at, unchanged)
