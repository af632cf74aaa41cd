"""Re-checking chosen member accounts: the account ids a person gives, and the refusal of strangers."""

from __future__ import annotations

import re
from collections.abc import Sequence

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
MAX_CHOSEN_ACCOUNTS = 1000


def parse_account_ids(text: str) -> tuple[str, ...]:
    """Comma-separated 12-digit account ids, in order, without repeats; ValueError names the rule."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise ValueError("Give at least one account id.")
    if len(ids) > MAX_CHOSEN_ACCOUNTS:
        raise ValueError(f"Give at most {MAX_CHOSEN_ACCOUNTS} account ids.")
    if not all(_ACCOUNT_ID.fullmatch(i) for i in ids):
        raise ValueError("Each account id is 12 digits, separated by commas.")
    return tuple(dict.fromkeys(ids))


class NotMembers(ValueError):
    """Chosen account ids that are not active members of the organization (nothing is saved)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        count = len(self.ids)
        super().__init__(
            f"{count} of the chosen account ids {'is' if count == 1 else 'are'} not an active member "
            "account of this organization."
        )
