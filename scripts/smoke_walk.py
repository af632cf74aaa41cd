"""Walk one wizard through the JSON API of a running server (used by docker-smoke.sh).

    python3 scripts/smoke_walk.py create BASE_URL        -> prints the edit token
    python3 scripts/smoke_walk.py check BASE_URL TOKEN   -> exit 0 if the step is still ticked

Standard library only: it runs with the machine's python3, outside the venv.
Unsafe requests carry the CSRF double-submit pair (the same random value in the
X-CSRF-Token header and the cw_csrf cookie), as automation must.
"""

from __future__ import annotations

import json
import secrets
import sys
import urllib.error
import urllib.request
from typing import Any

STEP = "create-user"


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    csrf = secrets.token_urlsafe(16)
    if not base.startswith(("http://127.0.0.1:", "http://localhost:")):
        sys.exit(f"smoke_walk: only a loopback server, not {base}")
    request = urllib.request.Request(  # noqa: S310 - checked just above: http on loopback
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf, "Cookie": f"cw_csrf={csrf}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http on loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:300]


def expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        sys.exit(f"smoke_walk: {what}: HTTP {status} (wanted {wanted}): {body}")


def step_done(base: str, token: str) -> bool:
    status, wizard = call(base, "GET", f"/api/v1/wizards/{token}")
    expect(status, 200, "read the wizard", wizard)
    return any(step["id"] == STEP and step["done"] for step in wizard["steps"])


def create(base: str) -> None:
    status, body = call(base, "GET", "/readyz")
    expect(status, 200, "readyz", body)
    status, created = call(
        base, "POST", "/api/v1/wizards", {"scope": "organization", "regions": ["us-east-1"]}
    )
    expect(status, 201, "create a wizard", created)
    token = created["token"]
    status, step = call(base, "PUT", f"/api/v1/wizards/{token}/steps/{STEP}", {"done": True})
    expect(status, 200, "tick a step", step)
    if not step_done(base, token):
        sys.exit("smoke_walk: the ticked step does not read back as done")
    print(token)


def check(base: str, token: str) -> None:
    if not step_done(base, token):
        sys.exit("smoke_walk: the step is no longer ticked")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "create":
        create(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
