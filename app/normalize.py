"""Canonical forms of what users type: repository URLs, PyPI references, slugs.

One repository has one URL here, whatever the spelling it was entered with, so the
unique index on `repo_url` really catches duplicates and the refresher knows the forge.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

# The public hosts whose forge we know. The settings add more (GITHUB_HOST, GITLAB_URL,
# FORGEJO_INSTANCES, BITBUCKET_HOST: `Settings.forge_hosts`), passed in as `hosts`; a
# repository on any other host is stored with an empty repo_host.
KNOWN_HOSTS: dict[str, str] = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "codeberg.org": "forgejo",
}

# Each is used with fullmatch(): `$` would also match before a final newline ("nlb\n").
_SCP_LIKE = re.compile(r"(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>(?!//)[^\s]+)")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")
_SEGMENT = re.compile(r"[a-z0-9._~-]+")
# Django's SlugField rule, which djangopackages' slugs follow.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# PEP 508 project names.
_PYPI_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)


def _kinds(hosts: Mapping[str, str] | None) -> Mapping[str, str]:
    return {**KNOWN_HOSTS, **hosts} if hosts else KNOWN_HOSTS


def repo_host_of(url: str, hosts: Mapping[str, str] | None = None) -> str:
    """The forge kind of a normalized repository URL ("" when unknown or empty), among
    the known hosts and the configured `hosts` (host -> kind)."""
    if not url:
        return ""
    return _kinds(hosts).get(urlsplit(url).netloc, "")


def normalize_repo_url(raw: str, hosts: Mapping[str, str] | None = None) -> str:
    """`https://host/owner/repo` in lowercase: no `.git`, no trailing slash, no subpage.

    Accepts http(s), git+https, ssh:// and scp-like `git@host:owner/repo.git` spellings.
    `hosts` (host -> forge kind) adds configured forges to the known ones: a GitLab host
    keeps its whole group/subgroup path, other forges' paths stop at owner/repo.
    Raises ValueError with a message fit for the client when it is not a repository URL.
    """
    text = raw.strip()
    if not text:
        return ""
    scp = _SCP_LIKE.fullmatch(text)
    if scp and "://" not in text:
        text = f"https://{scp['host']}/{scp['path']}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https", "git+https", "git+http", "ssh", "git"}:
        raise ValueError(
            "must be an http(s) URL of a repository, like https://github.com/owner/repo"
        )
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.scheme.lower() in {"http", "https"}:
        host = f"{host}:{parts.port}"
    if not host or not _HOST.fullmatch(host):
        raise ValueError("has no valid host name")
    segments = [segment for segment in parts.path.lower().split("/") if segment]
    kind = _kinds(hosts).get(host, "")
    if kind == "gitlab":
        # GitLab nests groups; "/-/" starts a subpage (tree, issues, ...).
        if "-" in segments:
            segments = segments[: segments.index("-")]
    elif kind:
        segments = segments[:2]
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    segments = [segment for segment in segments if segment]
    if len(segments) < 2:
        raise ValueError("must name an owner and a repository, like https://github.com/owner/repo")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ValueError("has characters that cannot be in a repository path")
    return f"https://{host}/{'/'.join(segments)}"


def normalize_pypi_url(raw: str) -> str:
    """A bare project name becomes its PyPI page; a URL is kept as entered."""
    text = raw.strip()
    if not text:
        return ""
    if _PYPI_NAME.fullmatch(text):
        return f"https://pypi.org/project/{text}/"
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("must be a PyPI project name or an http(s) URL")
    return text


def validate_http_url(raw: str) -> str:
    text = raw.strip()
    if text and not (text.lower().startswith(("http://", "https://")) and urlsplit(text).netloc):
        raise ValueError("must be an http(s) URL")
    return text


def validate_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("may contain only letters, digits, hyphens and underscores")
    if value.isdigit():
        # Details are looked up by id or slug; an all-digit slug would be read as an id.
        raise ValueError("cannot be only digits")
    return value


def slugify(title: str, max_length: int = 100) -> str:
    """A slug from a title, as Django's slugify does: ASCII, lowercase, hyphens."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    slug = re.sub(r"[-\s]+", "-", text).strip("-_")[:max_length].strip("-_")
    if not slug or slug.isdigit():
        raise ValueError("cannot make a slug from this title; give one")
    return slug
