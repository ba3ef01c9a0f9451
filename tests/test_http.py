"""HTTP behaviour every route shares: slashes, methods, hosts, ETags across host names,
preconditions on sub-resources, and a busy database answered with 503."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.migrate import upgrade
from app.services.tokens import TokenService
from tests.factories import create_category, create_grid, create_package

Headers = dict[str, str]


async def _client(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def test_a_missing_slash_is_a_301_to_a_path_for_reads_and_308_for_writes(
    app_factory: Any, database_url: str, write_headers: Headers
) -> None:
    app = await app_factory(
        Settings(database_url=database_url, public_base_url="https://pkg.example.org")
    )
    async with await _client(app, "http://internal:8000") as client:
        read = await client.get("/api/v4/packages?limit=1&ordering=-id")
        assert read.status_code == 301
        # A path, not a URL: right behind any proxy, never the internal host.
        assert read.headers["location"] == "/api/v4/packages/?limit=1&ordering=-id"
        write = await client.post(
            "/api/v4/categories", json={"title": "Apps"}, headers=write_headers
        )
        assert write.status_code == 308
        assert write.headers["location"] == "/api/v4/categories/"
        followed = await client.post(
            "/api/v4/categories",
            json={"title": "Apps"},
            headers=write_headers,
            follow_redirects=True,
        )
        assert followed.status_code == 201
        assert (await client.get("/api/v4/nothing-here")).status_code == 404


async def test_options_answers_like_drf_on_api_and_docs_routes(client: httpx.AsyncClient) -> None:
    body = (await client.options("/api/v4/packages/")).json()
    assert list(body)[:4] == ["name", "description", "renders", "parses"]
    assert body["renders"] == ["application/json"]
    for url in ("/docs", "/openapi.json"):
        response = await client.options(url)
        assert response.status_code == 200, url
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"
        head = await client.head(url)
        assert head.status_code == 200
        assert head.content == b""


async def test_a_cors_preflight_without_cors_configured_is_still_answered(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/api/v4/packages/",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_api_responses_vary_on_accept_like_drf(client: httpx.AsyncClient) -> None:
    # Reads also vary on what else changes them (app.conditional.CachePolicyMiddleware).
    for url in ("/api/v4/", "/api/v4/packages/"):
        vary = (await client.get(url)).headers["vary"]
        assert vary == "Accept, Accept-Encoding, Authorization", url
    assert (await client.get("/api/v4/packages/404/")).headers["vary"] == "Accept"


@pytest.mark.parametrize(
    ("allowed", "host", "status"),
    [
        ("*", "anything.example", 200),
        ("packages.example.org", "packages.example.org", 200),
        ("packages.example.org", "packages.example.org:8443", 200),
        ("packages.example.org", "evil.example", 400),
        (".example.org", "api.example.org", 200),
        (".example.org", "example.org", 200),
        (".example.org", "example.org.evil.example", 400),
        ("*", "bad host name", 400),
        ("*", "", 400),
    ],
)
async def test_hosts_outside_allowed_hosts_are_refused(
    app_factory: Any, database_url: str, allowed: str, host: str, status: int
) -> None:
    app = await app_factory(Settings(database_url=database_url, allowed_hosts=allowed))  # type: ignore[arg-type]
    async with await _client(app) as client:
        response = await client.get("/api/v4/", headers={"Host": host})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["code"] == "invalid_host"
    else:
        assert response.json()["packages"] == f"http://{host}/api/v4/packages/"


async def test_an_etag_read_through_one_host_is_good_for_a_write_through_another(
    app: Any, write_headers: Headers
) -> None:
    async with await _client(app, "http://public.example") as public:
        category = await create_category(public, write_headers)
        package = await create_package(
            public, write_headers, title="Two doors", category=category["id"]
        )
        etag = (await public.get(f"/api/v4/packages/{package['id']}/")).headers["etag"]
    async with await _client(app, "http://internal:8000") as internal:
        same = await internal.get(f"/api/v4/packages/{package['id']}/")
        assert same.headers["etag"] == etag
        assert same.json()["url"] != package["url"]
        edited = await internal.patch(
            f"/api/v4/packages/{package['id']}/",
            json={"title": "One door"},
            headers={**write_headers, "If-Match": etag},
        )
        assert edited.status_code == 200, edited.text


async def test_removing_a_grid_package_honours_if_match(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers)
    package = await create_package(client, write_headers, title="Member", category=category["id"])
    grid = await create_grid(client, write_headers, title="Club", packages=[package["id"]])
    url = f"/api/v4/grids/{grid['id']}/packages/{package['id']}/"
    etag = (await client.get(url)).headers["etag"]
    stale = await client.delete(url, headers={**write_headers, "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert (await client.get(url)).status_code == 200
    fresh = await client.delete(url, headers={**write_headers, "If-Match": etag})
    assert fresh.status_code == 204


async def test_cell_writes_honour_if_match_and_if_none_match(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers)
    package = await create_package(client, write_headers, title="Cell", category=category["id"])
    grid = await create_grid(client, write_headers, title="Table", packages=[package["id"]])
    feature = (
        await client.post(
            f"/api/v4/grids/{grid['id']}/features/", json={"title": "Fast"}, headers=write_headers
        )
    ).json()
    url = f"/api/v4/grids/{grid['id']}/features/{feature['id']}/elements/{package['id']}/"
    # No cell yet: If-Match cannot match anything.
    blind = await client.put(url, json={"text": "Yes"}, headers={**write_headers, "If-Match": "*"})
    assert blind.status_code == 412
    assert (await client.get(url)).status_code == 404
    created = await client.put(
        url, json={"text": "Yes"}, headers={**write_headers, "If-None-Match": "*"}
    )
    assert created.status_code == 201
    # Create-only: a second writer with If-None-Match: * does not overwrite.
    again = await client.put(
        url, json={"text": "No"}, headers={**write_headers, "If-None-Match": "*"}
    )
    assert again.status_code == 412
    assert (await client.get(url)).json()["text"] == "Yes"
    replaced = await client.put(
        url, json={"text": "Very"}, headers={**write_headers, "If-Match": created.headers["etag"]}
    )
    assert replaced.status_code == 200


async def test_a_locked_sqlite_database_is_a_503_with_retry_after(tmp_path: Path) -> None:
    """SQLite only by nature: its single writer lock is what a busy database means there."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", sqlite_busy_timeout_ms=100
    )
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            _, token = await TokenService(session).create("busy", "write")
            await session.commit()
        blocker = create_engine(settings)
        async with blocker.connect() as holder:
            # Another writer holds SQLite's write lock (our begin hook says BEGIN IMMEDIATE).
            await holder.execution_options(sqlite_write=True)
            await holder.execute(text("SELECT 1"))
            async with await _client(app) as client:
                response = await client.post(
                    "/api/v4/categories/",
                    json={"title": "Apps"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "1"
                assert response.json()["code"] == "unavailable"
                # Reads go on while a writer holds the lock (WAL).
                assert (await client.get("/api/v4/categories/")).status_code == 200
            await holder.rollback()
        await blocker.dispose()
        async with await _client(app) as client:
            response = await client.post(
                "/api/v4/categories/",
                json={"title": "Apps"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201


async def test_a_token_records_its_last_use_at_most_once_a_minute(
    client: httpx.AsyncClient, connection: Any, write_headers: Headers
) -> None:
    async def last_used() -> Any:
        return await connection.scalar(
            text("SELECT last_used FROM api_tokens WHERE name = 'writer'")
        )

    assert await last_used() is None
    await create_category(client, write_headers, title="First")
    first = await last_used()
    assert first is not None
    await create_category(client, write_headers, title="Second")
    assert await last_used() == first


@pytest.mark.parametrize(
    "spelling",
    ["0", "-1", "-99999999999", "99999999999", "abc", "+{id}", "{id}_0", "%20{id}", "0{id}x"],
)
async def test_feature_ids_that_are_not_plain_numbers_of_a_feature_are_404(
    client: httpx.AsyncClient, write_headers: Headers, spelling: str
) -> None:
    grid = await create_grid(client, write_headers, title="Ids")
    url = f"/api/v4/grids/{grid['id']}/features/"
    feature = (await client.post(url, json={"title": "Speed"}, headers=write_headers)).json()
    assert (await client.get(f"{url}{feature['id']}/")).status_code == 200
    response = await client.get(url + spelling.format(id=feature["id"]) + "/")
    assert response.status_code == 404, response.text
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/v4/packages/django-shop%3Fx", "/api/v4/packages/django-shop%3Fx/"),
        ("/api/v4/packages/a%0D%0Ab", "/api/v4/packages/a%0D%0Ab/"),
        ("/api/v4/packages/caf%C3%A9", "/api/v4/packages/caf%C3%A9/"),
    ],
)
async def test_the_slash_redirect_keeps_the_path_encoded(
    client: httpx.AsyncClient, path: str, location: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 301
    assert response.headers["location"] == location


async def test_an_unreachable_postgresql_is_a_503_not_a_500(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    app = create_app(settings)
    async with app.router.lifespan_context(app), await _client(app) as client:
        response = await client.get("/api/v4/packages/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


async def test_a_database_error_that_is_our_fault_is_a_logged_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An unmigrated SQLite file: "no such table" is a bug to fix, not a reason to wait.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    app = create_app(settings)
    async with app.router.lifespan_context(app), await _client(app) as client:
        response = await client.get("/api/v4/packages/")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "no such table" in caplog.text
