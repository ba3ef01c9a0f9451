"""What one package's fetch results change: the one place upstream figures become columns.

Pure functions over the package's current row and its results, so every rule (None keeps
the old value, last_fetched only on success, back-off, archived dates, moves, the score)
is unit-tested without a database. The repository (app/refresh/repository.py) writes the
returned values in one UPDATE, with the lease check, so a package is written whole or not
at all.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.forges.base import Outcome, PypiResult, RepoFigures, RepoResult
from app.insights.score import package_score
from app.models import Package
from app.normalize import canonical_repo_url, normalize_repo_url, repo_host_of, validate_http_url

# Failed packages are retried after 1 h, doubling with each failure in a row, at most a
# week apart: a repository that comes back is picked up again, none is dropped forever.
BACKOFF_BASE = dt.timedelta(hours=1)
BACKOFF_CAP = dt.timedelta(days=7)
# Up to 10% later, so packages that failed together (an outage) do not return together.
BACKOFF_JITTER = 0.1
# A forge still computing figures (as GitHub's statistics endpoint answers 202) usually
# has them within a minute.
PENDING_DEFAULT = dt.timedelta(seconds=60)
PENDING_BOUNDS = (dt.timedelta(seconds=10), dt.timedelta(hours=1))
ERROR_MAX_CHARS = 2000
WEEKS = 52

# Columns whose change is a change of the package a reader sees (then `modified` moves).
FIGURE_COLUMNS = (
    "repo_url",
    "repo_host",
    "repo_watchers",
    "repo_forks",
    "repo_description",
    "participants",
    "commits_over_52",
    "last_updated",
    "date_repo_archived",
    "pypi_version",
    "pypi_license",
    "pypi_requires_python",
    "pypi_classifiers",
    "pypi_last_release",
    "pypi_status",
    "pypi_status_reason",
    "supports_python3",
    "documentation_url",
    "score",
)


class PackageOutcome(StrEnum):
    REFRESHED = "refreshed"  # succeeded and something a reader sees changed
    UNCHANGED = "unchanged"  # succeeded, the same figures (often all 304s)
    PENDING = "pending"  # a forge is still computing: what came is kept, retried soon
    FAILED = "failed"  # an upstream failed: error recorded, back-off set
    SKIPPED = "skipped"  # the lease was lost (another refresher took over): nothing written


@dataclass(slots=True)
class Plan:
    outcome: PackageOutcome
    values: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def backoff(failures: int, retry_after: float | None = None) -> dt.timedelta:
    """How long to wait before the next attempt after `failures` failures in a row."""
    exponent = min(max(failures - 1, 0), 20)  # 2**20 hours is far beyond the cap
    delay: dt.timedelta = min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP)
    delay *= 1 + random.uniform(0, BACKOFF_JITTER)  # noqa: S311 (spreading, not secrecy)
    if retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return delay


def _pending_delay(retry_after: float | None) -> dt.timedelta:
    delay = dt.timedelta(seconds=retry_after) if retry_after else PENDING_DEFAULT
    low, high = PENDING_BOUNDS
    return min(max(delay, low), high)


def _fits(column: str, text: str) -> str:
    """Text cut to its column's length: an upstream's overlong value is not worth a failure."""
    length = getattr(Package.__table__.c[column].type, "length", None)
    return text[:length] if length else text


# The figures stored as the upstream tells them: each one's column.
_REPO_COLUMNS = {
    "stars": "repo_watchers",
    "forks": "repo_forks",
    "description": "repo_description",
    "last_commit_at": "last_updated",
}
_PYPI_COLUMNS = {"last_release": "pypi_last_release", "supports_python3": "supports_python3"}
# PyPI's texts, each cut to its column's length.
_PYPI_TEXT_COLUMNS = {
    "version": "pypi_version",
    "license": "pypi_license",
    "requires_python": "pypi_requires_python",
}


def _told(figures: object, columns: dict[str, str]) -> dict[str, Any]:
    """The figures the upstream told (None: it did not say), by their columns."""
    told = {column: getattr(figures, name) for name, column in columns.items()}
    return {column: value for column, value in told.items() if value is not None}


def _repo_values(package: Package, figures: RepoFigures, now: dt.datetime) -> dict[str, Any]:
    values = _told(figures, _REPO_COLUMNS)
    if figures.participants is not None:
        values["participants"] = list(figures.participants)
    # A series of the wrong length would shift every week on the charts: keep the old one.
    if figures.commits_over_52 is not None and len(figures.commits_over_52) == WEEKS:
        values["commits_over_52"] = list(figures.commits_over_52)
    if figures.archived is True:
        # The first refresh that sees it archived dates it; later ones keep that date.
        values["date_repo_archived"] = package.date_repo_archived or now
    elif figures.archived is False:
        values["date_repo_archived"] = None
    return values


def _pypi_values(package: Package, result: PypiResult) -> dict[str, Any]:
    figures = result.figures
    texts = _told(figures, _PYPI_TEXT_COLUMNS)
    values: dict[str, Any] = {column: _fits(column, text) for column, text in texts.items()}
    if figures.classifiers is not None:
        values["pypi_classifiers"] = list(figures.classifiers)
    values.update(_told(figures, _PYPI_COLUMNS))
    if figures.status is not None:
        values["pypi_status"] = figures.status
        values["pypi_status_reason"] = figures.status_reason or ""
    # Only fills a gap: a documentation URL someone entered is theirs to keep.
    if figures.documentation_url and not package.documentation_url:
        try:
            url = validate_http_url(figures.documentation_url)
        except ValueError:
            url = ""
        if url and len(url) <= 255:
            values["documentation_url"] = url
    return values


def _named(upstream: str, error: str) -> str:
    """The error, saying which upstream it came from (once: clients often say it already)."""
    return error if error.lower().startswith(upstream.lower()) else f"{upstream}: {error}"


def moved_url(
    package: Package, repo: RepoResult | None, hosts: Mapping[str, str] | None = None
) -> str | None:
    """The normalized new repo_url when the forge says the repository moved, else None."""
    if repo is None or repo.outcome not in {Outcome.OK, Outcome.PENDING}:
        return None
    if not repo.figures.moved_to:
        return None
    try:
        # The configured hosts: a self-hosted GitLab keeps its subgroup path.
        url = normalize_repo_url(repo.figures.moved_to, hosts)
    except ValueError:
        return None
    # An imported repo_url keeps the source's spelling: compared as the repository it names.
    if not url or url == canonical_repo_url(package.repo_url, hosts) or len(url) > 255:
        return None
    return url


def changed_figures(package: Package, planned: Plan) -> list[str]:
    """The figure columns `planned` gives a value other than the package's."""
    return [
        column
        for column in FIGURE_COLUMNS
        if column in planned.values and planned.values[column] != getattr(package, column)
    ]


