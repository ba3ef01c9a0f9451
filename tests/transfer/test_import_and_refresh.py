"""An import next to the refresher: what an update does to its bookkeeping (ETags, back-off),
and the configured forge hosts an import honours as the API does. Both databases."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.forges.base import RepoKey
from app.forges.registry import Forges
from app.models import Package
from app.refresh.refresher import pypi_project
from app.transfer import load_records
from tests.conftest import Databases, bound_sessionmaker
from tests.fakes import FakeGitHub, FakeRepo, serve_on_loopback
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.refresh.doubles import ScriptedForges, fresh_db
from tests.refresh.test_triggers import SECRET, deliver, push, serving_app, signed
from tests.test_cli import packages_api
from tests.transfer.helpers import api_get

STAMP = "2024-01-02T03:04:05Z"
FETCHED = "2024-05-06T07:08:09Z"
RETRY_AT = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
CATEGORY = {"id": 5, "title": "Apps", "slug": "apps", "created": STAMP, "modified": STAMP}


def _package(**changes: Any) -> dict[str, Any]:
    return {
        "id": 10,
        "title": "Shop",
        "slug": "shop",
        "category": 5,
        "repo_url": "https://github.com/owner/shop",
        "pypi_url": "https://pypi.org/project/shop/",
        "repo_watchers": 100,
        "last_fetched": FETCHED,
        "created": STAMP,
        "modified": STAMP,
        **changes,
    }


async def _load(connection: AsyncConnection, package: dict[str, Any]) -> None:
    async with bound_sessionmaker(connection)() as session:
        summary = await load_records(session, {"categories": [CATEGORY], "packages": [package]})
        await session.commit()
    assert not summary.refused, summary.refused


async def _refreshed_once_then_failing(connection: AsyncConnection) -> None:
    """What a refresher leaves: the ETags of what it fetched, and a back-off after a failure."""
    await connection.execute(
        update(Package)
        .where(Package.id == 10)
        .values(
            refresh_etags={"repo": '"abc"'},
            refresh_pypi_etag='"pypi-1"',
            refresh_retry_at=RETRY_AT,
            refresh_failures=3,
            refresh_error="HTTP 502",
            refresh_error_at=RETRY_AT,
        )
    )


async def _state(connection: AsyncConnection) -> dict[str, Any]:
    row = (
        await connection.execute(
            select(
                Package.refresh_etags,
                # SQL NULL, as on a package never fetched (not a JSON null).
                Package.refresh_etags.is_(None).label("etags_null"),
                Package.refresh_pypi_etag,
                Package.refresh_retry_at,
                Package.refresh_failures,
                Package.refresh_error,
                Package.refresh_error_at,
                Package.last_fetched,
                Package.repo_watchers,
            ).where(Package.id == 10)
        )
    ).one()
    return dict(row._mapping)


async def test_imported_figures_drop_the_etags_so_the_next_refresh_fetches_them(
    connection: AsyncConnection,
) -> None:
    await _load(connection, _package())
    await _refreshed_once_then_failing(connection)

    await _load(connection, _package(repo_watchers=250))

    state = await _state(connection)
    # With the old ETags a 304 would keep 250 as if upstream had said so.
    assert (state["etags_null"], state["refresh_pypi_etag"]) == (True, None)
    assert state["repo_watchers"] == 250
    # Same repository: its back-off and error still stand.
    assert (state["refresh_retry_at"], state["refresh_failures"]) == (RETRY_AT, 3)
    assert state["refresh_error"] == "HTTP 502"
    assert state["last_fetched"] == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


async def test_an_imported_repository_url_ends_the_old_ones_back_off(
    connection: AsyncConnection,
) -> None:
    await _load(connection, _package())
    await _refreshed_once_then_failing(connection)

    await _load(connection, _package(repo_url="https://github.com/owner/shop-ng"))

    state = await _state(connection)
    assert (state["etags_null"], state["refresh_pypi_etag"]) == (True, None)
    assert (state["refresh_retry_at"], state["refresh_failures"]) == (None, 0)
    assert (state["refresh_error"], state["refresh_error_at"]) == ("", None)
    # As the source says: an export imported elsewhere serves the same JSON.
    assert state["last_fetched"] == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


async def test_an_imported_pypi_url_ends_the_old_ones_back_off(
    connection: AsyncConnection,
) -> None:
    await _load(connection, _package())
    await _refreshed_once_then_failing(connection)

    await _load(connection, _package(pypi_url="https://pypi.org/project/shop-ng/"))

    state = await _state(connection)
    assert (state["etags_null"], state["refresh_pypi_etag"]) == (True, None)
    assert (state["refresh_retry_at"], state["refresh_failures"]) == (None, 0)


async def test_an_import_that_changes_no_figure_keeps_the_refresh_state(
    connection: AsyncConnection,
) -> None:
    await _load(connection, _package())
    await _refreshed_once_then_failing(connection)

    await _load(connection, _package(title="Shop (renamed)"))
    await _load(connection, _package(title="Shop (renamed)"))

    state = await _state(connection)
    assert state["refresh_etags"] == {"repo": '"abc"'}
    assert state["refresh_pypi_etag"] == '"pypi-1"'
    assert (state["refresh_retry_at"], state["refresh_failures"]) == (RETRY_AT, 3)


async def test_an_import_keeps_the_sources_url_and_knows_a_configured_gitlab_host(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    document = {
        "format": "packages-api/export",
        "version": 1,
        "categories": [CATEGORY],
        "packages": [_package(repo_url="https://git.example.org/Group/Sub/Shop.git")],
    }
    source = tmp_path / "export.json"
    source.write_text(json.dumps(document))

    result = await packages_api(
        url, "import", str(source), cwd=tmp_path, GITLAB_URL="https://git.example.org"
    )

    assert result.code == 0, result.stderr
    served = (await api_get(url, "/api/v4/packages/10/")).json()
    # Served as the source spelled it; the repository it names is on the configured GitLab.
    assert served["repo_url"] == "https://git.example.org/Group/Sub/Shop.git"
    assert served["repo_host"] == "gitlab"


async def test_imported_urls_in_old_spellings_are_refreshed_and_still_served_as_imported(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    github, pypi = FakeGitHub(), FakePyPI()
    github.add(FakeRepo("awesto", "django-shop", stars=3310, forks=1045, weeks=[2] * 52))
    pypi.add(PypiProject("django-shop", releases={"1.2.4": [False]}))
    spelled = {
        "repo_url": "http://www.github.com/Awesto/Django-Shop.git/",
        "pypi_url": "django-shop",  # a bare name, as the original's rows may hold
        "documentation_url": None,
    }
    never_fetched = _package(**spelled, last_fetched=None, repo_watchers=0)
    del never_fetched["last_fetched"]  # the source does not say: never fetched
    document = {
        "format": "packages-api/export",
        "version": 1,
        "categories": [CATEGORY],
        "packages": [never_fetched],
    }
    source = tmp_path / "export.json"
    source.write_text(json.dumps(document))
    assert (await packages_api(url, "import", str(source), cwd=tmp_path)).code == 0
    before = (await api_get(url, "/api/v4/packages/10/")).json()

    async with (
        serve_on_loopback(github.app) as github_base,
        serve_on_loopback(pypi.app) as pypi_base,
    ):
        result = await packages_api(
            url,
            "refresh",
            cwd=tmp_path,
            GITHUB_API_URL=github_base,
            GITHUB_GRAPHQL_URL=f"{github_base}/graphql",
            GITHUB_TOKEN="test-token",
            PYPI_URL=pypi_base,
            UPSTREAM_RETRY_ATTEMPTS="1",
        )

    assert result.code == 0, result.stdout + result.stderr
    served = (await api_get(url, "/api/v4/packages/10/")).json()
    assert before["commits_over_52"] == []  # never fetched: no made-up zeros
    assert (served["repo_watchers"], served["commits_over_52"]) == (3310, [2] * 52)
    assert served["pypi_version"] == "1.2.4"
    # Refreshed from the repository and project they name, and still served as imported.
    assert {key: served[key] for key in spelled} == spelled
    assert served["repo_host"] == "github"


def test_the_forge_and_the_pypi_project_of_any_spelling() -> None:
    forges = Forges(by_host={"github.com": _Named("github"), "git.example.org": _Named("gitlab")})
    for spelled in (
        "http://www.github.com/Awesto/Django-Shop.git/",
        "https://github.com/awesto/django-shop/tree/master",
        "git@github.com:Awesto/django-shop.git",
    ):
        found = forges.for_repo(spelled)
        assert found is not None and found[1] == RepoKey("github.com", "awesto/django-shop")
    found = forges.for_repo("https://git.example.org/Group/Sub/Tool.git")
    assert found is not None and found[1] == RepoKey("git.example.org", "group/sub/tool")
    assert forges.for_repo("https://launchpad.net/twoscoops") is None
    for spelled in ("django-shop", "http://pypi.python.org/pypi/django-shop", " django-shop "):
        assert pypi_project(spelled) == "django-shop"
    assert pypi_project("pypi django-shop") is None


@dataclass
class _Named:
    name: str


async def test_a_signed_push_finds_a_package_whose_imported_url_keeps_its_spelling(
    databases: Databases,
) -> None:
    async with fresh_db(databases) as db:
        await db.add("shop", "http://www.github.com/Acme/Shop.git/")
        await db.add("tool", "https://github.com/acme/tool/")
        forges = ScriptedForges()
        async with serving_app(db, forges, github_webhook_secret=SECRET) as (client, app):
            answers = []
            for pushed in ("https://github.com/Acme/Shop", "https://github.com/acme/tool"):
                body = push(pushed)
                answers.append((await deliver(client, body, signature=signed(body))).json())
                await app.state.refresh_service.drain()
            body = push("https://github.com/acme/other")
            unknown = (await deliver(client, body, signature=signed(body))).json()

    assert [(answer["status"], answer["package"]) for answer in answers] == [
        ("started", "shop"),
        ("started", "tool"),
    ]
    assert unknown["status"] == "ignored"


async def test_an_import_keeps_the_pypi_name_a_lookup_finds(connection: AsyncConnection) -> None:
    # As the original spells it: an old host, the project's own case and separators.
    await _load(connection, _package(pypi_url="http://pypi.python.org/pypi/Django_Shop"))
    first = await connection.scalar(select(Package.pypi_name).where(Package.id == 10))

    await _load(connection, _package(pypi_url=""))
    cleared = await connection.scalar(select(Package.pypi_name).where(Package.id == 10))

    assert (first, cleared) == ("django-shop", None)
