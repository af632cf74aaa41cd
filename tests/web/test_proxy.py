"""Behind a reverse proxy (issue 12): X-Forwarded-For / -Proto count only from the proxies named.

Real `connector-wizard serve` processes: uvicorn's proxy-header handling is
configured by `serve`, so a TestClient would not show it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest


def _home(url: str, client: str, proto: str = "http") -> httpx.Response:
    # An unknown link: counted by the share-link limiter, then 404.
    return httpx.get(
        f"{url}/w/nope-{client}/checklist",
        headers={"X-Forwarded-For": client, "X-Forwarded-Proto": proto},
        timeout=10,
    )


def _statuses(url: str) -> tuple[list[int], int]:
    first = [_home(url, "203.0.113.7").status_code for _ in range(3)]
    other = _home(url, "198.51.100.9").status_code
    return first, other


@pytest.mark.slow
@pytest.mark.parametrize(
    ("allow_ips", "trusted"),
    [("127.0.0.1", True), ("", False), ("10.0.0.0/8", False)],  # named, unset, another proxy
)
def test_forwarded_headers_count_only_from_named_proxies(
    start_server: Any, tmp_path: Path, allow_ips: str, trusted: bool
) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
        CONNECTOR_WIZARD_LINK_RATE_PER_MINUTE="2",
        CONNECTOR_WIZARD_FORWARDED_ALLOW_IPS=allow_ips,
        CONNECTOR_WIZARD_LOG_FORMAT="json",
    )
    first, other = _statuses(server.base_url)
    assert first == [404, 404, 429]  # one client used up its bucket...
    # ...another client behind the same proxy has its own only when the proxy is trusted;
    # otherwise everyone behind it shares the proxy's bucket.
    assert other == (404 if trusted else 429)
    # The log names the real client, or the proxy.
    assert ('"client": "203.0.113.7"' in server.log_text()) is trusted
    assert ('"client": "127.0.0.1"' in server.log_text()) is not trusted

    # The HTTPS decision follows a trusted X-Forwarded-Proto: the CSRF cookie is Secure.
    page = httpx.get(f"{server.base_url}/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert ("secure" in page.headers["set-cookie"].lower()) is trusted
    plain = httpx.get(f"{server.base_url}/", headers={"X-Forwarded-Proto": "http"}, timeout=10)
    assert "secure" not in plain.headers["set-cookie"].lower()
