"""Categories: what kind of thing a package is. Listing, reading, and writing with a token."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.factories import create_category, create_package

CATEGORIES = "/api/v4/categories/"
Headers = dict[str, str]


async def _list(client: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"{CATEGORIES}?{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _slugs(client: httpx.AsyncClient, query: str = "") -> list[str]:
    return [c["slug"] for c in (await _list(client, query))["results"]]


def _field_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["field"])


async def test_create_answers_201_with_location_etag_and_defaults(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    response = await client.post(CATEGORIES, json={"title": "  Über Apps "}, headers=write_headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert list(created) == [
        "id",
        "title",
        "slug",
        "description",
        "title_plural",
        "show_pypi",
        "created",
        "modified",
        "url",
    ]
    assert created["title"] == "Über Apps"
    assert created["slug"] == "uber-apps"
    assert (created["description"], created["title_plural"], created["show_pypi"]) == ("", "", True)
    assert created["url"] == f"http://testserver/api/v4/categories/{created['id']}/"
    assert response.headers["location"] == created["url"]
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == created
    assert fetched.headers["etag"] == response.headers["etag"]


async def test_writing_needs_a_token(client: httpx.AsyncClient, write_headers: Headers) -> None:
    category = await create_category(client, write_headers, title="Apps")
    for response in (
        await client.post(CATEGORIES, json={"title": "Anonymous"}),
        await client.patch(category["url"], json={"title": "Anonymous"}),
        await client.put(category["url"], json={"title": "Anonymous"}),
        await client.delete(category["url"]),
        await client.delete(category["url"], headers={"Authorization": "Bearer wrong"}),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await _list(client))["count"] == 1
    assert (await client.get(category["url"])).json() == category


async def test_list_is_newest_first_and_orders_by_title_on_request(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    for title in ("Bravo", "Alpha", "Charlie"):
        await create_category(client, write_headers, title=title)
    body = await _list(client)
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 3
    assert [c["slug"] for c in body["results"]] == ["charlie", "alpha", "bravo"]
    assert await _slugs(client, "ordering=title") == ["alpha", "bravo", "charlie"]
    assert await _slugs(client, "ordering=-title") == ["charlie", "bravo", "alpha"]
    assert await _slugs(client, "ordering=id") == ["bravo", "alpha", "charlie"]


async def test_list_pages_like_drf(client: httpx.AsyncClient, write_headers: Headers) -> None:
    for number in range(5):
        await create_category(client, write_headers, title=f"Category {number}")
    body = await _list(client, "limit=2&offset=2&ordering=title")
    assert [c["slug"] for c in body["results"]] == ["category-2", "category-3"]
    assert body["next"] == "http://testserver/api/v4/categories/?limit=2&offset=4&ordering=title"
    assert body["previous"] == "http://testserver/api/v4/categories/?limit=2&ordering=title"


@pytest.mark.parametrize("ordering", ["slug", "-created", "title,nope"])
async def test_ordering_by_an_unknown_field_is_400(
    client: httpx.AsyncClient, ordering: str
) -> None:
    response = await client.get(f"{CATEGORIES}?ordering={ordering}")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "location": "query",
        "field": "ordering",
        "message": response.json()["errors"][0]["message"],
    }


async def test_detail_by_id_and_by_slug_are_the_same_resource(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Frameworks")
    by_id = await client.get(f"{CATEGORIES}{category['id']}/")
    by_slug = await client.get(f"{CATEGORIES}frameworks/")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json() == category
    assert by_id.headers["etag"] == by_slug.headers["etag"]
    cached = await client.get(category["url"], headers={"If-None-Match": by_id.headers["etag"]})
    assert cached.status_code == 304


@pytest.mark.parametrize("key", ["999", "no-such-category", "99999999999999999999"])
async def test_a_missing_category_is_404(client: httpx.AsyncClient, key: str) -> None:
    response = await client.get(f"{CATEGORIES}{key}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_put_replaces_and_keeps_the_slug_when_omitted(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(
        client,
        write_headers,
        title="Apps",
        description="Reusable apps.",
        title_plural="Apps",
        show_pypi=False,
    )
    response = await client.put(
        category["url"], json={"title": "Applications"}, headers=write_headers
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["slug"] == "apps"
    assert replaced["title"] == "Applications"
    assert (replaced["description"], replaced["title_plural"], replaced["show_pypi"]) == (
        "",
        "",
        True,
    )
    assert replaced["created"] == category["created"]
    assert dt.datetime.fromisoformat(replaced["modified"]) > dt.datetime.fromisoformat(
        category["modified"]
    )
    assert (await client.get(category["url"])).json() == replaced


async def test_put_back_what_you_got_works(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Apps", description="Old")
    got = await client.get(category["url"])
    edited = {**got.json(), "description": "New", "id": 999, "created": "2001-01-01T00:00:00Z"}
    response = await client.put(
        category["url"], json=edited, headers={**write_headers, "If-Match": got.headers["etag"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "New"
    assert response.json()["id"] == category["id"]
    assert response.json()["created"] == category["created"]


async def test_patch_changes_only_what_is_given(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(
        client, write_headers, title="Apps", description="Reusable apps.", title_plural="Apps"
    )
    response = await client.patch(category["url"], json={"show_pypi": False}, headers=write_headers)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["show_pypi"] is False
    untouched = {k: v for k, v in category.items() if k not in {"show_pypi", "modified"}}
    assert {k: patched[k] for k in untouched} == untouched


async def test_a_no_op_patch_leaves_modified_and_the_etag_alone(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    etag = (await client.get(category["url"])).headers["etag"]
    for body in ({}, {"title": "Apps"}, {"slug": "apps", "show_pypi": True}):
        response = await client.patch(category["url"], json=body, headers=write_headers)
        assert response.status_code == 200
        assert response.json()["modified"] == category["modified"], body
        assert response.headers["etag"] == etag, body


@pytest.mark.parametrize("field", ["title", "slug", "description", "show_pypi"])
async def test_patching_a_field_to_null_is_422(
    client: httpx.AsyncClient, write_headers: Headers, field: str
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    response = await client.patch(category["url"], json={field: None}, headers=write_headers)
    assert response.status_code == 422, response.text
    assert _field_of(response) == field
    assert (await client.get(category["url"])).json() == category


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 51}, "title"),
        ({"title": "Apps", "slug": "not a slug"}, "slug"),
        ({"title": "Apps", "slug": "42"}, "slug"),
        ({"title": "Apps", "slug": "s" * 51}, "slug"),
        ({"title": "Apps", "title_plural": "x" * 51}, "title_plural"),
        ({"title": "Apps", "show_pypi": "sometimes"}, "show_pypi"),
        ({"title": "Apps", "colour": "blue"}, "colour"),
    ],
)
async def test_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, write_headers: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post(CATEGORIES, json=body, headers=write_headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await _list(client))["count"] == 0


async def test_malformed_json_is_400(client: httpx.AsyncClient, write_headers: Headers) -> None:
    response = await client.post(
        CATEGORIES,
        content=b'{"title": ',
        headers={**write_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


async def test_duplicate_slug_is_409_and_nothing_changes(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    apps = await create_category(client, write_headers, title="Apps")
    response = await client.post(CATEGORIES, json={"title": "APPS"}, headers=write_headers)
    assert response.status_code == 409, response.text
    assert _field_of(response) == "slug"
    tools = await create_category(client, write_headers, title="Tools")
    renamed = await client.patch(tools["url"], json={"slug": "apps"}, headers=write_headers)
    assert renamed.status_code == 409
    assert _field_of(renamed) == "slug"
    assert await _slugs(client) == ["tools", "apps"]
    assert (await client.get(apps["url"])).json() == apps


async def test_a_stale_if_match_is_412_and_a_current_one_is_200(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    stale = (await client.get(category["url"])).headers["etag"]
    first = await client.patch(
        category["url"], json={"description": "First"}, headers={**write_headers, "If-Match": stale}
    )
    assert first.status_code == 200
    for method, body in (("PATCH", {"description": "Second"}), ("PUT", {"title": "Second"})):
        refused = await client.request(
            method, category["url"], json=body, headers={**write_headers, "If-Match": stale}
        )
        assert refused.status_code == 412, method
    refused = await client.delete(category["url"], headers={**write_headers, "If-Match": stale})
    assert refused.status_code == 412
    assert (await client.get(category["url"])).json()["description"] == "First"
    current = first.headers["etag"]
    deleted = await client.delete(category["url"], headers={**write_headers, "If-Match": current})
    assert deleted.status_code == 204


async def test_a_category_in_use_cannot_be_deleted(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    apps = await create_category(client, write_headers, title="Apps")
    tools = await create_category(client, write_headers, title="Tools")
    package = await create_package(client, write_headers, title="Thing", category=apps["id"])
    response = await client.delete(apps["url"], headers=write_headers)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    assert "1 package" in response.json()["detail"]
    assert (await client.get(apps["url"])).json() == apps
    assert (await client.get(package["url"])).json()["category"] == apps["url"]
    # Once its package moves, it can go.
    moved = await client.patch(package["url"], json={"category": "tools"}, headers=write_headers)
    assert moved.json()["category"] == tools["url"]
    assert (await client.delete(apps["url"], headers=write_headers)).status_code == 204


async def test_deleting_an_unused_category_is_204_then_404(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Ephemeral")
    response = await client.delete(f"{CATEGORIES}ephemeral/", headers=write_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(category["url"])).status_code == 404
    assert (await client.delete(category["url"], headers=write_headers)).status_code == 404
    assert (await _list(client))["count"] == 0
    # The slug is free again.
    await create_category(client, write_headers, title="Ephemeral")
