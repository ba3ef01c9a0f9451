"""A subscription the sender disabled is enabled again through the admin API and resumes
where it stopped, in order; an idle sender takes no write lock and writes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app.webhooks.backoff import RetryPolicy
from app.webhooks.signing import DELIVERY_HEADER
from tests.conftest import StatementCounter
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_delivery import CATEGORIES, SUBSCRIPTIONS, sender_of, settings, subscribe

__all__ = ["settings"]  # the module's fixture: loopback receivers allowed

TINY = dt.timedelta(milliseconds=1)


class CountingWriters:
    """Stands in for the process's SQLite writers' queue: counts the write turns taken
    (the sender takes one for every write transaction, on either database)."""

    def __init__(self) -> None:
        self.turns = 0

    @contextlib.asynccontextmanager
    async def turn(self, *, patient: bool = False) -> AsyncIterator[None]:
        self.turns += 1
        yield


def _writes(counter: StatementCounter) -> list[str]:
    return [
        statement
        for statement in counter.statements
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "BEGIN"))
        or "FOR UPDATE" in statement.upper()
    ]


async def _disable(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> dict[str, Any]:
    """A subscription with two changes to send, disabled by a failing receiver."""
    receiver.status = 500
    subscription = await subscribe(client, admin_headers, receiver.url, events=["categories.*"])
    for title in ("Queues", "Caching"):
        response = await client.post(CATEGORIES, json={"title": title}, headers=admin_headers)
        assert response.status_code == 201
    sender = sender_of(app)
    sender.policy = RetryPolicy(base=TINY, cap=TINY, floor=TINY, give_up_after=dt.timedelta(0))
    await sender.run_once()
    await asyncio.sleep(0.01)
    await sender.run_once()
    detail = (
        await client.get(f"{SUBSCRIPTIONS}{subscription['id']}/", headers=admin_headers)
    ).json()
    assert detail["active"] is False and detail["disabled_reason"]
    return detail


async def test_a_disabled_subscription_is_enabled_and_resumes_where_it_stopped(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    detail = await _disable(app, client, admin_headers, receiver)
    [failed] = detail["deliveries"]
    assert len(receiver.received) == 1  # one attempt past the deadline: disabled
    sender = sender_of(app)
    sender.policy = RetryPolicy(base=TINY, cap=TINY, floor=TINY)
    assert await sender.run_once() == 0  # disabled: nothing sent
    assert len(receiver.received) == 1

    enabled = await client.post(f"{SUBSCRIPTIONS}{detail['id']}/enable/", headers=admin_headers)
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    assert body["active"] is True
    assert body["disabled_reason"] is None
    assert body["cursor"] == detail["cursor"]
    [pending] = body["deliveries"]
    assert pending["id"] == failed["id"] and pending["attempts"] == 0
    assert pending["delivered_at"] is None and pending["next_attempt_at"] is not None

    receiver.status = 200
    assert await sender.run_once() == 2
    resumed = receiver.received[1:]
    events = [json.loads(content) for _, content in resumed]
    assert [event["seq"] for event in events] == sorted(event["seq"] for event in events)
    assert events[0]["seq"] == failed["seq"]  # the failed one first, then what followed
    assert resumed[0][0][DELIVERY_HEADER.lower()] == failed["id"]
    after = (await client.get(f"{SUBSCRIPTIONS}{detail['id']}/", headers=admin_headers)).json()
    assert after["active"] is True
    assert after["cursor"] == events[-1]["seq"]
    assert all(entry["delivered_at"] is not None for entry in after["deliveries"])


async def test_a_failure_after_enabling_gets_a_fresh_day_of_retries(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    detail = await _disable(app, client, admin_headers, receiver)
    sender = sender_of(app)
    sender.policy = RetryPolicy(base=TINY, cap=TINY, floor=TINY)
    await client.post(f"{SUBSCRIPTIONS}{detail['id']}/enable/", headers=admin_headers)
    assert await sender.run_once() == 0  # still failing
    after = (await client.get(f"{SUBSCRIPTIONS}{detail['id']}/", headers=admin_headers)).json()
    assert after["active"] is True  # not disabled again at once: the deadline restarted
    assert after["deliveries"][0]["attempts"] == 1


async def test_enabling_an_active_subscription_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    subscription = await subscribe(client, admin_headers, receiver.url)
    url = f"{SUBSCRIPTIONS}{subscription['id']}/"
    before = (await client.get(url, headers=admin_headers)).json()
    response = await client.post(f"{url}enable/", headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == before


async def test_enabling_needs_an_admin_token_and_a_real_subscription(
    client: httpx.AsyncClient,
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
    receiver: Receiver,
) -> None:
    subscription = await subscribe(client, admin_headers, receiver.url)
    url = f"{SUBSCRIPTIONS}{subscription['id']}/enable/"
    assert (await client.post(url)).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.post(url, headers=bad)).status_code == 401
    assert (await client.post(url, headers=write_headers)).status_code == 403
    missing = await client.post(f"{SUBSCRIPTIONS}999999/enable/", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_an_idle_pass_takes_no_write_lock_and_writes_nothing(
    app: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,
    count_statements: StatementCounter,
) -> None:
    await subscribe(client, admin_headers, receiver.url, events=["categories.*"])
    await subscribe(client, admin_headers, receiver.url, events=["grids.*"])
    sender = sender_of(app)
    writers = CountingWriters()
    sender._writers = writers  # type: ignore[assignment]

    # Nothing ever changed: idle.
    count_statements.statements.clear()
    assert await sender.run_once() == 0
    assert writers.turns == 0 and _writes(count_statements) == []

    # A change: sent (so the counting sees writes when there are some) ...
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    assert await sender.run_once() == 1
    assert writers.turns > 0
    # ... and then idle again, the grids subscription's cursor moved past it too.
    writers.turns = 0
    count_statements.statements.clear()
    assert await sender.run_once() == 0
    assert writers.turns == 0 and _writes(count_statements) == []
    assert len(receiver.received) == 1


async def test_a_retry_not_yet_due_is_no_work(
    app: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,
    count_statements: StatementCounter,
) -> None:
    receiver.status = 503
    await subscribe(client, admin_headers, receiver.url)
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    sender = sender_of(app)
    sender.policy = RetryPolicy(floor=dt.timedelta(hours=1))
    await sender.run_once()
    assert len(receiver.received) == 1
    writers = CountingWriters()
    sender._writers = writers  # type: ignore[assignment]
    count_statements.statements.clear()
    assert await sender.run_once() == 0
    assert writers.turns == 0 and _writes(count_statements) == []
    assert len(receiver.received) == 1
