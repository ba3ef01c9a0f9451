"""Optional limits on writes: a token bucket per token and per client address.

WRITE_RATE_LIMIT_PER_TOKEN and WRITE_RATE_LIMIT_PER_IP (e.g. `60/minute`) are off by
default. The buckets live in this process's memory, so each worker and each replica counts
on its own: N of them let a client write up to N times the rate. Checked before any
database work (a flood of writes, authenticated or not, costs a dictionary lookup), on
POST, PUT, PATCH and DELETE only; over the limit is 429 with Retry-After in whole seconds.

The client address is the one ProxyHeadersMiddleware resolved (app.observability.proxy):
behind a TRUSTED_PROXIES proxy, the client's; from anyone else, the connecting peer's.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings, parse_rate
from app.db import UNSAFE_METHODS
from app.error_handlers import error_response

# Buckets kept before idle (full) ones are dropped: bounds memory under a flood of
# made-up tokens or addresses. A dropped full bucket is the same as a new one.
MAX_KEYS = 50_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`count` requests per `period` seconds per key, with bursts of up to `count`."""

    def __init__(
        self,
        count: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.capacity = float(count)
        self.rate = count / period  # tokens added per second
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    @classmethod
    def from_setting(cls, value: str | None) -> RateLimiter | None:
        if value is None:
            return None
        count, period = parse_rate(value)
        return cls(count, period)

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.pop(key, None)  # re-inserted: the dict stays oldest-first
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until `key` may send one more request (0: now)."""
        bucket = self._bucket(key, self.clock())
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> None:
        """Count one request of `key` (call after `wait` said 0)."""
        now = self.clock()
        self._bucket(key, now).tokens -= 1
        if len(self._buckets) > self.max_keys:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
        # Still too many busy keys: the least recently seen go (they start full again).
        excess = len(self._buckets) - self.max_keys * 9 // 10
        for key in list(self._buckets)[: max(excess, 0)]:
            del self._buckets[key]


def _token_key(scope: Scope) -> str | None:
    """A digest of the credentials (never the token itself, even in memory for long)."""
    header = Headers(scope=scope).get("authorization")
    if not header:
        return None
    _scheme, _, value = header.strip().partition(" ")
    return hashlib.sha256(value.strip().encode()).hexdigest() if value.strip() else None


class WriteRateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, per_token: RateLimiter | None, per_ip: RateLimiter | None
    ) -> None:
        self.app = app
        self.per_token = per_token
        self.per_ip = per_ip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        checks: list[tuple[RateLimiter, str, str]] = []
        client = scope.get("client")
        if self.per_ip is not None and client:
            checks.append((self.per_ip, str(client[0]), "client address"))
        token = _token_key(scope) if self.per_token is not None else None
        if self.per_token is not None and token is not None:
            checks.append((self.per_token, token, "token"))
        waits = [(limiter.wait(key), what) for limiter, key, what in checks]
        longest, what = max(waits, default=(0.0, ""))
        if longest > 0:
            seconds = max(1, math.ceil(longest))
            response = error_response(
                429,
                "rate_limited",
                f"Too many writes from this {what}; retry in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
            await response(scope, receive, send)
            return
        for limiter, key, _what in checks:
            limiter.take(key)
        await self.app(scope, receive, send)


def write_rate_limits(settings: Settings) -> Middleware | None:
    """The limits the settings configure, as middleware (None when neither is set)."""
    per_token = RateLimiter.from_setting(settings.write_rate_limit_per_token)
    per_ip = RateLimiter.from_setting(settings.write_rate_limit_per_ip)
    if per_token is None and per_ip is None:
        return None
    return Middleware(WriteRateLimitMiddleware, per_token=per_token, per_ip=per_ip)
