"""The grid resource, and its comparison table: features (rows) by packages (columns)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from pydantic import BaseModel, Field, RootModel, StringConstraints

from app.insights.versions import django_versions, python_versions
from app.links import Links
from app.models import Element, Feature, Grid, GridPackage, Package
from app.schemas.common import (
    Flag,
    LongText,
    PatchBody,
    Ref,
    Slug100,
    Title100,
    WriteBody,
    free_text,
    from_row,
)
from app.schemas.insights import Status, package_maintenance

Description = Annotated[str, StringConstraints(max_length=1000), free_text(1000)]
MAX_GRID_PACKAGES = 1000


class GridOut(BaseModel):
    id: int
    title: str
    slug: str
    description: str
    is_locked: bool
    packages: list[str] = Field(description="Hyperlinks of the grid's packages.")
    header: bool
    created: dt.datetime
    modified: dt.datetime
    # Ours, after the original's keys.
    url: str
    features: str = Field(description="Hyperlink of the grid's feature list.")
    table: str = Field(description="Hyperlink of the grid's comparison table.")

    @classmethod
    def of(cls, grid: Grid, links: Links) -> GridOut:
        url = links.grid(grid.id)
        return from_row(
            cls,
            grid,
            packages=[links.package(package_id) for package_id in grid.package_ids],
            url=url,
            features=f"{url}features/",
            table=f"{url}table/",
        )


PackageRefs = Annotated[list[Ref], Field(max_length=MAX_GRID_PACKAGES)]


class GridIn(WriteBody):
    representation = GridOut
    kept_when_omitted = frozenset({"slug", "packages"})
    title: Title100
    slug: Slug100 | None = Field(default=None, description="Made from the title when omitted.")
    description: Description = ""
    is_locked: Flag = Field(default=False, description="Only admin tokens may edit a locked grid.")
    header: Flag = False
    packages: PackageRefs | None = Field(
        default=None, description="When given, the grid's packages become exactly these."
    )


class GridPatch(PatchBody, fields_of=GridIn):
    representation = GridOut


class FeatureOut(BaseModel):
    id: int
    url: str
    grid: str
    title: str
    description: str
    created: dt.datetime
    modified: dt.datetime

    @classmethod
    def of(cls, feature: Feature, links: Links) -> FeatureOut:
        return from_row(
            cls,
            feature,
            url=links.feature(feature.grid_id, feature.id),
            grid=links.grid(feature.grid_id),
        )


class FeatureList(RootModel[list[FeatureOut]]):
    """A grid's features, oldest first."""


class FeatureIn(WriteBody):
    representation = FeatureOut
    title: Title100
    description: LongText = ""


class FeaturePatch(PatchBody, fields_of=FeatureIn):
    representation = FeatureOut


class MembershipOut(BaseModel):
    url: str
    grid: str
    package: str
    created: dt.datetime

    @classmethod
    def of(cls, membership: GridPackage, links: Links) -> MembershipOut:
        return cls(
            url=links.membership(membership.grid_id, membership.package_id),
            grid=links.grid(membership.grid_id),
            package=links.package(membership.package_id),
            created=membership.created,
        )


class MembershipIn(WriteBody):
    representation = MembershipOut
    package: Ref


class ElementOut(BaseModel):
    url: str
    grid: str
    feature: str
    package: str
    text: str
    created: dt.datetime
    modified: dt.datetime

    @classmethod
    def of(cls, element: Element, feature: Feature, package_id: int, links: Links) -> ElementOut:
        return from_row(
            cls,
            element,
            url=links.element(feature.grid_id, feature.id, package_id),
            grid=links.grid(feature.grid_id),
            feature=links.feature(feature.grid_id, feature.id),
            package=links.package(package_id),
        )


class ElementIn(WriteBody):
    representation = ElementOut
    text: LongText


class TablePackage(BaseModel):
    id: int
    url: str
    title: str
    slug: str
    repo_url: str
    repo_watchers: int
    repo_forks: int
    pypi_version: str | None
    last_updated: dt.datetime | None
    score: int
    # The comparison's answers (issue 18; docs/compatibility.md), as the package resource's.
    django_versions: list[str]
    python_versions: list[str]
    status: Status = Field(description="The package's maintenance status.")
    last_release: dt.datetime | None = Field(description="Its newest upload to PyPI.")

    @classmethod
    def of(cls, package: Package, links: Links) -> TablePackage:
        insight = links.insight
        classifiers = package.pypi_classifiers or []
        replacement = links.package(package.deprecated_by_id) if package.deprecated_by_id else None
        health = package_maintenance(partial(getattr, package), insight, replacement)
        return cls(
            id=package.id,
            url=links.package(package.id),
            title=package.title,
            slug=package.slug,
            repo_url=package.repo_url or "",
            repo_watchers=package.repo_watchers,
            repo_forks=package.repo_forks,
            pypi_version=package.pypi_version,
            last_updated=package.last_updated,
            score=package.score,
            django_versions=django_versions(classifiers),
            python_versions=python_versions(
                classifiers, package.pypi_requires_python, insight.python_versions
            ),
            status=health.status,
            last_release=package.pypi_last_release,
        )


class TableFeature(BaseModel):
    id: int
    url: str
    title: str
    description: str
    elements: list[str | None] = Field(
        description="Each package's text for this feature, in the order of `packages`; "
        "null where none was written."
    )


class GridTable(BaseModel):
    grid: str
    title: str
    packages: list[TablePackage] = Field(description="The table's columns.")
    features: list[TableFeature] = Field(description="The table's rows.")
