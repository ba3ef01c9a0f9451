"""Who may write: every write route of the app, found by walking its routes, refuses
requests without a valid token; tokens are looked up by digest; no secret leaks into an
answer or the OpenAPI document; revocation holds from the next request; and the optional
write rate limits answer 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import BaseRoute, Mount

from app.config import Settings
from app.db import UNSAFE_METHODS
from app.ratelimit import RateLimiter
from app.repositories.tokens import TokenRepository, digest_of
from app.services.tokens import TokenService
from tests.conftest import Databases, bound_sessionmaker, make_token
from tests.factories import create_category, create_grid, create_package
from tests.test_cli import given_tokens, packages_api, serving

Headers = dict[str, str]
WEBHOOK_SECRET = "whsec-Do-Not-Leak-0123456789"
GITHUB_TOKEN = "ghp_DoNotLeakThisForgeToken0123"
# Writes that prove themselves another way than a token, each with how it refuses.
SIGNED_WRITES = {("POST", "/api/v4/webhooks/github/"): "bad_signature"}
# Reads sent as a POST (a body too large for a query string): public, as reads are.
READS_AS_POST = {("POST", "/api/v4/lookup/")}


def write_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every POST, PUT, PATCH and DELETE the app serves,
    included routers (nested ones too) and mounted sub-applications included, documented
    in the OpenAPI document or not."""
    for context in iter_route_contexts(routes):
        path = context.path_format or context.path or ""
        if isinstance(context.original_route, Mount):
            mounted = context.original_route
            yield from write_routes(list(mounted.routes), prefix + mounted.path)
            continue
        for method in sorted(context.methods or ()):
            if method in UNSAFE_METHODS:
                yield method, prefix + path


async def _revoke(connection: AsyncConnection, name: str) -> None:
    async with bound_sessionmaker(connection)() as session:
        await TokenService(session).revoke(name)
        await session.commit()


@pytest.fixture
def configured(settings: Settings) -> Settings:
    # Webhooks on, so the signed route refuses rather than being absent; secrets set, so
    # a leak of them would show.
    return settings.model_copy(
        update={
            "github_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "github_token": SecretStr(GITHUB_TOKEN),
        }
    )


async def unguarded_writes(app: FastAPI, revoked: str) -> list[str]:
    """Each write route that does not answer 401 to each of these, with why."""
    attempts: dict[str, Headers] = {
        "no token": {},
        "another scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "empty bearer": {"Authorization": "Bearer "},
        "unknown token": {"Authorization": "Bearer pkapi_" + "x" * 43},
        "revoked token": {"Authorization": f"Bearer {revoked}"},
    }
    problems = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for method, template in sorted(set(write_routes(app.routes)) - READS_AS_POST):
            url = re.sub(r"\{[^}]+\}", "1", template)
            signed = SIGNED_WRITES.get((method, template))
            for what, headers in attempts.items():
                response = await client.request(method, url, json={}, headers=headers)
                code = response.json().get("code") if response.content else None
                challenged = signed or response.headers.get("www-authenticate", "").startswith(
                    "Bearer"
                )
                if (
                    response.status_code != 401
                    or code != (signed or "unauthorized")
                    or not challenged
                    or revoked in response.text
                ):
                    problems.append(f"{method} {template} with {what}: {response.status_code}")
    return problems


async def test_every_write_route_refuses_a_missing_bad_unknown_or_revoked_token(
    app_factory: Callable[[Settings], Awaitable[Any]],
    configured: Settings,
    connection: AsyncConnection,
) -> None:
    app: FastAPI = await app_factory(configured)
    revoked = await make_token(connection, "gone", "write")
    await _revoke(connection, "gone")
    routes = set(write_routes(app.routes))
    assert len(routes) >= 20, routes  # the walk found the API, not just a corner of it
    assert set(SIGNED_WRITES) <= routes

    assert await unguarded_writes(app, revoked) == []


async def test_a_write_route_added_without_a_token_check_is_caught(
    app_factory: Callable[[Settings], Awaitable[Any]], configured: Settings
) -> None:
    app: FastAPI = await app_factory(configured)
    nested = APIRouter(prefix="/nested")

    @nested.delete("/{key}/", include_in_schema=False)
    async def forgotten(key: str) -> dict[str, str]:
        return {"deleted": key}

    outer = APIRouter(prefix="/api/v4")
    outer.include_router(nested)
    app.include_router(outer)

    problems = await unguarded_writes(app, "pkapi_revoked")

    assert problems and all(p.startswith("DELETE /api/v4/nested/{key}/") for p in problems)