def plan(
    package: Package,
    *,
    forge: str | None,
    repo: RepoResult | None,
    pypi: PypiResult | None,
    now: dt.datetime,
    moved_to_taken_by: str | None = None,
    hosts: Mapping[str, str] | None = None,
) -> Plan:
    """The values to write for `package` given its results (None: that upstream was not
    asked). `moved_to_taken_by` is the slug of another package that already has the URL the
    repository moved to (the unique repo_url cannot take it twice)."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    pending: list[dt.timedelta] = []
    retry_after: float | None = None

    if repo is not None:
        if repo.outcome in {Outcome.OK, Outcome.PENDING}:
            values.update(_repo_values(package, repo.figures, now))
            # The client lists the ETags of exactly what it took; the rest is fetched whole.
            values["refresh_etags"] = dict(repo.etags)
            new_url = moved_url(package, repo, hosts)
            if new_url and moved_to_taken_by:
                errors.append(
                    f"{forge}: the repository moved to {new_url}, which package "
                    f"{moved_to_taken_by!r} already has"
                )
            elif new_url:
                values["repo_url"] = new_url
                values["repo_host"] = repo_host_of(new_url, hosts)
            if repo.outcome is Outcome.PENDING:
                pending.append(_pending_delay(repo.retry_after))
        else:
            label = "not found" if repo.outcome is Outcome.NOT_FOUND else "failed"
            errors.append(_named(forge or "forge", repo.error or label))
            retry_after = repo.retry_after

    if pypi is not None:
        if pypi.outcome in {Outcome.OK, Outcome.PENDING}:
            values.update(_pypi_values(package, pypi))
            values["refresh_pypi_etag"] = pypi.etag
            if pypi.outcome is Outcome.PENDING:
                pending.append(PENDING_DEFAULT)
        else:
            label = "not found" if pypi.outcome is Outcome.NOT_FOUND else "failed"
            errors.append(_named("pypi", pypi.error or label))
            # A quarantined project is not found on PyPI's JSON API, but its status is known.
            if pypi.figures.status is not None:
                values["pypi_status"] = pypi.figures.status
                values["pypi_status_reason"] = pypi.figures.status_reason or ""

    stars = values.get("repo_watchers", package.repo_watchers)
    last_commit = values.get("last_updated", package.last_updated)
    python3 = values.get("supports_python3", package.supports_python3)
    values["score"] = package_score(stars, last_commit, python3, now)
    changed = any(
        column in values and values[column] != getattr(package, column) for column in FIGURE_COLUMNS
    )
    if changed:
        values["modified"] = now

    if errors:
        failures = package.refresh_failures + 1
        error = "; ".join(errors)[:ERROR_MAX_CHARS]
        values.update(
            refresh_error=error,
            refresh_error_at=now,
            refresh_failures=failures,
            refresh_retry_at=now + backoff(failures, retry_after),
        )
        outcome = PackageOutcome.FAILED
    elif pending:
        # Not a failure (no count, no error) and not a success (last_fetched stays).
        values["refresh_retry_at"] = now + max(pending)
        error = ""
        outcome = PackageOutcome.PENDING
    else:
        values.update(
            last_fetched=now,
            refresh_error="",
            refresh_error_at=None,
            refresh_failures=0,
            refresh_retry_at=None,
        )
        error = ""
        outcome = PackageOutcome.REFRESHED if changed else PackageOutcome.UNCHANGED
    values.update(refresh_claimed_by=None, refresh_claimed_until=None)
    return Plan(outcome=outcome, values=values, error=error)
