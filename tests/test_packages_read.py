"""Reading packages as djangopackages.org's clients do: pages, filters, ordering, details."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.models import Category, Grid, GridPackage, Package
from app.repositories.sequences import advance_id_sequences
from tests.conftest import StatementCounter, bound_sessionmaker


async def _populate(connection: AsyncConnection, count: int) -> None:
    """`count` packages in two categories; every third in grid 1, stars descending by id."""
    async with bound_sessionmaker(connection)() as session:
        session.add_all(
            [
                Category(id=1, title="Apps", slug="apps"),
                Category(id=2, title="Frameworks", slug="frameworks"),
            ]
        )
        session.add(Grid(id=1, title="Shops", slug="shops"))
        await session.flush()
        for number in range(1, count + 1):
            session.add(
                Package(
                    id=number,
                    title=f"Package {number:03d}",
                    slug=f"package-{number}",
                    category_id=1 if number % 2 else 2,
                    repo_url=f"https://github.com/owner/package-{number}",
                    repo_host="github" if number % 5 else "gitlab",
                    repo_watchers=1000 - number,
                    repo_forks=number % 7,
                    score=number % 11,
                )
            )
        await session.flush()
        session.add_all(
            GridPackage(grid_id=1, package_id=n) for n in range(1, count + 1) if n % 3 == 0
        )
        await advance_id_sequences(session)
        await session.commit()


async def _ids(client: httpx.AsyncClient, url: str) -> list[int]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["results"]]


async def test_list_is_newest_first_with_drf_default_page(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 45)
    body = (await client.get("/api/v4/packages/")).json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 45
    assert [p["id"] for p in body["results"]] == list(range(45, 25, -1))
    assert body["next"] == "http://testserver/api/v4/packages/?limit=20&offset=20"
    assert body["previous"] is None


async def test_next_and_previous_links_walk_the_list_like_drf(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 45)
    body = (await client.get("/api/v4/packages/?offset=5&limit=5&category=apps")).json()
    # DRF keeps other parameters and sorts them; the first page's link drops offset.
    assert body["next"] == "http://testserver/api/v4/packages/?category=apps&limit=5&offset=10"
    assert body["previous"] == "http://testserver/api/v4/packages/?category=apps&limit=5"
    seen: list[int] = []
    url: str | None = "http://testserver/api/v4/packages/?limit=7"
    while url:
        page = (await client.get(url)).json()
        seen += [p["id"] for p in page["results"]]
        url = page["next"]
    assert seen == list(range(45, 0, -1))


@pytest.mark.parametrize(
    ("query", "expected_limit", "expected_first"),
    [
        ("limit=5", 5, 45),
        ("limit=0", 20, 45),  # not a positive integer: the default, as DRF
        ("limit=-3", 20, 45),
        ("limit=abc", 20, 45),
        ("limit=100000", 100, 45),  # capped at MAX_PAGE_SIZE
        ("offset=abc", 20, 45),  # a bad offset means 0
        ("offset=-5", 20, 45),
        ("offset=40", 20, 5),
    ],
)
async def test_limit_and_offset_are_forgiving_like_drf(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    query: str,
    expected_limit: int,
    expected_first: int,
) -> None:
    await _populate(connection, 45)
    ids = await _ids(client, f"/api/v4/packages/?{query}")
    assert ids[0] == expected_first
    assert len(ids) == min(expected_limit, expected_first)


async def test_offset_past_the_end_is_an_empty_page_not_an_error(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 3)
    body = (await client.get(f"/api/v4/packages/?offset={10**30}")).json()
    assert body["count"] == 3
    assert body["results"] == []
    assert body["next"] is None


async def test_filters_by_category_grid_and_repo_host(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 30)
    odd = [n for n in range(30, 0, -1) if n % 2]
    assert await _ids(client, "/api/v4/packages/?category=apps&limit=100") == odd
    assert await _ids(client, "/api/v4/packages/?category=1&limit=100") == odd
    thirds = [n for n in range(30, 0, -1) if n % 3 == 0]
    assert await _ids(client, "/api/v4/packages/?grid=shops&limit=100") == thirds
    assert await _ids(client, "/api/v4/packages/?grid=1&limit=100") == thirds
    fifths = [n for n in range(30, 0, -1) if n % 5 == 0]
    assert await _ids(client, "/api/v4/packages/?repo_host=gitlab&limit=100") == fifths
    both = [n for n in fifths if n % 2]
    assert await _ids(client, "/api/v4/packages/?repo_host=gitlab&category=apps") == both


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("category=nope", "category"),
        ("category=999", "category"),
        ("grid=nope", "grid"),
        ("grid=99999999999999999999", "grid"),
        ("repo_host=sourceforge", "repo_host"),
        ("ordering=stars", "ordering"),
        ("ordering=-title,nope", "ordering"),
    ],
)
async def test_unknown_filter_values_are_a_400_naming_the_parameter(
    client: httpx.AsyncClient, connection: AsyncConnection, query: str, param: str
) -> None:
    await _populate(connection, 3)
    response = await client.get(f"/api/v4/packages/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_query"
    assert body["errors"][0]["field"] == param
    assert body["errors"][0]["location"] == "query"


@pytest.mark.parametrize(
    ("ordering", "key", "reverse"),
    [
        ("title", "title", False),
        ("-title", "title", True),
        ("repo_watchers", "repo_watchers", False),
        ("-repo_watchers", "repo_watchers", True),
        ("repo_forks", "repo_forks", False),
        ("-score", "score", True),
        ("id", "id", False),
    ],
)
async def test_ordering_sorts_by_the_field_with_id_breaking_ties(
    client: httpx.AsyncClient, connection: AsyncConnection, ordering: str, key: str, reverse: bool
) -> None:
    await _populate(connection, 30)
    results = (await client.get(f"/api/v4/packages/?ordering={ordering}&limit=100")).json()[
        "results"
    ]
    expected = sorted(results, key=lambda p: (p[key], p["id"]), reverse=reverse)
    assert [p["id"] for p in results] == [p["id"] for p in expected]


async def test_ordering_by_last_updated_puts_the_never_updated_together(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 5)
    response = await client.get("/api/v4/packages/?ordering=-last_updated")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 5


async def test_detail_by_id_and_by_slug_are_the_same_resource(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 3)
    by_id = await client.get("/api/v4/packages/2/")
    by_slug = await client.get("/api/v4/packages/package-2/")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    assert by_id.headers["etag"] == by_slug.headers["etag"]
    assert by_id.json()["grids"] == []
    assert by_id.headers["content-type"] == "application/json"


@pytest.mark.parametrize("key", ["404", "no-such-package", "99999999999999999999999"])
async def test_missing_package_is_a_404_with_the_error_body(
    client: httpx.AsyncClient, key: str
) -> None:
    response = await client.get(f"/api/v4/packages/{key}/")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert key in body["detail"]


async def test_missing_trailing_slash_redirects(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 1)
    response = await client.get("/api/v4/packages/1")
    assert response.status_code in {301, 307, 308}
    assert response.headers["location"].endswith("/api/v4/packages/1/")
    followed = await client.get("/api/v4/packages", follow_redirects=True)
    assert followed.status_code == 200
    assert followed.json()["count"] == 1


async def test_head_answers_like_get_without_a_body(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 2)
    for url in ["/api/v4/", "/api/v4/packages/", "/api/v4/packages/1/", "/api/v4/grids/1/table/"]:
        get = await client.get(url)
        head = await client.head(url)
        assert head.status_code == 200, url
        assert head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-length"] == get.headers["content-length"]


async def test_options_lists_the_allowed_methods_on_every_route(
    app: Any, client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection, 1)
    for template in app.openapi()["paths"]:
        url = template.format(
            key="1", package="1", feature_id="1", kind="stars", subscription_id="1"
        )
        response = await client.options(url)
        assert response.status_code == 200, url
        allowed = set(response.headers["allow"].split(", "))
        assert {"OPTIONS"} <= allowed
        assert response.json()["methods"] == response.headers["allow"].split(", ")
    detail = await client.options("/api/v4/packages/1/")
    assert detail.headers["allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    listing = await client.get("/api/v4/packages/")
    assert listing.headers["allow"] == "GET, POST, HEAD, OPTIONS"


async def test_a_list_page_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, connection: AsyncConnection, count_statements: StatementCounter
) -> None:
    await _populate(connection, 60)
    costs = []
    for limit in (1, 10, 60):
        count_statements.statements.clear()
        response = await client.get(f"/api/v4/packages/?limit={limit}")
        assert len(response.json()["results"]) == limit
        costs.append(count_statements.count)
    assert costs[0] == costs[1] == costs[2]
    assert costs[0] <= 4, count_statements.statements


async def test_grid_and_category_lists_cost_constant_statements(
    client: httpx.AsyncClient, connection: AsyncConnection, count_statements: StatementCounter
) -> None:
    await _populate(connection, 30)
    async with bound_sessionmaker(connection)() as session:
        session.add_all(Grid(title=f"G{n}", slug=f"g-{n}") for n in range(30))
        await session.commit()
    for url in ("/api/v4/grids/", "/api/v4/categories/"):
        costs = []
        for limit in (1, 25):
            count_statements.statements.clear()
            await client.get(f"{url}?limit={limit}")
            costs.append(count_statements.count)
        assert costs[0] == costs[1], url


async def test_if_none_match_gives_304_until_the_package_changes(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await _populate(connection, 1)
    first = await client.get("/api/v4/packages/1/")
    etag = first.headers["etag"]
    cached = await client.get("/api/v4/packages/1/", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    await client.patch("/api/v4/packages/1/", json={"title": "Renamed"}, headers=write_headers)
    fresh = await client.get("/api/v4/packages/1/", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.json()["title"] == "Renamed"


async def test_api_root_lists_the_collections(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v4/")).json()
    assert body == {
        "categories": "http://testserver/api/v4/categories/",
        "grids": "http://testserver/api/v4/grids/",
        "packages": "http://testserver/api/v4/packages/",
    }


async def test_hyperlinks_use_public_base_url_when_set(
    app_factory: Any, database_url: str, connection: AsyncConnection
) -> None:
    await _populate(connection, 1)
    app = await app_factory(
        Settings(database_url=database_url, public_base_url="https://pkg.example.org/dir/")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
        body = (await client.get("/api/v4/packages/1/")).json()
    assert body["url"] == "https://pkg.example.org/dir/api/v4/packages/1/"
    assert body["category"] == "https://pkg.example.org/dir/api/v4/categories/1/"


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        ("127.0.0.1", "https://public.example.org/api/v4/packages/1/"),
        ("10.0.0.0/8", "http://internal:8000/api/v4/packages/1/"),
        ("", "http://internal:8000/api/v4/packages/1/"),
    ],
)
async def test_forwarded_headers_count_only_from_trusted_proxies(
    app_factory: Any, database_url: str, connection: AsyncConnection, trusted: str, expected: str
) -> None:
    await _populate(connection, 1)
    app = await app_factory(Settings(database_url=database_url, trusted_proxies=trusted))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example.org"}
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
        body = (await client.get("/api/v4/packages/1/", headers=headers)).json()
    assert body["url"] == expected
