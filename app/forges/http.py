"""One upstream's HTTP: its shared client, THE retry policy, rate limits, in-flight cap.

Every forge client and the PyPI client send through `Upstream.request`, so retries,
pauses for rate limits, request counting (Usage and Prometheus) and logging happen in one
place. The caller gets the final response and interprets its status itself; only when
the upstream cannot give one (transport errors or 5xx after the last attempt, a rate
limit longer than the settings allow) does `UpstreamError` reach it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email.utils
import logging
import time
from typing import Any

import httpx
import stamina

from app.config import Settings
from app.forges.base import Budget, Usage
from app.metrics import RATE_LIMIT_REMAINING, UPSTREAM_REQUESTS
from app.tls import tls_context

logger = logging.getLogger(__name__)

# Without a Retry-After, GitHub asks to wait at least a minute after a secondary limit.
_SECONDARY_DEFAULT_WAIT = 60.0
_MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


class UpstreamError(Exception):
    """The upstream gave no usable answer: retries exhausted, or a rate limit too long."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, slots=True)
class _Call:
    """One request as sent (a followed redirect is another)."""

    method: str
    url: str
    headers: dict[str, str] | None
    params: dict[str, Any] | None
    json: Any


class _ServerError(Exception):
    """A 5xx, raised inside the retry loop so the retry policy sees it."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _transient(error: Exception) -> bool:
    # Transport problems (timeouts, refused or reset connections) and 5xx are worth
    # another try; anything else is the caller's to interpret.
    return isinstance(error, httpx.TransportError | _ServerError)


def new_client(settings: Settings, *, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """The one httpx client of an upstream, with the timeouts and User-Agent of the settings."""
    limit = settings.upstream_max_in_flight
    return httpx.AsyncClient(
        verify=tls_context(),
        timeout=httpx.Timeout(settings.upstream_timeout),
        headers={"User-Agent": settings.upstream_user_agent, **(headers or {})},
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        follow_redirects=False,
    )


class Upstream:
    """One upstream (one rate-limit budget): its client, retry policy and pause state.

    `counts_points` makes each response that is not a 304 add one to
    `Usage.github_points` (GitHub's REST budget; GraphQL reports its own cost).
    """

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        *,
        max_in_flight: int = 8,
        attempts: int = 4,
        max_wait: float = 900.0,
        wait_initial: float = 0.2,
        wait_max: float = 5.0,
        counts_points: bool = False,
        deadline: float | None = None,
    ) -> None:
        self.name = name
        # The whole request, body included: httpx's timeouts apply to each read, so an
        # upstream sending a byte every few seconds would otherwise hold a batch for ever.
        self.deadline = deadline
        self.client = client
        self.attempts = attempts
        self.max_wait = max_wait
        self.wait_initial = wait_initial
        self.wait_max = wait_max
        self.counts_points = counts_points
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._resume_at = 0.0  # time.monotonic() before which nothing is sent
        self.rate_limit_remaining: int | None = None

    @classmethod
    def from_settings(
        cls,
        name: str,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        counts_points: bool = False,
    ) -> Upstream:
        return cls(
            name,
            client,
            max_in_flight=settings.upstream_max_in_flight,
            attempts=settings.upstream_retry_attempts,
            max_wait=settings.upstream_max_wait,
            counts_points=counts_points,
            deadline=settings.upstream_timeout,
        )

    def pause_until(self, reset_epoch: float) -> None:
        """Send nothing more to this upstream before `reset_epoch` (Unix time)."""
        delay = reset_epoch - time.time()
        if delay > 0:
            self._pause(delay)

    def note_rate_limit(self, remaining: int, reset_epoch: float) -> None:
        """A budget read from a response body (GitHub GraphQL's rateLimit): at zero,
        pause until the window resets."""
        self.rate_limit_remaining = remaining
        RATE_LIMIT_REMAINING.labels(forge=self.name).set(remaining)
        if remaining <= 0:
            self.pause_until(reset_epoch)

    async def request(
        self,
        method: str,
        url: str,
        *,
        usage: Usage,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """The upstream's final answer to one request, whatever its status.

        Transport errors and 5xx are retried with jittered backoff; rate limits pause
        this upstream (every task sending to it) and then try again. Redirects, when
        followed, stay on the same scheme and host.
        """
        waited = 0.0
        hops: list[httpx.Response] = []
        while True:
            waited += await self._wait_for_resume(waited)
            call = _Call(method, url, headers, params, json)
            response = await self._send_with_retries(call, usage)
            delay = self._rate_limit_delay(response)
            if delay is not None:
                if waited + delay > self.max_wait:
                    raise UpstreamError(
                        f"{self.name} rate limit: {delay:.0f}s to wait, more than allowed",
                        retry_after=delay,
                    )
                logger.warning(
                    "%s rate limited (HTTP %s); pausing %.1fs",
                    self.name,
                    response.status_code,
                    delay,
                )
                self._pause(delay)
                continue
            location = response.headers.get("location")
            if follow_redirects and response.status_code in _REDIRECTS and location:
                target = response.url.join(location)
                if (target.scheme, target.host) != (response.url.scheme, response.url.host):
                    response.history = hops
                    return response  # never follow a forge off its own host
                if len(hops) >= _MAX_REDIRECTS:
                    raise UpstreamError(f"{self.name}: too many redirects from {url}")
                hops.append(response)
                url = str(target)
                if response.status_code == 303:
                    method, json = "GET", None
                continue
            response.history = hops
            return response

    def _pause(self, delay: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + delay)

    async def _wait_for_resume(self, waited: float) -> float:
        delay = self._resume_at - time.monotonic()
        if delay <= 0:
            return 0.0
        if waited + delay > self.max_wait:
            raise UpstreamError(
                f"{self.name} paused for a rate limit: {delay:.0f}s more than allowed",
                retry_after=delay,
            )
        await asyncio.sleep(delay)
        return delay

    async def _send_with_retries(self, call: _Call, usage: Usage) -> httpx.Response:
        # THE retry policy for every upstream: bounded attempts, exponential backoff with
        # jitter, on transport errors and 5xx only.
        try:
            async for attempt in stamina.retry_context(
                on=_transient,
                attempts=self.attempts,
                timeout=None,
                wait_initial=self.wait_initial,
                wait_max=self.wait_max,
                wait_jitter=self.wait_initial,
            ):
                with attempt:
                    return await self._send(call, usage)
        except _ServerError as error:
            raise UpstreamError(
                f"{self.name} answered HTTP {error.response.status_code} "
                f"{self.attempts} times to {call.method} {error.response.url.path}"
            ) from error
        except httpx.TransportError as error:
            raise UpstreamError(
                f"{self.name} unreachable after {self.attempts} tries: "
                f"{type(error).__name__} {error}"
            ) from error
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _send(self, call: _Call, usage: Usage) -> httpx.Response:
        method, url = call.method, call.url
        async with self._in_flight:
            try:
                async with asyncio.timeout(self.deadline):
                    response = await self.client.request(
                        method, url, headers=call.headers, params=call.params, json=call.json
                    )
            except TimeoutError:
                UPSTREAM_REQUESTS.labels(forge=self.name, status="error").inc()
                logger.info("%s %s %s failed: no whole answer in time", self.name, method, url)
                # A transport error like any timeout, so the retry policy applies.
                raise httpx.ReadTimeout(
                    f"no complete answer within {self.deadline:g} s (UPSTREAM_TIMEOUT)"
                ) from None
            except httpx.TransportError as error:
                UPSTREAM_REQUESTS.labels(forge=self.name, status="error").inc()
                logger.info("%s %s %s failed: %s", self.name, method, url, type(error).__name__)
                raise
        status = response.status_code
        usage.requests[self.name] += 1
        UPSTREAM_REQUESTS.labels(forge=self.name, status=str(status)).inc()
        if status == 304:
            usage.not_modified[self.name] += 1
        elif self.counts_points and not _over_the_limit(response):
            usage.github_points += 1
        logger.debug("%s %s %s -> %s", self.name, method, response.url, status)
        self._read_budget(response, usage)
        if status >= 500:
            raise _ServerError(response)
        return response

    def _read_budget(self, response: httpx.Response, usage: Usage) -> None:
        """The rate-limit headers (GitHub's x-ratelimit-*, GitLab's ratelimit-*)."""
        remaining = _header_number(response, "x-ratelimit-remaining", "ratelimit-remaining")
        if remaining is None:
            return
        self.rate_limit_remaining = int(remaining)
        RATE_LIMIT_REMAINING.labels(forge=self.name).set(remaining)
        reset = _header_number(response, "x-ratelimit-reset", "ratelimit-reset")
        limit = _header_number(response, "x-ratelimit-limit", "ratelimit-limit")
        resource = response.headers.get("x-ratelimit-resource", "")[:50]
        host = response.url.host
        usage.budgets[(host, resource)] = Budget(
            forge=self.name,
            host=host,
            resource=resource,
            remaining=int(remaining),
            limit=None if limit is None else int(limit),
            resets_at=_instant(reset),
            observed_at=dt.datetime.now(dt.UTC),
        )
        if remaining <= 0 and reset is not None and response.status_code < 400:
            # This answer was the window's last: later requests wait for the reset.
            self.pause_until(reset)

    def _rate_limit_delay(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying, when the response is a rate-limit refusal."""
        if response.status_code not in {403, 429}:
            return None
        retry_after = _retry_after(response)
        if retry_after is not None:
            return retry_after  # secondary limits (and GitLab's 429) name their wait
        remaining = _header_number(response, "x-ratelimit-remaining", "ratelimit-remaining")
        reset = _header_number(response, "x-ratelimit-reset", "ratelimit-reset")
        if remaining is not None and remaining <= 0 and reset is not None:
            return max(reset - time.time(), 0.0) + 0.5  # the reset second is whole
        if response.status_code == 429 or b"secondary rate limit" in response.content.lower():
            return _SECONDARY_DEFAULT_WAIT
        return None  # a plain 403: the caller's to interpret


def _over_the_limit(response: httpx.Response) -> bool:
    """A refusal for an exhausted primary budget: GitHub does not charge it."""
    remaining = _header_number(response, "x-ratelimit-remaining", "ratelimit-remaining")
    return response.status_code in {403, 429} and remaining is not None and remaining <= 0


def _instant(epoch: float | None) -> dt.datetime | None:
    """A reset header's Unix time as an instant; None when absent or absurd."""
    if epoch is None:
        return None
    try:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _header_number(response: httpx.Response, *names: str) -> float | None:
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, given as a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
