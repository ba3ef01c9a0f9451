"""Cursor pages (`?cursor=`): every row once, in order, for every ordering and filter;
links that walk both ways; cursors the service did not make are a 400."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.models import Category, Grid, GridPackage, Package
from app.repositories.sequences import advance_id_sequences
from tests.conftest import bound_sessionmaker

PACKAGES = "/api/v4/packages/"
COUNT = 37
DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _fields(number: int) -> dict[str, Any]:
    """Ties in every column, and two thirds of `last_updated` NULL."""
    return {
        "title": "Same" if number % 4 == 0 else f"Package {number:03d}",
        "repo_watchers": number % 5,
        "repo_forks": number % 2,
        "score": number % 3,
        "last_updated": DAY0 + dt.timedelta(days=number % 4) if number % 3 == 0 else None,
        "category_id": 1 if number % 2 else 2,
        "repo_host": "github" if number % 5 else "gitlab",
    }


async def _populate(connection: AsyncConnection) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add_all(
            [
                Category(id=1, title="Apps", slug="apps"),
                Category(id=2, title="Frameworks", slug="frameworks"),
            ]
        )
        session.add(Grid(id=1, title="Shops", slug="shops"))
        await session.flush()
        for number in range(1, COUNT + 1):
            session.add(Package(id=number, slug=f"package-{number}", **_fields(number)))
        await session.flush()
        session.add_all(
            GridPackage(grid_id=1, package_id=n) for n in range(1, COUNT + 1) if n % 3 == 0
        )
        await advance_id_sequences(session)
        await session.commit()


def _expected(ordering: str, keep: Callable[[dict[str, Any]], bool] = lambda _: True) -> list[int]:
    """The order PostgreSQL gives: NULL above every value, id breaking ties."""
    rows = [{"id": n, **_fields(n)} for n in range(1, COUNT + 1)]
    rows = [row for row in rows if keep(row)]
    names = [name for name in ordering.split(",") if name]
    if "id" not in {name.removeprefix("-") for name in names}:
        names.append("-id" if names[0].startswith("-") else "id")
    for name in reversed(names):
        field = name.removeprefix("-")
        rows.sort(
            key=lambda row, f=field: (row[f] is None, row[f] if row[f] is not None else 0),
            reverse=name.startswith("-"),
        )
    return [row["id"] for row in rows]


async def _walk(client: httpx.AsyncClient, url: str, link: str = "next") -> list[dict[str, Any]]:
    pages = []
    next_url: str | None = url
    while next_url is not None:
        assert len(pages) <= COUNT, "the links loop"
        response = await client.get(next_url)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        next_url = pages[-1][link]
    return pages


def _ids(pages: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for page in pages for item in page["results"]]


ORDERINGS = [
    f"{sign}{field}"
    for field in ("id", "title", "repo_watchers", "repo_forks", "last_updated", "score")
    for sign in ("", "-")
] + ["title,-score", "-last_updated,title", "score,last_updated", "-score,-last_updated"]


@pytest.mark.parametrize("ordering", ORDERINGS)
async def test_walking_by_cursor_gives_every_row_once_in_order(
    client: httpx.AsyncClient, connection: AsyncConnection, ordering: str
) -> None:
    await _populate(connection)
    forward = await _walk(client, f"{PACKAGES}?cursor=&limit=5&ordering={ordering}")

    assert _ids(forward) == _expected(ordering)
    assert [len(page["results"]) for page in forward] == [5] * 7 + [2]
    assert all(page["count"] == COUNT for page in forward)
    assert forward[0]["previous"] is None
    # And back from the last page, by `previous`: the same pages, in reverse.
    backward = await _walk(client, forward[-1]["previous"], link="previous")
    assert [page["results"] for page in reversed(backward)] == [p["results"] for p in forward[:-1]]
    assert backward[-1]["previous"] is None


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("category=apps&ordering=-repo_watchers", lambda row: row["category_id"] == 1),
        ("repo_host=github&ordering=last_updated", lambda row: row["repo_host"] == "github"),
        ("grid=shops&ordering=-last_updated", lambda row: row["id"] % 3 == 0),
        (
            "grid=1&category=frameworks&ordering=title",
            lambda row: row["id"] % 3 == 0 and row["category_id"] == 2,
        ),
    ],
)
async def test_cursor_pages_keep_the_filters(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    query: str,
    keep: Callable[[dict[str, Any]], bool],
) -> None:
    await _populate(connection)
    ordering = parse_qs(query)["ordering"][0]
    expected = _expected(ordering, keep)

    pages = await _walk(client, f"{PACKAGES}?cursor=&limit=4&{query}")

    assert _ids(pages) == expected
    assert {page["count"] for page in pages} == {len(expected)}


async def test_the_grid_packages_list_pages_by_cursor_too(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    pages = await _walk(client, "/api/v4/grids/shops/packages/?cursor=&limit=5")
    assert _ids(pages) == [n for n in range(COUNT, 0, -1) if n % 3 == 0]
    assert pages[0]["next"].startswith("http://testserver/api/v4/grids/shops/packages/?cursor=")


async def test_links_are_absolute_keep_the_parameters_and_drop_offset(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    first = (await client.get(f"{PACKAGES}?ordering=title&category=apps&limit=3&cursor=")).json()
    assert list(first) == ["count", "next", "previous", "results"]
    assert first["count"] == len(_expected("title", lambda row: row["category_id"] == 1))
    link = urlsplit(first["next"])
    assert (link.scheme, link.netloc, link.path) == ("http", "testserver", PACKAGES)
    params = parse_qs(link.query)
    assert sorted(params) == ["category", "cursor", "limit", "ordering"]
    assert (params["category"], params["limit"], params["ordering"]) == (["apps"], ["3"], ["title"])
    # DRF's way with parameters: sorted, and the cursor stays opaque URL-safe text.
    assert link.query.startswith("category=apps&cursor=")
    second = (await client.get(first["next"])).json()
    assert second["previous"] is not None
    assert (await client.get(second["previous"])).json()["results"] == first["results"]


async def test_without_cursor_the_list_pages_by_offset_exactly_as_before(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    body = (await client.get(f"{PACKAGES}?limit=5")).json()
    assert body["next"] == "http://testserver/api/v4/packages/?limit=5&offset=5"


async def test_grids_and_categories_page_by_cursor(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add_all(Grid(title=f"Grid {n % 4}", slug=f"grid-{n}") for n in range(11))
        session.add_all(Category(title=f"Cat {n % 3}", slug=f"cat-{n}") for n in range(9))
        await session.commit()
    grids = await _walk(client, "/api/v4/grids/?cursor=&limit=3&ordering=title")
    titles = [item["title"] for page in grids for item in page["results"]]
    assert titles == sorted(titles) and len(titles) == 11
    assert len({item["id"] for page in grids for item in page["results"]}) == 11
    categories = await _walk(client, "/api/v4/categories/?cursor=&limit=2")
    ids = [item["id"] for page in categories for item in page["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 9
    assert {page["count"] for page in categories} == {9}


async def test_an_empty_list_is_one_empty_cursor_page(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{PACKAGES}?cursor=")).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


async def _next_cursor(client: httpx.AsyncClient, query: str) -> str:
    body = (await client.get(f"{PACKAGES}?cursor=&limit=5&{query}")).json()
    return str(parse_qs(urlsplit(body["next"]).query)["cursor"][0])


def _assert_bad_cursor(response: httpx.Response, field: str = "cursor") -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_query"
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("query", field)]


def _tampered(cursor: str) -> str:
    payload, signature = cursor.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return f"{flipped}.{signature}"


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "a.b",
        "!!!.???",
        "é.é",
        "x" * 3000,  # past MAX_CURSOR_LENGTH, within MAX_QUERY_BYTES (which answers 414)
        "eyJyIjoicGFja2FnZXMifQ.AAAAAAAAAAAAAAAAAAAAAA",  # well-formed, not signed by us
    ],
)
async def test_a_cursor_we_did_not_make_is_400(
    client: httpx.AsyncClient, connection: AsyncConnection, bad: str
) -> None:
    await _populate(connection)
    _assert_bad_cursor(await client.get(f"{PACKAGES}?cursor={bad}"))


async def test_a_tampered_cursor_is_400(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    cursor = await _next_cursor(client, "ordering=last_updated")
    assert (
        await client.get(f"{PACKAGES}?cursor={cursor}&ordering=last_updated")
    ).status_code == 200
    _assert_bad_cursor(
        await client.get(f"{PACKAGES}?cursor={_tampered(cursor)}&ordering=last_updated")
    )


async def test_a_cursor_of_another_ordering_or_list_is_400(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    cursor = await _next_cursor(client, "ordering=title")
    _assert_bad_cursor(await client.get(f"{PACKAGES}?cursor={cursor}&ordering=-title"))
    _assert_bad_cursor(await client.get(f"{PACKAGES}?cursor={cursor}"))
    _assert_bad_cursor(await client.get(f"/api/v4/grids/?cursor={cursor}&ordering=title"))


async def test_a_cursor_signed_with_another_secret_is_400(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    connection: AsyncConnection,
) -> None:
    await _populate(connection)
    other = await app_factory(
        settings.model_copy(update={"cursor_secret": SecretStr("another key")})
    )
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as foreign:
        cursor = await _next_cursor(foreign, "")
    ours = await app_factory(settings)
    transport = httpx.ASGITransport(app=ours)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        _assert_bad_cursor(await client.get(f"{PACKAGES}?cursor={cursor}"))


async def test_offset_is_ignored_on_the_cursor_path(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    for offset in ("10", "", "junk"):
        page = await client.get(f"{PACKAGES}?cursor=&offset={offset}&limit=3")
        assert page.status_code == 200, page.text
        assert [item["id"] for item in page.json()["results"]] == [37, 36, 35]
        assert "offset" not in (page.json()["next"] or "")


@pytest.mark.parametrize(
    ("limit", "size"), [("3", 3), ("1000", 5), ("0", 4), ("abc", 4), ("-2", 4)]
)
async def test_limit_is_read_and_capped_as_drf_does(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    connection: AsyncConnection,
    limit: str,
    size: int,
) -> None:
    await _populate(connection)
    app = await app_factory(settings.model_copy(update={"page_size": 4, "max_page_size": 5}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = (await client.get(f"{PACKAGES}?cursor=&limit={limit}")).json()
        assert len(body["results"]) == size
        assert parse_qs(urlsplit(body["next"]).query)["limit"] == [str(size)]
        pages = await _walk(client, body["next"])
    assert len(pages) + 1 == -(-COUNT // size)


def test_the_cursor_parameter_and_its_400_are_documented(app: Any) -> None:
    document = app.openapi()
    lists = [
        "/api/v4/packages/",
        "/api/v4/grids/",
        "/api/v4/categories/",
        "/api/v4/grids/{key}/packages/",
    ]
    for path in lists:
        operation = document["paths"][path]["get"]
        [cursor] = [p for p in operation["parameters"] if p["name"] == "cursor"]
        assert cursor["in"] == "query" and not cursor["required"]
        assert "`next`" in cursor["description"]
        # Only the first page: a later cursor is valid for one list and ordering alone, so
        # an example of one would be a wrong example on every other list.
        assert set(cursor["examples"]) == {"first"}
        assert "`cursor`" in operation["responses"]["400"]["description"]
    search = document["paths"]["/api/v4/search/"]["get"]
    assert "cursor" not in {p["name"] for p in search["parameters"]}


async def test_the_documented_example_cursor_works(
    app: Any, client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    operation = app.openapi()["paths"][PACKAGES]["get"]
    [cursor] = [p for p in operation["parameters"] if p["name"] == "cursor"]
    example = cursor["examples"]["first"]["value"]
    body = (await client.get(PACKAGES, params={"cursor": example, "ordering": "-id"})).json()
    assert [item["id"] for item in body["results"]] == list(range(COUNT, COUNT - 20, -1))
    assert "cursor=" in body["next"]
