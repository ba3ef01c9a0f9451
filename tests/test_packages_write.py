"""Writing packages with a token: create, replace, patch, delete, and what protects each edit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.models import Package
from app.refresh.repository import Selection, claim
from app.services.tokens import TokenService
from tests.conftest import Databases, bound_sessionmaker
from tests.factories import create_category, create_grid, create_package

PACKAGES = "/api/v4/packages/"
Headers = dict[str, str]


async def _count(client: httpx.AsyncClient) -> int:
    response = await client.get(PACKAGES)
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


async def _category_id(client: httpx.AsyncClient, headers: Headers) -> int:
    return int((await create_category(client, headers, title="Apps"))["id"])


def _field_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["field"])


# Who may write.


async def test_reads_are_public(client: httpx.AsyncClient, write_headers: Headers) -> None:
    category = await _category_id(client, write_headers)
    package = await create_package(client, write_headers, title="Public", category=category)
    for url in (PACKAGES, package["url"], "/api/v4/categories/", f"/api/v4/categories/{category}/"):
        response = await client.get(url)
        assert response.status_code == 200, url


async def test_writing_without_a_token_is_401_with_a_challenge(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    package = await create_package(client, write_headers, title="Guarded", category=category)
    attempts = [
        client.post(PACKAGES, json={"title": "Anonymous", "category": category}),
        client.put(package["url"], json={"title": "Anonymous", "category": category}),
        client.patch(package["url"], json={"title": "Anonymous"}),
        client.delete(package["url"]),
        # Authentication comes before validation: an anonymous client learns nothing else.
        client.post(PACKAGES, json={"nonsense": True}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 401, response.request.method
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "unauthorized"
    assert await _count(client) == 1
    assert (await client.get(package["url"])).json()["title"] == "Guarded"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pkapi_not-a-real-token",
        "Token pkapi_not-a-real-token",
        "Basic dXNlcjpwYXNz",
        "Bearer",
    ],
)
async def test_a_bad_token_is_401(
    client: httpx.AsyncClient, write_headers: Headers, authorization: str
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES,
        json={"title": "Sneaky", "category": category},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert await _count(client) == 0


async def test_a_revoked_token_is_401(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    async with bound_sessionmaker(connection)() as session:
        await TokenService(session).revoke("writer")
        await session.commit()
    response = await client.post(
        PACKAGES, json={"title": "Late", "category": category}, headers=write_headers
    )
    assert response.status_code == 401


async def test_drf_token_spelling_is_accepted(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    token = write_headers["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        PACKAGES,
        json={"title": "Old client", "category": category},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.text


# Creating.


async def test_create_answers_201_with_location_etag_and_normalized_urls(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES,
        json={
            "title": "Django Shop",
            "category": category,
            "repo_url": "git@github.com:Owner/Repo.git",
            "pypi_url": "django-shop",
            "documentation_url": "https://django-shop.readthedocs.io/",
        },
        headers=write_headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["slug"] == "django-shop"
    assert created["repo_url"] == "https://github.com/owner/repo"
    assert created["repo_host"] == "github"
    assert created["pypi_url"] == "https://pypi.org/project/django-shop/"
    assert created["documentation_url"] == "https://django-shop.readthedocs.io/"
    assert created["category"] == f"http://testserver/api/v4/categories/{category}/"
    assert created["grids"] == []
    assert created["repo_watchers"] == 0
    assert created["deprecated_by"] is None
    assert response.headers["location"] == created["url"]
    assert created["url"] == f"http://testserver/api/v4/packages/{created['id']}/"
    # What the Location serves is what the POST answered, ETag included.
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == created
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    "spelling",
    [
        "https://github.com/owner/repo",
        "https://GitHub.com/Owner/Repo/",
        "http://www.github.com/owner/repo.git",
        "https://github.com/owner/repo/tree/main/src",
        "git@github.com:Owner/Repo.git",
        "ssh://git@github.com/owner/repo.git",
        "git+https://github.com/owner/repo",
    ],
)
async def test_repo_url_spellings_become_one_url(
    client: httpx.AsyncClient, write_headers: Headers, spelling: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(
        client, write_headers, title="Repo", category=category, repo_url=spelling
    )
    assert created["repo_url"] == "https://github.com/owner/repo"
    assert created["repo_host"] == "github"


@pytest.mark.parametrize(
    ("repo_url", "expected", "host"),
    [
        (
            "https://gitlab.com/Group/Sub/Project/-/tree/main",
            "https://gitlab.com/group/sub/project",
            "gitlab",
        ),
        ("https://codeberg.org/owner/repo.git", "https://codeberg.org/owner/repo", "forgejo"),
        ("https://git.example.org/owner/repo", "https://git.example.org/owner/repo", ""),
        ("", "", ""),
    ],
)
async def test_repo_host_follows_the_repository(
    client: httpx.AsyncClient, write_headers: Headers, repo_url: str, expected: str, host: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(
        client, write_headers, title="Forge", category=category, repo_url=repo_url
    )
    assert (created["repo_url"], created["repo_host"]) == (expected, host)


@pytest.mark.parametrize(
    ("title", "slug"),
    [("日本語", "untitled-77710aed"), ("1984", "1984-4dea5c7c"), ("Django SHOP", "django-shop")],
)
async def test_any_title_gets_a_slug_when_none_is_given(
    client: httpx.AsyncClient, write_headers: Headers, title: str, slug: str
) -> None:
    # No ASCII to keep, or only digits: a stable slug from the title's hash instead of a 422.
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title=title, category=category)
    assert (created["title"], created["slug"]) == (title, slug)
    assert (await client.get(f"{PACKAGES}{slug}/")).json()["id"] == created["id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repo_url", "not a url"),
        ("repo_url", "https://github.com/only-owner"),
        ("repo_url", "ftp://github.com/owner/repo"),
        ("pypi_url", "not a name!"),
        ("documentation_url", "docs.example.org"),
    ],
)
async def test_urls_that_are_not_urls_are_422_naming_the_field(
    client: httpx.AsyncClient, write_headers: Headers, field: str, value: str
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES, json={"title": "Bad", "category": category, field: value}, headers=write_headers
    )
    assert response.status_code == 422, response.text
    assert _field_of(response) == field
    assert await _count(client) == 0


@pytest.mark.parametrize("form", ["id", "id-as-text", "slug", "link", "slug-link"])
async def test_category_may_be_named_by_id_slug_or_our_hyperlink(
    client: httpx.AsyncClient, write_headers: Headers, form: str
) -> None:
    category = await create_category(client, write_headers, title="Apps", slug="apps")
    ref = {
        "id": category["id"],
        "id-as-text": str(category["id"]),
        "slug": "apps",
        "link": category["url"],
        "slug-link": "http://testserver/api/v4/categories/apps/",
    }[form]
    created = await create_package(client, write_headers, title="Ref", category=ref)
    assert created["category"] == category["url"]


@pytest.mark.parametrize(
    "ref",
    [
        "https://djangopackages.org/api/v4/categories/{id}/",
        "http://testserver/api/v4/grids/{id}/",
        "no-such-category",
        "987654",
    ],
)
async def test_a_category_reference_that_names_none_of_ours_is_422(
    client: httpx.AsyncClient, write_headers: Headers, ref: str
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES,
        json={"title": "Elsewhere", "category": ref.format(id=category)},
        headers=write_headers,
    )
    assert response.status_code == 422, response.text
    assert _field_of(response) == "category"
    assert await _count(client) == 0


async def test_duplicate_slug_is_409_and_nothing_is_added(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    await create_package(client, write_headers, title="Django Shop", category=category)
    # Same derived slug, different title case.
    response = await client.post(
        PACKAGES, json={"title": "django shop", "category": category}, headers=write_headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    assert _field_of(response) == "slug"
    assert await _count(client) == 1


async def test_duplicate_repository_in_another_spelling_is_409_and_nothing_is_added(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    await create_package(
        client,
        write_headers,
        title="One",
        category=category,
        repo_url="https://github.com/owner/repo",
    )
    response = await client.post(
        PACKAGES,
        json={"title": "Two", "category": category, "repo_url": "git@github.com:OWNER/repo.git"},
        headers=write_headers,
    )
    assert response.status_code == 409, response.text
    assert _field_of(response) == "repo_url"
    assert await _count(client) == 1


async def test_packages_without_a_repository_do_not_conflict(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    await create_package(client, write_headers, title="One", category=category)
    await create_package(client, write_headers, title="Two", category=category, repo_url="")
    assert await _count(client) == 2


async def test_renaming_onto_a_taken_slug_is_409_and_changes_nothing(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    await create_package(client, write_headers, title="Taken", category=category)
    other = await create_package(client, write_headers, title="Other", category=category)
    response = await client.patch(
        other["url"], json={"slug": "taken", "title": "Renamed"}, headers=write_headers
    )
    assert response.status_code == 409, response.text
    assert _field_of(response) == "slug"
    assert (await client.get(other["url"])).json() == other


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "CAT"}, "title"),
        ({"title": "", "category": "CAT"}, "title"),
        ({"title": "x" * 101, "category": "CAT"}, "title"),
        ({"title": "Fine"}, "category"),
        ({"title": "Fine", "category": "CAT", "slug": "has spaces"}, "slug"),
        ({"title": "Fine", "category": "CAT", "slug": "ünïcode"}, "slug"),
        ({"title": "Fine", "category": "CAT", "slug": "2024"}, "slug"),
        ({"title": "Fine", "category": "CAT", "slug": "s" * 101}, "slug"),
        ({"title": "Fine", "category": "CAT", "stars": 5}, "stars"),
        ({"title": "Fine", "category": True}, "category"),
        (
            {"title": "Fine", "category": "CAT", "date_deprecated": "2024-01-01T00:00:00"},
            "date_deprecated",
        ),
    ],
)
async def test_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, write_headers: Headers, body: dict[str, Any], field: str
) -> None:
    category = await _category_id(client, write_headers)
    body = {key: category if value == "CAT" else value for key, value in body.items()}
    response = await client.post(PACKAGES, json=body, headers=write_headers)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["status"] == 422
    assert error["code"] == "validation_error"
    assert field in [e["field"] for e in error["errors"]]
    assert all(e["location"] == "body" for e in error["errors"])
    assert await _count(client) == 0


@pytest.mark.parametrize("content", [b'{"title": "Broken", ', b"[1, 2", b"\xff\xfe", b"{'a': 1}"])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, write_headers: Headers, content: bytes
) -> None:
    response = await client.post(
        PACKAGES,
        content=content,
        headers={**write_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "bad_request"
    assert error["errors"][0]["location"] == "body"
    assert error["errors"][0]["field"] == "body"
    assert "not valid JSON" in error["detail"]
    assert await _count(client) == 0


async def test_an_empty_body_is_422_missing_body(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    response = await client.post(
        PACKAGES, content=b"", headers={**write_headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body"
    assert await _count(client) == 0


async def test_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    response = await client.post(PACKAGES, json=["title", "category"], headers=write_headers)
    assert response.status_code == 422
    assert await _count(client) == 0


@pytest.mark.parametrize("sent", ["with-content-length", "chunked"])
async def test_a_body_over_max_body_bytes_is_413_and_nothing_is_written(
    app_factory: Callable[[Settings], Awaitable[Any]],
    database_url: str,
    write_headers: Headers,
    sent: str,
) -> None:
    app = await app_factory(Settings(database_url=database_url, max_body_bytes=2048))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        category = await _category_id(client, write_headers)
        body = json.dumps({"title": "Big", "category": category}).encode()
        # Valid JSON, only too long: whitespace is what pushes it over the limit.
        padded = body[:-1] + b" " * 3000 + b"}"
        assert json.loads(padded) == json.loads(body)

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(padded), 500):
                yield padded[start : start + 500]

        content: bytes | AsyncIterator[bytes] = (
            padded if sent == "with-content-length" else stream()
        )
        headers = {**write_headers, "Content-Type": "application/json"}
        response = await client.post(PACKAGES, content=content, headers=headers)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "payload_too_large"
        assert await _count(client) == 0
        # The same record under the limit is welcome.
        response = await client.post(PACKAGES, content=body, headers=headers)
        assert response.status_code == 201, response.text


# Metrics belong to the refresher.


async def test_read_only_fields_in_a_body_are_accepted_and_ignored(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES,
        json={
            "title": "Honest",
            "category": category,
            "id": 424242,
            "repo_watchers": 99999,
            "repo_forks": 5,
            "score": 100,
            "created": "2001-01-01T00:00:00Z",
            "modified": "2001-01-01T00:00:00Z",
            "grids": ["http://testserver/api/v4/grids/1/"],
            "participants": ["mallory"],
            "url": "http://testserver/api/v4/packages/424242/",
        },
        headers=write_headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != 424242
    assert created["repo_watchers"] == 0
    assert created["repo_forks"] == 0
    assert created["score"] == 0
    assert created["grids"] == []
    assert created["participants"] == []
    assert dt.datetime.fromisoformat(created["created"]).year > 2001
    assert (await client.get("/api/v4/packages/424242/")).status_code == 404


async def test_put_back_what_you_got_works_and_keeps_the_metrics(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(
        client,
        write_headers,
        title="Round trip",
        category=category,
        repo_url="https://github.com/owner/round-trip",
        pypi_url="round-trip",
    )
    got = await client.get(created["url"])
    edited = {**got.json(), "title": "Round trip, edited", "repo_watchers": 12345}
    response = await client.put(
        created["url"], json=edited, headers={**write_headers, "If-Match": got.headers["etag"]}
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["title"] == "Round trip, edited"
    assert after["repo_watchers"] == 0
    unchanged = {k: v for k, v in created.items() if k not in {"title", "modified"}}
    assert {k: after[k] for k in unchanged} == unchanged


# Replacing and patching.


async def test_put_replaces_the_editable_fields_and_keeps_the_slug_when_omitted(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    apps = await _category_id(client, write_headers)
    tools = (await create_category(client, write_headers, title="Tools"))["id"]
    created = await create_package(
        client,
        write_headers,
        title="Full",
        slug="full-package",
        category=apps,
        repo_url="https://github.com/owner/full",
        pypi_url="full",
        documentation_url="https://full.readthedocs.io/",
    )
    response = await client.put(
        created["url"], json={"title": "Bare", "category": tools}, headers=write_headers
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["slug"] == "full-package"
    assert replaced["title"] == "Bare"
    assert replaced["category"] == f"http://testserver/api/v4/categories/{tools}/"
    assert (replaced["repo_url"], replaced["repo_host"]) == ("", "")
    assert replaced["pypi_url"] == ""
    assert replaced["documentation_url"] == ""
    assert replaced["id"] == created["id"]
    assert replaced["created"] == created["created"]
    assert (await client.get(created["url"])).json() == replaced


async def test_put_needs_a_whole_record(client: httpx.AsyncClient, write_headers: Headers) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Whole", category=category)
    response = await client.put(created["url"], json={"title": "Half"}, headers=write_headers)
    assert response.status_code == 422
    assert _field_of(response) == "category"
    assert (await client.get(created["url"])).json() == created


async def test_patch_changes_only_what_is_given(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(
        client,
        write_headers,
        title="Partial",
        category=category,
        repo_url="https://github.com/owner/partial",
        pypi_url="partial",
    )
    response = await client.patch(
        created["url"],
        json={"documentation_url": "https://partial.example.org/docs/"},
        headers=write_headers,
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["documentation_url"] == "https://partial.example.org/docs/"
    untouched = {k: v for k, v in created.items() if k not in {"documentation_url", "modified"}}
    assert {k: patched[k] for k in untouched} == untouched


async def test_patch_can_clear_the_repository(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(
        client,
        write_headers,
        title="Moved",
        category=category,
        repo_url="https://github.com/owner/moved",
    )
    response = await client.patch(created["url"], json={"repo_url": ""}, headers=write_headers)
    assert response.status_code == 200, response.text
    assert (response.json()["repo_url"], response.json()["repo_host"]) == ("", "")
    # The URL is free again for another package.
    await create_package(
        client,
        write_headers,
        title="Fork",
        category=category,
        repo_url="https://github.com/owner/moved",
    )


@pytest.mark.parametrize("field", ["title", "slug", "category", "repo_url"])
async def test_patching_a_required_field_to_null_is_422(
    client: httpx.AsyncClient, write_headers: Headers, field: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Nulls", category=category)
    response = await client.patch(created["url"], json={field: None}, headers=write_headers)
    assert response.status_code == 422, response.text
    assert _field_of(response) == field
    assert (await client.get(created["url"])).json() == created


async def test_modified_moves_on_a_change_and_not_on_a_no_op(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Clock", category=category)
    etag = (await client.get(created["url"])).headers["etag"]
    for no_op in ({}, {"title": "Clock"}, {"category": category, "slug": created["slug"]}):
        response = await client.patch(created["url"], json=no_op, headers=write_headers)
        assert response.status_code == 200, response.text
        assert response.json()["modified"] == created["modified"], no_op
        assert response.headers["etag"] == etag, no_op
    changed = await client.patch(created["url"], json={"title": "Tock"}, headers=write_headers)
    assert changed.status_code == 200
    modified = dt.datetime.fromisoformat(changed.json()["modified"])
    assert modified > dt.datetime.fromisoformat(created["modified"])
    assert changed.json()["created"] == created["created"]
    assert changed.headers["etag"] != etag


async def test_writes_to_a_missing_package_are_404(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    url = f"{PACKAGES}no-such-package/"
    body = {"title": "Ghost", "category": category}
    for response in (
        await client.put(url, json=body, headers=write_headers),
        await client.patch(url, json=body, headers=write_headers),
        await client.delete(url, headers=write_headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert await _count(client) == 0


# If-Match: no lost updates.


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_a_stale_if_match_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, write_headers: Headers, method: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Shared", category=category)
    stale = (await client.get(created["url"])).headers["etag"]
    first = await client.patch(
        created["url"], json={"title": "Mine"}, headers={**write_headers, "If-Match": stale}
    )
    assert first.status_code == 200
    second = await client.request(
        method,
        created["url"],
        json={"title": "Theirs", "category": category},
        headers={**write_headers, "If-Match": stale},
    )
    assert second.status_code == 412, second.text
    assert second.json()["code"] == "precondition_failed"
    current = await client.get(created["url"])
    assert current.json()["title"] == "Mine"
    assert current.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize(
    "if_match",
    ["{current}", '"stale", {current}', "*"],
)
async def test_a_matching_if_match_lets_the_edit_through(
    client: httpx.AsyncClient, write_headers: Headers, if_match: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Shared", category=category)
    current = (await client.get(created["url"])).headers["etag"]
    response = await client.patch(
        created["url"],
        json={"title": "Edited"},
        headers={**write_headers, "If-Match": if_match.format(current=current)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Edited"


async def test_a_weak_etag_never_matches_if_match(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Weak", category=category)
    current = (await client.get(created["url"])).headers["etag"]
    response = await client.patch(
        created["url"], json={"title": "X"}, headers={**write_headers, "If-Match": f"W/{current}"}
    )
    assert response.status_code == 412


async def test_if_match_guards_delete(client: httpx.AsyncClient, write_headers: Headers) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Doomed", category=category)
    stale = (await client.get(created["url"])).headers["etag"]
    edited = await client.patch(created["url"], json={"title": "Saved"}, headers=write_headers)
    refused = await client.delete(created["url"], headers={**write_headers, "If-Match": stale})
    assert refused.status_code == 412
    assert (await client.get(created["url"])).json()["title"] == "Saved"
    current = edited.headers["etag"]
    deleted = await client.delete(created["url"], headers={**write_headers, "If-Match": current})
    assert deleted.status_code == 204
    assert (await client.get(created["url"])).status_code == 404


# Deleting.


async def test_delete_is_204_then_the_package_is_gone(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Short lived", category=category)
    response = await client.delete(f"{PACKAGES}{created['slug']}/", headers=write_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(created["url"])).status_code == 404
    assert (await client.delete(created["url"], headers=write_headers)).status_code == 404
    assert await _count(client) == 0
    # Its slug is free again.
    await create_package(client, write_headers, title="Short lived", category=category)


async def test_deleting_a_package_takes_it_out_of_its_grids(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    leaving = await create_package(client, write_headers, title="Leaving", category=category)
    staying = await create_package(client, write_headers, title="Staying", category=category)
    grid = await create_grid(
        client, write_headers, title="Compared", packages=[leaving["id"], staying["id"]]
    )
    assert sorted(grid["packages"]) == sorted([leaving["url"], staying["url"]])
    assert (await client.get(leaving["url"])).json()["grids"] == [grid["url"]]
    response = await client.delete(leaving["url"], headers=write_headers)
    assert response.status_code == 204, response.text
    assert (await client.get(grid["url"])).json()["packages"] == [staying["url"]]
    members = (await client.get(f"{PACKAGES}?grid={grid['id']}")).json()
    assert [p["id"] for p in members["results"]] == [staying["id"]]
    assert (await client.get(staying["url"])).json()["grids"] == [grid["url"]]


async def test_deleting_a_replacement_keeps_the_deprecated_package(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    old = await create_package(client, write_headers, title="Old", category=category)
    new = await create_package(client, write_headers, title="New", category=category)
    response = await client.patch(
        old["url"],
        json={"deprecated_by": new["slug"], "date_deprecated": "2024-05-01T12:00:00Z"},
        headers=write_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["deprecated_by"] == new["url"]
    assert (await client.delete(new["url"], headers=write_headers)).status_code == 204
    kept = await client.get(old["url"])
    assert kept.status_code == 200
    assert kept.json()["deprecated_by"] is None
    assert dt.datetime.fromisoformat(kept.json()["date_deprecated"]) == dt.datetime(
        2024, 5, 1, 12, tzinfo=dt.UTC
    )


# Deprecation.


@pytest.mark.parametrize("form", ["id", "slug", "link"])
async def test_deprecated_by_names_another_package_by_id_slug_or_link(
    client: httpx.AsyncClient, write_headers: Headers, form: str
) -> None:
    category = await _category_id(client, write_headers)
    new = await create_package(client, write_headers, title="Successor", category=category)
    ref = {"id": new["id"], "slug": new["slug"], "link": new["url"]}[form]
    old = await create_package(
        client, write_headers, title="Predecessor", category=category, deprecated_by=ref
    )
    assert old["deprecated_by"] == new["url"]
    cleared = await client.patch(old["url"], json={"deprecated_by": None}, headers=write_headers)
    assert cleared.json()["deprecated_by"] is None


@pytest.mark.parametrize("form", ["id", "slug", "link"])
async def test_a_package_cannot_be_deprecated_by_itself(
    client: httpx.AsyncClient, write_headers: Headers, form: str
) -> None:
    category = await _category_id(client, write_headers)
    created = await create_package(client, write_headers, title="Narcissus", category=category)
    ref = {"id": created["id"], "slug": created["slug"], "link": created["url"]}[form]
    for method, body in (
        ("PATCH", {"deprecated_by": ref}),
        ("PUT", {"title": "Narcissus", "category": category, "deprecated_by": ref}),
    ):
        response = await client.request(method, created["url"], json=body, headers=write_headers)
        assert response.status_code == 422, response.text
        assert _field_of(response) == "deprecated_by"
    assert (await client.get(created["url"])).json() == created


async def test_deprecated_by_an_unknown_package_is_422(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await _category_id(client, write_headers)
    response = await client.post(
        PACKAGES,
        json={"title": "Orphan", "category": category, "deprecated_by": "nobody"},
        headers=write_headers,
    )
    assert response.status_code == 422
    assert _field_of(response) == "deprecated_by"
    assert await _count(client) == 0


# Concurrency: separate apps, engines and connections on one database, as two workers.


async def _live_token(url: str, name: str) -> str:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session:
            _, plain = await TokenService(session).create(name, "write")
            await session.commit()
    finally:
        await engine.dispose()
    return plain


async def _live_clients(
    stack: AsyncExitStack, databases: Databases, count: int
) -> list[tuple[httpx.AsyncClient, Headers]]:
    """`count` clients, each on its own app and engine (disposed by the lifespan's exit)."""
    url = await databases.fresh()
    clients = []
    for number in range(count):
        app = create_app(Settings(database_url=url))
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )
        # One token each, so the two requests share no row but the one they race for.
        token = await _live_token(url, f"worker-{number}")
        clients.append((client, {"Authorization": f"Bearer {token}"}))
    return clients


