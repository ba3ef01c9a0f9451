"""GitHub: the cheap figures of many repositories in one GraphQL query, REST for the rest.

Cost model (GitHub's published rules): a GraphQL query with no connections costs one
point however many repositories it names, so a batch of 100 costs 0.01 point each. The
contributor list and weekly commit activity have no GraphQL answer; they come from REST
with conditional requests (a 304 costs nothing), one point each when they changed.

Quirks handled here: the stats endpoint's 202 while GitHub computes (PENDING, retried
later), renamed repositories (GraphQL follows renames and names the new repository),
NOT_FOUND per alias, partial GraphQL errors, a contributor list too large to list (403),
and payloads that are not what GitHub documents (FAILED, old data kept).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

from app.forges.base import Outcome, RepoFigures, RepoKey, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream, UpstreamError
from app.forges.payload import (
    Count,
    Description,
    Name,
    PayloadError,
    UpstreamModel,
    UtcDatetime,
    describe,
    parse,
)
from app.forges.rest import MAX_PARTICIPANTS, Refusal, next_link
from app.forges.weeks import WEEKS, window
from app.normalize import normalize_repo_url

logger = logging.getLogger(__name__)

CONTRIBUTORS_PAGE = 100
# GitHub usually finishes computing statistics within a minute of the first 202.
STATS_RETRY_AFTER = 60.0
# Contributors and commit activity, the two REST resources whose ETags we keep.
CONTRIBUTORS = "contributors"
COMMIT_ACTIVITY = "commit_activity"
# Not an HTTP ETag: the default branch's head commit and the week it was seen in. While
# both are the same, neither REST resource can have changed (contributors and weekly
# totals both come from the default branch's history), so neither is asked.
HEAD = "head"

REPOSITORY_FRAGMENT = """
fragment RepoFigures on Repository {
  nameWithOwner
  url
  description
  stargazerCount
  forkCount
  isArchived
  defaultBranchRef {
    target {
      __typename
      oid
      ... on Commit {
        committedDate
      }
    }
  }
}
"""


def build_batch_query(count: int) -> str:
    """The GraphQL query for `count` repositories, one alias each (`r0`, `r1`, ...), with
    their owners and names as variables (`$o0`, `$n0`, ...), and the query's own cost."""
    variables = ", ".join(f"$o{i}: String!, $n{i}: String!" for i in range(count))
    aliases = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...RepoFigures }}" for i in range(count)
    )
    return (
        f"query RepoBatch({variables}) {{\n"
        "  rateLimit { cost remaining resetAt }\n"
        f"{aliases}\n}}\n{REPOSITORY_FRAGMENT}"
    )


