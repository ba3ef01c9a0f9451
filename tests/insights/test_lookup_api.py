"""POST /api/v4/lookup/ through HTTP, on both databases: packages written through the API
(so pypi_name is kept by the write path), metadata as the refresher stores it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.models import Package
from tests.factories import create_category, create_package

URL = "/api/v4/lookup/"


async def directory(
    client: httpx.AsyncClient, connection: AsyncConnection, headers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    await create_category(client, headers, title="Apps", slug="apps")
    shop = await create_package(
        client,
        headers,
        title="django-SHOP",
        category="apps",
        repo_url="https://github.com/awesto/django-shop",
        pypi_url="https://pypi.org/project/Django_Shop/",
    )
    old = await create_package(
        client, headers, title="Old", category="apps", pypi_url="http://pypi.python.org/pypi/old"
    )
    await connection.execute(
        update(Package)
        .where(Package.id == shop["id"])
        .values(
            pypi_version="1.2.4",
            pypi_requires_python=">=3.10",
            pypi_classifiers=[
                "Framework :: Django :: 4.2",
                "Framework :: Django :: 5.0",
                "Programming Language :: Python :: 3.12",
            ],
        )
    )
    await connection.execute(
        update(Package)
        .where(Package.id == old["id"])
        .values(pypi_version="0.9", pypi_classifiers=["Framework :: Django :: 3.2"])
    )
    return {"shop": shop, "old": old}


async def test_items_by_name_url_and_purl_in_input_order(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    known = await directory(client, connection, write_headers)
    items = [
        "django.shop",
        "git@github.com:Awesto/django-shop.git",
        "pkg:pypi/django-shop@1.2",
        "pkg:github/awesto/django-shop",
        "https://pypi.org/project/old/",
        "not-here",
    ]

    response = await client.post(URL, json={"items": items, "django": "5.0", "python": "3.12"})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["query"] for r in results] == items
    assert [r["name"] for r in results] == [
        "django-shop",
        "https://github.com/awesto/django-shop",
        "django-shop",
        "https://github.com/awesto/django-shop",
        "old",
        "not-here",
    ]
    ids = [r["package"]["id"] if r["package"] else None for r in results]
    shop, old = known["shop"]["id"], known["old"]["id"]
    assert ids == [shop, shop, shop, shop, old, None]
    assert [r["compatible"] for r in results] == ["yes", "yes", "unknown", "yes", "no", "unknown"]
    assert results[0]["reasons"] == ["supports Django 5.0", "supports Python 3.12"]
    assert results[2]["reasons"][0] == (
        "asks for ==1.2, but only the latest release (1.2.4) is known here"
    )
    assert results[5]["reasons"] == ["not in this directory"]
    # The package is the resource itself, answers included.
    detail = (await client.get(f"/api/v4/packages/{shop}/")).json()
    assert results[0]["package"] == detail
    assert response.json()["skipped"] == []


# What a client might send that names no package: each answered in its place, saying why.
UNREADABLE = [
    ("django>=4.2", "is not a PyPI name, a repository URL or a PURL"),
    ("pkg:npm/left-pad", "pkg:npm names no Python package"),
    ("https://github.com/awesto", "must name an owner and a repository"),
    ("https://pypi.org/search/?q=shop", "is a page of PyPI that names no project"),
    ("awesto/django-shop", "is not a PyPI name, a repository URL or a PURL"),
]


async def test_an_item_that_names_no_package_is_answered_in_its_place(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    known = await directory(client, connection, write_headers)
    items = ["django-shop", *(item for item, _ in UNREADABLE), "old"]

    response = await client.post(URL, json={"items": items, "django": "5.0"})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["query"] for r in results] == items
    assert results[0]["package"]["id"] == known["shop"]["id"]
    assert results[-1]["package"]["id"] == known["old"]["id"]
    for result, (_item, why) in zip(results[1:-1], UNREADABLE, strict=True):
        assert result["package"] is None
        assert result["name"] == ""
        assert result["compatible"] == "unknown"
        [reason] = result["reasons"]
        assert reason.startswith("not looked up: the item ") and why in reason


async def test_a_requirements_file_is_read_as_pip_reads_it(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await directory(client, connection, write_headers)
    requirements = (
        "# pinned\n"
        "-r base.txt\n"
        "Django-Shop[stripe]>=1.0,<2 ; python_version >= '3.10' \\\n"
        "    --hash=sha256:" + "a" * 64 + "\n"
        "-e ./local\n"
        "old==0.9  # legacy\n"
    )

    response = await client.post(URL, json={"requirements": requirements, "django": "5.0"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["name"], r["compatible"]) for r in body["results"]] == [
        ("django-shop", "yes"),
        ("old", "no"),
    ]
    assert [(s["line"], s["text"]) for s in body["skipped"]] == [
        (2, "-r base.txt"),
        (5, "-e ./local"),
    ]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"requirements": "django\nthis is not\n"}, "requirements", "line 2"),
        ({"items": ["ok", " "]}, "items.1", "String should match pattern"),
        ({"items": ["ok", 7]}, "items.1", "valid string"),
        ({"items": "django"}, "items", "valid list"),
        ({"items": ["x"] * 101}, "items.100", "at most 100 items"),
        ({"items": ["x"], "django": "five"}, "django", "major.minor"),
        ({"items": ["x"], "requirements": "x"}, "items", "either"),
        ({}, "items", "either"),
    ],
)
async def test_bad_input_is_a_422_naming_the_line_or_item(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, says: str
) -> None:
    response = await client.post(URL, json=body)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and says in e["message"] for e in errors), errors


async def test_it_is_anonymous_and_bounded(client: httpx.AsyncClient) -> None:
    # No token needed; an oversized requirements text is refused before it is parsed.
    assert (await client.post(URL, json={"items": ["django"]})).status_code == 200
    huge = await client.post(URL, json={"requirements": "x\n" * 300_000})
    assert huge.status_code in {413, 422}


async def test_the_rate_limit_counts_lookups(
    app_factory: Any, settings: Settings, connection: AsyncConnection
) -> None:
    app = await app_factory(settings.model_copy(update={"write_rate_limit_per_ip": "2/minute"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        codes = [(await c.post(URL, json={"items": ["django"]})).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