# A valid body for each write on a grid, so the request reaches the scope check.
GRID_BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/api/v4/grids/{key}/"): {"title": "Locked", "is_locked": True},
    ("PATCH", "/api/v4/grids/{key}/"): {"description": "x"},
    ("DELETE", "/api/v4/grids/{key}/"): None,
    ("POST", "/api/v4/grids/{key}/features/"): {"title": "Speed"},
    ("PUT", "/api/v4/grids/{key}/features/{feature_id}/"): {"title": "Speed"},
    ("PATCH", "/api/v4/grids/{key}/features/{feature_id}/"): {"title": "Pace"},
    ("DELETE", "/api/v4/grids/{key}/features/{feature_id}/"): None,
    ("PUT", "/api/v4/grids/{key}/features/{feature_id}/elements/{package}/"): {"text": "Yes"},
    ("DELETE", "/api/v4/grids/{key}/features/{feature_id}/elements/{package}/"): None,
    ("POST", "/api/v4/grids/{key}/packages/"): {"package": "other"},
    ("DELETE", "/api/v4/grids/{key}/packages/{package}/"): None,
}


async def test_every_write_to_a_locked_grid_needs_the_admin_scope(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    write_headers: Headers,
    admin_headers: Headers,
) -> None:
    app: FastAPI = await app_factory(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        category = await create_category(client, admin_headers)
        for slug in ("member", "other"):
            await create_package(client, admin_headers, title=slug, category=category["id"])
        grid = await create_grid(client, admin_headers, title="Locked", packages=["member"])
        feature = (
            await client.post(grid["features"], json={"title": "Speed"}, headers=admin_headers)
        ).json()
        locked = await client.patch(grid["url"], json={"is_locked": True}, headers=admin_headers)
        assert locked.status_code == 200, locked.text
        values = {"key": str(grid["id"]), "feature_id": str(feature["id"]), "package": "member"}

        grid_writes = {
            route for route in write_routes(app.routes) if route[1].startswith("/api/v4/grids/{")
        }
        assert grid_writes == set(GRID_BODIES), "a new grid write needs its body here"
        for (method, template), body in GRID_BODIES.items():
            url = template.format(**values)
            refused = await client.request(method, url, json=body, headers=write_headers)
            assert refused.status_code == 403, (method, template, refused.text)
            assert refused.json()["code"] == "forbidden"
        # Creating a locked grid is the admin's too.
        created = await client.post(
            "/api/v4/grids/", json={"title": "New", "is_locked": True}, headers=write_headers
        )
        assert created.status_code == 403
        # Nothing changed: the admin still sees the grid as it was.
        again = (await client.get(grid["url"])).json()
        assert again["title"] == "Locked" and again["description"] == ""


async def test_a_token_is_looked_up_by_its_digest_never_by_its_text(
    connection: AsyncConnection,
) -> None:
    """The query compares SHA-256 digests: how long a mismatch takes tells a guesser about
    a digest they cannot steer (finding a token from its digest is a preimage attack), not
    about the token, so the lookup is as good as a constant-time comparison."""
    plain = await make_token(connection, "looked-up", "write")
    sent: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        async with bound_sessionmaker(connection)() as session:
            found = await TokenRepository(session).find(plain)
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)

    assert found is not None and found.digest == digest_of(plain)
    assert plain not in repr(sent)
    assert digest_of(plain) in repr(sent)
    assert found.digest == hashlib.sha256(plain.encode()).hexdigest()


async def test_no_secret_is_in_error_bodies_or_the_openapi_document(
    app_factory: Callable[[Settings], Awaitable[Any]],
    configured: Settings,
    write_headers: Headers,
) -> None:
    app = await app_factory(configured)
    token = write_headers["Authorization"].split()[1]
    guessed = "pkapi_guessed" + "z" * 30
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        document = (await client.get("/openapi.json")).text
        answers = [
            await client.post(
                "/api/v4/categories/", json={"title": ""}, headers=write_headers
            ),  # a 422 with a valid token
            await client.post(
                "/api/v4/categories/", json={}, headers={"Authorization": f"Bearer {guessed}"}
            ),
            await client.post(
                "/api/v4/webhooks/github/", content=b"{}", headers={"X-Hub-Signature-256": "x"}
            ),
        ]
    assert [a.status_code for a in answers] == [422, 401, 401]
    for secret in (token, guessed, WEBHOOK_SECRET, GITHUB_TOKEN):
        assert secret not in document
        for answer in answers:
            assert secret not in answer.text
            assert secret not in str(answer.headers)


async def test_revoking_with_the_cli_refuses_the_very_next_request_of_a_running_server(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    [token] = await given_tokens(url, ("ci", "write"))
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        serving(url, tmp_path) as server,
        httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client,
    ):
        before = await client.post("/api/v4/categories/", json={"title": "A"}, headers=headers)
        revoked = await packages_api(url, "tokens", "revoke", "ci", cwd=tmp_path)
        after = await client.post("/api/v4/categories/", json={"title": "B"}, headers=headers)
        listed = await client.get("/api/v4/categories/")

    assert before.status_code == 201, before.text
    assert revoked.code == 0, revoked.stderr
    assert after.status_code == 401, after.text
    assert [c["title"] for c in listed.json()["results"]] == ["A"]


