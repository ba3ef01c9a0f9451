"""GET /api/v4/status/: a running deployment's health at a glance.

Public and cheap to poll: each process reads the figures at most once every
STATUS_TTL_SECONDS (concurrent requests wait for one read, never start their own), and the
answer says `Cache-Control: public, max-age=STATUS_TTL_SECONDS` so caches in front help too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.columns import utcnow
from app.conditional import json_response
from app.deps import LinksDep, SessionDep, SettingsDep
from app.errors import error_responses
from app.repositories.status import StatusFacts
from app.schemas.status import Status
from app.services.status import read_facts, shape
from app.state import state_of

router = APIRouter(prefix="/status", tags=["status"])

STATUS_TTL_SECONDS = 5
CACHE_CONTROL = f"public, max-age={STATUS_TTL_SECONDS}"


@dataclass
class StatusCache:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    read_at: float = float("-inf")  # time.monotonic()
    generated_at: dt.datetime | None = None
    facts: StatusFacts | None = None


@router.get(
    "/",
    response_model=Status,
    responses=error_responses(400, 503),
    summary="Health of the deployment at a glance",
)
async def status(
    request: Request, session: SessionDep, links: LinksDep, settings: SettingsDep
) -> Response:
    """The directory's counts; the refresher's last run, the packages due, pending, being
    fetched and failing (by forge), and each forge's rate-limit budget as last reported;
    the newest change. Read at most every few seconds per process (`generated_at` says
    when), so polling it costs the database nothing more. `packages-api status` prints
    the same, from the database or from a deployment's URL."""
    cached = state_of(request.app).status_cache
    async with cached.lock:
        if cached.facts is None or time.monotonic() - cached.read_at >= STATUS_TTL_SECONDS:
            cached.facts = await read_facts(session, settings.refresh_stale_hours)
            cached.generated_at = utcnow()
            cached.read_at = time.monotonic()
        facts, generated_at = cached.facts, cached.generated_at
    assert generated_at is not None
    body = shape(
        facts, stale_hours=settings.refresh_stale_hours, links=links, generated_at=generated_at
    )
    return json_response(request, body, headers={"Cache-Control": CACHE_CONTROL})
