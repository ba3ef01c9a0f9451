"""Comparison grids as their editors and readers use them: the grid, its packages, its
features and cells, the table, locks and conditional edits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import StatementCounter
from tests.factories import create_category, create_grid, create_package

API = "http://testserver/api/v4"
Headers = dict[str, str]


async def _packages(
    client: httpx.AsyncClient, headers: Headers, count: int
) -> list[dict[str, Any]]:
    """`count` packages titled `Package 01`..., in a fresh category."""
    category = await create_category(client, headers, title="Apps", slug="apps")
    return [
        await create_package(
            client, headers, title=f"Package {n:02d}", slug=f"package-{n}", category=category["id"]
        )
        for n in range(1, count + 1)
    ]


async def _feature(
    client: httpx.AsyncClient, headers: Headers, grid: dict[str, Any], title: str
) -> dict[str, Any]:
    response = await client.post(grid["features"], json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _element_url(grid: dict[str, Any], feature: dict[str, Any], package: dict[str, Any]) -> str:
    return f"{API}/grids/{grid['id']}/features/{feature['id']}/elements/{package['id']}/"


async def _get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _field_error(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] == response.status_code
    assert len(body["errors"]) == 1, body
    return str(body["errors"][0]["field"])


# The grid resource.


async def test_grid_has_the_original_keys_in_order_then_ours(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    packages = await _packages(client, write_headers, 2)
    created = await create_grid(
        client,
        write_headers,
        title="Shops",
        description="E-commerce",
        packages=[p["id"] for p in packages],
    )
    grid = await _get(client, f"/api/v4/grids/{created['id']}/")
    assert list(grid) == [
        "id",
        "title",
        "slug",
        "description",
        "is_locked",
        "packages",
        "header",
        "created",
        "modified",
        "url",
        "features",
        "table",
    ]
    url = f"{API}/grids/{grid['id']}/"
    assert grid["slug"] == "shops"
    assert grid["description"] == "E-commerce"
    assert grid["is_locked"] is False
    assert grid["header"] is False
    assert grid["packages"] == [f"{API}/packages/{p['id']}/" for p in packages]
    assert grid["url"] == url
    assert grid["features"] == f"{url}features/"
    assert grid["table"] == f"{url}table/"
    assert created == grid


async def test_grid_list_is_newest_first_and_paginated_like_drf(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    ids = [(await create_grid(client, write_headers, title=f"Grid {n}"))["id"] for n in range(5)]
    body = await _get(client, "/api/v4/grids/?limit=2")
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 5
    assert [g["id"] for g in body["results"]] == sorted(ids, reverse=True)[:2]
    assert body["next"] == f"{API}/grids/?limit=2&offset=2"
    assert body["previous"] is None
    last = await _get(client, body["next"].replace("offset=2", "offset=4"))
    assert [g["id"] for g in last["results"]] == [min(ids)]
    assert last["next"] is None
    assert last["previous"] == f"{API}/grids/?limit=2&offset=2"


async def test_grid_list_orders_by_title_and_refuses_unknown_fields(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    for title in ("Blogs", "Shops", "Admin"):
        await create_grid(client, write_headers, title=title)
    body = await _get(client, "/api/v4/grids/?ordering=title")
    assert [g["title"] for g in body["results"]] == ["Admin", "Blogs", "Shops"]
    body = await _get(client, "/api/v4/grids/?ordering=-title")
    assert [g["title"] for g in body["results"]] == ["Shops", "Blogs", "Admin"]
    response = await client.get("/api/v4/grids/?ordering=packages")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "location": "query",
        "field": "ordering",
        "message": "cannot order by 'packages'; choose from id, title",
    }


async def test_grid_detail_by_id_and_by_slug_is_the_same_resource(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    grid = await create_grid(client, write_headers, title="Admin Interfaces")
    by_id = await client.get(f"/api/v4/grids/{grid['id']}/")
    by_slug = await client.get("/api/v4/grids/admin-interfaces/")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json() == grid
    assert by_id.headers["etag"] == by_slug.headers["etag"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v4/grids/404/",
        "/api/v4/grids/no-such-grid/",
        "/api/v4/grids/99999999999999999999/",
        "/api/v4/grids/no-such-grid/table/",
        "/api/v4/grids/no-such-grid/packages/",
        "/api/v4/grids/no-such-grid/features/",
        "/api/v4/grids/shops/features/404/",
        "/api/v4/grids/shops/features/99999999999999999999/",
    ],
)
async def test_missing_grid_is_a_404_with_the_error_body(
    client: httpx.AsyncClient, write_headers: Headers, path: str
) -> None:
    await create_grid(client, write_headers, title="Shops")
    response = await client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"


# Writing grids.


async def test_writing_a_grid_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v4/grids/", json={"title": "Shops"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert (await _get(client, "/api/v4/grids/"))["count"] == 0


async def test_packages_in_a_body_set_the_membership_exactly(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    one, two, three, four = await _packages(client, write_headers, 4)
    # An id, a slug and our hyperlink, mixed; a package named twice is in the grid once.
    grid = await create_grid(
        client,
        write_headers,
        title="Shops",
        packages=[one["id"], two["slug"], three["url"], one["slug"]],
    )
    assert grid["packages"] == [one["url"], two["url"], three["url"]]
    url = grid["url"]

    patched = await client.patch(
        url, json={"packages": [four["url"], str(two["id"])]}, headers=write_headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["packages"] == [two["url"], four["url"]]

    # PUT without `packages` edits the fields and leaves the membership alone.
    replaced = await client.put(url, json={"title": "Online shops"}, headers=write_headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Online shops"
    assert replaced.json()["slug"] == "shops"
    assert replaced.json()["packages"] == [two["url"], four["url"]]

    # What a client GETs it can PUT back, with its own change.
    current = await _get(client, url)
    current["packages"] = [three["url"]]
    current["description"] = "Carts and checkouts"
    replaced = await client.put(url, json=current, headers=write_headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["packages"] == [three["url"]]
    assert replaced.json()["description"] == "Carts and checkouts"

    emptied = await client.patch(url, json={"packages": []}, headers=write_headers)
    assert emptied.json()["packages"] == []
    assert (await _get(client, three["url"]))["grids"] == []


@pytest.mark.parametrize(
    ("refs", "field"),
    [
        (["package-1", 999], "packages.1"),
        (["package-1", "package-2", "no-such-package"], "packages.2"),
        (["package-1", f"{API}/packages/no-such-package/"], "packages.1"),
        (["package-1", f"{API}/categories/1/"], "packages.1"),
        (["package-1", "https://djangopackages.org/api/v4/packages/1/"], "packages.1"),
        ([True], "packages.0"),
    ],
)
async def test_an_unknown_package_refuses_the_new_grid_and_writes_nothing(
    client: httpx.AsyncClient, write_headers: Headers, refs: list[Any], field: str
) -> None:
    await _packages(client, write_headers, 2)
    response = await client.post(
        "/api/v4/grids/", json={"title": "Shops", "packages": refs}, headers=write_headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert _field_error(response) == field
    assert (await _get(client, "/api/v4/grids/"))["count"] == 0
    assert (await client.get("/api/v4/grids/shops/")).status_code == 404
    assert (await _get(client, "/api/v4/packages/package-1/"))["grids"] == []


async def test_an_unknown_package_leaves_the_grid_as_it_was(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    one, two = await _packages(client, write_headers, 2)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"]])
    for method, body in [
        ("PATCH", {"title": "Renamed", "packages": [two["id"], "nope"]}),
        ("PUT", {"title": "Renamed", "packages": [two["id"], 12345]}),
    ]:
        response = await client.request(method, grid["url"], json=body, headers=write_headers)
        assert response.status_code == 422, response.text
        assert _field_error(response) == "packages.1"
        assert await _get(client, grid["url"]) == grid
    assert (await _get(client, two["url"]))["grids"] == []


async def test_a_description_over_1000_characters_is_refused(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    response = await client.post(
        "/api/v4/grids/", json={"title": "Shops", "description": "x" * 1001}, headers=write_headers
    )
    assert response.status_code == 422
    assert _field_error(response) == "description"
    grid = await create_grid(client, write_headers, title="Shops", description="x" * 1000)
    response = await client.patch(
        grid["url"], json={"description": "y" * 1001}, headers=write_headers
    )
    assert response.status_code == 422
    assert (await _get(client, grid["url"]))["description"] == "x" * 1000


async def test_a_duplicate_slug_is_a_conflict_naming_slug(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    await create_grid(client, write_headers, title="Shops")
    other = await create_grid(client, write_headers, title="Blogs")
    for method, url, body in [
        ("POST", "/api/v4/grids/", {"title": "Shops"}),
        ("POST", "/api/v4/grids/", {"title": "Anything", "slug": "shops"}),
        ("PATCH", other["url"], {"slug": "shops"}),
        ("PUT", other["url"], {"title": "Blogs", "slug": "shops"}),
    ]:
        response = await client.request(method, url, json=body, headers=write_headers)
        assert response.status_code == 409, (method, response.text)
        assert response.json()["code"] == "conflict"
        assert _field_error(response) == "slug"
    assert (await _get(client, "/api/v4/grids/"))["count"] == 2
    assert (await _get(client, other["url"]))["slug"] == "blogs"


async def test_deleting_a_grid_leaves_its_packages_alone(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    one, two = await _packages(client, write_headers, 2)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"], two["id"]])
    feature = await _feature(client, write_headers, grid, "Payments")
    put = await client.put(
        _element_url(grid, feature, one), json={"text": "Stripe"}, headers=write_headers
    )
    assert put.status_code == 201
    assert (await _get(client, one["url"]))["grids"] == [grid["url"]]

    response = await client.delete(grid["url"], headers=write_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(grid["url"])).status_code == 404
    assert (await client.get(feature["url"])).status_code == 404
    for package in (one, two):
        kept = await _get(client, package["url"])
        assert kept["title"] == package["title"]
        assert kept["grids"] == []
    assert (await _get(client, "/api/v4/packages/"))["count"] == 2


# The grid's packages.


async def test_adding_listing_and_removing_a_grid_package(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    one, two = await _packages(client, write_headers, 2)
    grid = await create_grid(client, write_headers, title="Shops")
    members = f"{grid['url']}packages/"

    added = await client.post(members, json={"package": one["slug"]}, headers=write_headers)
    assert added.status_code == 201, added.text
    membership_url = f"{members}{one['id']}/"
    assert added.headers["location"] == membership_url
    assert added.json()["url"] == membership_url
    assert added.json()["package"] == one["url"]
    assert added.json()["grid"] == grid["url"]
    again = await client.post(members, json={"package": one["url"]}, headers=write_headers)
    assert again.status_code == 409
    assert _field_error(again) == "package"
    second = await client.post(members, json={"package": two["id"]}, headers=write_headers)
    assert second.status_code == 201

    listing = await _get(client, members)
    assert listing["count"] == 2
    assert [p["id"] for p in listing["results"]] == [two["id"], one["id"]]
    # Full package resources, as /packages/ lists them.
    assert listing["results"][1] == await _get(client, one["url"])
    assert listing["results"][1]["grids"] == [grid["url"]]

    by_id = await _get(client, membership_url)
    by_slugs = await _get(client, f"/api/v4/grids/shops/packages/{one['slug']}/")
    assert by_id == by_slugs == added.json()

    removed = await client.delete(membership_url, headers=write_headers)
    assert removed.status_code == 204
    assert (await client.get(membership_url)).status_code == 404
    assert (await client.delete(membership_url, headers=write_headers)).status_code == 404
    package = await _get(client, one["url"])
    assert package["grids"] == []
    assert (await _get(client, grid["url"]))["packages"] == [two["url"]]
    assert (await _get(client, members))["count"] == 1


async def test_adding_an_unknown_package_to_a_grid_is_422(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    grid = await create_grid(client, write_headers, title="Shops")
    response = await client.post(
        f"{grid['url']}packages/", json={"package": "nope"}, headers=write_headers
    )
    assert response.status_code == 422
    assert _field_error(response) == "package"
    assert (await _get(client, grid["url"]))["packages"] == []


async def test_a_package_outside_the_grid_has_no_membership(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops")
    assert (await client.get(f"{grid['url']}packages/{one['id']}/")).status_code == 404
    assert (await client.get(f"{grid['url']}packages/nope/")).status_code == 404
    response = await client.delete(f"{grid['url']}packages/{one['id']}/", headers=write_headers)
    assert response.status_code == 404


# Features and elements.


async def test_editing_a_grids_features(client: httpx.AsyncClient, write_headers: Headers) -> None:
    grid = await create_grid(client, write_headers, title="Shops")
    empty = await client.get(grid["features"])
    assert empty.status_code == 200
    assert empty.json() == []

    created = await client.post(
        grid["features"],
        json={"title": "Payments", "description": "Gateways"},
        headers=write_headers,
    )
    assert created.status_code == 201, created.text
    feature = created.json()
    assert list(feature) == ["id", "url", "grid", "title", "description", "created", "modified"]
    assert feature["url"] == f"{grid['url']}features/{feature['id']}/"
    assert created.headers["location"] == feature["url"]
    assert feature["grid"] == grid["url"]
    assert feature["title"] == "Payments"
    second = await _feature(client, write_headers, grid, "Shipping")

    listing = await client.get(grid["features"])
    assert listing.json() == [feature, second]
    assert await _get(client, feature["url"]) == feature

    replaced = await client.put(feature["url"], json={"title": "Payment"}, headers=write_headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Payment"
    assert replaced.json()["description"] == ""
    patched = await client.patch(
        feature["url"], json={"description": "Which gateways"}, headers=write_headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Payment"
    assert patched.json()["description"] == "Which gateways"
    refused = await client.patch(feature["url"], json={"title": None}, headers=write_headers)
    assert refused.status_code == 422
    assert _field_error(refused) == "title"

    deleted = await client.delete(feature["url"], headers=write_headers)
    assert deleted.status_code == 204
    assert (await client.get(feature["url"])).status_code == 404
    assert [f["id"] for f in (await client.get(grid["features"])).json()] == [second["id"]]


async def test_writing_reading_and_clearing_a_cell(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"]])
    feature = await _feature(client, write_headers, grid, "Payments")
    url = _element_url(grid, feature, one)
    assert (await client.get(url)).status_code == 404

    first = await client.put(url, json={"text": "Stripe"}, headers=write_headers)
    assert first.status_code == 201, first.text
    element = first.json()
    assert list(element) == [
        "url",
        "grid",
        "feature",
        "package",
        "text",
        "created",
        "modified",
    ]
    assert element["url"] == url
    assert element["feature"] == feature["url"]
    assert element["package"] == one["url"]
    assert element["grid"] == grid["url"]
    assert element["text"] == "Stripe"

    again = await client.put(url, json={"text": "Stripe, PayPal"}, headers=write_headers)
    assert again.status_code == 200
    assert again.json()["text"] == "Stripe, PayPal"
    by_slug = f"{grid['url']}features/{feature['id']}/elements/{one['slug']}/"
    assert (await _get(client, by_slug))["text"] == "Stripe, PayPal"

    assert (await client.delete(url, headers=write_headers)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url, headers=write_headers)).status_code == 404


async def test_cells_exist_only_for_the_grids_packages_and_features(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    inside, outside = await _packages(client, write_headers, 2)
    grid = await create_grid(client, write_headers, title="Shops", packages=[inside["id"]])
    other = await create_grid(client, write_headers, title="Blogs", packages=[inside["id"]])
    feature = await _feature(client, write_headers, grid, "Payments")
    foreign = await _feature(client, write_headers, other, "Comments")

    not_member = await client.put(
        _element_url(grid, feature, outside), json={"text": "x"}, headers=write_headers
    )
    assert not_member.status_code == 404
    assert (await client.get(_element_url(grid, feature, outside))).status_code == 404

    wrong_grid = _element_url(grid, foreign, inside)
    assert (
        await client.put(wrong_grid, json={"text": "x"}, headers=write_headers)
    ).status_code == 404
    assert (await client.get(wrong_grid)).status_code == 404
    foreign_in_grid = f"{grid['url']}features/{foreign['id']}/"
    assert (await client.get(foreign_in_grid)).status_code == 404
    for method, body in [("PUT", {"title": "x"}), ("PATCH", {"title": "x"}), ("DELETE", None)]:
        response = await client.request(method, foreign_in_grid, json=body, headers=write_headers)
        assert response.status_code == 404, method
    assert (await _get(client, foreign["url"]))["title"] == "Comments"
    table = await _get(client, other["table"])
    assert table["features"][0]["elements"] == [None]


# The comparison table.


async def test_table_aligns_each_features_cells_with_the_packages(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    packages = await _packages(client, write_headers, 3)
    # Columns come by title, whatever order the grid was given them in.
    grid = await create_grid(
        client, write_headers, title="Shops", packages=[p["id"] for p in reversed(packages)]
    )
    payments = await _feature(client, write_headers, grid, "Payments")
    shipping = await _feature(client, write_headers, grid, "Shipping")
    cells = {
        (payments["id"], packages[0]["id"]): "Stripe",
        (payments["id"], packages[2]["id"]): "PayPal",
        (shipping["id"], packages[1]["id"]): "DHL",
    }
    for (feature_id, package_id), text in cells.items():
        url = f"{grid['url']}features/{feature_id}/elements/{package_id}/"
        response = await client.put(url, json={"text": text}, headers=write_headers)
        assert response.status_code == 201

    table = await _get(client, grid["table"])
    assert table["grid"] == grid["url"]
    assert table["title"] == "Shops"
    assert [p["id"] for p in table["packages"]] == [p["id"] for p in packages]
    assert table["packages"][0]["url"] == packages[0]["url"]
    assert table["packages"][0]["title"] == "Package 01"
    assert [f["title"] for f in table["features"]] == ["Payments", "Shipping"]
    assert table["features"][0]["url"] == payments["url"]
    assert table["features"][0]["elements"] == ["Stripe", None, "PayPal"]
    assert table["features"][1]["elements"] == [None, "DHL", None]


async def test_empty_grid_has_an_empty_table(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    grid = await create_grid(client, write_headers, title="Shops")
    table = await _get(client, grid["table"])
    assert table["packages"] == []
    assert table["features"] == []
    await _feature(client, write_headers, grid, "Payments")
    table = await _get(client, grid["table"])
    assert table["features"][0]["elements"] == []


async def _filled_grid(
    client: httpx.AsyncClient,
    headers: Headers,
    title: str,
    packages: list[dict[str, Any]],
    rows: int,
) -> dict[str, Any]:
    grid = await create_grid(client, headers, title=title, packages=[p["id"] for p in packages])
    for row in range(rows):
        feature = await _feature(client, headers, grid, f"Feature {row}")
        for package in packages:
            url = _element_url(grid, feature, package)
            response = await client.put(
                url, json={"text": f"{row}/{package['id']}"}, headers=headers
            )
            assert response.status_code == 201
    return grid


async def test_table_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, write_headers: Headers, count_statements: StatementCounter
) -> None:
    packages = await _packages(client, write_headers, 10)
    small = await _filled_grid(client, write_headers, "Small", packages[:2], rows=2)
    large = await _filled_grid(client, write_headers, "Large", packages, rows=8)
    costs = []
    for grid, shape in ((small, (2, 2)), (large, (10, 8))):
        count_statements.statements.clear()
        table = await _get(client, grid["table"])
        costs.append(count_statements.count)
        assert (len(table["packages"]), len(table["features"])) == shape
        assert all(None not in feature["elements"] for feature in table["features"])
    assert costs[0] == costs[1], count_statements.statements
    assert costs[0] <= 5, count_statements.statements


async def test_removing_a_package_from_a_grid_removes_its_cells(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    one, two = await _packages(client, write_headers, 2)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"], two["id"]])
    feature = await _feature(client, write_headers, grid, "Payments")
    for package in (one, two):
        url = _element_url(grid, feature, package)
        await client.put(url, json={"text": package["slug"]}, headers=write_headers)
    members = f"{grid['url']}packages/"

    # Through the membership endpoint, then back in: the cell starts empty again.
    await client.delete(f"{members}{one['id']}/", headers=write_headers)
    assert (await _get(client, grid["table"]))["features"][0]["elements"] == ["package-2"]
    await client.post(members, json={"package": one["id"]}, headers=write_headers)
    assert (await _get(client, grid["table"]))["features"][0]["elements"] == [None, "package-2"]
    assert (await client.get(_element_url(grid, feature, one))).status_code == 404

    # Through `packages` in the grid's body: the package that stays keeps its cell.
    response = await client.patch(
        grid["url"], json={"packages": [one["id"]]}, headers=write_headers
    )
    assert response.status_code == 200
    response = await client.patch(
        grid["url"], json={"packages": [one["id"], two["id"]]}, headers=write_headers
    )
    assert response.status_code == 200
    assert (await _get(client, grid["table"]))["features"][0]["elements"] == [None, None]
    await client.put(_element_url(grid, feature, one), json={"text": "kept"}, headers=write_headers)
    await client.patch(
        grid["url"], json={"packages": [two["id"], one["id"]]}, headers=write_headers
    )
    assert (await _get(client, grid["table"]))["features"][0]["elements"] == ["kept", None]


async def test_deleting_a_feature_removes_its_cells(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"]])
    payments = await _feature(client, write_headers, grid, "Payments")
    shipping = await _feature(client, write_headers, grid, "Shipping")
    for feature in (payments, shipping):
        url = _element_url(grid, feature, one)
        await client.put(url, json={"text": feature["title"]}, headers=write_headers)

    assert (await client.delete(payments["url"], headers=write_headers)).status_code == 204
    assert (await client.get(_element_url(grid, payments, one))).status_code == 404
    table = await _get(client, grid["table"])
    assert [(f["title"], f["elements"]) for f in table["features"]] == [("Shipping", ["Shipping"])]


# Locked grids.


async def test_a_locked_grid_is_for_admin_tokens_only(
    client: httpx.AsyncClient, write_headers: Headers, admin_headers: Headers
) -> None:
    one, two = await _packages(client, write_headers, 2)
    refused = await client.post(
        "/api/v4/grids/", json={"title": "Shops", "is_locked": True}, headers=write_headers
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert (await _get(client, "/api/v4/grids/"))["count"] == 0

    grid = await create_grid(
        client, admin_headers, title="Shops", is_locked=True, packages=[one["id"]]
    )
    feature = await _feature(client, admin_headers, grid, "Payments")
    cell = _element_url(grid, feature, one)
    assert (
        await client.put(cell, json={"text": "Stripe"}, headers=admin_headers)
    ).status_code == 201
    before = await _get(client, grid["url"])
    table_before = await _get(client, grid["table"])
    members = f"{grid['url']}packages/"

    # In an order that works for an admin, who may do all of it.
    edits: list[tuple[str, str, Any]] = [
        ("PUT", cell, {"text": "PayPal"}),
        ("DELETE", cell, None),
        ("PUT", feature["url"], {"title": "Renamed"}),
        ("PATCH", feature["url"], {"title": "Renamed"}),
        ("DELETE", feature["url"], None),
        ("POST", grid["features"], {"title": "Shipping"}),
        ("POST", members, {"package": two["id"]}),
        ("DELETE", f"{members}{one['id']}/", None),
        ("PATCH", grid["url"], {"packages": [one["id"], two["id"]]}),
        ("PUT", grid["url"], {"title": "Renamed", "is_locked": True}),
        ("PATCH", grid["url"], {"title": "Renamed again"}),
        ("PATCH", grid["url"], {"is_locked": False}),
        ("DELETE", grid["url"], None),
    ]
    for method, url, body in edits:
        response = await client.request(method, url, json=body, headers=write_headers)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["code"] == "forbidden"
    assert await _get(client, grid["url"]) == before
    assert await _get(client, grid["table"]) == table_before

    for method, url, body in edits:
        response = await client.request(method, url, json=body, headers=admin_headers)
        assert response.status_code in {200, 201, 204}, (method, url, response.text)
    assert (await client.get(grid["url"])).status_code == 404
    assert (await _get(client, two["url"]))["grids"] == []


async def test_changing_the_lock_needs_an_admin_token(
    client: httpx.AsyncClient, write_headers: Headers, admin_headers: Headers
) -> None:
    grid = await create_grid(client, write_headers, title="Shops")
    for method, body in [
        ("PATCH", {"is_locked": True}),
        ("PUT", {"title": "Shops", "is_locked": True}),
    ]:
        response = await client.request(method, grid["url"], json=body, headers=write_headers)
        assert response.status_code == 403, method
    assert (await _get(client, grid["url"]))["is_locked"] is False
    # Restating the current value is not a change.
    same = await client.patch(grid["url"], json={"is_locked": False}, headers=write_headers)
    assert same.status_code == 200

    locked = await client.patch(grid["url"], json={"is_locked": True}, headers=admin_headers)
    assert locked.status_code == 200
    assert locked.json()["is_locked"] is True
    unlocked = await client.patch(grid["url"], json={"is_locked": False}, headers=admin_headers)
    assert unlocked.json()["is_locked"] is False
    edited = await client.patch(grid["url"], json={"title": "Stores"}, headers=write_headers)
    assert edited.status_code == 200


# Conditional edits.


async def test_a_stale_if_match_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops")
    stale = (await client.get(grid["url"])).headers["etag"]
    await client.patch(grid["url"], json={"description": "v2"}, headers=write_headers)
    current = await client.get(grid["url"])
    assert current.headers["etag"] != stale

    for method, body in [
        ("PUT", {"title": "Renamed", "packages": [one["id"]]}),
        ("PATCH", {"title": "Renamed"}),
        ("DELETE", None),
    ]:
        headers = {**write_headers, "If-Match": stale}
        response = await client.request(method, grid["url"], json=body, headers=headers)
        assert response.status_code == 412, method
        assert response.json()["code"] == "precondition_failed"
        assert (await client.get(grid["url"])).json() == current.json()

    headers = {**write_headers, "If-Match": current.headers["etag"]}
    ok = await client.patch(grid["url"], json={"title": "Renamed"}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["etag"] == (await client.get(grid["url"])).headers["etag"]
    deleted = await client.delete(
        grid["url"], headers={**write_headers, "If-Match": ok.headers["etag"]}
    )
    assert deleted.status_code == 204


async def test_a_stale_if_match_on_a_feature_is_refused(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    grid = await create_grid(client, write_headers, title="Shops")
    created = await client.post(grid["features"], json={"title": "Payments"}, headers=write_headers)
    stale = created.headers["etag"]
    url = created.json()["url"]
    patched = await client.patch(url, json={"title": "Payment"}, headers=write_headers)
    assert patched.headers["etag"] != stale

    for method, body in [("PUT", {"title": "x"}), ("PATCH", {"title": "x"}), ("DELETE", None)]:
        headers = {**write_headers, "If-Match": stale}
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 412, method
        assert await _get(client, url) == patched.json()

    headers = {**write_headers, "If-Match": patched.headers["etag"]}
    assert (await client.put(url, json={"title": "Checkout"}, headers=headers)).status_code == 200


async def test_the_grids_etag_follows_its_membership(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops")
    etag = (await client.get(grid["url"])).headers["etag"]
    cached = await client.get(grid["url"], headers={"If-None-Match": etag})
    assert cached.status_code == 304

    members = f"{grid['url']}packages/"
    await client.post(members, json={"package": one["id"]}, headers=write_headers)
    fresh = await client.get(grid["url"], headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.json()["packages"] == [one["url"]]
    assert fresh.headers["etag"] != etag
    # An edit prepared before the package joined is refused.
    refused = await client.patch(
        grid["url"], json={"title": "x"}, headers={**write_headers, "If-Match": etag}
    )
    assert refused.status_code == 412

    await client.delete(f"{members}{one['id']}/", headers=write_headers)
    assert (await client.get(grid["url"])).headers["etag"] == etag


# HTTP methods.


async def test_head_and_options_work_on_the_grid_sub_routes(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    (one,) = await _packages(client, write_headers, 1)
    grid = await create_grid(client, write_headers, title="Shops", packages=[one["id"]])
    feature = await _feature(client, write_headers, grid, "Payments")
    cell = _element_url(grid, feature, one)
    await client.put(cell, json={"text": "Stripe"}, headers=write_headers)
    allowed = {
        "/api/v4/grids/": "GET, POST, HEAD, OPTIONS",
        grid["url"]: "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
        grid["table"]: "GET, HEAD, OPTIONS",
        f"{grid['url']}packages/": "GET, POST, HEAD, OPTIONS",
        f"{grid['url']}packages/{one['id']}/": "GET, DELETE, HEAD, OPTIONS",
        grid["features"]: "GET, POST, HEAD, OPTIONS",
        feature["url"]: "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
        cell: "GET, PUT, DELETE, HEAD, OPTIONS",
    }
    for url, allow in allowed.items():
        get = await client.get(url)
        head = await client.head(url)
        assert head.status_code == get.status_code == 200, url
        assert head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        # The length of the body as sent (compressed when large enough), as GET sends it.
        assert head.headers["content-length"] == get.headers["content-length"]
        assert get.headers["allow"] == allow, url
        options = await client.options(url)
        assert options.status_code == 200, url
        assert options.headers["allow"] == allow, url
        assert options.json()["methods"] == allow.split(", ")
    missing = await client.head(f"{grid['url']}features/999/")
    assert missing.status_code == 404
    assert missing.content == b""
