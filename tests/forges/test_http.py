"""Upstream: the one retry policy, rate-limit pauses, the in-flight cap and counting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client import REGISTRY

from app.forges.base import Usage
from app.forges.http import Upstream, UpstreamError

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def upstream(handler: Handler, **options: float) -> Upstream:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://api.x")
    defaults = {"wait_initial": 0.001, "wait_max": 0.002, "attempts": 3, "max_wait": 5.0}
    defaults.update(options)
    return Upstream(
        "github",
        client,
        attempts=int(defaults["attempts"]),
        max_wait=defaults["max_wait"],
        wait_initial=defaults["wait_initial"],
        wait_max=defaults["wait_max"],
        max_in_flight=int(defaults.get("max_in_flight", 8)),
        counts_points=True,
    )


def script(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering in turn, the last answer repeated; and the requests it saw."""
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


async def test_a_5xx_is_retried_until_the_upstream_answers() -> None:
    handler, seen = script(httpx.Response(502), httpx.Response(503), httpx.Response(200))
    usage = Usage()

    response = await upstream(handler).request("GET", "/x", usage=usage)

    assert response.status_code == 200
    assert len(seen) == 3
    assert usage.requests["github"] == 3


async def test_retries_are_bounded_and_then_the_error_says_why() -> None:
    handler, seen = script(httpx.Response(500))

    with pytest.raises(UpstreamError, match="HTTP 500 3 times"):
        await upstream(handler).request("GET", "/x", usage=Usage())
    assert len(seen) == 3


async def test_transport_errors_are_retried() -> None:
    handler, seen = script(httpx.ConnectError("refused"), httpx.Response(200))

    response = await upstream(handler).request("GET", "/x", usage=Usage())

    assert response.status_code == 200
    assert len(seen) == 2


async def test_a_4xx_is_the_callers_to_interpret_and_not_retried() -> None:
    handler, seen = script(httpx.Response(404), httpx.Response(200))

    response = await upstream(handler).request("GET", "/x", usage=Usage())

    assert response.status_code == 404
    assert len(seen) == 1


async def test_a_secondary_limit_waits_for_retry_after_then_retries() -> None:
    handler, seen = script(
        httpx.Response(403, headers={"retry-after": "0.3"}, json={"message": "secondary"}),
        httpx.Response(200),
    )
    started = time.monotonic()

    response = await upstream(handler).request("GET", "/x", usage=Usage())

    assert response.status_code == 200
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.3


async def test_a_429_without_headers_waits_a_minute_which_the_cap_refuses() -> None:
    handler, seen = script(httpx.Response(429))

    with pytest.raises(UpstreamError) as caught:
        await upstream(handler, max_wait=1.0).request("GET", "/x", usage=Usage())
    assert caught.value.retry_after == 60.0
    assert len(seen) == 1


async def test_the_primary_limit_pauses_every_task_until_the_reset() -> None:
    reset = str(int(time.time()) + 1)
    limited = httpx.Response(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    )
    handler, seen = script(limited, httpx.Response(200))
    client = upstream(handler)
    started = time.monotonic()

    first = await client.request("GET", "/a", usage=Usage())
    # A second task, started after the pause began, waits too rather than being refused.
    second = await client.request("GET", "/b", usage=Usage())

    assert (first.status_code, second.status_code) == (200, 200)
    assert time.monotonic() - started >= float(reset) - time.time() - 1.0
    assert [r.url.path for r in seen] == ["/a", "/a", "/b"]


async def test_the_last_request_of_a_window_pauses_the_next_ones() -> None:
    reset = time.time() + 0.4
    last = httpx.Response(
        200, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": f"{reset:.3f}"}
    )
    handler, seen = script(last, httpx.Response(200))
    client = upstream(handler)

    await client.request("GET", "/a", usage=Usage())
    await client.request("GET", "/b", usage=Usage())

    assert time.time() >= reset
    assert [r.url.path for r in seen] == ["/a", "/b"]  # paused, not refused nor retried


