"""What every forge client answers, whatever the upstream: figures in our fields' meanings.

The refresher (app/refresh/) only ever sees these types; each client in this package maps
its upstream's payloads into them, in one place per upstream. A field left as None means
"the upstream told us nothing new": the refresher keeps the value it has (a 304, a stats
endpoint still computing, a contributor list too large to list).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RepoKey:
    """A repository on a configured forge: its host and its path (`owner/name`; GitLab
    paths may have subgroups)."""

    host: str
    path: str


@dataclass(frozen=True, slots=True)
class RepoRequest:
    key: RepoKey
    # ETags from the last successful fetch, by resource name (e.g. "contributors").
    etags: Mapping[str, str] = field(default_factory=dict)


class Outcome(StrEnum):
    OK = "ok"  # figures are current (fields left None are unchanged upstream)
    PENDING = "pending"  # the forge is still computing statistics: keep old figures, retry soon
    NOT_FOUND = "not_found"  # gone or private: record the error, keep the data, back off
    FAILED = "failed"  # upstream error, garbage, or retries exhausted: keep the data


@dataclass(slots=True)
class RepoFigures:
    stars: int | None = None
    forks: int | None = None
    description: str | None = None  # "" when the repository has none
    archived: bool | None = None
    last_commit_at: dt.datetime | None = None  # newest commit on the default branch (UTC)
    participants: list[str] | None = None  # contributor logins, forge order, bounded
    commits_over_52: list[int] | None = None  # exactly 52 weekly totals, oldest first
    moved_to: str | None = None  # the repository's canonical URL after a rename or transfer


@dataclass(slots=True)
class RepoResult:
    key: RepoKey
    outcome: Outcome
    figures: RepoFigures = field(default_factory=RepoFigures)
    # ETags to send next time; only resources whose figures were taken are included.
    etags: dict[str, str] = field(default_factory=dict)
    error: str = ""  # human-readable, for Package.refresh_error
    retry_after: float | None = None  # seconds, for PENDING and rate limits


@dataclass(slots=True)
class PypiFigures:
    version: str | None = None  # latest release that is not yanked
    license: str | None = None  # PEP 639 License-Expression first, then the license field
    requires_python: str | None = None
    classifiers: list[str] | None = None
    supports_python3: bool | None = None
    documentation_url: str | None = None  # from project_urls, when it names one
    last_release: dt.datetime | None = None  # newest upload of a file that is not yanked
    # PEP 792's project status from the Simple API ("active" when it serves none), and its
    # reason ("" when none); None: not known this time (the stored one stays).
    status: str | None = None
    status_reason: str | None = None


@dataclass(slots=True)
class PypiResult:
    name: str
    outcome: Outcome
    figures: PypiFigures = field(default_factory=PypiFigures)
    etag: str | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class Budget:
    """An upstream's rate-limit budget as one response's headers told it."""

    forge: str  # the client's name: "github", "gitlab", ...
    host: str  # the API host that answered (its own budget)
    resource: str  # GitHub's x-ratelimit-resource ("core", "graphql"); "" when unnamed
    remaining: int
    limit: int | None
    resets_at: dt.datetime | None
    observed_at: dt.datetime


@dataclass(slots=True)
class Usage:
    """What a refresh run cost upstream, for the CLI's summary and the benchmark."""

    requests: Counter[str] = field(default_factory=Counter)  # by forge name
    not_modified: Counter[str] = field(default_factory=Counter)  # 304s, by forge name
    github_points: int = 0  # GraphQL rateLimit.cost plus one per REST request that counted
    # The last budget each (API host, resource) reported, for the status resource.
    budgets: dict[tuple[str, str], Budget] = field(default_factory=dict)


class ForgeClient(Protocol):
    name: str  # "github", "gitlab", "forgejo", "bitbucket": the metrics and log label

    async def fetch_many(self, repos: Sequence[RepoRequest], usage: Usage) -> list[RepoResult]:
        """Figures for every repository asked for, one result each, in the same order.
        Never raises for an upstream problem: that is a FAILED or NOT_FOUND result."""
        ...


class PypiClient(Protocol):
    async def fetch(self, name: str, etag: str | None, usage: Usage) -> PypiResult: ...
