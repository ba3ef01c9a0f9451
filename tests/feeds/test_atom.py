"""Atom feeds are valid Atom 1.0 for any package data, read back by real parsers as written.

Validity is judged by RFC 4287's own schema and rules (atom_spec.py), by two XML parsers
(libxml2 through lxml, expat through the standard library) and by feedparser, which is
what many feed readers run. Package text comes from upstream unchecked, so the properties
draw it from all of Unicode, lone surrogates and control characters included.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ElementTree

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls
from lxml import etree

from app.conditional import etag_of
from app.feeds import (
    ATOM_MEDIA_TYPE,
    Category,
    Entry,
    Feed,
    Generator,
    Link,
    Person,
    Text,
    render_feed,
    rfc3339,
    tag_uri,
)
from app.xml_text import xml_chars
from tests.feeds.atom_spec import ATOM, problems

NS = {"atom": ATOM}
UTC = dt.UTC
WHEN = dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)

# Any code point a Python str can hold, surrogates and controls included.
any_text = st.text(st.characters(exclude_categories=()), max_size=200)
offsets = st.builds(
    dt.timezone,
    st.timedeltas(
        min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
instants = st.datetimes(timezones=st.one_of(st.just(UTC), offsets))
maybe_url = st.one_of(st.none(), st.just(""), urls(), any_text)
hosts = st.sampled_from(["packages.example.org", "127.0.0.1:8000", "Bücher.example", "localhost"])
entry_ids = st.one_of(
    st.builds(tag_uri, hosts, st.dates(), any_text),
    urls(),
)
texts = st.builds(Text, any_text, st.sampled_from(["text", "html"]))
people = st.builds(Person, any_text, maybe_url, st.one_of(st.none(), any_text, st.emails()))
entries = st.builds(
    Entry,
    id=entry_ids,
    title=any_text,
    updated=instants,
    links=st.lists(
        st.builds(
            Link,
            maybe_url,
            st.sampled_from(["alternate", "related", "via"]),
            st.one_of(st.none(), st.sampled_from(["text/html", "application/json"])),
            st.one_of(st.none(), any_text),
        ),
        max_size=3,
    ),
    published=st.one_of(st.none(), instants),
    summary=st.one_of(st.none(), texts),
    content=st.one_of(st.none(), texts),
    categories=st.lists(
        st.builds(Category, any_text, st.one_of(st.none(), any_text), maybe_url), max_size=3
    ),
    authors=st.lists(people, max_size=2),
)
feeds = st.builds(
    Feed,
    id=st.one_of(entry_ids, urls()),
    title=any_text,
    updated=instants,
    self_url=urls(),
    author=people,
    alternate_url=maybe_url,
    subtitle=st.one_of(st.none(), any_text),
    generator=st.one_of(
        st.none(), st.builds(Generator, any_text, st.one_of(st.none(), any_text), maybe_url)
    ),
    entries=st.lists(entries, max_size=5),
)


def package_feed(*entries: Entry) -> Feed:
    return Feed(
        id="http://packages.example.org/feeds/packages.atom",
        title="New packages and releases",
        updated=WHEN,
        self_url="http://packages.example.org/feeds/packages.atom",
        alternate_url="http://packages.example.org/api/v4/packages/",
        alternate_type="application/json",
        author=Person("packages-api", uri="http://packages.example.org/"),
        generator=Generator("packages-api", version="0.1.0"),
        entries=entries,
    )


def release_entry(**changes: object) -> Entry:
    values: dict[str, object] = {
        "id": tag_uri("packages.example.org", dt.date(2023, 2, 14), "package/631/release/2.1"),
        "title": "django-shop 2.1",
        "updated": WHEN,
        "published": WHEN - dt.timedelta(days=1),
        "links": [
            Link("https://pypi.org/project/django-shop/2.1/", type="text/html"),
            Link("http://packages.example.org/api/v4/packages/631/", "related", "application/json"),
        ],
        "summary": Text("A RESTful e-commerce framework <for> Django & friends"),
        "categories": [Category("app", label="App")],
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


def read_back(document: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(document, sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_a_package_feed_is_valid_atom_that_feed_readers_read_as_written() -> None:
    document = render_feed(package_feed(release_entry()))

    assert problems(document) == []
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns=')
    parsed = read_back(document)
    assert parsed.feed.title == "New packages and releases"
    assert parsed.feed.id == "http://packages.example.org/feeds/packages.atom"
    assert {link.rel: link.href for link in parsed.feed.links} == {
        "self": "http://packages.example.org/feeds/packages.atom",
        "alternate": "http://packages.example.org/api/v4/packages/",
    }
    assert parsed.feed.author == "packages-api"
    [entry] = parsed.entries
    assert entry.id == "tag:packages.example.org,2023-02-14:package/631/release/2.1"
    assert entry.title == "django-shop 2.1"
    assert entry.summary == "A RESTful e-commerce framework <for> Django & friends"
    assert entry.link == "https://pypi.org/project/django-shop/2.1/"
    assert [(link.rel, link.type, link.href) for link in entry.links] == [
        ("alternate", "text/html", "https://pypi.org/project/django-shop/2.1/"),
        ("related", "application/json", "http://packages.example.org/api/v4/packages/631/"),
    ]
    assert entry.updated == "2024-05-01T12:30:00Z"
    assert entry.published == "2024-04-30T12:30:00Z"
    assert [tag.term for tag in entry.tags] == ["app"]


def test_an_empty_feed_is_valid() -> None:
    assert problems(render_feed(package_feed())) == []


def test_the_checker_refuses_what_the_rfc_refuses() -> None:
    """The checker is no rubber stamp: each of these breaks one rule of RFC 4287."""
    valid = render_feed(package_feed(release_entry()))
    root = etree.fromstring(valid)

    def without(xpath: str) -> bytes:
        copy = etree.fromstring(etree.tostring(root))
        for element in copy.xpath(xpath, namespaces=NS):
            element.getparent().remove(element)
        return etree.tostring(copy)

    assert any("RELAX NG" in p for p in problems(without("/atom:feed/atom:id")))
    assert any("RELAX NG" in p for p in problems(without("//atom:entry/atom:updated")))
    no_link = problems(without("//atom:entry/atom:link"))
    assert any("alternate" in p and "Schematron" in p for p in no_link)
    no_author = problems(without("/atom:feed/atom:author"))
    assert any("atom:author" in p and "Schematron" in p for p in no_author)
    assert problems(valid.replace(b"2024-05-01T12:30:00Z", b"2024-05-01t12:30:00z", 1))
    assert problems(valid.replace(b"<id>http://", b"<id>packages.example.org/", 1))
    two_alternates = b'rel="alternate" type="application/json"'
    assert problems(valid.replace(b'rel="self" type="application/atom+xml"', two_alternates))
    assert problems(valid.replace(b"</title>", b"</title><foo/>", 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds)
def test_any_content_makes_valid_atom(feed: Feed) -> None:
    document = render_feed(feed)

    assert problems(document) == []
    ElementTree.fromstring(document)  # noqa: S314 (our document; expat, the stdlib's parser, agrees)
    read_back(document)


@settings(max_examples=200, deadline=None)
@given(title=any_text, summary=any_text, content=any_text, term=any_text)
def test_text_reads_back_exactly_less_what_xml_cannot_carry(
    title: str, summary: str, content: str, term: str
) -> None:
    feed = package_feed(
        release_entry(
            title=title,
            summary=Text(summary),
            content=Text(content, "html"),
            categories=[Category(term, label=term)],
        )
    )
    entry = etree.fromstring(render_feed(feed)).find("atom:entry", NS)

    assert (entry.findtext("atom:title", namespaces=NS) or "") == xml_chars(title)
    assert (entry.findtext("atom:summary", namespaces=NS) or "") == xml_chars(summary)
    assert (entry.findtext("atom:content", namespaces=NS) or "") == xml_chars(content)
    assert entry.find("atom:content", NS).get("type") == "html"
    category = entry.find("atom:category", NS)
    if xml_chars(term).strip():
        assert category.get("term") == xml_chars(term).strip()
        assert category.get("label") == xml_chars(term)
    else:
        assert category is None


def test_control_characters_are_dropped_and_markup_is_escaped() -> None:
    entry = release_entry(
        title="a\x00b\x1bc\ud800d\ufffee\x85f",
        summary=Text("</summary><script>alert(1)</script> ]]> &amp;"),
    )
    document = render_feed(package_feed(entry))

    assert problems(document) == []
    parsed = read_back(document).entries[0]
    assert parsed.title == "abcdef"
    assert parsed.summary == "</summary><script>alert(1)</script> ]]> &amp;"
    assert b"<script>" not in document


def test_links_that_are_not_web_urls_are_left_out() -> None:
    for href in ["javascript:alert(1)", "file:///etc/passwd", "/relative", "", "http://", None]:
        document = render_feed(package_feed(release_entry(links=[Link(href)])))
        assert problems(document) == []
        assert b"<link" not in document.split(b"<entry>")[1], href


def test_a_second_alternate_of_the_same_type_is_left_out() -> None:
    links = [
        Link("https://a.example/", type="text/html"),
        Link("https://b.example/", type="text/html"),
    ]
    document = render_feed(package_feed(release_entry(links=links)))

    assert problems(document) == []
    assert [link.href for link in read_back(document).entries[0].links] == ["https://a.example/"]


def test_an_entry_without_a_link_carries_its_summary_as_content() -> None:
    document = render_feed(package_feed(release_entry(links=[])))

    assert problems(document) == []
    entry = read_back(document).entries[0]
    assert entry.content[0].value == "A RESTful e-commerce framework <for> Django & friends"


def test_urls_with_spaces_and_unicode_are_percent_encoded() -> None:
    entry = release_entry(links=[Link("https://example.org/packages/ünï côdé/?q=a b")])
    document = render_feed(package_feed(entry))

    assert problems(document) == []
    assert read_back(document).entries[0].link == (
        "https://example.org/packages/%C3%BCn%C3%AF%20c%C3%B4d%C3%A9/?q=a%20b"
    )


def test_timestamps_are_rfc3339_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert rfc3339(dt.datetime(2024, 5, 1, 14, 30, tzinfo=paris)) == "2024-05-01T12:30:00Z"
    assert rfc3339(dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=UTC)) == (
        "2024-05-01T12:30:00.250000Z"
    )
    assert rfc3339(dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))) == (
        "0001-01-01T00:00:00Z"
    )
    with pytest.raises(ValueError, match="naive"):
        rfc3339(dt.datetime(2024, 5, 1, 12, 30))


def test_an_id_that_is_not_an_absolute_iri_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="absolute IRI"):
        render_feed(package_feed(release_entry(id="package/631")))


def test_the_same_feed_gives_the_same_bytes_and_etag_and_a_change_changes_them() -> None:
    first = render_feed(package_feed(release_entry()))
    again = render_feed(package_feed(release_entry()))
    changed = render_feed(package_feed(release_entry(title="django-shop 2.2")))

    assert first == again
    assert etag_of(first) == etag_of(again)
    assert etag_of(first) != etag_of(changed)
    assert etag_of(first).startswith('"') and etag_of(first).endswith('"')
    assert ATOM_MEDIA_TYPE == "application/atom+xml"
