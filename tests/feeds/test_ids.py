"""Entry ids are tag URIs (RFC 4151) that never change for the same entry; links are
http(s) URLs a person may follow."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import domains

from app.feeds import absolute_iri, tag_uri, web_link

# RFC 4151 section 2.1, as a regular expression.
_DNS_NAME = (
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_TAG_URI = re.compile(
    rf"tag:(?:{_DNS_NAME}|[A-Za-z0-9\-._]+@{_DNS_NAME}),"
    r"\d{4}(?:-\d{2}(?:-\d{2})?)?:"
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*"
)


def test_a_tag_uri_names_its_authority_date_and_subject() -> None:
    assert tag_uri("packages.example.org", dt.date(2023, 2, 14), "package/631") == (
        "tag:packages.example.org,2023-02-14:package/631"
    )


def test_the_port_is_dropped_and_names_are_lowercased_and_idna_encoded() -> None:
    assert tag_uri("Packages.Example.org:8000", dt.date(2023, 2, 14), "x") == (
        "tag:packages.example.org,2023-02-14:x"
    )
    assert tag_uri("bücher.example", dt.date(2023, 2, 14), "x") == (
        "tag:xn--bcher-kva.example,2023-02-14:x"
    )


def test_dates_have_one_spelling() -> None:
    assert tag_uri("a.example", dt.date(2024, 1, 1), "x") == "tag:a.example,2024:x"
    assert tag_uri("a.example", dt.date(2024, 3, 1), "x") == "tag:a.example,2024-03:x"
    assert tag_uri("a.example", dt.date(2024, 1, 9), "x") == "tag:a.example,2024-01-09:x"


def test_an_email_address_is_an_authority_too() -> None:
    assert tag_uri("feeds@example.org", dt.date(2023, 2, 14), "x") == (
        "tag:feeds@example.org,2023-02-14:x"
    )


@pytest.mark.parametrize("authority", ["", "[::1]:8000", "-bad-.example", "a b", "x@", "a" * 64])
def test_an_authority_that_is_no_dns_name_is_refused(authority: str) -> None:
    with pytest.raises(ValueError, match=r"tag URI|DNS name"):
        tag_uri(authority, dt.date(2023, 2, 14), "x")


@given(
    authority=st.one_of(
        domains(),
        st.builds("{}@{}".format, st.from_regex(r"[A-Za-z0-9\-._]+", fullmatch=True), domains()),
    ),
    date=st.dates(),
    specific=st.text(st.characters(exclude_categories=())),
)
def test_any_subject_makes_a_well_formed_tag_uri_that_is_stable(
    authority: str, date: dt.date, specific: str
) -> None:
    uri = tag_uri(authority, date, specific)
    assert _TAG_URI.fullmatch(uri), uri
    assert tag_uri(authority, date, specific) == uri


@given(st.text(st.characters(exclude_categories=())))
def test_an_absolute_iri_keeps_only_what_a_uri_may_hold(value: str) -> None:
    iri = absolute_iri(value)
    if iri is not None:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*:[!#$&-;=?-\[\]_a-z~]*", iri), iri
        assert re.search(r"%(?![0-9A-Fa-f]{2})", iri) is None
    assert absolute_iri(f" https://example.org/{value}") is not None


def test_a_well_formed_escape_is_kept_and_a_stray_percent_is_escaped() -> None:
    assert absolute_iri("https://example.org/a%20b%zz%") == "https://example.org/a%20b%25zz%25"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://github.com/awesto/django-shop", "https://github.com/awesto/django-shop"),
        ("  HTTP://example.org/x\n", "HTTP://example.org/x"),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("ftp://example.org/", None),
        ("github.com/awesto/django-shop", None),
        ("http://", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_only_web_urls_with_a_host_are_linked(value: str | None, expected: str | None) -> None:
    assert web_link(value) == expected
