"""/api/v4/packages/: the list with its filters, the detail by id or slug, and writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import created, json_response
from app.deps import LinksDep, ListPageDep, SessionDep, SettingsDep
from app.errors import READ_ERRORS, WRITE_ERRORS, error_responses
from app.models import REPO_HOSTS
from app.pagination import paginated
from app.repositories.packages import ORDERING_FIELDS, PackageRepository
from app.routers.package_filters import FactFiltersDep
from app.routers.params import (
    Key,
    ModifiedSince,
    Write,
    WriteDep,
    choices,
    ordering_query,
    parse_instant,
)
from app.schemas.package import PackageIn, PackageOut, PackagePatch, package_fields
from app.schemas.page import Page
from app.services.packages import PackageService

router = APIRouter(prefix="/packages", tags=["packages"])


@router.get("/", response_model=Page[PackageOut], responses=error_responses(400, 503))
async def list_packages(
    request: Request,
    session: SessionDep,
    links: LinksDep,
    page: ListPageDep,
    facts: FactFiltersDep,
    category: Annotated[str | None, Query(description="Category id or slug.")] = None,
    grid: Annotated[str | None, Query(description="Grid id or slug.")] = None,
    repo_host: Annotated[
        str | None,
        Query(
            description="github, gitlab, bitbucket or forgejo; blank: no filter.",
            json_schema_extra=choices(*(host for host in REPO_HOSTS if host)),
        ),
    ] = None,
    ordering: Annotated[
        str | None,
        ordering_query(
            "Comma-separated fields among id, title, repo_watchers, repo_forks, last_updated, "
            "score, last_release, commits_last_year; `-` for descending. Default `-id`.",
            ORDERING_FIELDS,
        ),
    ] = None,
    modified_since: ModifiedSince = None,
) -> Response:
    """Packages, newest first, `limit`/`offset` paginated as DRF does."""
    listing = await PackageRepository(session).list_page(
        page,
        category=category,
        grid=grid,
        repo_host=repo_host,
        ordering=ordering,
        modified_since=parse_instant(modified_since, "modified_since"),
        facts=facts,
    )
    results = [package_fields(row, links, grid_ids) for row, grid_ids in listing.rows]
    if not facts.change_with_time:  # which packages an activity status keeps moves with time
        cache_as(request, [tags.ANY])
    return paginated(request, links.base, page, listing, results)


@router.post(
    "/",
    status_code=201,
    response_model=PackageOut,
    responses=WRITE_ERRORS,
    summary="Create a package",
)
async def create_package(
    request: Request, body: PackageIn, write: WriteDep, settings: SettingsDep
) -> Response:
    service = PackageService(write.session, forge_hosts=settings.forge_hosts)
    package = await service.create(body, write.links)
    return created(request, PackageOut.of(package, write.links), write.links.package(package.id))


@router.get("/{key}/", response_model=PackageOut, responses=READ_ERRORS)
async def get_package(request: Request, key: Key, session: SessionDep, links: LinksDep) -> Response:
    """One package, by numeric id or by slug."""
    row, grid_ids = await PackageRepository(session).read(key)
    cache_as(request, [tags.package(row.id)])
    return json_response(request, package_fields(row, links, grid_ids))


async def _update(
    request: Request, key: str, changes: dict[str, Any], write: Write, settings: SettingsDep
) -> Response:
    """PUT and PATCH: lock the row, check If-Match, apply, answer the new representation."""
    package = await write.locked(request, PackageRepository, key, PackageOut.of)
    service = PackageService(write.session, forge_hosts=settings.forge_hosts)
    await service.update(package, changes, write.links)
    return json_response(request, PackageOut.of(package, write.links))


@router.put("/{key}/", response_model=PackageOut, responses=WRITE_ERRORS)
async def replace_package(
    request: Request, key: Key, body: PackageIn, write: WriteDep, settings: SettingsDep
) -> Response:
    """Replace the editable fields; metrics are the refresher's and stay as they are."""
    return await _update(request, key, body.changes(), write, settings)


@router.patch("/{key}/", response_model=PackageOut, responses=WRITE_ERRORS)
async def patch_package(
    request: Request, key: Key, body: PackagePatch, write: WriteDep, settings: SettingsDep
) -> Response:
    """Change only the fields sent."""
    return await _update(request, key, body.changes(), write, settings)


@router.delete("/{key}/", status_code=204, responses=WRITE_ERRORS)
async def delete_package(request: Request, key: Key, write: WriteDep) -> Response:
    package = await write.locked(request, PackageRepository, key, PackageOut.of)
    await PackageService(write.session).delete(package)
    return Response(status_code=204)
