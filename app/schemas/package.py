"""The package resource: djangopackages.org's 18 keys in their order, then ours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Row

from app.links import Links
from app.models import Package
from app.schemas.common import (
    HttpUrl,
    Instant,
    PatchBody,
    PypiUrl,
    Ref,
    RepoUrl,
    Slug100,
    Title100,
    WriteBody,
)
from app.schemas.insights import MaintenanceOut, ScoreBreakdownOut, insight_fields


class PackageOut(BaseModel):
    category: str = Field(description="Hyperlink of the package's category.")
    grids: list[str] = Field(description="Hyperlinks of the grids the package is in.")
    id: int
    title: str
    slug: str
    last_updated: dt.datetime | None = Field(description="Date of the newest commit.")
    last_fetched: dt.datetime | None = Field(description="When metrics were last refreshed.")
    repo_url: str
    pypi_version: str | None
    created: dt.datetime
    modified: dt.datetime
    repo_forks: int
    repo_description: str
    pypi_url: str
    documentation_url: str | None = Field(
        description="null where none was ever given (the original's rows may hold null)."
    )
    repo_watchers: int = Field(description="The repository's star count.")
    commits_over_52: list[int] = Field(
        description="52 weekly commit totals, oldest first; `[]` until first fetched."
    )
    participants: list[str] = Field(description="Contributors' logins.")
    # Ours, after the original's keys.
    url: str = Field(description="This package's hyperlink.")
    repo_host: str = Field(description="github, gitlab, bitbucket, forgejo, or empty.")
    score: int
    pypi_license: str | None
    pypi_requires_python: str | None
    pypi_classifiers: list[str]
    supports_python3: bool | None
    date_deprecated: dt.datetime | None
    date_repo_archived: dt.datetime | None
    deprecated_by: str | None = Field(description="Hyperlink of the package replacing this one.")
    # Issue 18's answers (app.schemas.insights, docs/compatibility.md).
    django_versions: list[str] = Field(
        description="Django versions its classifiers declare, ascending; [] unknown."
    )
    python_versions: list[str] = Field(
        description="Python versions it supports (classifiers, else Requires-Python over "
        "PYTHON_VERSIONS), ascending; [] unknown."
    )
    maintenance: MaintenanceOut
    score_breakdown: ScoreBreakdownOut = Field(
        description="Each term of the score's formula, as of the last refresh."
    )

    @classmethod
    def of(cls, package: Package, links: Links) -> PackageOut:
        return cls(**package_fields(package, links, package.grid_ids))


def package_fields(
    package: Package | Row[Any], links: Links, grid_ids: Iterable[int]
) -> dict[str, Any]:
    """A package (an entity, or a row of PACKAGE_COLUMNS) as its response dict, keys in
    PackageOut's order. The one mapper: reads render it straight to JSON (app.conditional
    render) without building a model, which cost more CPU than the query; writes validate
    it into PackageOut. `grid_ids`: the package's grids, ascending."""
    # A Row's own attribute access costs six times its mapping's lookup, for each of 28
    # fields on each package of a page: rows are read through their mapping.
    field: Callable[[str], Any] = (
        package._mapping.__getitem__ if isinstance(package, Row) else partial(getattr, package)
    )
    deprecated_by_id = field("deprecated_by_id")
    replacement = links.package(deprecated_by_id) if deprecated_by_id else None
    return {
        "category": links.category(field("category_id")),
        "grids": [links.grid(grid_id) for grid_id in grid_ids],
        "id": field("id"),
        "title": field("title"),
        "slug": field("slug"),
        "last_updated": field("last_updated"),
        "last_fetched": field("last_fetched"),
        "repo_url": field("repo_url") or "",
        "pypi_version": field("pypi_version"),
        "created": field("created"),
        "modified": field("modified"),
        "repo_forks": field("repo_forks"),
        "repo_description": field("repo_description"),
        "pypi_url": field("pypi_url"),
        "documentation_url": field("documentation_url"),
        "repo_watchers": field("repo_watchers"),
        "commits_over_52": field("commits_over_52"),
        "participants": field("participants"),
        "url": links.package(field("id")),
        "repo_host": field("repo_host"),
        "score": field("score"),
        "pypi_license": field("pypi_license"),
        "pypi_requires_python": field("pypi_requires_python"),
        "pypi_classifiers": field("pypi_classifiers"),
        "supports_python3": field("supports_python3"),
        "date_deprecated": field("date_deprecated"),
        "date_repo_archived": field("date_repo_archived"),
        "deprecated_by": replacement,
        **insight_fields(field, links.insight, replacement),
    }


class PackageIn(WriteBody):
    representation = PackageOut
    kept_when_omitted = frozenset({"slug"})
    title: Title100
    slug: Slug100 | None = Field(
        default=None,
        description="Made from the title when omitted on create; kept as it was on PUT.",
    )
    category: Ref
    repo_url: RepoUrl = Field(
        default="",
        description="Normalized to https://host/owner/repo in lowercase.",
    )
    pypi_url: PypiUrl = Field(
        default="",
        description="A PyPI URL, or a bare project name (becomes https://pypi.org/project/NAME/).",
    )
    # Nullable as the original's column is, so a package served with null can be PUT back.
    documentation_url: HttpUrl | None = ""
    deprecated_by: Ref | None = None
    date_deprecated: Instant | None = None


class PackagePatch(PatchBody, fields_of=PackageIn):
    representation = PackageOut
    nullable = frozenset({"deprecated_by", "date_deprecated", "documentation_url"})
