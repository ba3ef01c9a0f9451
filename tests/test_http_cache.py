"""HTTP caching for shared caches (nginx, a CDN): anonymous successful reads are
`public` with a max-age and stale-while-revalidate, and Vary names every header that
changes them; anything asked with a token, every error and every write is
`private, no-store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from tests.factories import create_category, create_grid, create_package

PUBLIC = "public, max-age=10, stale-while-revalidate=60"
PRIVATE = "private, no-store"
AppFactory = Callable[[Settings], Awaitable[Any]]


def _vary(response: httpx.Response) -> list[str]:
    return [token.strip() for token in response.headers.get("vary", "").split(",") if token]


@pytest.fixture
async def directory(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    category = await create_category(client, write_headers, title="Apps")
    package = await create_package(client, write_headers, title="Widgets", category=category["id"])
    grid = await create_grid(client, write_headers, title="Shops", packages=[package["id"]])
    return {"category": category, "package": package, "grid": grid}


def _read_urls(directory: dict[str, dict[str, Any]]) -> list[str]:
    package, grid = directory["package"], directory["grid"]
    return [
        "/api/v4/",
        "/api/v4/packages/",
        "/api/v4/packages/?offset=0&limit=5&ordering=-repo_watchers",
        f"/api/v4/packages/{package['id']}/",
        f"/api/v4/packages/{package['slug']}/",
        "/api/v4/categories/",
        f"/api/v4/categories/{directory['category']['id']}/",
        "/api/v4/grids/",
        f"/api/v4/grids/{grid['id']}/",
        f"/api/v4/grids/{grid['id']}/packages/",
        f"/api/v4/grids/{grid['id']}/table/",
        "/api/v4/search/?q=widgets",
    ]


async def test_anonymous_reads_are_public_and_vary_on_what_changes_them(
    client: httpx.AsyncClient, directory: dict[str, dict[str, Any]]
) -> None:
    for url in _read_urls(directory):
        for method in ("GET", "HEAD"):
            response = await client.request(method, url)
            assert response.status_code == 200, (method, url, response.text)
            assert response.headers["cache-control"] == PUBLIC, (method, url)
            assert _vary(response) == ["Accept", "Accept-Encoding", "Authorization"], url
            assert response.headers["etag"], url


async def test_a_revalidation_keeps_the_policy_of_the_answer_it_confirms(
    client: httpx.AsyncClient, directory: dict[str, dict[str, Any]]
) -> None:
    url = f"/api/v4/packages/{directory['package']['id']}/"
    first = await client.get(url)
    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == PUBLIC
    assert _vary(again) == _vary(first)


async def test_gzip_adds_no_second_accept_encoding(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    for number in range(8):
        await create_package(
            client, write_headers, title=f"Package {number}", category=category["id"]
        )
    response = await client.get("/api/v4/packages/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == PUBLIC
    assert _vary(response) == ["Accept", "Accept-Encoding", "Authorization"]


async def test_anything_asked_with_a_token_is_private(
    client: httpx.AsyncClient,
    directory: dict[str, dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    for url in _read_urls(directory):
        response = await client.get(url, headers=write_headers)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == PRIVATE, url
    # A token that is not one: still never stored for anyone else.
    bogus = await client.get("/api/v4/packages/", headers={"Authorization": "Bearer nope"})
    assert bogus.headers["cache-control"] == PRIVATE


async def test_errors_and_writes_are_never_stored(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    answers = [
        await client.get("/api/v4/packages/no-such-thing/"),
        await client.get("/api/v4/packages/?category=nothing-by-that-name"),
        await client.get("/api/v4/packages/?ordering=nonsense"),
        await client.get("/nowhere"),
        await client.delete("/api/v4/packages/1/"),  # no token: 401
        await client.post("/api/v4/packages/", content=b"x" * 2_000_000),  # 413
        await client.post("/api/v4/categories/", json={"title": "New"}, headers=write_headers),
    ]
    assert [a.status_code for a in answers] == [404, 400, 400, 404, 401, 413, 201]
    for answer in answers:
        where = f"{answer.request.method} {answer.request.url} {answer.status_code}"
        assert answer.headers["cache-control"] == PRIVATE, where


async def test_the_durations_are_settings(app_factory: AppFactory, settings: Settings) -> None:
    app = await app_factory(
        settings.model_copy(
            update={"http_cache_max_age": 300, "http_cache_stale_while_revalidate": 0}
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/v4/packages/")
    assert response.headers["cache-control"] == "public, max-age=300, stale-while-revalidate=0"


@pytest.mark.parametrize(
    ("public_base_url", "varies_on_forwarded"),
    [(None, True), ("https://packages.example.org", False)],
)
async def test_forwarded_headers_vary_only_when_they_make_the_links(
    app_factory: AppFactory,
    settings: Settings,
    public_base_url: str | None,
    varies_on_forwarded: bool,
) -> None:
    trusted = Settings(trusted_proxies="127.0.0.1").trusted_proxies  # type: ignore[arg-type]
    app = await app_factory(
        settings.model_copy(update={"trusted_proxies": trusted, "public_base_url": public_base_url})
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        forwarded = {"X-Forwarded-Host": "api.example.org", "X-Forwarded-Proto": "https"}
        through_proxy = (await client.get("/api/v4/", headers=forwarded)).json()
        direct = (await client.get("/api/v4/")).json()
        response = await client.get("/api/v4/")
    # The answer really does depend on the forwarded headers exactly when we say it does.
    assert (through_proxy != direct) is varies_on_forwarded
    vary = _vary(response)
    assert ("X-Forwarded-Host" in vary and "X-Forwarded-Proto" in vary) is varies_on_forwarded


async def test_the_docs_pages_keep_their_own_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


async def test_an_unauthenticated_client_without_trusted_proxies_does_not_vary_on_them(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    response = await client.get("/api/v4/", headers={"X-Forwarded-Host": "elsewhere.example"})
    assert "X-Forwarded-Host" not in _vary(response)
    assert "elsewhere.example" not in response.text
