"""Webhooks end to end: subscriptions made through the admin API, a write, and the sender
POSTing the signed event to a real receiver on loopback (WEBHOOK_ALLOW_PRIVATE on), in
order; failures retried and logged, the subscription disabled past the deadline; loopback
refused with the setting off; only admin tokens manage subscriptions."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.webhooks.backoff import RetryPolicy
from app.webhooks.sender import WebhookSender
from app.webhooks.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
    verify_delivery,
)
from tests.webhooks.conftest import Receiver

SUBSCRIPTIONS = "/api/v4/subscriptions/"
CATEGORIES = "/api/v4/categories/"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, webhook_allow_private=True)


def sender_of(app: Any) -> WebhookSender:
    sender: WebhookSender = app.state.webhook_sender
    return sender


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(SUBSCRIPTIONS, json={"url": url, **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_write_is_delivered_signed_and_in_order(
    app: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,
) -> None:
    subscription = await subscribe(client, admin_headers, receiver.url, events=["categories.*"])
    secret = subscription["secret"]
    assert secret and subscription["active"] is True
    first = await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    second = await client.post(CATEGORIES, json={"title": "Caching"}, headers=admin_headers)
    assert first.status_code == second.status_code == 201

    assert await sender_of(app).run_once() == 2

    assert len(receiver.received) == 2
    events = [json.loads(body) for _, body in receiver.received]
    assert [event["id"] for event in events] == [first.json()["id"], second.json()["id"]]
    assert [event["kind"] for event in events] == ["created", "created"]
    assert events[0]["seq"] < events[1]["seq"]
    feed = (await client.get("/api/v4/changes/", params={"after": events[0]["seq"] - 1})).json()
    assert feed["results"][0] == events[0]  # the same shape as the change feed
    for headers, body in receiver.received:
        signature = headers[SIGNATURE_HEADER.lower()]
        assert verify(secret, body, signature)
        assert not verify("another secret of enough length", body, signature)
        assert verify_delivery(secret, headers, body, now=int(headers[TIMESTAMP_HEADER.lower()]))
    ids = {headers[DELIVERY_HEADER.lower()] for headers, _ in receiver.received}
    assert len(ids) == 2

    # Nothing new: nothing sent again; the log has both, delivered.
    assert await sender_of(app).run_once() == 0
    assert len(receiver.received) == 2
    detail = (
        await client.get(f"{SUBSCRIPTIONS}{subscription['id']}/", headers=admin_headers)
    ).json()
    assert "secret" not in detail or detail["secret"] is None
    assert detail["cursor"] == events[1]["seq"]
    log = detail["deliveries"]
    assert [entry["id"] for entry in log] == [
        headers[DELIVERY_HEADER.lower()] for headers, _ in reversed(receiver.received)
    ]
    assert all(e["status_code"] == 200 and e["attempts"] == 1 for e in log)
    assert all(e["delivered_at"] is not None and e["duration_ms"] >= 0 for e in log)


async def test_events_outside_the_filter_are_not_sent(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    await subscribe(client, admin_headers, receiver.url, events=["grids.*"])
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    assert await sender_of(app).run_once() == 0
    assert receiver.received == []


async def test_a_failing_receiver_gets_retries_logged_then_the_subscription_is_disabled(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    receiver.status = 500
    subscription = await subscribe(client, admin_headers, receiver.url)
    detail_url = f"{SUBSCRIPTIONS}{subscription['id']}/"
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    sender = sender_of(app)
    tiny = dt.timedelta(milliseconds=1)
    sender.policy = RetryPolicy(base=tiny, cap=tiny, floor=tiny)

    assert await sender.run_once() == 0
    await asyncio.sleep(0.01)
    assert await sender.run_once() == 0
    assert len(receiver.received) == 2
    # A retry is the same delivery: same id, signed again.
    ids = {headers[DELIVERY_HEADER.lower()] for headers, _ in receiver.received}
    assert len(ids) == 1
    detail = (await client.get(detail_url, headers=admin_headers)).json()
    [entry] = detail["deliveries"]
    assert entry["attempts"] == 2
    assert entry["status_code"] == 500
    assert entry["error"] == "HTTP 500"
    assert entry["delivered_at"] is None and entry["next_attempt_at"] is not None
    assert detail["active"] is True

    # Past the deadline the next failure disables it, saying why.
    sender.policy = RetryPolicy(base=tiny, cap=tiny, floor=tiny, give_up_after=dt.timedelta(0))
    await asyncio.sleep(0.01)
    await sender.run_once()
    detail = (await client.get(detail_url, headers=admin_headers)).json()
    assert detail["active"] is False
    assert "failed 3 times" in detail["disabled_reason"]
    assert "HTTP 500" in detail["disabled_reason"]
    await asyncio.sleep(0.01)
    await sender.run_once()
    assert len(receiver.received) == 3  # disabled: no more attempts


async def test_loopback_is_refused_when_private_addresses_are_not_allowed(
    app: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,
    database_url: str,
) -> None:
    sender = sender_of(app)
    # At subscription time, with the setting off: a 422 that says why.
    app.state.settings = Settings(database_url=database_url, webhook_allow_private=False)
    refused = await client.post(SUBSCRIPTIONS, json={"url": receiver.url}, headers=admin_headers)
    assert refused.status_code == 422, refused.text
    assert "loopback" in refused.text and "WEBHOOK_ALLOW_PRIVATE" in refused.text

    # At delivery time (a subscription made while it was on): never called, logged.
    app.state.settings = Settings(database_url=database_url, webhook_allow_private=True)
    subscription = await subscribe(client, admin_headers, receiver.url)
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    sender.settings = Settings(database_url=database_url, webhook_allow_private=False)
    assert await sender.run_once() == 0
    assert receiver.received == []
    detail = (
        await client.get(f"{SUBSCRIPTIONS}{subscription['id']}/", headers=admin_headers)
    ).json()
    [entry] = detail["deliveries"]
    assert entry["attempts"] == 1 and entry["status_code"] is None
    assert "127.0.0.1" in entry["error"] and "loopback" in entry["error"]


async def test_only_an_admin_token_manages_subscriptions(
    client: httpx.AsyncClient,
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
    receiver: Receiver,
) -> None:
    subscription = await subscribe(client, admin_headers, receiver.url)
    detail = f"{SUBSCRIPTIONS}{subscription['id']}/"
    for response in [
        await client.post(SUBSCRIPTIONS, json={"url": receiver.url}, headers=write_headers),
        await client.get(SUBSCRIPTIONS, headers=write_headers),
        await client.get(detail, headers=write_headers),
        await client.delete(detail, headers=write_headers),
    ]:
        assert response.status_code == 403, response.text
    assert (await client.get(SUBSCRIPTIONS)).status_code == 401
    listed = (await client.get(SUBSCRIPTIONS, headers=admin_headers)).json()["results"]
    assert [item["id"] for item in listed] == [subscription["id"]]
    assert all(item["secret"] is None for item in listed)
    assert (await client.delete(detail, headers=admin_headers)).status_code == 204
    assert (await client.get(detail, headers=admin_headers)).status_code == 404


async def test_a_bad_subscription_is_a_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in [
        {"url": "ftp://example.org/hook"},
        {"url": "http://127.0.0.1/hook", "events": ["packages.renamed"]},
        {"url": "http://127.0.0.1/hook", "grid": 999999},
        {"url": "http://127.0.0.1/hook", "secret": "short"},
        {"url": "http://127.0.0.1/hook", "category": 2**40},
    ]:
        response = await client.post(SUBSCRIPTIONS, json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
    past_int = await client.get(f"{SUBSCRIPTIONS}{2**40}/", headers=admin_headers)
    assert past_int.status_code == 400, past_int.text  # a bad path parameter, as elsewhere


async def test_a_claimed_delivery_is_sent_by_one_sender_only(
    app: Any, client: httpx.AsyncClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    """Two replicas' senders: the one holding the lease sends; the other skips it until
    the lease is released (a replica's outcome written) or runs out."""
    await subscribe(client, admin_headers, receiver.url)
    await client.post(CATEGORIES, json={"title": "Queues"}, headers=admin_headers)
    first = sender_of(app)
    second = WebhookSender(lambda: app.state.sessionmaker, first.client, first.settings)

    [subscription_id] = [
        s["id"] for s in (await client.get(SUBSCRIPTIONS, headers=admin_headers)).json()["results"]
    ]
    claimed = await first._claim_next(subscription_id)
    assert claimed is not None
    assert await second.run_once() == 0  # leased: not sent twice
    assert receiver.received == []
    await first._record(claimed, await first._send(claimed))
    assert len(receiver.received) == 1
    assert await second.run_once() == 0  # delivered: nothing left
    assert len(receiver.received) == 1
