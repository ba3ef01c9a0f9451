"""GET /api/v4/search/: what a person typing into the search box gets, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, GridPackage, Package
from app.repositories.search import parse_query
from tests.conftest import bound_sessionmaker

NOW = dt.datetime.now(dt.UTC)


async def add_category(connection: AsyncConnection, title: str, slug: str) -> int:
    async with bound_sessionmaker(connection)() as session:
        category = Category(title=title, slug=slug)
        session.add(category)
        await session.commit()
        return category.id


async def add_package(
    connection: AsyncConnection, title: str, category_id: int, **fields: Any
) -> int:
    """A package as the importer or refresher leaves it: metrics included."""
    fields.setdefault("slug", title.lower().replace(" ", "-"))
    async with bound_sessionmaker(connection)() as session:
        package = Package(title=title, category_id=category_id, **fields)
        session.add(package)
        await session.commit()
        return package.id


async def add_grid(
    connection: AsyncConnection, title: str, package_ids: Sequence[int] = (), **fields: Any
) -> int:
    fields.setdefault("slug", title.lower().replace(" ", "-"))
    async with bound_sessionmaker(connection)() as session:
        grid = Grid(title=title, **fields)
        session.add(grid)
        await session.flush()
        session.add_all(GridPackage(grid_id=grid.id, package_id=p) for p in package_ids)
        await session.commit()
        return grid.id


async def search(client: httpx.AsyncClient, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v4/search/", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return body


def titles(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["title"] for hit in hits]


@pytest.fixture
async def apps(connection: AsyncConnection) -> int:
    return await add_category(connection, "Apps", "apps")


@pytest.fixture
async def catalogue(connection: AsyncConnection, apps: int) -> dict[str, int]:
    """A small directory where the right answer to each query is known."""
    popular = {"repo_watchers": 5000, "repo_forks": 900, "last_updated": NOW - dt.timedelta(days=3)}
    ids = {
        "drf": await add_package(
            connection,
            "Django REST framework",
            apps,
            slug="djangorestframework",
            repo_description="Web APIs for Django, made easy.",
            participants=["tomchristie", "carltongibson"],
            **popular,
        ),
        "filter": await add_package(
            connection,
            "django-filter",
            apps,
            repo_description="Dynamic queryset filtering from URL parameters.",
            **popular,
        ),
        "filter-plus": await add_package(
            connection, "django-filter-plus", apps, repo_description="More filters."
        ),
        "tables": await add_package(
            connection,
            "django-tables2",
            apps,
            repo_description="Tables with sorting, pagination and a filter row.",
            repo_watchers=9000,
            repo_forks=1000,
            last_updated=NOW - dt.timedelta(days=1),
        ),
        "old-filter": await add_package(
            connection,
            "django-old-filter",
            apps,
            repo_description="Filtering, the old way.",
            date_deprecated=NOW - dt.timedelta(days=400),
        ),
        "shop": await add_package(
            connection, "django SHOP", apps, repo_description="A shop for Django."
        ),
    }
    ids["grid"] = await add_grid(
        connection,
        "API toolkits",
        [ids["drf"]],
        description="Frameworks to build REST APIs",
        is_locked=True,
        header=True,
    )
    return ids


async def test_an_exact_title_comes_first(client: httpx.AsyncClient, catalogue: Any) -> None:
    hits = await search(client, "django-filter")
    assert hits[0]["title"] == "django-filter"
    hits = await search(client, "Django REST framework")
    assert hits[0]["title"] == "Django REST framework"


async def test_every_word_of_a_multi_word_query_must_match(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    hits = await search(client, "rest framework")
    assert set(titles(hits)) == {"Django REST framework", "API toolkits"}
    assert await search(client, "rest shop") == []


async def test_a_prefix_of_one_word_finds_names_that_start_with_it(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    assert titles(await search(client, "djang"))[:1] != []
    assert set(titles(await search(client, "djang"))) >= {"django-filter", "django SHOP"}
    assert titles(await search(client, "tabl")) == ["django-tables2"]


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("restframwork", "Django REST framework"),
        ("djangorestframwork", "Django REST framework"),
        ("django-tabels2", "django-tables2"),
    ],
)
async def test_a_typo_finds_what_was_meant(
    client: httpx.AsyncClient, catalogue: Any, typo: str, meant: str
) -> None:
    assert titles(await search(client, typo))[0] == meant


async def test_ranking_puts_names_before_descriptions_and_popular_before_obscure(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    hits = titles(await search(client, "filter"))
    # In the name, popular; in the name, obscure; in the name, deprecated; then the
    # descriptions only, however popular (django-tables2 has the most stars).
    assert hits == [
        "django-filter",
        "django-filter-plus",
        "django-old-filter",
        "django-tables2",
    ]


async def test_descriptions_are_searched_when_names_fall_short_of_the_cap(
    client: httpx.AsyncClient, catalogue: Any, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three names say "filter"; with room for two per source the names fill it, and on
    # PostgreSQL the description-only django-tables2 (which would rank after them) is not
    # looked for: that search reads every matching row at a million packages.
    monkeypatch.setattr("app.repositories.search.CANDIDATES", 2)
    hits = titles(await search(client, "filter"))
    assert hits[:2] == ["django-filter", "django-filter-plus"]
    if dialect == "postgresql":
        assert "django-tables2" not in hits
    else:  # SQLite ranks every full-text match (no cap).
        assert hits[-1] == "django-tables2"
    # A word no name has still finds descriptions, whatever the cap.
    assert "django-tables2" in titles(await search(client, "sorting"))


async def test_stemming_finds_other_forms_of_a_word(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    assert "django-filter" in titles(await search(client, "filters"))
    assert "django-filter" in titles(await search(client, "filtering"))


async def test_category_and_participants_are_searched(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    assert titles(await search(client, "tomchristie")) == ["Django REST framework"]
    assert len(await search(client, "apps")) == 6


async def test_a_hit_has_the_original_fields_then_id_and_url(
    client: httpx.AsyncClient, catalogue: dict[str, int]
) -> None:
    [package] = await search(client, "djangorestframework", item_type="package")
    assert list(package) == [
        "item_type",
        "title",
        "slug",
        "description",
        "category",
        "repo_watchers",
        "repo_forks",
        "score",
        "weight",
        "participants",
        "last_committed",
        "last_released",
        "created",
        "modified",
        "id",
        "url",
    ]
    assert package["id"] == catalogue["drf"]
    assert package["item_type"] == "package"
    assert package["category"] == "Apps"
    assert package["participants"] == "tomchristie,carltongibson"
    assert package["description"] == "Web APIs for Django, made easy."
    assert package["repo_watchers"] == 5000
    # Not deprecated 20 + description 20 + forks 20 + stars 20 + commit this quarter 20,
    # over the seven rules' 140 points.
    assert package["weight"] == 100 * 100 // 140
    assert package["last_committed"].endswith("Z")
    assert package["last_released"] is None
    assert package["url"] == f"http://testserver/api/v4/packages/{catalogue['drf']}/"

    [grid] = await search(client, "toolkits", item_type="grid")
    assert grid["url"] == f"http://testserver/api/v4/grids/{catalogue['grid']}/"
    assert (grid["category"], grid["participants"], grid["repo_watchers"]) == ("", "", 0)
    # Locked, a header, has packages: only the base sixth is lost (searchv3 calc_grid_weight).
    assert grid["weight"] == 83


async def test_deprecation_and_missing_metrics_lower_the_weight(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    weights = {hit["title"]: hit["weight"] for hit in await search(client, "filter")}
    # Description 20 + not deprecated 20; and description only.
    assert weights["django-filter-plus"] == 40 * 100 // 140
    assert weights["django-old-filter"] == 20 * 100 // 140


async def test_the_default_answer_is_the_top_20_as_a_bare_array(
    client: httpx.AsyncClient, connection: AsyncConnection, apps: int
) -> None:
    for number in range(25):
        await add_package(connection, f"Widget {number}", apps, slug=f"widget-{number}")
    hits = await search(client, "widget")
    assert len(hits) == 20
    # The same query, paginated: DRF's page, reaching every hit.
    response = await client.get("/api/v4/search/", params={"q": "widget", "limit": 10})
    page = response.json()
    assert page["count"] == 25
    assert len(page["results"]) == 10
    assert page["next"] == "http://testserver/api/v4/search/?limit=10&offset=10&q=widget"
    assert page["previous"] is None
    last = (await client.get(page["next"].replace("offset=10", "offset=20"))).json()
    assert len(last["results"]) == 5
    assert last["next"] is None
    everything = [
        hit["id"]
        for offset in (0, 10, 20)
        for hit in (
            await client.get(
                "/api/v4/search/", params={"q": "widget", "limit": 10, "offset": offset}
            )
        ).json()["results"]
    ]
    assert len(set(everything)) == 25
    past = (await client.get("/api/v4/search/?q=widget&offset=100")).json()
    assert (past["count"], past["results"]) == (25, [])


async def test_filters_by_item_type_and_category(
    client: httpx.AsyncClient, connection: AsyncConnection, catalogue: Any, apps: int
) -> None:
    tools = await add_category(connection, "Developer Tools", "tools")
    await add_package(connection, "django-rest-tools", tools)
    assert titles(await search(client, "rest", item_type="grid")) == ["API toolkits"]
    assert titles(await search(client, "rest", category="tools")) == ["django-rest-tools"]
    assert titles(await search(client, "rest", category=str(tools))) == ["django-rest-tools"]
    # Blank filters are ignored, as django-filter does.
    assert len(await search(client, "rest", category="", item_type="")) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"item_type": "package,grid"}, "item_type"),
        ({"item_type": "feature"}, "item_type"),
        ({"category": "no-such-category"}, "category"),
        ({"category": "999999"}, "category"),
    ],
)
async def test_unknown_filter_values_are_refused(
    client: httpx.AsyncClient, apps: int, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v4/search/", params={"q": "django", **params})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_query"
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize("q", ["", "   ", "!!!", "-", "&|!()<->:*", "'\"", "__"])
async def test_nothing_to_search_for_finds_nothing(
    client: httpx.AsyncClient, catalogue: Any, q: str
) -> None:
    assert await search(client, q) == []


async def test_no_q_at_all_is_an_empty_list(client: httpx.AsyncClient, catalogue: Any) -> None:
    response = await client.get("/api/v4/search/")
    assert (response.status_code, response.json()) == (200, [])


# Within MAX_QUERY_BYTES (4096): a longer query string is a 414 (tests/test_input_bounds.py).
@pytest.mark.parametrize("q", ["a" * 4_000, "django " * 500, "x" * 201])
async def test_a_query_too_long_is_a_400_not_a_500(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get("/api/v4/search/", params={"q": q})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_query"
    # What was sent counts, as the document's maxLength does.
    message = f"is {len(q)} characters long; at most 200"
    assert body["errors"] == [{"location": "query", "field": "q", "message": message}]


async def test_a_nul_in_the_query_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v4/search/", params={"q": "dj\x00ango"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "q"


async def test_unicode_names_and_descriptions_are_found(
    client: httpx.AsyncClient, connection: AsyncConnection, apps: int
) -> None:
    await add_package(
        connection, "Café Crème", apps, slug="cafe-creme", repo_description="Ünïcödé für alle"
    )
    await add_package(connection, "日本語 tools", apps, slug="nihongo-tools")
    await add_package(connection, "Ελληνικά", apps, slug="greek")
    assert titles(await search(client, "café")) == ["Café Crème"]
    assert titles(await search(client, "CRÈME")) == ["Café Crème"]
    assert titles(await search(client, "für")) == ["Café Crème"]
    assert titles(await search(client, "日本語")) == ["日本語 tools"]
    assert titles(await search(client, "ελληνικά")) == ["Ελληνικά"]
    assert await search(client, "🙂") == []


async def test_a_miss_finds_nothing(client: httpx.AsyncClient, catalogue: Any) -> None:
    assert await search(client, "kubernetes") == []
    assert await search(client, "qxzjwv") == []


async def test_operators_in_a_query_are_words_not_errors(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    # Characters both databases' query syntaxes give meaning to: never a 500.
    for q in ['"rest', "rest OR", "-rest", "rest:*", "NEAR(rest)", "rest AND NOT", "(rest"]:
        response = await client.get("/api/v4/search/", params={"q": q})
        assert response.status_code == 200, (q, response.text)


async def test_reads_carry_an_etag_and_answer_304(
    client: httpx.AsyncClient, catalogue: Any
) -> None:
    first = await client.get("/api/v4/search/", params={"q": "filter"})
    etag = first.headers["etag"]
    again = await client.get(
        "/api/v4/search/", params={"q": "filter"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    head = await client.head("/api/v4/search/", params={"q": "filter"})
    assert head.status_code == 200


def test_parsing_a_query() -> None:
    query = parse_query("  Django-REST framework ")
    assert query is not None
    assert query.words == ["django", "rest", "framework"]
    assert query.key == "djangorestframework"
    assert query.fuzzy_key == "restframework"
    assert query.prefix is None
    single = parse_query("Djang")
    assert single is not None and single.prefix == "djang"
    assert parse_query("?!") is None
    assert parse_query(None) is None