async def test_concurrent_edits_with_the_same_if_match_one_wins_one_is_412(
    databases: Databases,
) -> None:
    async with AsyncExitStack() as stack:
        (alice, alice_auth), (bob, bob_auth) = await _live_clients(stack, databases, 2)
        category = await _category_id(alice, alice_auth)
        created = await create_package(alice, alice_auth, title="Contested", category=category)
        for round_number in range(5):
            etag = (await alice.get(created["url"])).headers["etag"]
            responses = await asyncio.gather(
                alice.patch(
                    created["url"],
                    json={"title": f"Alice {round_number}"},
                    headers={**alice_auth, "If-Match": etag},
                ),
                bob.patch(
                    created["url"],
                    json={"title": f"Bob {round_number}"},
                    headers={**bob_auth, "If-Match": etag},
                ),
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200, 412], [r.text for r in responses]
            winner = next(r for r in responses if r.status_code == 200)
            current = await bob.get(created["url"])
            assert current.json()["title"] == winner.json()["title"]
            assert current.headers["etag"] == winner.headers["etag"]


async def test_concurrent_creations_with_the_same_slug_one_wins_one_is_409(
    databases: Databases,
) -> None:
    async with AsyncExitStack() as stack:
        (alice, alice_auth), (bob, bob_auth) = await _live_clients(stack, databases, 2)
        category = await _category_id(alice, alice_auth)
        for round_number in range(5):
            slug = f"race-{round_number}"
            responses = await asyncio.gather(
                alice.post(
                    PACKAGES,
                    json={"title": "Alice", "slug": slug, "category": category},
                    headers=alice_auth,
                ),
                bob.post(
                    PACKAGES,
                    json={"title": "Bob", "slug": slug, "category": category},
                    headers=bob_auth,
                ),
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [201, 409], [r.text for r in responses]
            loser = next(r for r in responses if r.status_code == 409)
            assert _field_of(loser) == "slug"
        assert await _count(bob) == 5


# A new repository or PyPI project starts the refresher afresh.


async def _refreshed_long_ago_then_failing(connection: AsyncConnection, package_id: int) -> None:
    """What a refresher leaves: a recent fetch's ETags, then failures and a back-off."""
    now = dt.datetime.now(dt.UTC)
    await connection.execute(
        update(Package)
        .where(Package.id == package_id)
        .values(
            last_fetched=now - dt.timedelta(hours=1),
            refresh_etags={"repo": '"old"'},
            refresh_pypi_etag='"old-pypi"',
            refresh_retry_at=now + dt.timedelta(days=7),
            refresh_failures=8,
            refresh_error="HTTP 404 (the old repository is gone)",
            refresh_error_at=now,
        )
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("repo_url", "https://github.com/owner/corrected"), ("pypi_url", "corrected")],
)
async def test_a_corrected_url_is_the_refreshers_next_package(
    client: httpx.AsyncClient,
    write_headers: Headers,
    connection: AsyncConnection,
    field: str,
    value: str,
) -> None:
    category = await _category_id(client, write_headers)
    older = await create_package(client, write_headers, title="Older", category=category)
    stale = await create_package(client, write_headers, title="Stale", category=category)
    typo = await create_package(
        client,
        write_headers,
        title="Typo",
        category=category,
        repo_url="https://github.com/owner/typo",
        pypi_url="typo",
    )
    await connection.execute(
        update(Package)
        .where(Package.id.in_([older["id"], stale["id"]]))
        .values(last_fetched=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    )
    await _refreshed_long_ago_then_failing(connection, typo["id"])

    response = await client.patch(typo["url"], json={field: value}, headers=write_headers)

    assert response.status_code == 200, response.text
    assert response.json()["last_fetched"] is None
    async with bound_sessionmaker(connection)() as session:
        [first] = await claim(
            session,
            owner="test",
            selection=Selection(),
            now=dt.datetime.now(dt.UTC),
            run_started=None,
            lease=dt.timedelta(minutes=5),
            limit=1,
        )
    assert first.id == typo["id"]
    assert (first.etags, first.pypi_etag) == ({}, None)
    row = (
        await connection.execute(
            select(
                Package.refresh_etags.is_(None),
                Package.refresh_retry_at,
                Package.refresh_failures,
                Package.refresh_error,
                Package.refresh_error_at,
            ).where(Package.id == typo["id"])
        )
    ).one()
    # As a package never fetched: SQL NULL ETags, no back-off, no error.
    assert tuple(row) == (True, None, 0, "", None)


async def test_an_edit_that_keeps_the_urls_keeps_the_refreshers_state(
    client: httpx.AsyncClient, write_headers: Headers, connection: AsyncConnection
) -> None:
    category = await _category_id(client, write_headers)
    package = await create_package(
        client,
        write_headers,
        title="Steady",
        category=category,
        repo_url="https://github.com/owner/steady",
    )
    await _refreshed_long_ago_then_failing(connection, package["id"])

    # The same repository spelled differently is the same repository.
    response = await client.put(
        package["url"],
        json={"title": "Steady!", "category": category, "repo_url": "git@github.com:Owner/Steady"},
        headers=write_headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["last_fetched"] is not None
    etags, failures = (
        await connection.execute(
            select(Package.refresh_etags, Package.refresh_failures).where(
                Package.id == package["id"]
            )
        )
    ).one()
    assert (etags, failures) == ({"repo": '"old"'}, 8)