def batch_variables(keys: Sequence[RepoKey]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for i, key in enumerate(keys):
        owner, _, name = key.path.partition("/")
        variables[f"o{i}"] = owner
        variables[f"n{i}"] = name
    return variables


class GitHubClient:
    """Figures of github.com (or GitHub Enterprise) repositories.

    `rest` and `graphql` are two Upstreams over one httpx client: GitHub keeps separate
    primary budgets for REST requests and GraphQL points, so each pauses on its own.
    """

    name = "github"

    def __init__(
        self,
        rest: Upstream,
        graphql: Upstream,
        *,
        api_url: str,
        graphql_url: str,
        batch_size: int = 100,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.rest = rest
        self.graphql = graphql
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url
        self.batch_size = batch_size
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    async def fetch_many(self, repos: Sequence[RepoRequest], usage: Usage) -> list[RepoResult]:
        # The registry only makes owner/name keys; any other is refused without a request.
        valid = [repo for repo in repos if _is_owner_name(repo.key.path)]
        batches = [
            valid[start : start + self.batch_size]
            for start in range(0, len(valid), self.batch_size)
        ]
        answers = await asyncio.gather(*(self._fetch_batch(batch, usage) for batch in batches))
        found = {result.key: result for answer in answers for result in answer}
        return [
            found.get(repo.key)
            or RepoResult(repo.key, Outcome.FAILED, error="GitHub: not an owner/name path")
            for repo in repos
        ]

    async def _fetch_batch(self, repos: Sequence[RepoRequest], usage: Usage) -> list[RepoResult]:
        answers = await self._graphql_batch(repos, usage)
        week = window(self._now()).end.date().isoformat()
        await asyncio.gather(
            *(
                self._complete(repo, result, f"{oid}@{week}" if oid else None, usage)
                for repo, (result, oid) in zip(repos, answers, strict=True)
                if result.outcome is Outcome.OK
            )
        )
        return [result for result, _ in answers]

    # --- GraphQL: the cheap figures of a whole batch -----------------------------------

    async def _graphql_batch(
        self, repos: Sequence[RepoRequest], usage: Usage
    ) -> list[tuple[RepoResult, str | None]]:
        """Each repository's result so far, and its default branch's head commit."""
        keys = [repo.key for repo in repos]
        body = {"query": build_batch_query(len(keys)), "variables": batch_variables(keys)}
        try:
            payload = await self._post_graphql(body, usage)
        except (UpstreamError, PayloadError) as error:
            logger.warning("github GraphQL batch of %d failed: %s", len(keys), error)
            return [
                (RepoResult(key, Outcome.FAILED, error=f"GitHub GraphQL: {error}"), None)
                for key in keys
            ]
        data = payload.get("data") or {}
        errors = _errors_by_alias(payload)
        results: list[tuple[RepoResult, str | None]] = []
        for i, key in enumerate(keys):
            alias = f"r{i}"
            node = data.get(alias) if isinstance(data, dict) else None
            alias_error = errors.get(alias)
            if node is None:
                if alias_error and alias_error.get("type") == "NOT_FOUND":
                    results.append(
                        (RepoResult(key, Outcome.NOT_FOUND, error=_message(alias_error)), None)
                    )
                else:
                    reason = _message(alias_error or errors.get(""))
                    results.append(
                        (RepoResult(key, Outcome.FAILED, error=f"GitHub GraphQL: {reason}"), None)
                    )
                continue
            try:
                figures, oid = _figures_from_graphql(node, key)
            except PayloadError as garbage:
                failed = RepoResult(key, Outcome.FAILED, error=f"GitHub GraphQL: {garbage}")
                results.append((failed, None))
                continue
            results.append((RepoResult(key, Outcome.OK, figures=figures), oid))
        return results

    async def _post_graphql(self, body: dict[str, Any], usage: Usage) -> dict[str, Any]:
        # A RATE_LIMITED answer has paused the upstream (its headers say until when); one
        # more try then waits for the reset instead of failing the batch.
        for _ in range(2):
            response = await self.graphql.request("POST", self.graphql_url, usage=usage, json=body)
            payload = _json(response)
            if not isinstance(payload, dict):
                raise PayloadError(f"HTTP {response.status_code}, not a GraphQL response")
            self._read_rate_limit(payload, usage)
            if response.status_code != 200 and "data" not in payload:
                raise PayloadError(f"HTTP {response.status_code}: {_message(payload)}")
            error_types = {
                e.get("type") for e in payload.get("errors") or [] if isinstance(e, dict)
            }
            if "RATE_LIMITED" not in error_types:
                return payload
            logger.warning("github GraphQL rate limited; waiting for the reset")
        raise UpstreamError("GitHub GraphQL rate limit not reset after waiting")

    def _read_rate_limit(self, payload: dict[str, Any], usage: Usage) -> None:
        data = payload.get("data")
        limit = data.get("rateLimit") if isinstance(data, dict) else None
        if not isinstance(limit, dict):
            usage.github_points += 1  # GitHub charges at least one point a query
            return
        cost, remaining = limit.get("cost"), limit.get("remaining")
        usage.github_points += cost if isinstance(cost, int) else 1
        reset = _datetime(limit.get("resetAt"))
        if isinstance(remaining, int) and reset is not None:
            self.graphql.note_rate_limit(remaining, reset.timestamp())

    # --- REST: contributors and weekly commit activity --------------------------------

    async def _complete(
        self, repo: RepoRequest, result: RepoResult, head: str | None, usage: Usage
    ) -> None:
        kept = {name: repo.etags.get(name) for name in (CONTRIBUTORS, COMMIT_ACTIVITY, HEAD)}
        if head and kept[HEAD] == head and kept[CONTRIBUTORS] and kept[COMMIT_ACTIVITY]:
            # No new commit on the default branch this week: nothing REST says can differ.
            result.etags = {name: etag for name, etag in kept.items() if etag}
            return
        # After a rename, REST is asked under the new name (the old one answers 301).
        path = _path_of(result.figures.moved_to) or repo.key.path
        base = f"{self.api_url}/repos/{path}"
        outcomes = await asyncio.gather(
            self._contributors(base, repo, result, usage),
            self._commit_activity(base, repo, result, usage),
            return_exceptions=True,
        )
        for error in outcomes:
            if isinstance(error, UpstreamError):
                _fail(result, Outcome.FAILED, f"GitHub REST: {error}")
                result.retry_after = error.retry_after
            elif isinstance(error, BaseException):
                if not isinstance(error, Exception):
                    raise error  # cancellation is not this repository's result
                # A bug must not cost the other repositories their figures.
                logger.error("github %s: %r", repo.key.path, error, exc_info=error)
                _fail(result, Outcome.FAILED, f"GitHub: internal error ({type(error).__name__})")
        if (
            result.outcome is Outcome.OK
            and head
            and {CONTRIBUTORS, COMMIT_ACTIVITY} <= set(result.etags)
        ):
            result.etags[HEAD] = head
        if result.outcome in {Outcome.FAILED, Outcome.NOT_FOUND}:
            # Nothing half-taken: the stored figures stay as they are, with their ETags.
            result.figures = RepoFigures()
            result.etags = dict(repo.etags)

    async def _contributors(
        self, base: str, repo: RepoRequest, result: RepoResult, usage: Usage
    ) -> None:
        etag = repo.etags.get(CONTRIBUTORS)
        headers = {"If-None-Match": etag} if etag else {}
        url: str | None = f"{base}/contributors?per_page={CONTRIBUTORS_PAGE}"
        logins: list[str] = []
        first = True
        while url and len(logins) < MAX_PARTICIPANTS:
            response = await self.rest.request(
                "GET", url, usage=usage, headers=headers if first else None, follow_redirects=True
            )
            status = response.status_code
            if first and status == 304 and etag:
                result.etags[CONTRIBUTORS] = etag  # unchanged: figures stay None
                return
            if status == 204:
                break  # an empty repository has no contributors
            if status == 403 and first and b"too large" in response.content.lower():
                # "The history or contributor list is too large to list contributors for
                # this repository via the API": keep the list we have.
                logger.info("github %s: contributor list too large", repo.key.path)
                return
            if status == 404:
                _fail(result, Outcome.NOT_FOUND, "GitHub: repository not found (contributors)")
                return
            if status != 200:
                _fail(result, Outcome.FAILED, f"GitHub contributors: HTTP {status}")
                return
            try:
                logins.extend(await _logins(response))
            except PayloadError as garbage:
                _fail(result, Outcome.FAILED, f"GitHub contributors: {garbage}")
                return
            if first and (new_etag := response.headers.get("etag")):
                result.etags[CONTRIBUTORS] = new_etag
            first = False
            try:
                url = next_link(response)
            except Refusal as refusal:  # a pagination link off GitHub's host
                _fail(result, refusal.outcome, f"GitHub contributors: {refusal.error}")
                return
        result.figures.participants = logins[:MAX_PARTICIPANTS]

    async def _commit_activity(
        self, base: str, repo: RepoRequest, result: RepoResult, usage: Usage
    ) -> None:
        etag = repo.etags.get(COMMIT_ACTIVITY)
        response = await self.rest.request(
            "GET",
            f"{base}/stats/commit_activity",
            usage=usage,
            headers={"If-None-Match": etag} if etag else None,
            follow_redirects=True,
        )
        status = response.status_code
        if status == 304 and etag:
            result.etags[COMMIT_ACTIVITY] = etag
        elif status == 202:
            # GitHub is computing the statistics: keep the old ones, ask again soon.
            if result.outcome is Outcome.OK:
                result.outcome = Outcome.PENDING
                result.retry_after = STATS_RETRY_AFTER
                result.error = "GitHub is computing commit statistics"
        elif status == 204:
            result.figures.commits_over_52 = [0] * WEEKS  # an empty repository
        elif status == 200:
            try:
                result.figures.commits_over_52 = await _weeks(response)
            except PayloadError as garbage:
                _fail(result, Outcome.FAILED, f"GitHub commit activity: {garbage}")
                return
            if new_etag := response.headers.get("etag"):
                result.etags[COMMIT_ACTIVITY] = new_etag
        elif status == 404:
            _fail(result, Outcome.NOT_FOUND, "GitHub: repository not found (commit activity)")
        else:
            _fail(result, Outcome.FAILED, f"GitHub commit activity: HTTP {status}")


# --- Mapping GitHub's payloads to our fields: the one place -------------------------


class _Target(UpstreamModel):
    typename: Name = Field(alias="__typename")
    oid: Name
    committedDate: UtcDatetime | None = None  # only on a Commit


class _Ref(UpstreamModel):
    target: _Target | None = None


class _Repository(UpstreamModel):
    nameWithOwner: Name
    url: Name
    description: Description | None
    stargazerCount: Count
    forkCount: Count
    isArchived: bool
    defaultBranchRef: _Ref | None  # None for an empty repository


class _Contributor(UpstreamModel):
    login: Name | None = None  # anonymous contributors have none


class _Week(UpstreamModel):
    week: Count  # Unix time of the week's Sunday
    total: Count


_REPOSITORY = TypeAdapter(_Repository)
_CONTRIBUTORS = TypeAdapter(list[_Contributor])
_WEEKS = TypeAdapter(list[_Week])


def _figures_from_graphql(node: Any, key: RepoKey) -> tuple[RepoFigures, str | None]:
    """Our fields from a repository node, and the oid of its default branch's head."""
    try:
        # Round-tripped through JSON so strict validation reads dates as GitHub sends them.
        repo = _REPOSITORY.validate_json(pydantic_core.to_json(node), strict=True)
    except ValidationError as error:
        raise PayloadError(describe(error)) from None
    figures = RepoFigures(
        stars=repo.stargazerCount,
        forks=repo.forkCount,
        description=repo.description or "",
        archived=repo.isArchived,
    )
    target = repo.defaultBranchRef.target if repo.defaultBranchRef else None
    if target is not None:
        figures.last_commit_at = target.committedDate
    if repo.nameWithOwner.lower() != key.path.lower():
        try:
            figures.moved_to = normalize_repo_url(repo.url)
        except ValueError as error:
            raise PayloadError(f"url of the renamed repository: {error}") from None
    return figures, target.oid if target else None


async def _logins(response: httpx.Response) -> list[str]:
    contributors = await parse(_CONTRIBUTORS, response, "contributors")
    return [c.login for c in contributors if c.login]


async def _weeks(response: httpx.Response) -> list[int]:
    """52 weekly totals, oldest first (sorted by `week`, as GitHub sends them)."""
    weeks = await parse(_WEEKS, response, "commit activity")
    # GitHub always sends the whole year, one entry per week: anything else is not a year
    # of activity, and padding or cutting it would store a made-up series.
    if len(weeks) != WEEKS or len({w.week for w in weeks}) != WEEKS:
        raise PayloadError(f"commit activity: {len(weeks)} entries for distinct weeks, not 52")
    return [w.total for w in sorted(weeks, key=lambda w: w.week)]


def _datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PayloadError(f"HTTP {response.status_code} with a body that is not JSON") from None


def _errors_by_alias(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """GraphQL errors by the alias their path starts with ("" for query-wide errors)."""
    found: dict[str, dict[str, Any]] = {}
    for error in payload.get("errors") or []:
        if not isinstance(error, dict):
            continue
        path = error.get("path")
        alias = path[0] if isinstance(path, list) and path and isinstance(path[0], str) else ""
        found.setdefault(alias, error)
    return found


def _message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str):
            return message[:500]
        errors = error.get("errors")
        if isinstance(errors, list) and errors:
            return _message(errors[0])
    return "no answer for this repository"


def _fail(result: RepoResult, outcome: Outcome, error: str) -> None:
    # NOT_FOUND wins over FAILED, which wins over PENDING: the worst news is reported.
    rank = [Outcome.OK, Outcome.PENDING, Outcome.FAILED, Outcome.NOT_FOUND]
    if rank.index(outcome) >= rank.index(result.outcome):
        result.outcome = outcome
        result.error = error
        result.retry_after = None


def _is_owner_name(path: str) -> bool:
    owner, slash, name = path.partition("/")
    return bool(owner and slash and name) and "/" not in name


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    return "/".join(httpx.URL(url).path.strip("/").split("/")[:2]) or None
