"""The demo directory (app/demo): the file's facts have the right shapes, it loads through
`packages-api demo` with nothing refused on both databases, never overwrites a directory
it did not write, and `serve` loads it (--demo) or says how to fill an empty directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text

from app.cli.demo import EMPTY_DIRECTORY_HINT
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.demo import DEMO_FILE
from app.demo.load import Outcome, load_demo
from app.normalize import normalize_repo_url, repo_host_of, validate_http_url
from app.transfer import load_records
from app.transfer.format import read_document
from tests.conftest import Databases
from tests.test_cli import SHUTDOWN_BOUND, Server, given_tokens, serving
from tests.transfer.helpers import export_bytes, run, snapshot, summary_rows

DEMO: dict[str, list[dict[str, Any]]] = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
SECTIONS = dict(read_document(DEMO))  # also: the file is an export this version reads
PACKAGES = SECTIONS["packages"]
# A PyPI project's page, for a PEP 508 name.
PYPI_PAGE = re.compile(r"https://pypi\.org/project/([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/")
FORGES = {"github.com": "github", "codeberg.org": "forgejo", "gitlab.com": "gitlab"}


# The file


def test_every_repository_url_is_a_canonical_repository_on_a_public_forge() -> None:
    for package in PACKAGES:
        url = package["repo_url"]
        parts = urlsplit(url)
        assert parts.scheme == "https", package["slug"]
        assert parts.netloc in FORGES, package["slug"]
        owner_and_name = parts.path.strip("/").split("/")
        assert len(owner_and_name) == 2 and all(owner_and_name), package["slug"]
        # Stored as the API stores it (lowercase, no .git, no trailing slash) and read as
        # the forge the refresher will ask.
        assert normalize_repo_url(url) == url, package["slug"]
        assert repo_host_of(url) == FORGES[parts.netloc], package["slug"]


def test_every_pypi_url_is_a_project_page_and_every_documentation_url_a_web_address() -> None:
    for package in PACKAGES:
        pypi, docs = package["pypi_url"], package["documentation_url"]
        assert pypi == "" or PYPI_PAGE.fullmatch(pypi), package["slug"]
        if docs:
            parts = urlsplit(docs)
            assert parts.scheme == "https" and "." in parts.netloc, package["slug"]
            assert not (parts.query or parts.fragment or re.search(r"\s", docs)), docs
            assert validate_http_url(docs) == docs
    # Most are on PyPI and documented; an application that is deployed rather than
    # installed (a Project) need not be on PyPI.
    unpublished = [p for p in PACKAGES if not p["pypi_url"]]
    projects = {c["id"] for c in SECTIONS["categories"] if c["slug"] == "projects"}
    assert all(package["category"] in projects for package in unpublished)
    assert sum(bool(p["documentation_url"]) for p in PACKAGES) > 0.8 * len(PACKAGES)


def test_no_two_packages_share_a_slug_title_repository_or_pypi_project() -> None:
    for key in ("slug", "title", "repo_url", "pypi_url"):
        values = [package[key] for package in PACKAGES if package[key]]
        assert [v for v, n in Counter(v.lower() for v in values).items() if n > 1] == [], key


def test_figures_are_left_as_never_fetched_not_invented() -> None:
    for package in PACKAGES:
        assert (package["repo_watchers"], package["repo_forks"], package["score"]) == (0, 0, 0)
        assert package["commits_over_52"] == [] and package["participants"] == []
        for key in ("last_updated", "last_fetched", "pypi_version", "pypi_license"):
            assert package[key] is None, (package["slug"], key)
        assert package["pypi_classifiers"] == []


def test_about_forty_packages_in_the_four_categories_and_grids_that_compare() -> None:
    assert 35 <= len(PACKAGES) <= 50
    categories = {c["id"]: c["slug"] for c in SECTIONS["categories"]}
    assert sorted(categories.values()) == ["apps", "frameworks", "other", "projects"]
    assert set(categories) == {package["category"] for package in PACKAGES}
    # A description each, one line, in the demo's own words (short: not a README's).
    assert all(0 < len(p["repo_description"]) <= 100 for p in PACKAGES)
    assert all("\n" not in p["repo_description"] for p in PACKAGES)

    members: dict[int, set[int]] = {}
    for membership in SECTIONS["memberships"]:
        members.setdefault(membership["grid"], set()).add(membership["package"])
    grid_of = {feature["id"]: feature["grid"] for feature in SECTIONS["features"]}
    assert 4 <= len(SECTIONS["grids"]) <= 6
    for grid in SECTIONS["grids"]:
        assert len(members[grid["id"]]) >= 3, grid["slug"]
        assert Counter(grid_of.values())[grid["id"]] >= 3, grid["slug"]
    for cell in SECTIONS["elements"]:
        # A cell is a short fact about a package of its feature's grid.
        assert cell["package"] in members[grid_of[cell["feature"]]], cell
        assert 0 < len(cell["text"]) <= 60, cell


# Loading it: `packages-api demo`


async def _execute(url: str, statement: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _scalar(url: str, statement: str) -> Any:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(statement))
    finally:
        await engine.dispose()


async def _loaded(url: str) -> None:
    """The demo loaded in-process, for tests of what comes after: `packages-api demo` has
    its own tests here, and each start of it costs 1.5 s of CPU."""
    assert (await load_demo(Settings(database_url=url))).outcome is Outcome.LOADED


async def test_demo_loads_everything_and_a_second_run_changes_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()

    first = await run(url, "demo", cwd=tmp_path)

    assert first.code == 0, first.stderr
    assert summary_rows(first.stdout) == {
        kind: (len(records), 0, 0, 0) for kind, records in SECTIONS.items()
    }
    assert "refused:" not in first.stdout and "warnings:" not in first.stdout
    assert first.stdout.splitlines()[-1].startswith("committed: the demo directory is loaded")
    # What was loaded is the file: its export is the same bytes.
    assert await export_bytes(url, tmp_path, "exported.json") == DEMO_FILE.read_bytes()
    loaded = await snapshot(url)

    again = await run(url, "demo", cwd=tmp_path)

    assert again.code == 0, again.stderr
    assert again.stdout == ""
    assert again.stderr == "the demo directory is already loaded: nothing changed\n"
    assert await snapshot(url) == loaded


async def test_demo_keeps_what_a_refresh_wrote_into_it(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    await _loaded(url)
    # As the refresher writes a package's figures.
    await _execute(url, "UPDATE packages SET repo_watchers = 4321 WHERE slug = 'wagtail'")
    refreshed = await snapshot(url)

    result = await run(url, "demo", cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert result.stderr.startswith(
        "the demo directory is loaded, and 1 of its records has changed since"
    )
    assert await snapshot(url) == refreshed

    forced = await run(url, "demo", "--force", cwd=tmp_path)

    assert forced.code == 0, forced.stderr
    assert summary_rows(forced.stdout)["packages"] == (0, 1, len(PACKAGES) - 1, 0)
    assert await _scalar(url, "SELECT repo_watchers FROM packages WHERE slug = 'wagtail'") == 0


async def _hold_another_directory(url: str) -> None:
    """One category and one package of somebody's own, whose id the demo also uses."""
    now = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
    stamps = {"created": now, "modified": now}
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            summary = await load_records(
                session,
                {
                    "categories": [{"id": 9, "title": "Tools", "slug": "tools"} | stamps],
                    "packages": [
                        {"id": 1, "title": "My tool", "slug": "my-tool", "category": 9} | stamps
                    ],
                },
            )
            assert not summary.refused
    finally:
        await engine.dispose()