async def test_a_reset_beyond_the_longest_wait_fails_the_request_not_the_run() -> None:
    reset = str(int(time.time()) + 3600)
    handler, seen = script(
        httpx.Response(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
    )

    with pytest.raises(UpstreamError, match="rate limit") as caught:
        await upstream(handler, max_wait=10).request("GET", "/x", usage=Usage())
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000
    assert len(seen) == 1


async def test_a_plain_403_is_not_a_rate_limit() -> None:
    handler, seen = script(httpx.Response(403, json={"message": "too large"}))

    response = await upstream(handler).request("GET", "/x", usage=Usage())

    assert response.status_code == 403
    assert len(seen) == 1


async def test_in_flight_requests_are_capped() -> None:
    current = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal current, peak
        current += 1
        peak = max(peak, current)
        await asyncio.sleep(0.01)
        current -= 1
        return httpx.Response(200)

    client = upstream(handler, max_in_flight=3)
    await asyncio.gather(*(client.request("GET", f"/{i}", usage=Usage()) for i in range(20)))

    assert peak == 3


async def test_a_304_is_counted_and_costs_no_point() -> None:
    handler, _ = script(httpx.Response(304), httpx.Response(200))
    client, usage = upstream(handler), Usage()

    await client.request("GET", "/a", usage=usage)
    await client.request("GET", "/b", usage=usage)

    assert usage.requests["github"] == 2
    assert usage.not_modified["github"] == 1
    assert usage.github_points == 1


async def test_a_refusal_for_an_exhausted_budget_costs_no_point() -> None:
    reset = str(int(time.time()) + 3600)
    refused = httpx.Response(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    )
    handler, _ = script(refused)
    usage = Usage()

    with pytest.raises(UpstreamError):
        await upstream(handler, max_wait=10).request("GET", "/x", usage=usage)

    assert (usage.requests["github"], usage.github_points) == (1, 0)


async def test_redirects_are_followed_on_the_same_host_only() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"location": "/new"})
        if request.url.path == "/new":
            return httpx.Response(301, headers={"location": "https://elsewhere.example/x"})
        return httpx.Response(200)

    response = await upstream(handler).request("GET", "/old", usage=Usage(), follow_redirects=True)

    assert response.status_code == 301  # the off-host hop is handed back, not followed
    assert response.url.path == "/new"
    assert [hop.url.path for hop in response.history] == ["/old"]


async def test_requests_and_the_budget_are_exported_as_metrics() -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = sample("packages_api_upstream_requests_total", forge="github", status="502")
    handler, _ = script(
        httpx.Response(502), httpx.Response(200, headers={"x-ratelimit-remaining": "4321"})
    )

    await upstream(handler).request("GET", "/x", usage=Usage())

    after = sample("packages_api_upstream_requests_total", forge="github", status="502")
    assert after - before == 1
    assert sample("packages_api_upstream_rate_limit_remaining", forge="github") == 4321


async def test_each_hosts_last_budget_is_kept_for_the_status_resource() -> None:
    reset = int(time.time()) + 1800
    handler, _seen = script(
        httpx.Response(
            200,
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4999",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            },
        ),
        httpx.Response(
            200,
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4998",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            },
        ),
        # GitLab's names, no resource; then an answer without any: the budget stays.
        httpx.Response(200, headers={"ratelimit-limit": "2000", "ratelimit-remaining": "1990"}),
        httpx.Response(200),
    )
    usage = Usage()
    github = upstream(handler)

    for _ in range(4):
        await github.request("GET", "/x", usage=usage)

    core = usage.budgets[("api.x", "core")]
    assert (core.forge, core.remaining, core.limit) == ("github", 4998, 5000)
    assert core.resets_at is not None and core.resets_at.timestamp() == reset
    unnamed = usage.budgets[("api.x", "")]
    assert (unnamed.remaining, unnamed.limit, unnamed.resets_at) == (1990, 2000, None)
    assert len(usage.budgets) == 2
