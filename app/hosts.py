"""Hosts: the one reader of the host in a URL or a Host header, and the one check of a
host name an operator configures.

Packages, forges and the PyPI mirror are all keyed by host, so a host is read the same
way wherever two are compared: lowercase, without a leading `www.` (www.github.com is
github.com), with `:port` only when an http(s) URL gives one (the port of an ssh:// URL
is not the web's). Host headers keep `www.` and an IPv6 address's brackets, as Django's
ALLOWED_HOSTS compares them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
# Used with fullmatch(): `$` would also match before a final newline.
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*(:[0-9]{{1,5}})?")
_WEB = frozenset({"http", "https"})


def split_host(authority: str) -> tuple[str, str]:
    """The name and the port ("" when none) of `host[:port]`: a Host header, or a URL's
    authority without its user. Lowercase; an IPv6 address keeps its brackets."""
    text = authority.lower()
    if text.endswith("]"):
        return text, ""
    name, colon, port = text.rpartition(":")
    return (name, port) if colon else (text, "")


def host_of(url: str) -> str:
    """The host a URL names, as repositories and forges are keyed: `github.com`,
    `git.example.org:8443`. "" when the URL has no host, or a port that is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[": not a URL at all
        return ""
    name, port = split_host(parts.netloc.rpartition("@")[2])
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]  # as urlsplit's hostname gives an IPv6 address
    name = name.removeprefix("www.")
    if not port:
        return name
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        return ""
    # Port 0 is no port; a leading zero is the same port.
    number = int(port)
    return f"{name}:{number}" if number and parts.scheme.lower() in _WEB else name


def is_host(text: str) -> bool:
    """A DNS host name with an optional port, lowercase: `codeberg.org`, `git.local:3000`."""
    return _HOST_NAME.fullmatch(text) is not None


def check_host(value: str) -> str:
    """A configured host (GITHUB_HOST, a FORGEJO_INSTANCES key...), lowercased, or
    ValueError naming what is wrong."""
    host = value.strip().lower()
    if not is_host(host):
        raise ValueError(f"{value!r} is not a host name (like codeberg.org)")
    return host
