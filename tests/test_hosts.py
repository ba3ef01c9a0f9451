"""The one host parser: a URL's host as packages and forges are keyed by it, and a Host
header's name as ALLOWED_HOSTS compares it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.hosts import check_host, host_of, is_host, split_host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://github.com/owner/repo", "github.com"),
        ("https://www.GitHub.com/Owner/Repo", "github.com"),
        ("http://git.example.org:8080/group/sub/repo", "git.example.org:8080"),
        ("https://git.example.org:0443/a/b", "git.example.org:443"),
        ("https://git.example.org:0/a/b", "git.example.org"),
        ("ssh://git@git.example.org:2222/a/b.git", "git.example.org"),
        ("git+https://git.example.org:8443/a/b", "git.example.org"),
        ("https://user:secret@codeberg.org/a/b", "codeberg.org"),
        ("https://[::1]:8080/a/b", "::1:8080"),
        ("https://pypi.org:99999/project/x/", ""),
        ("https://pypi.org:port/project/x/", ""),
        ("http://[", ""),
        ("/just/a/path", ""),
        ("", ""),
    ],
)
def test_the_host_of_a_url(url: str, host: str) -> None:
    assert host_of(url) == host


_LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_NAMES = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", "ssh", "git+https"]),
    www=st.booleans(),
    name=_NAMES,
    port=st.none() | st.integers(0, 65535),
    user=st.none() | st.sampled_from(["git", "user:pw"]),
    path=st.sampled_from(["", "/", "/owner/repo", "/a/b/c.git?x=1#y"]),
)
def test_a_urls_host_is_what_urllib_reads_keyed_as_repositories_are(
    scheme: str, www: bool, name: str, port: int | None, user: str | None, path: str
) -> None:
    authority = f"{'www.' if www else ''}{name}{'' if port is None else f':{port}'}"
    url = f"{scheme}://{f'{user}@' if user else ''}{authority}{path}"
    parts = urlsplit(url)
    expected = (parts.hostname or "").removeprefix("www.")
    if parts.port and parts.scheme in {"http", "https"}:
        expected = f"{expected}:{parts.port}"

    assert host_of(url) == expected
    assert is_host(host_of(url))


@pytest.mark.parametrize(
    ("header", "split"),
    [
        ("Example.org", ("example.org", "")),
        ("example.org:8000", ("example.org", "8000")),
        ("www.example.org", ("www.example.org", "")),
        ("[::1]", ("[::1]", "")),
        ("[::1]:8000", ("[::1]", "8000")),
        ("127.0.0.1:80", ("127.0.0.1", "80")),
    ],
)
def test_a_host_header_splits_into_name_and_port(header: str, split: tuple[str, str]) -> None:
    assert split_host(header) == split


@pytest.mark.parametrize("value", ["Codeberg.org ", "git.local:3000", "a-b.c"])
def test_a_configured_host_is_lowercased(value: str) -> None:
    assert check_host(value) == value.strip().lower()


@pytest.mark.parametrize(
    "value", ["", "codeberg.org/x", "https://codeberg.org", "-a.org", "a..org", "h:123456", "a\nb"]
)
def test_a_configured_host_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        check_host(value)
