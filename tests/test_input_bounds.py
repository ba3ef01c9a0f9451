"""Input bounds, through HTTP on both databases: body size (declared or streamed), string
and list lengths, `limit`, query length and values, malformed or ambiguous JSON, and the
wrong content type. Each is a 4xx with our error body, never a 500 or a database error,
and nothing is written."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.factories import create_category, create_package

API = "/api/v4"
Headers = dict[str, str]
JSON = {"Content-Type": "application/json"}


async def _count(client: httpx.AsyncClient, resource: str = "categories") -> int:
    return int((await client.get(f"{API}/{resource}/")).json()["count"])


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


# --- body size --------------------------------------------------------------------------


async def test_a_body_declared_too_large_is_413(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    body = b'{"title": "' + b"x" * 1_100_000 + b'"}'
    response = await client.post(
        f"{API}/categories/", content=body, headers={**write_headers, **JSON}
    )
    _error(response, 413, "payload_too_large")
    assert await _count(client) == 0


async def test_a_streamed_body_without_content_length_is_cut_at_the_limit(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(40):
            yield b"x" * 32_768  # 1.25 MiB in all, no Content-Length: chunked
        yield b'"}'

    response = await client.post(
        f"{API}/categories/", content=chunks(), headers={**write_headers, **JSON}
    )
    _error(response, 413, "payload_too_large")
    assert await _count(client) == 0


# --- strings, lists, limit ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t" * 51}, "title"),
        ({"title": "Apps", "description": "d" * 10_001}, "description"),
        ({"title": "Apps", "title_plural": "p" * 51}, "title_plural"),
        ({"title": "Apps", "slug": "s" * 51}, "slug"),
        ({"title": "   "}, "title"),
    ],
)
async def test_strings_over_their_length_are_422_naming_the_field(
    client: httpx.AsyncClient, write_headers: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post(f"{API}/categories/", json=body, headers=write_headers)
    error = _error(response, 422, "validation_error")
    assert [e["field"] for e in error["errors"]] == [field]
    assert await _count(client) == 0


async def test_a_grid_with_too_many_packages_is_422(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    body = {"title": "Big", "packages": list(range(1, 1002))}
    response = await client.post(f"{API}/grids/", json=body, headers=write_headers)
    error = _error(response, 422, "validation_error")
    assert error["errors"][0]["field"] == "packages"
    assert await _count(client, "grids") == 0


async def test_read_only_lists_in_a_body_are_ignored_not_stored(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, slug="apps")
    created = await create_package(
        client,
        write_headers,
        title="Tool",
        category=category["id"],
        participants=["someone"] * 50_000,
        commits_over_52=[10**30] * 60,
    )
    assert created["participants"] == []
    assert created["commits_over_52"] == []  # never fetched: no figures yet


@pytest.mark.parametrize("limit", ["1000", str(10**40), "-5", "0", "ten"])
async def test_limit_is_capped_or_defaulted(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get(f"{API}/packages/", params={"limit": limit})
    assert response.status_code == 200
    assert response.json()["results"] == []


# --- query string ---------------------------------------------------------------------------


async def test_a_query_string_over_max_query_bytes_is_414(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/packages/?ordering=id&x={'y' * 4100}")
    body = _error(response, 414, "uri_too_long")
    assert "MAX_QUERY_BYTES" in body["detail"]
    # Just under the limit is an ordinary request.
    assert (await client.get(f"{API}/packages/?x={'y' * 4000}")).status_code == 200


@pytest.mark.parametrize("param", ["category", "grid"])
async def test_a_long_filter_value_is_a_400(client: httpx.AsyncClient, param: str) -> None:
    response = await client.get(f"{API}/packages/", params={param: "c" * 3000})
    _error(response, 400, "invalid_query")


@pytest.mark.parametrize(
    ("param", "value"),
    [("repo_host", " github"), ("ordering", "id\t"), ("ordering", "- id"), ("item_type", " ")],
)
async def test_filter_values_outside_the_documented_ones_are_400(
    client: httpx.AsyncClient, param: str, value: str
) -> None:
    path = f"{API}/search/" if param == "item_type" else f"{API}/packages/"
    response = await client.get(path, params={param: value})
    _error(response, 400, "invalid_query")


# --- JSON and content type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"title": "Apps"', "not valid JSON"),
        (b'{"title": "Apps", "title": "Other"}', "appears twice"),
        (b'{"title": "Apps", "x": {"a": 1, "a": 2}}', "appears twice"),
        (b'{"title": NaN}', "not a JSON number"),
        (b'{"title": "Apps", "show_pypi": Infinity}', "not a JSON number"),
        # FastAPI's own parse refuses these first, in its words.
        (b'{"title": ' + b"9" * 5000 + b"}", ""),
        (b"[" * 100_000 + b"]" * 100_000, ""),
        (b'{"title": "\xff"}', ""),
    ],
)
async def test_malformed_or_ambiguous_json_is_a_400(
    client: httpx.AsyncClient, write_headers: Headers, body: bytes, says: str
) -> None:
    response = await client.post(
        f"{API}/categories/", content=body, headers={**write_headers, **JSON}
    )
    error = _error(response, 400, "bad_request")
    assert says in error["detail"]
    assert await _count(client) == 0


async def test_a_huge_number_where_an_id_belongs_is_a_422(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    for category in ("1e999", str(10**300), "-1"):
        response = await client.post(
            f"{API}/packages/",
            content=f'{{"title": "Tool", "category": {category}}}'.encode(),
            headers={**write_headers, **JSON},
        )
        assert response.status_code == 422, response.text
    assert await _count(client, "packages") == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient, write_headers: Headers, content_type: str
) -> None:
    response = await client.post(
        f"{API}/categories/",
        content=b'{"title": "Apps"}',
        headers={**write_headers, "Content-Type": content_type},
    )
    _error(response, 415, "unsupported_media_type")
    assert await _count(client) == 0


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    for content_type, slug in [
        ("application/json; charset=utf-8", "a"),
        ("application/merge-patch+json", "b"),
    ]:
        response = await client.post(
            f"{API}/categories/",
            content=f'{{"title": "Apps {slug}", "slug": "{slug}"}}'.encode(),
            headers={**write_headers, "Content-Type": content_type},
        )
        assert response.status_code == 201, response.text


# --- a bad token never holds the SQLite write lock ----------------------------------------


async def test_a_bad_token_is_refused_while_another_writer_holds_the_lock(
    dialect: str, database_url: str
) -> None:
    """The token is checked in a read of its own before the request's write transaction
    begins, so a bad one is a 401 even while the database is locked for writing (it was
    a 503 after SQLITE_BUSY_TIMEOUT_MS, queued behind the writer)."""
    if dialect != "sqlite":
        pytest.skip("the SQLite write lock")
    app = create_app(Settings(database_url=database_url, sqlite_busy_timeout_ms=1000))
    path = Path(database_url.split("///", 1)[1])
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                holder.execute("BEGIN IMMEDIATE")
                for headers in ({"Authorization": "Bearer pkapi_wrong"}, {}):
                    response = await c.post(
                        f"{API}/categories/", json={"title": "Apps"}, headers=headers
                    )
                    _error(response, 401, "unauthorized")
                holder.execute("ROLLBACK")
    finally:
        holder.close()
