"""What `POST /api/v4/lookup/` and `packages-api check` are asked about, as queries.

An item is one of (tried in this order):
- a PURL (`pkg:pypi/django-shop@1.2`, `pkg:github/awesto/django-shop`; app.insights.purl);
- a URL: a PyPI project page (`https://pypi.org/project/NAME/`, the old
  `http://pypi.python.org/pypi/NAME`) is that project; any other URL, or `git@host:o/r`,
  is a repository URL (app.normalize.normalize_repo_url); `github.com/o/r` without a
  scheme is read as https;
- a PyPI project name (PEP 508), compared in its PEP 503 normalized form.
An item that is none of these is still answered, in its place: a query of kind
"unreadable" that is not looked up, its reason saying why. Only what no answer can be
given for is refused (LookupInputError): a blank item, more than MAX_ITEMS items.
A requirements.txt gives one query per requirement (app.insights.requirements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from app.insights.names import pypi_name
from app.insights.problems import InputProblems
from app.insights.purl import Purl, PurlError, parse_purl
from app.insights.requirements import (
    MAX_REQUIREMENTS,
    SkippedLine,
    parse_requirements,
)
from app.normalize import PYPI_HOSTS, normalize_repo_url, pypi_project

MAX_ITEMS = 100

# "unreadable": an item that names no package (not looked up; its notes say why).
Kind = Literal["pypi", "repo", "unreadable"]

# Where the PURL types' repositories live when no repository_url qualifier says otherwise.
_DEFAULT_HOSTS = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}
# PyPI's own hosts, and the one that serves its files, in a PURL's repository_url.
_PYPI_INDEX_HOSTS = PYPI_HOSTS | {"files.pythonhosted.org"}


@dataclass(frozen=True, slots=True)
class LookupQuery:
    query: str  # the item as sent, or the requirement as written (without options)
    kind: Kind
    # kind pypi: the PEP 503 name; kind repo: the normalized repository URL; else ""
    name: str
    specifier: str = ""  # PEP 440 specifiers the answer must hold for; "" for any version
    ref: str | None = None  # a commit or tag a repository PURL names (@v1.2)
    line: int | None = None  # the requirements.txt line; None for an item
    notes: tuple[str, ...] = ()  # facts about the query itself, shown first in the reasons


@dataclass(frozen=True, slots=True)
class ItemProblem:
    index: int  # 0-based, as the item's place in the request body's list
    item: str
    message: str

    @property
    def place(self) -> str:
        return f"items[{self.index}]"


class LookupInputError(InputProblems[ItemProblem]):
    """Items that cannot be looked up; every one of them is named."""


@dataclass(frozen=True, slots=True)
class LookupInput:
    queries: tuple[LookupQuery, ...]
    skipped: tuple[SkippedLine, ...] = ()


def parse_items(
    items: Sequence[str],
    *,
    forge_hosts: Mapping[str, str] | None = None,
    pypi_hosts: frozenset[str] = frozenset(),
    limit: int = MAX_ITEMS,
) -> LookupInput:
    """One query per item, in order. `forge_hosts` are the configured forges (host ->
    kind, Settings.forge_hosts) and `pypi_hosts` the configured PyPI mirror's host. An
    item that is not a name, URL or PURL is an "unreadable" query saying why. Raises
    LookupInputError for more than `limit` items, naming every blank one otherwise."""
    if len(items) > limit:
        raise LookupInputError(
            [ItemProblem(limit, items[limit], f"at most {limit} items in one request")]
        )
    blank = [ItemProblem(i, item, "is empty") for i, item in enumerate(items) if not item.strip()]
    if blank:
        raise LookupInputError(blank)
    queries: list[LookupQuery] = []
    for item in items:
        try:
            queries.append(parse_item(item, forge_hosts=forge_hosts, pypi_hosts=pypi_hosts))
        except ValueError as error:
            reason = f"not looked up: the item {error}"
            queries.append(LookupQuery(item, "unreadable", "", notes=(reason,)))
    return LookupInput(tuple(queries))


def parse_requirements_input(content: str, *, limit: int = MAX_REQUIREMENTS) -> LookupInput:
    """One query per requirement, in file order, and the skipped lines.
    Raises app.insights.requirements.RequirementsError naming every bad line."""
    parsed = parse_requirements(content, limit=limit)
    queries = tuple(
        LookupQuery(
            query=requirement.text,
            kind="pypi",
            name=requirement.name,
            specifier=requirement.specifier,
            line=requirement.line,
        )
        for requirement in parsed.requirements
    )
    return LookupInput(queries, parsed.skipped)


def parse_item(
    item: str,
    *,
    forge_hosts: Mapping[str, str] | None = None,
    pypi_hosts: frozenset[str] = frozenset(),
) -> LookupQuery:
    """The query for one item. Raises ValueError with a message fit for the client."""
    text = item.strip()
    if not text:
        raise ValueError("is empty")
    if text[:4].lower() == "pkg:":
        try:
            purl = parse_purl(text)
        except PurlError as error:
            raise ValueError(f"is not a usable PURL: {error}") from None
        return _purl_query(item, purl, forge_hosts, pypi_hosts)
    if "://" in text or ("@" in text and ":" in text.split("@", 1)[1]):
        name = pypi_project(text, pypi_hosts)
        if name is not None:
            return _pypi_query(item, name)
        if _host_of(text) in _PYPI_INDEX_HOSTS | pypi_hosts:
            # The Simple API's page names a project too; any other page of PyPI does not.
            segments = [s for s in urlsplit(text).path.split("/") if s]
            if len(segments) >= 2 and segments[0] == "simple":
                return _pypi_query(item, segments[1])
            raise ValueError("is a page of PyPI that names no project")
        return LookupQuery(item, "repo", normalize_repo_url(text, forge_hosts))
    if "/" in text:
        if "." not in text.split("/", 1)[0]:
            raise ValueError("is not a PyPI name, a repository URL or a PURL")
        return LookupQuery(item, "repo", normalize_repo_url(f"https://{text}", forge_hosts))
    return _pypi_query(item, text)


def _pypi_query(item: str, name: str) -> LookupQuery:
    try:
        return LookupQuery(item, "pypi", pypi_name(name))
    except ValueError:
        raise ValueError(
            "is not a PyPI name, a repository URL or a PURL (a requirements.txt goes in "
            '"requirements" instead of "items")'
        ) from None


def _purl_query(
    item: str,
    purl: Purl,
    forge_hosts: Mapping[str, str] | None,
    pypi_hosts: frozenset[str],
) -> LookupQuery:
    repository = purl.qualifiers.get("repository_url")
    if purl.type == "pypi":
        notes: tuple[str, ...] = ()
        host = _host_of(repository) if repository else None
        if host is not None and host not in _PYPI_INDEX_HOSTS | pypi_hosts:
            notes = (
                f"names a package on the index at {host}; this directory knows PyPI's "
                f"{purl.name}, which may be another project",
            )
        return LookupQuery(item, "pypi", purl.name, _pin(purl.version), notes=notes)
    if purl.type == "git":
        host, *path = (*purl.namespace, purl.name)
    else:
        host = (_host_of(repository) if repository else None) or _DEFAULT_HOSTS[purl.type]
        path = [*purl.namespace, purl.name]
    url = normalize_repo_url(f"https://{host}/{'/'.join(path)}", forge_hosts)
    notes = ()
    if purl.subpath:
        notes = (f"the answer is for the whole repository, not {'/'.join(purl.subpath)}",)
    return LookupQuery(item, "repo", url, ref=purl.version, notes=notes)


def _pin(version: str | None) -> str:
    """`==1.2` for a PEP 440 version; `===` (string equality) for any other string."""
    if version is None:
        return ""
    try:
        return f"=={Version(version)}"
    except InvalidVersion:
        return f"==={version}"


def _host_of(url: str) -> str | None:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # a port that is not a number
        return None
    if not host:
        return None
    return f"{host}:{port}" if port else host
