"""The directory's feeds as Atom documents: new packages and new releases as entries, from
plain values. Pure: the repository (app.repositories.feeds) reads the values, the router
serves."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from app.feeds.atom import Category, Entry, Feed, Generator, Link, Person, Text, render_feed
from app.feeds.ids import tag_uri
from app.links import Links

# The date in our tag URIs' authority part: when these feeds were first served. Fixed, so
# an id never changes (RFC 4151: any date on which the name was ours).
FEEDS_SINCE = dt.date(2026, 12, 3)
# An empty feed still has an `updated` (RFC 4287 4.1.1); a fixed one keeps its ETag.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
GENERATOR = Generator("packages-api")
AUTHOR = Person("packages-api")


@dataclass(frozen=True)
class FeedPackage:
    """A package as a feed entry shows it; `added` is when it entered the feed's scope
    (created, or joined the grid)."""

    id: int
    title: str
    slug: str
    repo_url: str | None
    pypi_url: str
    pypi_version: str | None
    repo_description: str
    category_title: str
    created: dt.datetime
    added: dt.datetime


@dataclass(frozen=True)
class FeedRelease:
    """A new version of a package on PyPI: `seen` is when the directory learnt of it (its
    change event), `released` PyPI's upload date when known; `seq` orders releases seen
    in the same instant."""

    package: FeedPackage
    version: str
    seq: int
    seen: dt.datetime
    released: dt.datetime | None


# A PyPI project page, which has a page per release below it.
_PYPI_PROJECT = re.compile(r"https?://[^/?#]+/project/[^/?#]+/?")
RELEASE_CATEGORY = Category(term="release", label="New release")


def authority(links: Links) -> str:
    """The host our ids are minted under: the public base URL's."""
    return urlsplit(links.base).hostname or "localhost"


def package_entry(package: FeedPackage, links: Links, *, scope: str) -> Entry:
    """One package: its page for people (repository, else PyPI), its API resource as
    `related`. `scope` makes the id unique to the feed's sense of "added" (a package joins
    many grids, each an event of its own)."""
    version = f" {package.pypi_version}" if package.pypi_version else ""
    summary = package.repo_description or f"{package.title}{version}"
    return Entry(
        id=tag_uri(authority(links), FEEDS_SINCE, f"{scope}package/{package.id}"),
        title=package.title,
        updated=package.added,
        published=package.added,
        links=(
            Link(package.repo_url or package.pypi_url or None, "alternate", "text/html"),
            Link(links.package(package.id), "related", "application/json"),
        ),
        summary=Text(summary),
        categories=(Category(term=package.category_title),),
    )


def release_page(pypi_url: str, version: str) -> str | None:
    """The release's page on PyPI (`.../project/NAME/VERSION/`), or None when the
    package's PyPI URL is not a project page."""
    if not _PYPI_PROJECT.fullmatch(pypi_url):
        return None
    return f"{pypi_url.rstrip('/')}/{quote(version, safe='')}/"


def release_entry(release: FeedRelease, links: Links) -> Entry:
    """One release: `package/<id>/release/<version>`, so each version of a package is an
    entry of its own, and the same version is always the same entry."""
    package = release.package
    released = release.released or release.seen
    day = f"{released.year:04d}-{released.month:02d}-{released.day:02d}"
    page = release_page(package.pypi_url, release.version)
    # tag_uri keeps a "%XX" as written: "%" escaped first, two versions never share an id.
    version = release.version.replace("%", "%25")
    return Entry(
        id=tag_uri(authority(links), FEEDS_SINCE, f"package/{package.id}/release/{version}"),
        title=f"{package.title} {release.version}",
        updated=release.seen,
        published=released,
        links=(
            Link(page or package.pypi_url or package.repo_url or None, "alternate", "text/html"),
            Link(links.package(package.id), "related", "application/json"),
        ),
        summary=Text(f"{package.title} {release.version} was released on {day}."),
        categories=(Category(term=package.category_title), RELEASE_CATEGORY),
    )


def package_feed(
    *,
    links: Links,
    path: str,
    name: str,
    title: str,
    subtitle: str,
    packages: Sequence[FeedPackage],
    alternate: str,
    releases: Sequence[FeedRelease] = (),
    limit: int | None = None,
    scope: str = "",
    since: dt.datetime = EPOCH,
) -> bytes:
    """The feed at `path` (its self link), named `name` in its id: the packages and the
    releases, newest first, the first `limit` of them. `since` is its updated instant
    when it has no entries (the container's own creation)."""
    entries = [package_entry(package, links, scope=scope) for package in packages]
    entries += [release_entry(release, links) for release in releases]
    # Newest first; the id breaks ties, so the same entries are always the same bytes.
    entries.sort(key=lambda entry: (entry.updated, entry.id), reverse=True)
    entries = entries[:limit]
    updated = max((entry.updated for entry in entries), default=since)
    feed = Feed(
        id=tag_uri(authority(links), FEEDS_SINCE, f"feeds/{name}"),
        title=title,
        subtitle=subtitle,
        updated=updated,
        self_url=f"{links.base}{path}",
        author=AUTHOR,
        alternate_url=alternate,
        alternate_type="application/json",
        generator=GENERATOR,
        entries=entries,
    )
    return render_feed(feed)
