"""Identifiers and links in a feed: tag URIs (RFC 4151) for entries, and IRIs made safe.

An Atom id must never change for the same entry (RFC 4287 4.2.6), or feed readers show it
again as new. A tag URI names an entry by who minted it, when, and what it is, so it does
not depend on a URL layout: `tag:packages.example.org,2024-05-01:package/631`. The date is
one on which the authority owned its name; the record's creation date is the natural,
stable choice.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

# RFC 4151 section 2.1: DNScomp = alphaNum [*(alphaNum / "-") alphaNum].
_DNS_COMPONENT = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_DNS_COMPONENT}(?:\.{_DNS_COMPONENT})*")
# emailAddress = 1*(alphaNum / "-" / "." / "_") "@" DNSname
_EMAIL = re.compile(r"[A-Za-z0-9\-._]+@" + _DNS_NAME.pattern)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HEX = frozenset("0123456789abcdefABCDEF")

# RFC 3986: unreserved, sub-delims, ":" and "@" (pchar), and "/" and "?".
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SPECIFIC_SAFE = frozenset(_UNRESERVED + "!$&'()*+,;=:@/?")
# Everything a URI may hold as is, "%" of well-formed escapes included.
_URI_SAFE = frozenset(_UNRESERVED + ":/?#[]@!$&'()*+,;=")


def _percent_encode(value: str, safe: frozenset[str]) -> str:
    """`value` with every character outside `safe` percent-encoded as UTF-8; a `%` stays
    only when it starts a well-formed escape. Lone surrogates, which UTF-8 cannot encode,
    are dropped."""
    out: list[str] = []
    for index, char in enumerate(value):
        escape = value[index + 1 : index + 3]
        well_formed_escape = char == "%" and len(escape) == 2 and set(escape) <= _HEX
        if char in safe or well_formed_escape:
            out.append(char)
        elif not "\ud800" <= char <= "\udfff":
            out.extend(f"%{byte:02X}" for byte in char.encode())
    return "".join(out)


def _authority(host_or_email: str) -> str:
    name = host_or_email.strip().rstrip(".")
    if "@" in name:
        local, _, domain = name.rpartition("@")
        candidate = f"{local}@{_idna(domain)}"
        if _EMAIL.fullmatch(candidate):
            return candidate
        raise ValueError(f"not an email address a tag URI can use: {host_or_email!r}")
    # A host as it appears in a URL: drop the port, which tag URIs have no place for.
    host = urlsplit(f"//{name}").hostname or ""
    candidate = _idna(host)
    if _DNS_NAME.fullmatch(candidate):
        return candidate
    raise ValueError(f"not a DNS name a tag URI can use: {host_or_email!r}")


def _idna(name: str) -> str:
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise ValueError(f"not a DNS name: {name!r}") from error


def _tag_date(date: dt.date) -> str:
    # RFC 4151 2.1: month and day are left out when they are 01, so each date has one
    # spelling (tags are compared character by character).
    if (date.month, date.day) == (1, 1):
        return f"{date.year:04d}"
    if date.day == 1:
        return f"{date.year:04d}-{date.month:02d}"
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


def tag_uri(authority: str, date: dt.date, specific: str) -> str:
    """`tag:<authority>,<date>:<specific>`, per RFC 4151.

    `authority` is a host name (a URL's host with or without port; internationalized names
    are IDNA-encoded) or an email address; `specific` is any text, percent-encoded where
    RFC 4151 needs it. ValueError when `authority` is neither a DNS name nor an address.
    """
    return (
        f"tag:{_authority(authority)},{_tag_date(date)}:{_percent_encode(specific, _SPECIFIC_SAFE)}"
    )


def absolute_iri(value: str) -> str | None:
    """`value` as an absolute IRI that XML and feed readers accept, or None when it has no
    scheme. Whitespace around it is dropped; characters a URI cannot hold as is (spaces,
    quotes, controls, non-ASCII) are percent-encoded."""
    candidate = value.strip("\x00\t\n\v\f\r ")
    if not _SCHEME.match(candidate):
        return None
    return _percent_encode(candidate, _URI_SAFE)


def web_link(value: str | None) -> str | None:
    """An http(s) URL with a host, safe to put in an `href`, or None.

    Other schemes (`javascript:`, `data:`, `file:`) are never linked: a link in a feed is
    followed by people.
    """
    if not value:
        return None
    iri = absolute_iri(value)
    if iri is None:
        return None
    try:
        parts = urlsplit(iri)
        host = parts.hostname
    except ValueError:  # a malformed IPv6 literal, for one
        return None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return None
    return iri
