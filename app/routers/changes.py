"""/api/v4/changes/: the change feed, read in seq order from a position (`after`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from app.conditional import json_response
from app.deps import LinksDep, SessionDep, SettingsDep
from app.errors import Gone, InvalidQuery, error_responses
from app.repositories.changes import events_after, kept_bounds
from app.schemas.change import ChangeOut, ChangePage

router = APIRouter(prefix="/changes", tags=["changes"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _count(raw: str | None, param: str, default: int, maximum: int | None = None) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidQuery(param, "a non-negative integer")
    value = int(raw)
    if maximum is not None:
        if value == 0:
            raise InvalidQuery(param, "at least 1")
        value = min(value, maximum)
    return value


@router.get("/", response_model=ChangePage, responses=error_responses(400, 410, 503))
async def list_changes(
    request: Request,
    session: SessionDep,
    links: LinksDep,
    settings: SettingsDep,
    after: Annotated[
        str | None,
        Query(
            description="Return the events after this seq (default 0: from the oldest kept).",
            json_schema_extra={"pattern": "^[0-9]{0,18}$"},
        ),
    ] = None,
    limit: Annotated[
        str | None,
        Query(
            description=f"At most this many (default {DEFAULT_LIMIT}, max {MAX_LIMIT}).",
            json_schema_extra={"pattern": "^(0*[1-9][0-9]{0,17})?$"},
        ),
    ] = None,
) -> Response:
    """Every create, update and delete of a package, grid or category, in commit order.
    Follow `next` to never miss or repeat an event. Events are kept CHANGES_RETENTION_DAYS;
    a position older than that answers 410."""
    position = _count(after, "after", 0)
    size = _count(limit, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    bounds = await kept_bounds(session)
    if bounds is not None and position < bounds[0] - 1:
        days = settings.changes_retention_days
        raise Gone(
            f"The events after seq {position} are no longer kept (the feed keeps "
            f"{days} days; the oldest kept is {bounds[0]}). Resync: note the newest seq "
            f"({bounds[1]}), read the packages, grids and categories lists in full, then "
            f"follow /api/v4/changes/?after={bounds[1]}."
        )
    changes = await events_after(session, position, size)
    last = changes[-1].seq if changes else position
    query = urlencode({"after": last, **({"limit": limit} if limit else {})})
    page = ChangePage(
        results=[ChangeOut.of(change, links) for change in changes],
        next=f"{links.api}/changes/?{query}",
        newest=bounds[1] if bounds is not None else None,
    )
    return json_response(request, page)
