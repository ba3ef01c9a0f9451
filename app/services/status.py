"""The status resource, read once and shaped once: the API and `packages-api status` both
call `read_status`, so the table a CLI prints and the JSON a deployment answers agree."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.columns import utcnow
from app.links import Links
from app.repositories.status import StatusFacts, status_facts
from app.schemas.status import (
    Counts,
    LastRun,
    NewestChange,
    RateLimit,
    RefresherStatus,
    Status,
)


async def read_facts(session: AsyncSession, stale_hours: float) -> StatusFacts:
    return await status_facts(session, stale_after=dt.timedelta(hours=stale_hours), now=utcnow())


def shape(
    facts: StatusFacts, *, stale_hours: float, links: Links | None, generated_at: dt.datetime
) -> Status:
    """The resource from its facts. Without `links` (the CLI on a database, no
    PUBLIC_BASE_URL) the newest change's URL is a path."""
    run = facts.last_run
    newest = facts.newest_change
    url = ""
    if newest is not None:
        link = links or Links("")
        url = {"package": link.package, "category": link.category, "grid": link.grid}[
            newest.resource
        ](newest.id)
    return Status(
        counts=Counts(**facts.counts),
        refresher=RefresherStatus(
            last_run=None
            if run is None
            else LastRun.model_validate(
                {
                    "worker": run.worker,
                    "started": run.started,
                    "finished": run.finished,
                    "outcome": run.outcome,
                    "packages": run.packages,
                    "requests": run.requests,
                    "failure": run.failure,
                }
            ),
            stale_hours=stale_hours,
            due=facts.due,
            pending=facts.pending,
            in_progress=facts.in_progress,
            failing=facts.failing,
            rate_limits=[
                RateLimit(
                    forge=budget.forge,
                    host=budget.host,
                    resource=budget.resource,
                    remaining=budget.remaining,
                    limit=budget.limit,
                    resets_at=budget.resets_at,
                    observed_at=budget.observed_at,
                )
                for budget in facts.budgets
            ],
        ),
        newest_change=None
        if newest is None
        else NewestChange(
            resource=newest.resource,
            id=newest.id,
            url=url,
            modified=newest.modified,
        ),
        generated_at=generated_at,
    )
