"""What a careless or hostile client sends: odd digits, NUL bytes, blank filters, edge
datetimes, URLs that grow when normalized. Each answers a 4xx (or is ignored), never a 500,
and never a quietly wrong resource."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, GridPackage, Package
from app.repositories.sequences import advance_id_sequences
from tests.conftest import bound_sessionmaker

API = "/api/v4"
Headers = dict[str, str]
UTC = dt.UTC


async def _populate(connection: AsyncConnection) -> None:
    """Category, grid and package 1 (plus package 2), so that a key read as "1" would match."""
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        session.add(Grid(id=1, title="Shops", slug="shops"))
        await session.flush()
        session.add_all(
            Package(
                id=n,
                title=f"Package {n}",
                slug=f"package-{n}",
                category_id=1,
                repo_host="github" if n == 2 else "",
            )
            for n in (1, 2)
        )
        await session.flush()
        session.add(GridPackage(grid_id=1, package_id=1))
        await advance_id_sequences(session)
        await session.commit()


def _error(response: httpx.Response, status: int) -> tuple[str, str]:
    """(location, field) of the one error in an error body of this status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert len(body["errors"]) == 1, body
    return body["errors"][0]["location"], body["errors"][0]["field"]


@pytest.fixture
def sent_parameters(connection: AsyncConnection) -> Iterator[list[Any]]:
    """Every parameter value sent to the database during the test."""
    sent: list[Any] = []

    def record(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        sent.extend(values)

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    yield sent
    event.remove(connection.sync_connection, "before_cursor_execute", record)


# Digits that are not ASCII: '²' is a digit to str.isdigit() but not to int(); U+0661 (an
# Arabic-Indic one) is a digit to both, and must not be read as the id 1.

UNICODE_DIGITS = ["²", "\u0661"]


@pytest.mark.parametrize("key", UNICODE_DIGITS)
@pytest.mark.parametrize("resource", ["packages", "categories", "grids"])
async def test_a_key_of_unicode_digits_is_a_404_not_id_1(
    client: httpx.AsyncClient, connection: AsyncConnection, resource: str, key: str
) -> None:
    await _populate(connection)
    response = await client.get(f"{API}/{resource}/{key}/")
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("key", UNICODE_DIGITS)
async def test_a_grid_membership_key_of_unicode_digits_is_a_404(
    client: httpx.AsyncClient, connection: AsyncConnection, key: str
) -> None:
    await _populate(connection)
    response = await client.get(f"{API}/grids/1/packages/{key}/")
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("key", UNICODE_DIGITS)
@pytest.mark.parametrize("param", ["category", "grid"])
async def test_a_filter_of_unicode_digits_is_a_400(
    client: httpx.AsyncClient, connection: AsyncConnection, param: str, key: str
) -> None:
    await _populate(connection)
    response = await client.get(f"{API}/packages/", params={param: key})
    assert _error(response, 400) == ("query", param)


@pytest.mark.parametrize("key", UNICODE_DIGITS)
async def test_a_category_reference_of_unicode_digits_is_a_422(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers, key: str
) -> None:
    await _populate(connection)
    response = await client.post(
        f"{API}/packages/", json={"title": "New", "category": key}, headers=write_headers
    )
    assert _error(response, 422) == ("body", "category")


@pytest.mark.parametrize("key", UNICODE_DIGITS)
async def test_package_references_of_unicode_digits_are_a_422_naming_the_position(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers, key: str
) -> None:
    await _populate(connection)
    response = await client.post(
        f"{API}/grids/", json={"title": "New", "packages": [2, key]}, headers=write_headers
    )
    assert _error(response, 422) == ("body", "packages.1")
    member = await client.post(
        f"{API}/grids/1/packages/", json={"package": key}, headers=write_headers
    )
    assert _error(member, 422) == ("body", "package")


# Ordering.


@pytest.mark.parametrize("ordering", [",,", " , ", ","])
async def test_an_ordering_of_only_commas_and_spaces_is_the_default(
    client: httpx.AsyncClient, connection: AsyncConnection, ordering: str
) -> None:
    await _populate(connection)
    response = await client.get(f"{API}/packages/?ordering={ordering}")
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["results"]] == [2, 1]
    for resource in ("categories", "grids"):
        assert (await client.get(f"{API}/{resource}/?ordering={ordering}")).status_code == 200


async def test_never_updated_packages_sort_as_on_postgresql_on_every_database(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    """Ascending puts NULLs last and descending first, as djangopackages on PostgreSQL."""
    updated = {
        1: None,
        2: dt.datetime(2024, 5, 1, tzinfo=UTC),
        3: None,
        4: dt.datetime(2023, 1, 1, tzinfo=UTC),
        5: dt.datetime(2025, 9, 9, tzinfo=UTC),
    }
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        session.add_all(
            Package(id=n, title=f"P{n}", slug=f"p-{n}", category_id=1, last_updated=when)
            for n, when in updated.items()
        )
        await advance_id_sequences(session)
        await session.commit()

    async def ids(ordering: str) -> list[int]:
        response = await client.get(f"{API}/packages/?ordering={ordering}")
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["results"]]

    assert await ids("last_updated") == [4, 2, 5, 1, 3]
    assert await ids("-last_updated") == [3, 1, 5, 2, 4]
    assert await ids("-last_updated,id") == [1, 3, 5, 2, 4]


# Blank filter values mean "no filter", as django-filter.