async def test_logs_of_a_served_session_hold_no_webhook_secret_or_forge_token(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    env = {
        "LOG_LEVEL": "debug",
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    body = b'{"zen": "hi"}'
    good = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with serving(url, tmp_path, **env) as server:
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            answers = [
                (
                    await client.post(
                        "/api/v4/webhooks/github/",
                        content=body,
                        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "ping"},
                    )
                ).status_code
                for signature in (good, "sha256=" + "0" * 64)
            ]
        output = server.output()
    assert answers == [200, 401]
    for secret in (WEBHOOK_SECRET, GITHUB_TOKEN, good.removeprefix("sha256=")):
        assert secret not in output


# --- write rate limits ---------------------------------------------------------------


async def _limited_client(
    app_factory: Callable[[Settings], Awaitable[Any]], settings: Settings, **limits: Any
) -> httpx.AsyncClient:
    app = await app_factory(settings.model_copy(update=limits))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_token_over_its_write_rate_gets_429_with_retry_after(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    connection: AsyncConnection,
    write_headers: Headers,
) -> None:
    other = {"Authorization": f"Bearer {await make_token(connection, 'other', 'write')}"}
    async with await _limited_client(
        app_factory, settings, write_rate_limit_per_token="2/minute"
    ) as client:
        answers = [
            await client.post("/api/v4/categories/", json={"title": f"C{n}"}, headers=write_headers)
            for n in range(3)
        ]
        reads = await client.get("/api/v4/categories/")
        others = await client.post("/api/v4/categories/", json={"title": "O"}, headers=other)

    assert [a.status_code for a in answers] == [201, 201, 429]
    limited = answers[2]
    assert limited.json()["code"] == "rate_limited"
    assert set(limited.json()) == {"status", "code", "detail", "errors"}
    assert limited.headers["retry-after"].isdigit()
    assert 1 <= int(limited.headers["retry-after"]) <= 30  # one write per 30 s comes back
    assert reads.status_code == 200  # reads are never limited
    assert others.status_code == 201  # each token has its own bucket
    titles = [c["title"] for c in reads.json()["results"]]
    assert "C2" not in titles  # the refused write wrote nothing


async def test_the_per_ip_limit_counts_the_client_a_trusted_proxy_names(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    write_headers: Headers,
) -> None:
    # The ASGI test client connects from 127.0.0.1; trusted, so X-Forwarded-For counts.
    async with await _limited_client(
        app_factory,
        settings,
        write_rate_limit_per_ip="1/hour",
        trusted_proxies=Settings(trusted_proxies="127.0.0.1").trusted_proxies,
    ) as client:

        async def post(forwarded_for: str, title: str) -> int:
            headers = {**write_headers, "X-Forwarded-For": forwarded_for}
            answer = await client.post(
                "/api/v4/categories/", json={"title": title}, headers=headers
            )
            return answer.status_code

        first = await post("203.0.113.7", "A")
        second = await post("203.0.113.7", "B")
        elsewhere = await post("198.51.100.9", "C")
    assert (first, second, elsewhere) == (201, 429, 201)


async def test_without_a_trusted_proxy_forwarded_for_cannot_dodge_the_per_ip_limit(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    write_headers: Headers,
) -> None:
    async with await _limited_client(
        app_factory, settings, write_rate_limit_per_ip="1/hour"
    ) as client:
        statuses = []
        for number, forged in enumerate(("203.0.113.7", "198.51.100.9")):
            headers = {**write_headers, "X-Forwarded-For": forged}
            answer = await client.post(
                "/api/v4/categories/", json={"title": f"T{number}"}, headers=headers
            )
            statuses.append(answer.status_code)
    assert statuses == [201, 429]


def test_a_bucket_refills_at_its_rate_and_forgets_idle_keys() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0], max_keys=10)
    for _ in range(2):
        assert limiter.wait("a") == 0
        limiter.take("a")
    assert limiter.wait("a") == pytest.approx(30.0)
    now[0] += 15.0
    assert limiter.wait("a") == pytest.approx(15.0)
    now[0] += 15.0
    assert limiter.wait("a") == 0
    for number in range(30):  # a flood of keys, each used once
        limiter.take(f"k{number}")
    assert len(limiter._buckets) <= 10


@pytest.mark.parametrize("value", ["60", "x/minute", "0/minute", "5/fortnight", "-1/second"])
def test_a_bad_rate_setting_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="60/minute"):
        Settings(write_rate_limit_per_token=value)


def test_429_is_documented_on_every_write(
    configured: Settings,
) -> None:
    from app.main import create_app

    document = create_app(configured).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method.upper() in UNSAFE_METHODS:
                assert "429" in operation["responses"], (method, path)
