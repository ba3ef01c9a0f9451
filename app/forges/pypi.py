"""PyPI's JSON API (`GET {PYPI_URL}/pypi/{name}/json`), conditional on the stored ETag.

PyPI answers a name that is not in its normalized form (`Django`, `django_shop`) with a
301 to the normalized one, followed here (same host only). What the fields mean:
- version: the newest release by PEP 440 with at least one file that is not yanked; a
  pre-release only when there is nothing else;
- license: the PEP 639 License-Expression; else the legacy License field when it is a
  name (one line, at most 100 characters: many packages pasted the whole license text
  there); else the most specific "License ::" classifiers (several joined by " OR ");
- supports_python3: a "Programming Language :: Python :: 3" classifier (or a 3.x one),
  else a Requires-Python that admits some Python 3;
- last_release: the upload time of the newest file that is not yanked (any release);
- documentation_url: the project URL labelled Documentation or Docs (PEP 753's labels,
  compared without case, spaces or punctuation), else the legacy docs_url;
- status, status_reason: PEP 792's project status, which PyPI serves only in its Simple
  API's JSON (`GET {PYPI_URL}/simple/{name}/`, api-version 1.4 and later): "active" when
  the project has none. Fetched after each JSON fetch, conditional on its own ETag, and
  after a JSON 404 too (PyPI hides a quarantined project's JSON; its Simple page says
  quarantined); when that call fails, or the index predates 1.4, they stay None and the
  stored status is kept.
Values that do not fit our columns (255 characters, 100 for version and requires_python)
are left None, meaning unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Annotated
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import Field, TypeAdapter

from app.forges.base import Outcome, PypiFigures, PypiResult, Usage
from app.forges.http import Upstream
from app.forges.payload import PayloadError, UpstreamModel, parse
from app.forges.rest import Refusal, etag_of, get

logger = logging.getLogger(__name__)

# Column widths of Package.pypi_version, pypi_requires_python, pypi_license, documentation_url.
_SHORT = 100
_LONG = 255
_LICENSE_NAME_MAX = 100
# A project name as PyPI accepts one (PEP 508); anything else cannot exist there.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_DOCS_LABELS = {"documentation", "docs"}
_UNKNOWN_LICENSES = {"", "unknown", "none", "n/a", "license"}
_PYTHON3 = "Programming Language :: Python :: 3"


# --- PyPI's payload, and the one place it becomes our figures ------------------------

Text = Annotated[str, Field(max_length=1_000_000)]


class _File(UpstreamModel):
    yanked: bool = False
    upload_time_iso_8601: dt.datetime | None = None


class _Info(UpstreamModel):
    license: Text | None = None
    license_expression: Text | None = None  # PEP 639 (core metadata 2.4)
    requires_python: Text | None = None
    classifiers: list[Text] = Field(default_factory=list)
    project_urls: dict[Text, Text] | None = None
    docs_url: Text | None = None


class _Project(UpstreamModel):
    info: _Info
    releases: dict[Text, list[_File]] = Field(default_factory=dict)


_PROJECT = TypeAdapter(_Project)

# PEP 691's JSON form of the Simple API; PEP 792 added project-status in api-version 1.4.
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_STATUS_SINCE = (1, 4)
_REASON_MAX = 2000  # free text from the index: kept, but not without bound


class _SimpleMeta(UpstreamModel):
    api_version: Annotated[str, Field(alias="api-version", max_length=20)]


class _ProjectStatus(UpstreamModel):
    status: Annotated[str, Field(max_length=100)] = "active"
    reason: Text | None = None


class _SimpleProject(UpstreamModel):
    meta: _SimpleMeta
    project_status: _ProjectStatus | None = Field(default=None, alias="project-status")


_SIMPLE = TypeAdapter(_SimpleProject)
_STATUSES = frozenset({"active", "archived", "deprecated", "quarantined"})


def project_status(simple: _SimpleProject) -> tuple[str, str] | None:
    """(status, reason) as stored, or None when the index does not say (an api-version
    before 1.4, or a status PEP 792 does not define)."""
    try:
        version = tuple(int(part) for part in simple.meta.api_version.split(".")[:2])
    except ValueError:
        return None
    if version < _STATUS_SINCE:
        return None
    marker = simple.project_status or _ProjectStatus()
    if marker.status not in _STATUSES:
        return None
    return marker.status, (marker.reason or "")[:_REASON_MAX]


def pypi_figures(project: _Project) -> PypiFigures:
    info = project.info
    requires_python = (info.requires_python or "").strip()
    return PypiFigures(
        version=_fits(latest_version(project.releases), _SHORT),
        license=_fits(_license(info), _LONG),
        requires_python=_fits(requires_python, _SHORT),
        classifiers=list(info.classifiers),
        supports_python3=_supports_python3(info.classifiers, requires_python),
        documentation_url=_documentation_url(info),
        last_release=last_release(project.releases),
    )


def latest_version(releases: Mapping[str, Sequence[_File]]) -> str | None:
    """The newest installable release: final releases first, pre-releases only if alone.
    Versions PEP 440 cannot order (legacy ones like "1.0-final-2") are passed over."""
    installable: list[tuple[Version, str]] = []
    for text, files in releases.items():
        if not any(not file.yanked for file in files):
            continue  # yanked entirely, or a release without files: nothing to install
        try:
            installable.append((Version(text), text))
        except InvalidVersion:
            continue
    finals = [pair for pair in installable if not pair[0].is_prerelease]
    candidates = finals or installable
    return max(candidates)[1] if candidates else None


def last_release(releases: Mapping[str, Sequence[_File]]) -> dt.datetime | None:
    """When the newest file that is not yanked was uploaded: a release's files go up when
    it is published, and a wheel added to an old release later is maintenance too.
    A time without a zone is PyPI's UTC."""
    times = [
        file.upload_time_iso_8601
        for files in releases.values()
        for file in files
        if not file.yanked and file.upload_time_iso_8601 is not None
    ]
    if not times:
        return None
    newest = max(t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in times)
    return newest.astimezone(dt.UTC)


