"""Canonical forms of what users type: repository URLs, PyPI references, slugs.

One repository has one URL here, whatever the spelling it was entered with, so the
unique index on `repo_url` really catches duplicates and the refresher knows the forge.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from app.hosts import host_of, is_host

# The public hosts whose forge we know. The settings add more (GITHUB_HOST,
# GITLAB_INSTANCES, FORGEJO_INSTANCES, BITBUCKET_HOST: `Settings.forge_hosts`), passed
# in as `hosts`; a repository on any other host is stored with an empty repo_host.
KNOWN_HOSTS: dict[str, str] = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "codeberg.org": "forgejo",
}

# Each is used with fullmatch(): `$` would also match before a final newline ("nlb\n").
_SCP_LIKE = re.compile(r"(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>(?!//)[^\s]+)")
_SEGMENT = re.compile(r"[a-z0-9._~-]+")
# Django's SlugField rule, which djangopackages' slugs follow.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# PEP 508 project names.
_PYPI_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)


# What a client may send, as regular expressions the OpenAPI document publishes and the body
# validation enforces (app.schemas.common), so both always agree; anything one of them
# accepts, the normalizers below turn into a stored value (tests/test_properties.py).
# ASCII classes only: JSON Schema's ECMA flavour and Python's disagree on \w, \s and \d.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_NAME = rf"{_LABEL}(?:\.{_LABEL})*"
_PORT = r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# A repository's owner and name: never `-`, `.git` or `..` (a GitLab subpage starts at `/-/`).
_OWNED = r"[A-Za-z0-9_~][A-Za-z0-9._~-]*"
_SUBPATH = r"(?:/[A-Za-z0-9._~-]+)*/?(?:[?#][!-~]*)?"
REPO_URL_PATTERN = (
    r"^(?:"
    rf"(?:https?|git\+https?|ssh|git)://(?:[A-Za-z0-9._~-]+@)?{_HOST_NAME}(?::{_PORT})?"
    rf"/{_OWNED}/{_OWNED}{_SUBPATH}"
    rf"|(?:[A-Za-z0-9._-]+@)?{_HOST_NAME}:{_OWNED}/{_OWNED}(?:/[A-Za-z0-9._~-]+)*/?"
    r")?$"
)
# At most this long, so that the normalized URL (`git@h:o/r` gains 8 characters) fits 255.
REPO_URL_MAX_LENGTH = 247
HTTP_URL_PATTERN = r"^(?:https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#][!-~]*)?)?$"
PYPI_PROJECT_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,227}[A-Za-z0-9])?"
# A bare project name, at most 229 characters so that its PyPI URL fits 255, or a URL.
PYPI_URL_PATTERN = (
    rf"^(?:{PYPI_PROJECT_PATTERN}|https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#][!-~]*)?)?$"
)


def _kinds(hosts: Mapping[str, str] | None) -> Mapping[str, str]:
    return {**KNOWN_HOSTS, **hosts} if hosts else KNOWN_HOSTS


def repo_host_of(url: str | None, hosts: Mapping[str, str] | None = None) -> str:
    """The forge kind of a repo_url in any spelling ("" when unknown, empty or no
    repository URL), among the known hosts and the configured `hosts` (host -> kind)."""
    canonical = canonical_repo_url(url, hosts)
    if not canonical:
        return ""
    return _kinds(hosts).get(host_of(canonical), "")


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
    host = host_of(text)
    if not is_host(host):
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


def canonical_repo_url(stored: str | None, hosts: Mapping[str, str] | None = None) -> str | None:
    """The repository a stored repo_url names, in normalized form; None when it names none.

    An imported repo_url is kept as the source spelled it (`http://github.com/Owner/Repo.git`);
    whatever reads it as a repository (repo_host, the refresher, webhooks) asks this.
    """
    if not stored:
        return None
    try:
        return normalize_repo_url(stored, hosts) or None
    except ValueError:
        return None


def repo_url_spellings(url: str) -> list[str]:
    """The ways a repository's URL is commonly written (http or https, with or without
    `www.`, a final `/`, `.git` or both, in its own case or lowercase): how an imported
    repo_url, kept as the source spelled it, is found from a forge's URL for it."""
    parts = urlsplit(url.strip())
    host, path = parts.netloc.removeprefix("www."), parts.path.rstrip("/").removesuffix(".git")
    if not host or not path:
        return []
    found: dict[str, None] = {}
    for scheme in ("https", "http"):
        for prefix in ("", "www."):
            for tail in ("", "/", ".git", ".git/"):
                spelled = f"{scheme}://{prefix}{host}{path}{tail}"
                found[spelled] = None
                found[spelled.lower()] = None
    return list(found)


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


def validate_slug(value: str, *, digits_only: bool = False) -> str:
    """Django's slug rule; and, unless `digits_only` (an imported slug: the original's
    SlugField allows "1984"), never only digits."""
    if not _SLUG.fullmatch(value):
        raise ValueError("may contain only letters, digits, hyphens and underscores")
    if value.isdigit() and not digits_only:
        # Details are looked up by id or slug; an all-digit slug would be read as an id.
        raise ValueError("cannot be only digits")
    return value


def slugify(title: str, max_length: int = 100) -> str:
    """A slug from a title, as Django's slugify does: ASCII, lowercase, hyphens.

    A title with nothing ASCII to keep ("日本語") or only digits ("1984") would give no valid
    slug; it gets a stable one from its hash instead ("untitled-1c2d3e4f", "1984-5a6b7c8d"),
    so any title a client may send can be created without a slug.
    """
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower(), flags=re.ASCII)
    slug = re.sub(r"[-\s]+", "-", text, flags=re.ASCII).strip("-_")[:max_length].strip("-_")
    if slug and not slug.isdigit():
        return slug
    digest = hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = (slug or "untitled")[: max_length - len(digest) - 1].strip("-_")
    return f"{base}-{digest}"


PYPI_HOSTS = frozenset({"pypi.org", "www.pypi.org", "pypi.python.org"})


def pypi_project(pypi_url: str, extra_hosts: frozenset[str] = frozenset()) -> str | None:
    """The PyPI project a package's pypi_url names (`/project/NAME/` or `/pypi/NAME/`, or
    a bare name as an imported one may be)."""
    if not pypi_url:
        return None
    with contextlib.suppress(ValueError):
        pypi_url = normalize_pypi_url(pypi_url)
    host = host_of(pypi_url)
    if host not in PYPI_HOSTS and host not in extra_hosts:
        return None
    segments = [segment for segment in urlsplit(pypi_url).path.split("/") if segment]
    if len(segments) >= 2 and segments[0] in {"project", "pypi"}:
        return segments[1]
    return None
