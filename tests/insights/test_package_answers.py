"""The package resource's answers (issue 18) through HTTP: django_versions,
python_versions, maintenance and score_breakdown, after the original keys, the same on the
detail, the list and a grid's packages, from what the refresher stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.insights.score import package_score
from app.models import Category, Grid, GridPackage, Package
from app.repositories.sequences import advance_id_sequences
from tests.conftest import bound_sessionmaker
from tests.factories import seed_records

NOW = dt.datetime.now(dt.UTC)
NEW_KEYS = ["django_versions", "python_versions", "maintenance", "score_breakdown"]


def ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


async def add(connection: AsyncConnection, *packages: Package) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        session.add(Grid(id=1, title="Shops", slug="shops"))
        await session.flush()
        session.add_all(packages)
        await session.flush()
        session.add_all(GridPackage(grid_id=1, package_id=p.id) for p in packages)
        await advance_id_sequences(session)
        await session.commit()


def package(id: int, **fields: Any) -> Package:
    return Package(
        id=id,
        title=f"P{id}",
        slug=f"p{id}",
        category_id=1,
        repo_url=f"https://github.com/o/p{id}",
        repo_host="github",
        **fields,
    )


async def test_a_maintained_package_says_what_it_supports(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    last_commit, last_release, fetched = ago(60), ago(30), ago(1)
    await add(
        connection,
        package(
            1,
            repo_watchers=250,
            last_updated=last_commit,
            last_fetched=fetched,
            pypi_last_release=last_release,
            commits_over_52=[0] * 50 + [3, 4],
            supports_python3=True,
            pypi_requires_python=">=3.10",
            pypi_classifiers=[
                "Framework :: Django",
                "Framework :: Django :: 5.2",
                "Framework :: Django :: 4.2",
                "Framework :: Django :: 5",
                "Programming Language :: Python :: 3 :: Only",
                "Programming Language :: Python :: 3.9",  # Requires-Python excludes it
                "Programming Language :: Python :: 3.13",
                "Programming Language :: Python :: 3.12",
            ],
            score=package_score(250, last_commit, True, fetched),
        ),
    )

    served = (await client.get("/api/v4/packages/1/")).json()

    # The original's keys, then ours, then the answers last.
    assert list(served)[: len(seed_records()[0])] == list(seed_records()[0])
    assert list(served)[-5:] == ["deprecated_by", *NEW_KEYS]
    assert served["django_versions"] == ["4.2", "5.2"]
    assert served["python_versions"] == ["3.12", "3.13"]
    health = served["maintenance"]
    assert list(health) == [
        "status",
        "reasons",
        "last_commit",
        "last_release",
        "commits_last_year",
    ]
    assert health["status"] == "active" and health["reasons"] == []
    assert dt.datetime.fromisoformat(health["last_commit"]) == last_commit
    assert dt.datetime.fromisoformat(health["last_release"]) == last_release
    assert health["commits_last_year"] == 7
    terms = served["score_breakdown"]
    assert terms["score"] == served["score"]
    assert terms["stars"] == 250 and terms["quarters_since_last_commit"] == 0
    assert terms["score"] == max(
        terms["floor"], int(terms["stars"] + terms["age_penalty"] + terms["python2_penalty"])
    )


async def test_the_same_answers_on_the_list_and_a_grids_packages(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await add(
        connection,
        package(1, pypi_classifiers=["Framework :: Django :: 5.0"], last_updated=ago(900)),
        package(2, pypi_requires_python=">=3.13"),
    )

    detail = [(await client.get(f"/api/v4/packages/{n}/")).json() for n in (2, 1)]
    listed = (await client.get("/api/v4/packages/")).json()["results"]
    in_grid = (await client.get("/api/v4/grids/1/packages/?ordering=-id")).json()["results"]

    for page in (listed, in_grid):
        assert [{k: p[k] for k in NEW_KEYS} for p in page] == [
            {k: p[k] for k in NEW_KEYS} for p in detail
        ]
    assert detail[1]["maintenance"]["status"] == "inactive"
    assert detail[0]["python_versions"] == ["3.13", "3.14", "3.15"]


async def test_unknown_is_empty_and_null_never_a_guess(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await add(connection, package(1, pypi_requires_python="3.6"))  # not a specifier

    served = (await client.get("/api/v4/packages/p1/")).json()

    assert served["django_versions"] == [] and served["python_versions"] == []
    assert served["maintenance"] == {
        "status": "unknown",
        "reasons": ["no commit or release date known yet"],
        "last_commit": None,
        "last_release": None,
        "commits_last_year": None,
    }
    assert served["score_breakdown"]["quarters_since_last_commit"] is None


async def test_stale_then_inactive_by_the_thresholds_settings(
    app_factory: Callable[[Settings], Awaitable[Any]],
    settings: Settings,
    connection: AsyncConnection,
) -> None:
    commit = ago(550)  # about 18 months
    await add(connection, package(1, last_updated=commit, pypi_requires_python=">=3.12"))

    async def answers(**changes: Any) -> dict[str, Any]:
        app = await app_factory(settings.model_copy(update=changes))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return dict((await c.get("/api/v4/packages/1/")).json())

    default = await answers()
    assert default["maintenance"]["status"] == "stale"
    assert default["maintenance"]["reasons"] == [f"no commit since {commit:%Y-%m}"]
    assert default["python_versions"] == ["3.12", "3.13", "3.14", "3.15"]

    tighter = await answers(maintenance_active_months=6, maintenance_stale_months=12)
    assert tighter["maintenance"]["status"] == "inactive"
    other = await answers(python_versions=["3.11", "3.12", "3.16"])
    assert other["python_versions"] == ["3.12", "3.16"]


async def test_archived_and_replaced_packages_say_so(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    archived_on = dt.datetime(2024, 5, 2, 10, tzinfo=dt.UTC)
    await add(
        connection,
        package(1, last_updated=ago(10)),
        package(2, last_updated=ago(400), date_repo_archived=archived_on),
        package(3, last_updated=ago(20), deprecated_by_id=1, date_repo_archived=archived_on),
    )

    archived = (await client.get("/api/v4/packages/2/")).json()["maintenance"]
    replaced = (await client.get("/api/v4/packages/3/")).json()

    assert archived["status"] == "archived"
    assert archived["reasons"][0] == "repository archived on GitHub on 2024-05-02"
    assert replaced["deprecated_by"] == "http://testserver/api/v4/packages/1/"
    assert replaced["maintenance"]["status"] == "deprecated"
    assert replaced["maintenance"]["reasons"] == [
        "replaced by http://testserver/api/v4/packages/1/",
        "repository archived on GitHub on 2024-05-02",
    ]


async def test_a_write_checks_if_match_against_the_same_representation(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await add(connection, package(1, last_updated=ago(30), pypi_classifiers=["X :: Y"]))
    got = await client.get("/api/v4/packages/1/")

    response = await client.patch(
        "/api/v4/packages/1/",
        json={"title": "Renamed"},
        headers={**write_headers, "If-Match": got.headers["etag"]},
    )

    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in NEW_KEYS} == {k: got.json()[k] for k in NEW_KEYS}


@pytest.mark.parametrize("value", ["3.x", "3", "3.1.2"])
def test_python_versions_setting_is_major_minor(value: str) -> None:
    with pytest.raises(ValueError, match=r"major\.minor"):
        Settings(python_versions=value)


async def test_the_grid_table_compares_versions_status_and_last_release(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    release = ago(40)
    await add(
        connection,
        package(
            1,
            last_updated=ago(5),
            pypi_last_release=release,
            pypi_classifiers=[
                "Framework :: Django :: 5.2",
                "Programming Language :: Python :: 3.13",
            ],
        ),
        package(2, last_updated=ago(500), date_repo_archived=ago(100)),
    )

    table = (await client.get("/api/v4/grids/1/table/")).json()

    columns = {p["id"]: p for p in table["packages"]}
    assert list(columns[1])[-4:] == ["django_versions", "python_versions", "status", "last_release"]
    assert (columns[1]["django_versions"], columns[1]["python_versions"]) == (["5.2"], ["3.13"])
    assert columns[1]["status"] == "active"
    assert dt.datetime.fromisoformat(columns[1]["last_release"]) == release
    assert (columns[2]["status"], columns[2]["last_release"]) == ("archived", None)
    for number in (1, 2):
        served = (await client.get(f"/api/v4/packages/{number}/")).json()
        assert columns[number]["status"] == served["maintenance"]["status"]
        assert columns[number]["python_versions"] == served["python_versions"]
