"""Share-link tokens and wizard ids: random, only their SHA-256 is stored.

Pure (stdlib). A token is a capability (docs/security.md): 256 bits from
`secrets.token_urlsafe(32)`; the database keeps sha256(token) so a copy of the
database file does not hand out access.
"""

from __future__ import annotations

import hashlib
import re
import secrets

# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_wizard_id() -> str:
    # 128 bits, hex; an internal key, never enough on its own to open a wizard.
    return secrets.token_hex(16)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(value))
