"""What keeps a secret out of a verification result.

A result never carries a secret: the AWS messages kept in `detail` pass
through `redact()` first, which removes anything shaped like an access key id
and every secret the caller names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Access key ids: AKIA (long-term) / ASIA (temporary) and the other documented
# prefixes, then 16+ upper-case letters and digits.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA|AGPA|ANPA|ANVA|APKA|AIPA)[A-Z0-9]{12,124}\b")
MAX_DETAIL = 500


def redact(message: str | None, secrets: Sequence[str] = ()) -> str | None:
    """`message` without access key ids or any of `secrets`, shortened; None stays None."""
    if message is None:
        return None
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    message = _KEY_ID.sub("[access key id]", message)
    return message[:MAX_DETAIL]
