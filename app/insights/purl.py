"""Package URLs (PURL, ECMA-427; github.com/package-url/purl-spec): parsed as the spec's
"How to parse a PURL" says, then held to the rules of the types a package directory knows.

Types: `pypi` (no namespace; a name compared as PEP 503 does), `github` and `bitbucket`
(one namespace segment, the owner; lowercased), `gitlab` (a candidate type of the spec, not
yet registered: the group path, any depth), and `git` (`pkg:git/<host>/<path>`, the spec's
type for any other forge, e.g. Codeberg). Other types name no Python package: refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from app.insights.names import pypi_name

KNOWN_TYPES = ("pypi", "github", "gitlab", "bitbucket", "git")

_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9.-]*")
_QUALIFIER_KEY = re.compile(r"[a-z][a-z0-9._-]*")
_PERCENT_TRIPLET = re.compile(r"%(?![0-9A-Fa-f]{2})")


class PurlError(ValueError):
    """The text is not a PURL this directory can look up; the message says why."""


@dataclass(frozen=True, slots=True)
class Purl:
    type: str
    namespace: tuple[str, ...]  # decoded segments
    name: str
    version: str | None
    qualifiers: dict[str, str] = field(default_factory=dict)
    subpath: tuple[str, ...] = ()


def _decode(text: str, what: str) -> str:
    if _PERCENT_TRIPLET.search(text):
        raise PurlError(f"its {what} has a '%' that does not start a %XX escape")
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise PurlError(f"its {what} is not percent-encoded UTF-8") from None


def parse_purl(text: str) -> Purl:
    """The components of a PURL, with the type's own normalization applied
    (pypi: PEP 503 name; github, bitbucket, gitlab: lowercase). Raises PurlError."""
    remainder = text.strip()
    subpath: tuple[str, ...] = ()
    if "#" in remainder:
        remainder, _, fragment = remainder.rpartition("#")
        segments = [_decode(s, "subpath") for s in fragment.split("/")]
        if any("/" in s for s in segments):
            raise PurlError("a subpath segment holds an encoded '/'")
        subpath = tuple(s for s in segments if s not in {"", ".", ".."})
    qualifiers: dict[str, str] = {}
    if "?" in remainder:
        remainder, _, query = remainder.rpartition("?")
        qualifiers = _qualifiers(query)

    scheme, colon, remainder = remainder.partition(":")
    if not colon or scheme.lower() != "pkg":
        raise PurlError("a PURL starts with pkg:")
    remainder = remainder.lstrip("/")
    purl_type, slash, remainder = remainder.partition("/")
    if not slash or not _TYPE.fullmatch(purl_type):
        raise PurlError("a PURL names its type, like pkg:pypi/NAME")
    purl_type = purl_type.lower()

    version: str | None = None
    if "@" in remainder:
        remainder, _, raw_version = remainder.rpartition("@")
        version = _decode(raw_version, "version") or None
    remainder = remainder.rstrip("/")
    raw_namespace, _, raw_name = remainder.rpartition("/")
    name = _decode(raw_name, "name")
    if not name:
        raise PurlError("a PURL names its package")
    if "/" in name:
        raise PurlError("its name holds an encoded '/'")
    namespace = tuple(_decode(s, "namespace") for s in raw_namespace.split("/") if s)
    if any("/" in segment for segment in namespace):
        raise PurlError("a namespace segment holds an encoded '/'")
    return _typed(Purl(purl_type, namespace, name, version, qualifiers, subpath))


def _qualifiers(query: str) -> dict[str, str]:
    qualifiers: dict[str, str] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        key, equals, value = pair.partition("=")
        key = key.lower()
        if not equals or not _QUALIFIER_KEY.fullmatch(key):
            raise PurlError(f"qualifier {pair!r} is not key=value with a valid key")
        if key in qualifiers:
            raise PurlError(f"qualifier {key!r} is given twice")
        decoded = _decode(value, f"qualifier {key}")
        if decoded:  # an empty value is as if the qualifier were absent
            qualifiers[key] = decoded
    return qualifiers


def _typed(purl: Purl) -> Purl:
    known = ", ".join(KNOWN_TYPES)
    if purl.type not in KNOWN_TYPES:
        raise PurlError(f"pkg:{purl.type} names no Python package here; known types: {known}")
    if purl.type == "pypi":
        if purl.namespace:
            raise PurlError("pkg:pypi has no namespace: pkg:pypi/NAME")
        try:
            return _replace(purl, (), pypi_name(purl.name))
        except ValueError as error:
            raise PurlError(str(error)) from None
    if purl.type in {"github", "bitbucket"}:
        if len(purl.namespace) != 1:
            raise PurlError(f"pkg:{purl.type} names an owner and a repository: OWNER/NAME")
    elif not purl.namespace or (purl.type == "git" and len(purl.namespace) < 2):
        shape = "HOST/OWNER/NAME" if purl.type == "git" else "GROUP/NAME"
        raise PurlError(f"pkg:{purl.type} names its repository as {shape}")
    if purl.type == "git":
        return purl  # case-sensitive, as the type says
    return _replace(purl, tuple(s.lower() for s in purl.namespace), purl.name.lower())


def _replace(purl: Purl, namespace: tuple[str, ...], name: str) -> Purl:
    return Purl(purl.type, namespace, name, purl.version, purl.qualifiers, purl.subpath)
