"""The directory's feeds as Atom documents: packages as entries, from plain values.
Pure: the repository (app.repositories.feeds) reads the values, the router serves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def package_feed(
    *,
    links: Links,
    path: str,
    name: str,
    title: str,
    subtitle: str,
    packages: Sequence[FeedPackage],
    alternate: str,
    scope: str = "",
    since: dt.datetime = EPOCH,
) -> bytes:
    """The feed at `path` (its self link), named `name` in its id. `since` is its updated
    instant when it has no entries (the container's own creation)."""
    entries = [package_entry(package, links, scope=scope) for package in packages]
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