async def test_demo_leaves_another_directory_alone_unless_forced(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    await _hold_another_directory(url)
    theirs = await snapshot(url)

    refused = await run(url, "demo", cwd=tmp_path)

    assert refused.code == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(
        "error: this database holds another directory (1 package, 1 category, 0 grids); "
        "the demo was not loaded and nothing changed.\n"
    )
    assert "packages-api demo --force" in refused.stderr
    assert await snapshot(url) == theirs

    forced = await run(url, "demo", "--force", cwd=tmp_path)

    # Loaded as an import loads a file, nothing deleted: the demo's package 1 is refused
    # (id 1 is theirs), and so are its grid memberships and cells, which would be theirs.
    assert forced.code == 2, forced.stderr
    [first] = [package for package in PACKAGES if package["id"] == 1]
    its = {
        kind: sum(record["package"] == 1 for record in SECTIONS[kind])
        for kind in ("memberships", "elements")
    }
    assert its["elements"] > 0
    rows = summary_rows(forced.stdout)
    assert rows["categories"] == (len(SECTIONS["categories"]), 0, 0, 0)
    assert rows["packages"] == (len(PACKAGES) - 1, 0, 0, 1)
    for kind, refused in its.items():
        assert rows[kind] == (len(SECTIONS[kind]) - refused, 0, 0, refused)  # type: ignore[index]
    assert (
        f"packages 1 ({first['slug']}): id 1 is 'my-tool' here but '{first['slug']}' in the source"
    ) in forced.stdout
    assert "package 1 is another package here (refused above)" in forced.stdout
    assert forced.stdout.splitlines()[-1] == (
        f"committed; {1 + sum(its.values())} record(s) refused (see above)"
    )
    assert await _scalar(url, "SELECT title FROM packages WHERE id = 1") == "My tool"
    assert await _scalar(url, "SELECT count(*) FROM grid_packages WHERE package_id = 1") == 0


async def test_a_directory_with_only_api_tokens_is_empty_to_the_demo(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    await given_tokens(url, ("tour", "write"))

    result = await run(url, "demo", cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert summary_rows(result.stdout)["packages"] == (len(PACKAGES), 0, 0, 0)


# `serve` and `serve --demo`


async def _stop(server: Server) -> str:
    server.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(server.process.wait(), SHUTDOWN_BOUND) == 0, server.output()
    return server.output()


def _messages(output: str, logger: str) -> list[str]:
    """The messages `logger` wrote (serve logs one JSON object per line when not a TTY)."""
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [record["message"] for record in records if record["logger"] == logger]


async def test_serve_on_an_empty_database_says_how_to_fill_it_once(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.empty()

    async with serving(url, tmp_path) as server:
        output = await _stop(server)

    assert _messages(output, "packages_api.demo") == [EMPTY_DIRECTORY_HINT]
    assert "`packages-api demo`" in EMPTY_DIRECTORY_HINT
    assert "`packages-api serve --demo`" in EMPTY_DIRECTORY_HINT
    assert "`packages-api import https://djangopackages.org/api/v4/`" in EMPTY_DIRECTORY_HINT

    # Once the directory holds something, serve says nothing about it.
    await _loaded(url)
    async with serving(url, tmp_path) as server:
        output = await _stop(server)

    assert _messages(output, "packages_api.demo") == []


async def test_serve_demo_shows_a_living_directory_and_never_loads_twice(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.empty()

    # The README's quick start: the list, a grid's table, a search.
    async with (
        serving(url, tmp_path, "--demo") as server,
        httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client,
    ):
        listed = await client.get("/api/v4/packages/", params={"limit": 3})
        table = await client.get("/api/v4/grids/api-frameworks/table/")
        found = await client.get("/api/v4/search/", params={"q": "rest"})
        output = await _stop(server)

    assert _messages(output, "packages_api.demo") == [
        f"loaded the demo directory: {len(PACKAGES)} packages, 4 categories, 5 grids"
    ]
    assert listed.json()["count"] == len(PACKAGES)
    assert [p["slug"] for p in listed.json()["results"]] == [
        p["slug"] for p in sorted(PACKAGES, key=lambda p: -p["id"])[:3]
    ]
    rows = {feature["title"]: feature["elements"] for feature in table.json()["features"]}
    columns = [package["slug"] for package in table.json()["packages"]]
    assert rows["API style"][columns.index("django-rest-framework")] == "REST"
    assert rows["API style"][columns.index("graphene-django")] == "GraphQL"
    # (Which of the packages named "rest" comes first differs by dialect: see docs/search.md.)
    hits = [hit["slug"] for hit in found.json()]
    assert "django-rest-framework" in hits[:3]
    assert {"drf-spectacular", "dj-rest-auth", "api-frameworks"} <= set(hits)
    loaded = await snapshot(url)

    async with serving(url, tmp_path, "--demo") as server:
        output = await _stop(server)

    assert _messages(output, "packages_api.demo") == [
        f"--demo: the database already holds a directory ({len(PACKAGES)} packages, "
        "4 categories, 5 grids); the demo was not loaded"
    ]
    assert await snapshot(url) == loaded