def _license(info: _Info) -> str | None:
    expression = (info.license_expression or "").strip()
    if expression:
        return expression
    legacy = (info.license or "").strip()
    if (
        legacy.casefold() not in _UNKNOWN_LICENSES
        and len(legacy) <= _LICENSE_NAME_MAX
        and "\n" not in legacy
    ):
        return legacy
    trails = [c.split("::") for c in info.classifiers if c.startswith("License ::")]
    if not trails:
        return None
    # "License :: OSI Approved :: MIT License" says more than "License :: OSI Approved".
    deepest = max(len(trail) for trail in trails)
    names = [trail[-1].strip() for trail in trails if len(trail) == deepest]
    return " OR ".join(dict.fromkeys(names))


def _supports_python3(classifiers: Sequence[str], requires_python: str) -> bool:
    if any(c == _PYTHON3 or c.startswith((f"{_PYTHON3}.", f"{_PYTHON3} ")) for c in classifiers):
        return True
    if not requires_python:
        return False
    try:
        specifiers = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return False
    # Every 3.x minor, and every version the specifiers name (==3.8.5, ~=3.10.2).
    candidates = {f"3.{minor}" for minor in range(60)}
    candidates |= {s.version.removesuffix(".*") for s in specifiers if s.version.startswith("3")}
    return any(specifiers.contains(c, prereleases=True) for c in candidates)


def _documentation_url(info: _Info) -> str | None:
    for label, url in (info.project_urls or {}).items():
        if re.sub(r"[^a-z0-9]", "", label.casefold()) in _DOCS_LABELS and _is_link(url):
            return url.strip()
    if info.docs_url and _is_link(info.docs_url):
        return info.docs_url.strip()
    return None


def _is_link(url: str) -> bool:
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # "http://[": not a URL at all
        return False
    return len(url) <= _LONG and scheme in {"http", "https"}


def _fits(value: str | None, width: int) -> str | None:
    return value if value is None or len(value) <= width else None


# --- the client ---------------------------------------------------------------------


