"""Atom 1.0 (RFC 4287) documents: a feed and its entries, rendered to UTF-8 bytes.

The rendering never fails on what the data holds: text is cut down to what XML 1.0 can
carry and escaped (app.xml_text), links that are not http(s) URLs are left out, and an
entry left without both a link and content gets its summary as content, so the document
keeps the RFC's rules (Appendix B's schema and its Schematron assertions) for any text.
What it refuses (ValueError) are the caller's own mistakes: an id that is not an absolute
IRI, or a naive datetime.

Same feed in, same bytes out: the ETag (app.conditional.etag_of) is a digest of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.feeds.ids import absolute_iri, web_link
from app.xml_text import escape_attribute, escape_text, xml_chars

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"

TextType = Literal["text", "html"]


@dataclass(frozen=True)
class Text:
    """A Text construct (RFC 4287 3.1): plain text, or HTML that the reader escapes
    nothing of (it is sent escaped inside the XML and shown as markup)."""

    value: str
    type: TextType = "text"


@dataclass(frozen=True)
class Person:
    name: str
    uri: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Category:
    term: str
    label: str | None = None
    scheme: str | None = None


@dataclass(frozen=True)
class Link:
    """`rel` is "alternate" (the entry's page: what a feed reader opens, so an HTML page
    where there is one), "related", "via" ... (RFC 4287 4.2.7.2)."""

    href: str | None
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: dt.datetime
    links: Sequence[Link] = ()
    published: dt.datetime | None = None
    summary: Text | None = None
    content: Text | None = None
    categories: Sequence[Category] = ()
    authors: Sequence[Person] = ()


@dataclass(frozen=True)
class Generator:
    name: str
    version: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: dt.datetime
    self_url: str
    author: Person
    alternate_url: str | None = None
    alternate_type: str | None = None
    subtitle: str | None = None
    generator: Generator | None = None
    entries: Sequence[Entry] = field(default_factory=tuple)


def rfc3339(instant: dt.datetime) -> str:
    """`2024-05-01T12:00:00Z`: RFC 3339's date-time in UTC, as Atom's Date constructs need
    (RFC 4287 3.3: an uppercase T and Z, seconds always present)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place on a timeline: {instant!r}")
    try:
        utc = instant.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 pushed past the edge by its offset
        utc = (dt.datetime.min if instant.year == 1 else dt.datetime.max).replace(tzinfo=dt.UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}{fraction}Z"
    )


def _id(value: str) -> str:
    iri = absolute_iri(value)
    if iri is None:
        raise ValueError(f"an Atom id must be an absolute IRI (RFC 4287 4.2.6): {value!r}")
    return iri


def _attributes(**values: str | None) -> str:
    return "".join(
        f' {name}="{escape_attribute(value)}"' for name, value in values.items() if value
    )


def _element(name: str, text: str, **attributes: str | None) -> str:
    return f"<{name}{_attributes(**attributes)}>{escape_text(text)}</{name}>"


def _text(name: str, text: Text) -> str:
    return _element(name, text.value, type=text.type)


def _person(tag: str, person: Person) -> list[str]:
    lines = [f"<{tag}>", f"  {_element('name', person.name)}"]
    uri = web_link(person.uri)
    if uri:
        lines.append(f"  {_element('uri', uri)}")
    email = (person.email or "").strip()
    # Appendix B: an address has something on both sides of an "@" (and no line breaks).
    local, at, domain = email.rpartition("@")
    if at and local and domain and email.isprintable():
        lines.append(f"  {_element('email', email)}")
    lines.append(f"</{tag}>")
    return lines


def _usable_links(links: Sequence[Link]) -> list[tuple[Link, str]]:
    """The links whose href is a web URL, with it; of the alternates, the first of each
    media type (RFC 4287 4.1.1: no two alternates share a type and language)."""
    usable: list[tuple[Link, str]] = []
    alternate_types: set[str | None] = set()
    for link in links:
        url = web_link(link.href)
        if url is None or (link.rel == "alternate" and link.type in alternate_types):
            continue
        if link.rel == "alternate":
            alternate_types.add(link.type)
        usable.append((link, url))
    return usable


def _link(link: Link, url: str) -> str:
    return f"<link{_attributes(rel=link.rel, type=link.type, href=url, title=link.title)}/>"


def _category(category: Category) -> list[str]:
    # What XML cannot carry goes first, so that what it leaves is what is trimmed.
    term = xml_chars(category.term).strip()
    if not term:  # a category with no term says nothing
        return []
    scheme = absolute_iri(category.scheme) if category.scheme else None
    return [f"<category{_attributes(term=term, scheme=scheme, label=category.label)}/>"]


def _entry(entry: Entry) -> list[str]:
    lines = [
        f"<id>{escape_text(_id(entry.id))}</id>",
        _element("title", entry.title, type="text"),
        f"<updated>{rfc3339(entry.updated)}</updated>",
    ]
    if entry.published is not None:
        lines.append(f"<published>{rfc3339(entry.published)}</published>")
    links = _usable_links(entry.links)
    lines += [_link(link, url) for link, url in links]
    for author in entry.authors:
        lines += _person("author", author)
    for category in entry.categories:
        lines += _category(category)
    if entry.summary is not None:
        lines.append(_text("summary", entry.summary))
    content = entry.content
    if content is None and not any(link.rel == "alternate" for link, _ in links):
        # RFC 4287 4.1.1.1: an entry without an alternate link must carry content.
        content = entry.summary or Text("")
    if content is not None:
        lines.append(_text("content", content))
    return ["<entry>", *(f"  {line}" for line in lines), "</entry>"]


def render_feed(feed: Feed) -> bytes:
    """The feed as an Atom Feed Document, UTF-8, one element per line."""
    head = [
        f"<id>{escape_text(_id(feed.id))}</id>",
        _element("title", feed.title, type="text"),
    ]
    if feed.subtitle:
        head.append(_element("subtitle", feed.subtitle, type="text"))
    head.append(f"<updated>{rfc3339(feed.updated)}</updated>")
    feed_links = [
        Link(feed.self_url, "self", ATOM_MEDIA_TYPE),
        Link(feed.alternate_url, "alternate", feed.alternate_type),
    ]
    head += [_link(link, url) for link, url in _usable_links(feed_links)]
    head += _person("author", feed.author)
    if feed.generator is not None:
        generator = feed.generator
        head.append(
            _element(
                "generator", generator.name, uri=web_link(generator.uri), version=generator.version
            )
        )
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NAMESPACE}">',
        *(f"  {line}" for line in head),
    ]
    for entry in feed.entries:
        lines += (f"  {line}" for line in _entry(entry))
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode()
