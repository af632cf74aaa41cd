"""In-memory rate limits: a token bucket per client address, bounded memory, monotonic clock.

Used on the share-link prefix (every route under /w/ and /api/v1/wizards/,
and wizard creation: `deps.page_guard` and `deps.api_guard` call it first)
and, through `enforce()`, on verification. One limiter per purpose lives on
`app.state.limiters` (built in create_app from the settings).

What it is and is not:
- per process: with `--workers N` each worker counts on its own, so a client
  gets up to N times the rate; several replicas each count on their own too;
- per client address as the server sees it: behind a reverse proxy every
  request comes from the proxy's address unless the proxy is named in
  CONNECTOR_WIZARD_FORWARDED_ALLOW_IPS (then uvicorn puts the X-Forwarded-For
  client in the scope, app/cli.py `serve`);
  IPv6 clients are grouped by /64, the block one host usually holds;
- bounded: at most `max_keys` buckets; the least recently used one is dropped
  beyond that (that client starts again with a full bucket);
- time comes from `time.monotonic` (never goes backwards when the wall clock
  is set), injectable for tests.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

DEFAULT_MAX_KEYS = 10_000
SECRET_FAILURES_PER_MINUTE = 10
# Paths whose requests carry a share-link token, and the two that create wizards
# (each creation writes to the database: a cheap way to fill it otherwise).
# The plan API is counted too: it needs no link, and a bundle costs ~10 ms of CPU (issue 12, finding 3).
LINK_PREFIXES = ("/w/", "/api/v1/wizards/", "/api/v1/plan/")
CREATE_PATHS = frozenset({"/wizards", "/api/v1/wizards"})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `capacity` requests at once, refilled at `per_minute`.

    Thread-safe (a lock around a few arithmetic operations), so it serves the
    event loop and worker threads alike.
    """

    def __init__(
        self,
        *,
        per_minute: float,
        capacity: float | None = None,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(capacity if capacity is not None else per_minute)
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`: 0.0 if allowed, else seconds until it would be."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(self.capacity, now)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                # max(): a clock that stood still (or a test clock set back) adds nothing.
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate

    def wait(self, key: str) -> float:
        """Seconds until `key` may make one more request (0.0: now), without taking a token."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            tokens = min(self.capacity, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


def client_key(request: Request) -> str:
    """The address a limit counts against: the IPv4 address, or the IPv6 /64."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def enforce(limiter: RateLimiter | None, request: Request, cost: float = 1.0) -> None:
    """Raise 429 with Retry-After (whole seconds, at least 1) when the client is over the limit."""
    if limiter is None:
        return
    _refuse_if_waiting(limiter.hit(client_key(request), cost))


def _refuse_if_waiting(wait: float) -> None:
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"Too many requests from your address. Try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
        )


def check_failures(request: Request, limiter_name: str, attempt: Callable[[], bool]) -> bool:
    """Run `attempt` unless this client used up its failures; a failed attempt takes a token.

    A client over the limit gets 429 for right and wrong attempts alike, so
    guessing on goes nowhere (429 says nothing about the guess).
    """
    limiters: dict[str, RateLimiter | None] = request.app.state.limiters
    limiter = limiters.get(limiter_name)
    if limiter is None:
        return attempt()
    key = client_key(request)
    _refuse_if_waiting(limiter.wait(key))
    if attempt():
        return True
    limiter.hit(key)
    return False


def limit_share_links(request: Request) -> None:
    """Count requests that carry a share-link token or create a wizard (part of every router's guard)."""
    path = request.scope["path"]
    if path.startswith(LINK_PREFIXES) or path in CREATE_PATHS:
        limiters: dict[str, RateLimiter | None] = request.app.state.limiters
        enforce(limiters.get("links"), request)


def make_limiters(*, link_per_minute: int, verify_per_minute: int) -> dict[str, RateLimiter | None]:
    """The app's limiters; a rate of 0 turns that limit off (None)."""
    return {
        "links": RateLimiter(per_minute=link_per_minute) if link_per_minute else None,
        # Wrong operator secrets (issue 12, finding 2): a few, then one every six seconds.
        "secret": RateLimiter(per_minute=SECRET_FAILURES_PER_MINUTE),
        # Verification is expensive (tens of AWS calls): a small burst, then the rate.
        "verify": RateLimiter(per_minute=verify_per_minute, capacity=max(1, min(3, verify_per_minute)))
        if verify_per_minute
        else None,
    }
