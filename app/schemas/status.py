"""The status resource: a running deployment's health at a glance (GET /api/v4/status/)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class Counts(BaseModel):
    packages: int = Field(examples=[4213])
    categories: int = Field(examples=[41])
    grids: int = Field(examples=[320])


class LastRun(BaseModel):
    worker: str = Field(description="The refresher that ran it: host, process id and a tag.")
    started: dt.datetime
    finished: dt.datetime
    outcome: Literal["ok", "failed", "interrupted"] = Field(
        description="`failed`: the run could not go on (its `failure` says why; packages "
        "failing do not fail a run); `interrupted`: the process was stopping."
    )
    packages: dict[str, int] = Field(
        description="Packages by outcome: refreshed, unchanged, pending, failed, skipped.",
        examples=[{"refreshed": 12, "unchanged": 80, "pending": 1, "failed": 2, "skipped": 0}],
    )
    requests: int = Field(description="Requests sent upstream.")
    failure: str = Field(description='Why the run stopped; "" when it did not.')


class RateLimit(BaseModel):
    forge: str = Field(examples=["github"])
    host: str = Field(description="The API host that reported it.", examples=["api.github.com"])
    resource: str = Field(
        description='GitHub\'s budget name (`core`, `graphql`); "" for forges with one budget.',
        examples=["graphql"],
    )
    remaining: int = Field(examples=[4870])
    limit: int | None = Field(examples=[5000])
    resets_at: dt.datetime | None = Field(description="When the window starts afresh.")
    observed_at: dt.datetime = Field(description="When a response last said so.")


class RefresherStatus(BaseModel):
    last_run: LastRun | None = Field(description="null until a refresh run has ended.")
    stale_hours: float = Field(description="REFRESH_STALE_HOURS: older figures are due.")
    due: int = Field(
        description="Packages the refresher would take now: figures older than "
        "`stale_hours` or never fetched, not in a back-off, not being refreshed."
    )
    pending: int = Field(description="Packages a forge is still computing figures for.")
    in_progress: int = Field(description="Packages a refresher is fetching now (leased).")
    failing: dict[str, int] = Field(
        description="Packages whose last refresh failed, by repository host: `github`, "
        "`gitlab`, `forgejo`, `bitbucket`; `other` for a repository on a host no forge "
        "serves, `none` for a package without one (its PyPI fetch failed).",
        examples=[{"github": 3, "gitlab": 1}],
    )
    rate_limits: list[RateLimit] = Field(
        description="The budget each upstream last reported to any refresher."
    )


class NewestChange(BaseModel):
    resource: Literal["package", "category", "grid"]
    id: int
    url: str = Field(examples=["https://example.org/api/v4/packages/12/"])
    modified: dt.datetime


class Status(BaseModel):
    counts: Counts
    refresher: RefresherStatus
    newest_change: NewestChange | None = Field(
        description="The most recently modified package, category or grid; null when empty."
    )
    generated_at: dt.datetime = Field(
        description="When these figures were read (answers are cached for a few seconds)."
    )