@pytest.mark.parametrize("query", ["category=", "grid=", "repo_host=", "category=%20&grid="])
async def test_a_blank_filter_is_no_filter(
    client: httpx.AsyncClient, connection: AsyncConnection, query: str
) -> None:
    await _populate(connection)
    response = await client.get(f"{API}/packages/?{query}")
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 2


# Datetimes: aware, stored and answered in UTC, within what a datetime can hold in UTC.


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
async def test_a_date_that_leaves_the_calendar_in_utc_is_a_422(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers, when: str
) -> None:
    await _populate(connection)
    created = await client.post(
        f"{API}/packages/",
        json={"title": "New", "category": 1, "date_deprecated": when},
        headers=write_headers,
    )
    assert _error(created, 422) == ("body", "date_deprecated")
    patched = await client.patch(
        f"{API}/packages/1/", json={"date_deprecated": when}, headers=write_headers
    )
    assert _error(patched, 422) == ("body", "date_deprecated")


async def test_a_date_with_an_offset_is_answered_in_utc_at_once(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    await _populate(connection)
    patched = await client.patch(
        f"{API}/packages/1/",
        json={"date_deprecated": "9999-12-30T18:59:59-05:00"},
        headers=write_headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["date_deprecated"] == "9999-12-30T23:59:59Z"
    read = await client.get(f"{API}/packages/1/")
    assert read.json()["date_deprecated"] == "9999-12-30T23:59:59Z"
    assert read.headers["etag"] == patched.headers["etag"]


# NUL characters: no row can hold one (PostgreSQL text cannot), so none is ever sent.


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/packages/a%00b/",
        f"{API}/packages/%00/",
        f"{API}/categories/apps%00/",
        f"{API}/grids/shops%00/",
        f"{API}/grids/1/packages/package-1%00/",
    ],
)
async def test_a_key_with_a_nul_is_a_404(
    client: httpx.AsyncClient, connection: AsyncConnection, sent_parameters: list[Any], url: str
) -> None:
    await _populate(connection)
    sent_parameters.clear()
    response = await client.get(url)
    assert response.status_code == 404, response.text
    assert not any(isinstance(value, str) and "\x00" in value for value in sent_parameters)


@pytest.mark.parametrize(("param", "value"), [("category", "\x00"), ("grid", "shops\x00")])
async def test_a_filter_with_a_nul_is_a_400(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    sent_parameters: list[Any],
    param: str,
    value: str,
) -> None:
    await _populate(connection)
    sent_parameters.clear()
    response = await client.get(f"{API}/packages/", params={param: value})
    assert _error(response, 400) == ("query", param)
    assert not any(isinstance(value, str) and "\x00" in value for value in sent_parameters)


@pytest.mark.parametrize(
    ("url", "method", "body", "field"),
    [
        (f"{API}/packages/", "POST", {"title": "A\x00", "category": 1}, "title"),
        (f"{API}/packages/", "POST", {"title": "A", "category": "apps\x00"}, "category"),
        (
            f"{API}/packages/1/",
            "PATCH",
            {"documentation_url": "https://a.org/\x00"},
            "documentation_url",
        ),
        (f"{API}/categories/", "POST", {"title": "C", "description": "\x00"}, "description"),
        (f"{API}/grids/", "POST", {"title": "G", "packages": [1, "package-2\x00"]}, "packages.1"),
        (f"{API}/grids/1/packages/", "POST", {"package": "package-2\x00"}, "package"),
        (
            f"{API}/grids/1/features/",
            "POST",
            {"title": "F", "description": "x\x00y"},
            "description",
        ),
    ],
)
async def test_a_body_string_with_a_nul_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    write_headers: Headers,
    sent_parameters: list[Any],
    url: str,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    await _populate(connection)
    sent_parameters.clear()
    response = await client.request(method, url, json=body, headers=write_headers)
    assert _error(response, 422) == ("body", field)
    assert not any(isinstance(value, str) and "\x00" in value for value in sent_parameters)


# Lengths are checked on what is stored, after normalization.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pypi_url", "a" * 255),  # becomes https://pypi.org/project/aaa.../
        ("repo_url", "gitlab.com:owner/" + "r" * 238),  # scp-like: gains "https://"
    ],
)
async def test_a_url_too_long_once_normalized_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    write_headers: Headers,
    field: str,
    value: str,
) -> None:
    await _populate(connection)
    assert len(value) <= 255
    created = await client.post(
        f"{API}/packages/",
        json={"title": "New", "category": 1, field: value},
        headers=write_headers,
    )
    assert _error(created, 422) == ("body", field)
    patched = await client.patch(f"{API}/packages/1/", json={field: value}, headers=write_headers)
    assert _error(patched, 422) == ("body", field)


# Anchored patterns: `$` also matches before a final newline.


@pytest.mark.parametrize("resource", ["packages", "categories", "grids"])
async def test_a_slug_with_a_trailing_newline_is_a_422(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    write_headers: Headers,
    resource: str,
) -> None:
    await _populate(connection)
    body: dict[str, Any] = {"title": "New", "slug": "nlb\n"}
    if resource == "packages":
        body["category"] = 1
    response = await client.post(f"{API}/{resource}/", json=body, headers=write_headers)
    assert _error(response, 422) == ("body", "slug")


async def test_a_host_with_a_trailing_newline_is_refused_not_put_in_links(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    request = client.build_request("GET", f"{API}/packages/1/")
    request.headers["Host"] = "testserver\n"
    response = await client.send(request)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_host"
