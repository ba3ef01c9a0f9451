"""POST /api/v4/packages/{key}/refresh/ and the GitHub webhook, through HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.refresh.doubles import Db, ScriptedForges, ok, serving, serving_app, token

SECRET = "s3cret"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_post_refresh_answers_202_and_refreshes_the_package_now(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/shop"] = ok(stars=321, forks=4)
    await db.add("shop", "https://github.com/o/shop", pypi="shop", repo_watchers=1)
    headers = await token(db)
    async with serving(db, forges) as (client, refresher):
        assert refresher.periodic is False  # the loop is off; on demand still works

        response = await client.post("/api/v4/packages/shop/refresh/", headers=headers)
        assert response.status_code == 202
        assert response.json() == {
            "status": "started",
            "package": "shop",
            "detail": "Refreshing now.",
        }
        await refresher.drain()

        package = (await client.get("/api/v4/packages/shop/")).json()
    assert (package["repo_watchers"], package["repo_forks"]) == (321, 4)
    assert package["pypi_version"] == "1.0"
    assert package["last_fetched"] is not None


async def test_a_refresh_already_running_is_joined_not_repeated(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.gate = asyncio.Event()
    package_id = await db.add("shop", "https://github.com/o/shop")
    headers = await token(db)
    async with serving(db, forges) as (client, refresher):
        first = await client.post(f"/api/v4/packages/{package_id}/refresh/", headers=headers)
        await forges.github.entered.wait()
        second = await client.post("/api/v4/packages/shop/refresh/", headers=headers)
        forges.github.gate.set()
        await refresher.drain()

    assert (first.status_code, first.json()["status"]) == (202, "started")
    assert (second.status_code, second.json()["status"]) == (202, "already_running")
    assert forges.github.calls == [["o/shop"]]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nope"}, 401)],
)
async def test_post_refresh_needs_a_write_token(
    db: Db, headers: dict[str, str], status: int
) -> None:
    await db.add("shop", "https://github.com/o/shop")
    forges = ScriptedForges()
    async with serving(db, forges) as (client, _):
        response = await client.post("/api/v4/packages/shop/refresh/", headers=headers)
    assert response.status_code == status
    assert forges.github.calls == []


async def test_post_refresh_of_an_unknown_package_is_404(db: Db) -> None:
    headers = await token(db)
    async with serving(db, ScriptedForges()) as (client, _):
        response = await client.post("/api/v4/packages/nope/refresh/", headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def push(html_url: str) -> bytes:
    return json.dumps({"ref": "refs/heads/main", "repository": {"html_url": html_url}}).encode()


WebhookCall = Callable[..., Any]


async def deliver(
    client: httpx.AsyncClient, body: bytes, event: str = "push", signature: str | None = None
) -> httpx.Response:
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post("/api/v4/webhooks/github/", content=body, headers=headers)


async def test_a_signed_push_refreshes_the_package_of_its_repository(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["acme/shop"] = ok(stars=55)
    await db.add("shop", "https://github.com/acme/shop")
    async with serving(db, forges, github_webhook_secret=SECRET) as (client, refresher):
        body = push("https://github.com/Acme/Shop")
        response = await deliver(client, body, signature=signed(body))
        await refresher.drain()
        package = (await client.get("/api/v4/packages/shop/")).json()

    assert response.status_code == 202
    assert response.json() == {"status": "started", "package": "shop", "detail": "Refreshing now."}
    assert package["repo_watchers"] == 55


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, signed(push("https://github.com/acme/shop"), "other-secret")],
    ids=["missing", "wrong", "other-secret"],
)
async def test_unsigned_or_badly_signed_deliveries_are_refused(
    db: Db, signature: str | None
) -> None:
    forges = ScriptedForges()
    await db.add("shop", "https://github.com/acme/shop")
    async with serving(db, forges, github_webhook_secret=SECRET) as (client, _):
        response = await deliver(client, push("https://github.com/acme/shop"), signature=signature)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert forges.github.calls == []


async def test_a_tampered_body_fails_its_signature(db: Db) -> None:
    await db.add("shop", "https://github.com/acme/shop")
    async with serving(db, ScriptedForges(), github_webhook_secret=SECRET) as (client, _):
        signature = signed(push("https://github.com/acme/other"))
        response = await deliver(client, push("https://github.com/acme/shop"), signature=signature)
    assert response.status_code == 401


async def test_webhooks_are_404_until_a_secret_is_configured(db: Db) -> None:
    async with serving(db, ScriptedForges()) as (client, _):
        body = push("https://github.com/acme/shop")
        response = await deliver(client, body, signature=signed(body))
    assert response.status_code == 404
    assert "GITHUB_WEBHOOK_SECRET" in response.json()["detail"]


@pytest.mark.parametrize(
    ("event", "body", "status", "answer"),
    [
        ("ping", b'{"zen": "Keep it simple."}', 200, "pong"),
        ("issues", push("https://github.com/acme/shop"), 202, "ignored"),
        ("push", push("https://github.com/acme/unknown"), 202, "ignored"),
        ("push", b'{"repository": {}}', 202, "ignored"),
    ],
)
async def test_other_deliveries_are_answered_without_refreshing(
    db: Db, event: str, body: bytes, status: int, answer: str
) -> None:
    forges = ScriptedForges()
    await db.add("shop", "https://github.com/acme/shop")
    async with serving(db, forges, github_webhook_secret=SECRET) as (client, _):
        response = await deliver(client, body, event=event, signature=signed(body))
    assert (response.status_code, response.json()["status"]) == (status, answer)
    assert forges.github.calls == []


async def test_a_signed_body_that_is_not_json_is_400(db: Db) -> None:
    async with serving(db, ScriptedForges(), github_webhook_secret=SECRET) as (client, _):
        response = await deliver(client, b"not json", signature=signed(b"not json"))
    assert response.status_code == 400


async def test_the_triggers_are_documented(db: Db) -> None:
    async with serving(db, ScriptedForges()) as (client, _):
        paths = (await client.get("/openapi.json")).json()["paths"]
    refresh = paths["/api/v4/packages/{key}/refresh/"]["post"]["responses"]
    webhook = paths["/api/v4/webhooks/github/"]["post"]["responses"]
    assert set(refresh) >= {"202", "401", "403", "404", "503"}
    assert set(webhook) >= {"200", "202", "400", "401", "404", "503"}


async def test_the_lifespan_runs_the_periodic_refresher_when_enabled(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/shop"] = ok(stars=7)
    await db.add("shop", "https://github.com/o/shop")
    async with serving_app(db, forges, refresh_enabled=True, refresh_interval=0.05) as (
        client,
        app,
    ):
        app_refresher = app.state.refresher
        assert app_refresher is not None and app_refresher.periodic
        for _ in range(200):
            if app_refresher.last_success is not None and forges.github.calls:
                break
            await asyncio.sleep(0.05)
        package = (await client.get("/api/v4/packages/shop/")).json()
        assert app_refresher.stuck() is False
    assert package["repo_watchers"] == 7
    assert app_refresher.last_success is not None


async def test_the_refresher_is_none_on_the_app_when_disabled(db: Db) -> None:
    async with serving_app(db, ScriptedForges()) as (_, app):
        assert app.state.refresher is None
        assert app.state.refresh_service.stuck() is False  # no loop: never stuck


async def test_a_loop_that_stops_making_progress_is_stuck(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    forges = ScriptedForges()
    forges.github.gate = asyncio.Event()  # the first batch never comes back
    await db.add("shop", "https://github.com/o/shop")
    async with serving(db, forges, refresh_enabled=True, refresh_interval=60) as (_, refresher):
        await forges.github.entered.wait()
        assert refresher.stuck() is False
        # Past 3 intervals and the margin, a batch may still be waiting out a rate limit...
        waiting = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3 + 3)
        monkeypatch.setattr("app.refresh.refresher.utcnow", lambda: waiting)
        assert refresher.stuck() is False
        # ... but not past its lease (REFRESH_LEASE_SECONDS, 30 min) and the margin.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30 + 3)
        monkeypatch.setattr("app.refresh.refresher.utcnow", lambda: later)
        assert refresher.stuck() is True
        monkeypatch.undo()
        forges.github.gate.set()
