"""PURLs as the spec parses them, held to the rules of the types a directory knows."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from app.insights.purl import Purl, PurlError, parse_purl
from tests.insights.strategies import PROPERTY, forge_segments, pypi_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pkg:pypi/django-shop", Purl("pypi", (), "django-shop", None)),
        ("pkg:pypi/django-shop@1.2", Purl("pypi", (), "django-shop", "1.2")),
        # Case and separators, as PEP 503 compares names (the spec: lowercase, _ as -).
        ("pkg:PYPI/Django_Shop@1.11.1.dev1", Purl("pypi", (), "django-shop", "1.11.1.dev1")),
        ("pkg:pypi/zope.interface", Purl("pypi", (), "zope-interface", None)),
        # Parsers accept and drop slashes after the scheme, and trailing ones.
        ("pkg://pypi/django-shop/", Purl("pypi", (), "django-shop", None)),
        ("PKG:pypi/django-shop", Purl("pypi", (), "django-shop", None)),
        # Percent-encoding is decoded in every component.
        ("pkg:pypi/django%2Dshop@1.0%2Bcpu", Purl("pypi", (), "django-shop", "1.0+cpu")),
        (
            "pkg:pypi/django@1.11.1?file_name=Django-1.11.1.tar.gz&Repository_URL=",
            Purl("pypi", (), "django", "1.11.1", {"file_name": "Django-1.11.1.tar.gz"}),
        ),
        (
            "pkg:github/Awesto/Django-Shop@244fd47e07d1004#docs/./../src/",
            Purl("github", ("awesto",), "django-shop", "244fd47e07d1004", {}, ("docs", "src")),
        ),
        (
            "pkg:bitbucket/birkenfeld/pygments-main",
            Purl("bitbucket", ("birkenfeld",), "pygments-main", None),
        ),
        ("pkg:gitlab/Group/Sub/Project", Purl("gitlab", ("group", "sub"), "project", None)),
        # The git type is case-sensitive; its first namespace segment is the host.
        (
            "pkg:git/codeberg.org/Forgejo/forgejo@v9",
            Purl("git", ("codeberg.org", "Forgejo"), "forgejo", "v9"),
        ),
        ("pkg:github/o/r@", Purl("github", ("o",), "r", None)),
    ],
)
def test_a_purl_is_parsed_and_normalized_as_its_type_says(text: str, expected: Purl) -> None:
    assert parse_purl(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("django-shop", "starts with pkg:"),
        ("pkg%3Apypi/django", "starts with pkg:"),
        ("npm:pypi/django", "starts with pkg:"),
        ("pkg:django@1.0", "names its type"),
        ("pkg:3pypi/django", "names its type"),
        ("pkg:py:pi/django", "names its type"),
        ("pkg:pypi/@1.0", "names its package"),
        ("pkg:pypi/", "names its package"),
        ("pkg:npm/left-pad", "pkg:npm names no Python package"),
        ("pkg:pypi/ns/django", "no namespace"),
        ("pkg:pypi/django%20shop", "not a PyPI project name"),
        ("pkg:pypi/django-shop?in%20production=true", "valid key"),
        ("pkg:pypi/django-shop?a=1&A=2", "given twice"),
        ("pkg:pypi/django-shop?novalue", "valid key"),
        ("pkg:github/django-shop", "OWNER/NAME"),
        ("pkg:github/a/b/c", "OWNER/NAME"),
        ("pkg:gitlab/project", "GROUP/NAME"),
        ("pkg:git/github.com/r", "HOST/OWNER/NAME"),
        ("pkg:github/o/a%2Fb", "encoded '/'"),
        ("pkg:github/o%2Fx/r", "encoded '/'"),
        ("pkg:pypi/django@1%", "%XX"),
        ("pkg:pypi/django@%ff", "UTF-8"),
        ("pkg:github/o/r#a%2Fb", "encoded '/'"),
    ],
)
def test_a_purl_that_cannot_be_looked_up_is_refused_with_the_reason(
    text: str, message: str
) -> None:
    with pytest.raises(PurlError, match=message):
        parse_purl(text)


# Any text a component may hold, percent-encoded as the spec's builders do.
component_text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20
)
qualifiers = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9._-]{0,10}", fullmatch=True), component_text, max_size=3
)
subpath = st.lists(
    component_text.filter(lambda s: "/" not in s and s not in {".", ".."}), max_size=3
)


def encode(text: str) -> str:
    return quote(text, safe="")


def build(
    purl_type: str,
    namespace: list[str],
    name: str,
    version: str | None,
    extra: dict[str, str],
    path: list[str],
) -> str:
    text = f"pkg:{purl_type}/" + "".join(f"{encode(s)}/" for s in namespace) + encode(name)
    if version is not None:
        text += f"@{encode(version)}"
    if extra:
        text += "?" + "&".join(f"{k}={encode(v)}" for k, v in sorted(extra.items()))
    if path:
        text += "#" + "/".join(encode(s) for s in path)
    return text


@PROPERTY
@given(pypi_names, st.none() | component_text, qualifiers, subpath)
def test_every_pypi_purl_a_builder_makes_parses_back(
    name: str, version: str | None, extra: dict[str, str], path: list[str]
) -> None:
    parsed = parse_purl(build("pypi", [], name, version, extra, path))

    assert parsed == Purl("pypi", (), canonicalize_name(name), version, extra, tuple(path))


@PROPERTY
@given(
    st.sampled_from(["github", "bitbucket", "gitlab", "git"]),
    st.lists(forge_segments, min_size=2, max_size=4),
    st.none() | component_text,
    qualifiers,
)
def test_every_repository_purl_a_builder_makes_parses_back(
    purl_type: str, segments: list[str], version: str | None, extra: dict[str, str]
) -> None:
    if purl_type in {"github", "bitbucket"}:
        segments = segments[:2]
    if purl_type == "git":
        segments = ["codeberg.org", *segments]  # the host, then the repository's path
    namespace, name = segments[:-1], segments[-1]
    parsed = parse_purl(build(purl_type, namespace, name, version, extra, []))

    fold = (lambda s: s) if purl_type == "git" else str.lower
    assert parsed == Purl(
        purl_type, tuple(fold(s) for s in namespace), fold(name), version, extra, ()
    )


@PROPERTY
@given(st.text(max_size=60) | st.builds("pkg:{}".format, st.text(max_size=60)))
def test_any_text_is_a_purl_or_a_purl_error(text: str) -> None:
    try:
        parsed = parse_purl(text)
    except PurlError as error:
        assert str(error)
    else:
        assert parsed.type in {"pypi", "github", "gitlab", "bitbucket", "git"}
        assert parsed.name
