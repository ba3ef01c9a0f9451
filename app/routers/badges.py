"""/api/v4/packages/{key}/badges/{kind}.svg: a package's shields-style badges for READMEs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.badges import BADGE_CACHE_CONTROL, BADGE_MEDIA_TYPE, KINDS, BadgeFacts, badge_for, render
from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import bytes_response
from app.deps import LinksDep, SessionDep
from app.errors import NotFound, error_responses
from app.insights.versions import django_versions, python_versions
from app.links import Links
from app.repositories.packages import PackageRepository, PackageRow
from app.routers.params import Key
from app.schemas.insights import package_maintenance

router = APIRouter(prefix="/packages", tags=["badges"])


def badge_facts(row: PackageRow, links: Links) -> BadgeFacts:
    """What the badges show of a stored package. Stars are unknown until a figure exists
    (never fetched and no imported count). The maintenance status is the package
    resource's `maintenance.status`, by the same rule (app.schemas.insights), judged now."""
    stars = row.repo_watchers if (row.last_fetched is not None or row.repo_watchers) else None
    classifiers = row.pypi_classifiers or []
    replacement = links.package(row.deprecated_by_id) if row.deprecated_by_id else None
    health = package_maintenance(row._mapping.__getitem__, links.insight, replacement)
    return BadgeFacts(
        stars=stars if row.repo_url else None,
        version=row.pypi_version,
        django_versions=django_versions(classifiers),
        python_versions=python_versions(
            classifiers, row.pypi_requires_python, links.insight.python_versions
        ),
        status=health.status,
        commits_over_52=row.commits_over_52 or [],
    )


@router.get(
    "/{key}/badges/{kind}.svg",
    response_class=Response,
    responses={
        200: {"content": {BADGE_MEDIA_TYPE: {}}, "description": "The badge, an SVG image."},
        304: {"description": "Not modified (If-None-Match)."},
        **error_responses(400, 404, 503),
    },
    summary="A package's badge",
)
async def package_badge(
    request: Request,
    key: Key,
    kind: Annotated[
        str,
        Path(description="What the badge shows.", json_schema_extra={"enum": list(KINDS)}),
    ],
    session: SessionDep,
    links: LinksDep,
) -> Response:
    """A shields-style SVG badge: `stars`, `version` (on PyPI), `django` and `python` (the
    versions its classifiers declare), `status` (maintenance) or `activity` (a sparkline of
    the last 52 weeks' commits). Cached 5 minutes, with an ETag."""
    if kind not in KINDS:
        raise NotFound(f"No badge kind {kind[:50]!r}; kinds are {', '.join(KINDS)}.")
    row, _grid_ids = await PackageRepository(session).read(key)
    svg = render(badge_for(kind, badge_facts(row, links)))
    cache_as(request, [tags.package(row.id)])  # drawn from its own row only
    return bytes_response(
        request, svg, media_type=BADGE_MEDIA_TYPE, cache_control=BADGE_CACHE_CONTROL
    )
