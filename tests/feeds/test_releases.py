"""New releases in /feeds/packages.atom: a package's PyPI version changing is an entry of
its own beside the new packages, one per version, dated by PyPI's upload when known, its
id stable; the feed stays valid Atom 1.0 (atom_spec, feedparser)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import feedparser
import httpx
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.feeds import render_feed
from app.feeds.atom import Feed, Person
from app.feeds.directory import FeedPackage, FeedRelease, release_entry, release_page
from app.forges.base import Outcome, PypiFigures, PypiResult
from app.links import Links
from app.models import Category, Package
from app.refresh.refresher import Refresher
from app.refresh.repository import Selection
from app.repositories.feeds import newest_releases
from tests.conftest import Databases, bound_sessionmaker
from tests.feeds.atom_spec import problems
from tests.refresh.doubles import Db, ScriptedForges, fresh_db, serving_app

EVERYTHING = Selection(stale_after=None, respect_backoff=False)
FEED = "/feeds/packages.atom"
UPLOADED = dt.datetime(2026, 11, 30, 8, 15, tzinfo=dt.UTC)


def _parsed(response: httpx.Response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text
    assert problems(response.content) == []
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def _released(version: str, when: dt.datetime | None = UPLOADED) -> PypiResult:
    figures = PypiFigures(version=version, supports_python3=True, last_release=when)
    return PypiResult("django-shop", Outcome.OK, figures, f'"{version}"')


@pytest_asyncio.fixture
async def db(databases: Databases) -> AsyncIterator[Db]:
    async with fresh_db(databases) as database:
        yield database


async def test_a_version_the_refresher_finds_is_a_release_entry(db: Db) -> None:
    package_id = await db.add(
        "shop", "https://github.com/acme/shop", pypi="django-shop", pypi_version="1.0"
    )
    forges = ScriptedForges()
    refresher = Refresher(db.sessionmaker, forges, db.settings())
    async with serving_app(db, forges) as (client, _app):
        before = _parsed(await client.get(FEED))
        assert [entry.title for entry in before.entries] == ["shop"]  # imported at 1.0

        forges.pypi.answers["django-shop"] = _released("1.1")
        await refresher.run(EVERYTHING)
        first = await client.get(FEED)
        parsed = _parsed(first)
        assert [entry.title for entry in parsed.entries] == ["shop 1.1", "shop"]
        release = parsed.entries[0]
        assert release.id.endswith(f":package/{package_id}/release/1.1")
        assert release.link == "https://pypi.org/project/django-shop/1.1/"
        assert dt.datetime(*release.published_parsed[:6], tzinfo=dt.UTC) == UPLOADED
        assert {tag.term for tag in release.tags} == {"Apps", "release"}
        assert "2026-11-30" in release.summary
        assert parsed.feed.title == "New packages and releases"

        # The same figures again: no new entry, the same bytes (and ETag).
        await refresher.run(EVERYTHING)
        again = await client.get(FEED)
        assert again.content == first.content

        # A newer version: an entry of its own, newest first; no id is ever reused.
        forges.pypi.answers["django-shop"] = _released("2.0rc1", None)
        await refresher.run(EVERYTHING)
        newer = _parsed(await client.get(FEED))
        assert [entry.title for entry in newer.entries] == ["shop 2.0rc1", "shop"]
        assert newer.entries[0].id.endswith(f":package/{package_id}/release/2.0rc1")
        assert newer.entries[0].id != release.id
        # No upload date known: published when the directory learnt of it.
        assert newer.entries[0].published == newer.entries[0].updated


async def test_releases_and_new_packages_share_the_feed_newest_first(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    sessions = bound_sessionmaker(connection)
    async with sessions() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        for number in range(1, 5):
            session.add(
                Package(
                    id=number,
                    title=f"P{number}",
                    slug=f"p{number}",
                    category_id=1,
                    pypi_url=f"https://pypi.org/project/p{number}/",
                    pypi_version="1.0",
                )
            )
        await session.commit()
    # Written as any editor's or importer's ORM write is: the change feed records them.
    for package_id, version in [(2, "1.1"), (3, "2.0"), (2, "1.2"), (4, "")]:
        async with sessions() as session:
            package = await session.get(Package, package_id)
            assert package is not None
            package.pypi_version = version
            await session.commit()
    async with sessions() as session:  # a change of another field is no release
        package = await session.get(Package, 1)
        assert package is not None
        package.repo_description = "Now described"
        await session.commit()

    parsed = _parsed(await client.get(FEED))
    titles = [entry.title for entry in parsed.entries]
    # P2's latest version only (its 1.1 is not kept); P4's version was taken away.
    assert titles[:2] == ["P2 1.2", "P3 2.0"]
    assert sorted(titles[2:]) == ["P1", "P2", "P3", "P4"]
    assert len({entry.id for entry in parsed.entries}) == len(parsed.entries)
    async with sessions() as session:
        releases = await newest_releases(session, limit=1)
    assert [(r.package.id, r.version) for r in releases] == [(2, "1.2")]


async def test_the_feed_holds_fifty_entries_of_either_kind(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    sessions = bound_sessionmaker(connection)
    async with sessions() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        session.add_all(
            Package(id=n, title=f"P{n}", slug=f"p{n}", category_id=1, pypi_version="1")
            for n in range(1, 41)
        )
        await session.commit()
    async with sessions() as session:
        for package in (await session.scalars(select(Package))).all():
            package.pypi_version = "2"
        await session.commit()
    parsed = _parsed(await client.get(FEED))
    assert len(parsed.entries) == 50
    # The 40 releases are newer than the 40 packages: all of them, then 10 packages.
    assert sum(entry.title.endswith(" 2") for entry in parsed.entries) == 40
    async with sessions() as session:
        # Read back in small batches, the scan finds the same releases.
        few = await newest_releases(session, limit=40, batch=3)
        many = await newest_releases(session, limit=40)
    assert few == many and len(few) == 40


# PyPI's versions: PEP 440's, and the legacy strings older projects uploaded (the column
# holds 100 characters).
pep440_versions = st.from_regex(
    r"(\d+!)?\d{1,4}(\.\d{1,4}){0,3}((a|b|rc)\d{1,3})?(\.post\d{1,3})?(\.dev\d{1,3})?"
    r"(\+[a-z0-9]{1,8}(\.[a-z0-9]{1,8})?)?",
    fullmatch=True,
)
legacy_versions = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=100
)
versions = st.one_of(pep440_versions, legacy_versions)
LINKS = Links("https://packages.example.org")


def _release(package_id: int, version: str, released: dt.datetime | None) -> FeedRelease:
    package = FeedPackage(
        id=package_id,
        title="django-shop",
        slug="django-shop",
        repo_url=None,
        pypi_url="https://pypi.org/project/django-shop/",
        pypi_version=version,
        repo_description="",
        category_title="Apps",
        created=UPLOADED,
        added=UPLOADED,
    )
    return FeedRelease(package, version, 7, UPLOADED, released)


@given(
    st.lists(st.tuples(st.integers(1, 2**31 - 1), versions), max_size=8, unique=True),
    st.none() | st.datetimes(timezones=st.just(dt.UTC)),
)
def test_release_entries_are_valid_atom_with_one_stable_id_per_release(
    releases: list[tuple[int, str]], released: dt.datetime | None
) -> None:
    entries = [release_entry(_release(pid, version, released), LINKS) for pid, version in releases]
    again = [release_entry(_release(pid, version, None), LINKS) for pid, version in releases]
    assert [entry.id for entry in entries] == [entry.id for entry in again]  # stable
    assert len({entry.id for entry in entries}) == len(entries)  # one per release
    feed = Feed(
        id="tag:packages.example.org,2026-12-03:feeds/packages",
        title="t",
        updated=UPLOADED,
        self_url="https://packages.example.org/feeds/packages.atom",
        author=Person("packages-api"),
        entries=entries,
    )
    assert problems(render_feed(feed)) == []


def test_versions_that_read_alike_once_escaped_are_two_releases() -> None:
    ids = {
        release_entry(_release(1, version, None), LINKS).id
        for version in ["1.0é", "1.0%C3%A9", "1.0%25C3%25A9"]
    }
    assert len(ids) == 3


@given(versions)
def test_a_release_page_is_below_the_project_page(version: str) -> None:
    page = release_page("https://pypi.org/project/django-shop/", version)
    assert page is not None and page.startswith("https://pypi.org/project/django-shop/")
    assert page.count("/") == 6  # the version is one path segment, whatever it holds
    assert release_page("https://example.org/simple/django-shop/", version) is None