class PyPIClient:
    """`url` is PYPI_URL (https://pypi.org, or a mirror serving the same JSON API)."""

    name = "pypi"

    def __init__(self, upstream: Upstream, *, url: str) -> None:
        self._upstream = upstream
        self._base = url.rstrip("/")

    async def fetch(self, name: str, etag: str | None, usage: Usage) -> PypiResult:
        """`etag`: what the last result's `etag` was (both APIs' ETags, see _etags)."""
        if not _PROJECT_NAME.fullmatch(name):
            return PypiResult(name, Outcome.NOT_FOUND, error=f"pypi: {name!r} is not a name")
        what = f"pypi project {name}"
        json_etag, simple_etag = _split_etags(etag)
        try:
            response = await get(
                self._upstream,
                f"{self._base}/pypi/{name}/json",
                usage=usage,
                what=what,
                etag=json_etag,
            )
            if response is None:
                figures = PypiFigures()  # the JSON is unchanged
            else:
                figures = pypi_figures(await parse(_PROJECT, response, what))
                json_etag = etag_of(response)
        except Refusal as refusal:
            if refusal.outcome is not Outcome.NOT_FOUND:
                return PypiResult(name, refusal.outcome, error=refusal.error)
            # A quarantined project's JSON is a 404 (its files are hidden): its Simple API
            # page says why. Not found all the same, but with the status to store.
            gone = PypiResult(name, Outcome.NOT_FOUND, error=refusal.error)
            status, _etag = await self._status(name, None, usage)
            if status is not None and status[0] != "active":
                gone.figures.status, gone.figures.status_reason = status
            return gone
        except PayloadError as error:
            return PypiResult(name, Outcome.FAILED, error=str(error))
        except Exception as error:  # a bug must not stop the refresh of other packages
            logger.exception("pypi: fetching %s failed", name)
            return PypiResult(
                name, Outcome.FAILED, error=f"pypi: internal error ({type(error).__name__})"
            )
        # The status has its own URL (and ETag): a JSON 304 says nothing about it.
        status, simple_etag = await self._status(name, simple_etag, usage)
        if status is not None:
            figures.status, figures.status_reason = status
        return PypiResult(name, Outcome.OK, figures, etag=_join_etags(json_etag, simple_etag))

    async def _status(
        self, name: str, etag: str | None, usage: Usage
    ) -> tuple[tuple[str, str] | None, str | None]:
        """PEP 792's (status, reason) from the Simple API, None when unchanged since `etag`
        or when it cannot be had (logged), with the ETag to send next time. A failure
        here keeps what is stored (and its ETag) and costs the package none of its figures."""
        what = f"pypi simple project {name}"
        simple_name = re.sub(r"[-_.]+", "-", name).lower()  # PEP 503
        try:
            response = await get(
                self._upstream,
                f"{self._base}/simple/{simple_name}/",
                usage=usage,
                what=what,
                headers={"Accept": SIMPLE_JSON},
                etag=etag,
            )
            if response is None:
                return None, etag
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            if content_type != SIMPLE_JSON:
                raise PayloadError(f"{what}: answered {content_type or 'no content type'}")
            status = project_status(await parse(_SIMPLE, response, what))
            return status, etag_of(response) if status is not None else etag
        except (Refusal, PayloadError) as error:
            logger.warning("pypi: project status of %s unknown: %s", name, error)
            return None, etag
        except Exception:  # a bug must not cost the package its figures
            logger.exception("pypi: fetching the status of %s failed", name)
            return None, etag


# Both APIs' ETags in the one refresh_pypi_etag column (255 characters): "JSON SIMPLE".
# An entity-tag has no space (RFC 9110, 8.8.3), and a value stored before the Simple API
# was asked is a JSON ETag alone.
_ETAGS_MAX = 255


def _split_etags(stored: str | None) -> tuple[str | None, str | None]:
    json_etag, _, simple_etag = (stored or "").partition(" ")
    return json_etag or None, simple_etag or None


def _join_etags(json_etag: str | None, simple_etag: str | None) -> str | None:
    if simple_etag and len(json_etag or "") + 1 + len(simple_etag) <= _ETAGS_MAX:
        return f"{json_etag or ''} {simple_etag}"
    return json_etag
