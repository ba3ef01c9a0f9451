"""GitHub: the figures of many repositories in a few GraphQL queries, REST for contributors.

Cost (GitHub's published rules): a GraphQL query costs one point per 100 connections it
may walk (one per connection per parent), at least one. The cheap figures of 100
repositories are one query, one point; their year of commits one more query per page of
100 commits (each repository's history is one connection, so pages of many repositories
share a point). The contributor list has no GraphQL answer: it comes from REST, asked
with its ETag (a 304 costs nothing), one point a page when it changed.

The weekly totals are counted from the default branch's history (committed dates, in the
weeks of app.forges.weeks, as for every other forge), not from /stats/commit_activity:
that endpoint answers 202 while GitHub computes, one to several times a repository, a
point each time, so a first refresh cost 3-5 points a repository and still served
incomplete weeks; and it may never answer for a busy repository, whose statistics are
recomputed on every push. History is always there, and one run completes it.

Nothing is asked again while nothing can have changed: the default branch's head commit
and the week it was seen in are kept (the "head" marker); while both are the same, the
contributors and the weekly totals are too, and a warm run costs its GraphQL batch only.

Quirks handled: renamed repositories (GraphQL follows renames and names the new one),
NOT_FOUND per alias, partial GraphQL errors, RATE_LIMITED, a contributor list too large
to list (403), a history too long to page (counted by week instead), and payloads that
are not what GitHub documents (FAILED, old data kept).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from app.forges.weeks import WEEKS, Window, window
from app.normalize import normalize_repo_url

logger = logging.getLogger(__name__)

CONTRIBUTORS_PAGE = 100
HISTORY_PAGE = 100  # GitHub's largest page
# A history with more pages left than this is counted week by week instead: 52 totalCount
# connections cost about half a point a repository, less than three more pages of it
# asked alone (a point each), whatever its length.
PAGES_BEFORE_WEEKLY = 2
WEEKLY_BATCH = 10  # repositories counted by week in one query (about 5 points)
# The REST resource whose ETag we keep.
CONTRIBUTORS = "contributors"
# Not an HTTP ETag: the default branch's head commit (or "empty") and the week it was
# seen in. While both are the same, the contributors and the weekly totals are too (both
# come from the default branch's history), so neither is asked.
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


def build_history_query(count: int) -> str:
    """A page of commits (newest first, committed within $since..$until) of the commit
    `$h0` in repository `$o0/$n0`, after cursor `$c0` (null: the first page), and so on
    for `count` repositories. The commit is named by its oid, so every page of a walk
    counts the same history even if a push lands meanwhile."""
    variables = ", ".join(
        f"$o{i}: String!, $n{i}: String!, $h{i}: GitObjectID!, $c{i}: String" for i in range(count)
    )
    aliases = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ object(oid: $h{i}) {{ ... on Commit {{"
        f" history(first: {HISTORY_PAGE}, after: $c{i}, since: $since, until: $until) {{"
        " totalCount pageInfo { hasNextPage endCursor } nodes { committedDate } } } } }"
        for i in range(count)
    )
    return (
        f"query RepoHistory($since: GitTimestamp!, $until: GitTimestamp!, {variables}) {{\n"
        "  rateLimit { cost remaining resetAt }\n"
        f"{aliases}\n}}\n"
    )


def build_weekly_query(count: int) -> str:
    """Each of the 52 weeks' commit count (alias `w0` the oldest, `$s0`..`$u0` its bounds)
    of the commit `$h0` in repository `$o0/$n0`, and so on for `count` repositories."""
    bounds = ", ".join(f"$s{k}: GitTimestamp!, $u{k}: GitTimestamp!" for k in range(WEEKS))
    variables = ", ".join(
        f"$o{i}: String!, $n{i}: String!, $h{i}: GitObjectID!" for i in range(count)
    )
    weeks = " ".join(
        f"w{k}: history(first: 1, since: $s{k}, until: $u{k}) {{ totalCount }}"
        for k in range(WEEKS)
    )
    aliases = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ object(oid: $h{i}) {{"
        f" ... on Commit {{ {weeks} }} }} }}"
        for i in range(count)
    )
    return (
        f"query RepoWeeks({bounds}, {variables}) {{\n"
        "  rateLimit { cost remaining resetAt }\n"
        f"{aliases}\n}}\n"
    )


def batch_variables(keys: Sequence[RepoKey]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for i, key in enumerate(keys):
        owner, _, name = key.path.partition("/")
        variables[f"o{i}"] = owner
        variables[f"n{i}"] = name
    return variables


def _git_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class _Walk:
    """One repository's walk through its year of history, page by page."""

    result: RepoResult
    path: str  # owner/name, after a rename the new one
    oid: str  # the head commit being counted
    cursor: str | None = None
    total: int = 0  # commits in the window, as the last page said
    dates: list[dt.datetime] = field(default_factory=list)

    @property
    def pages_left(self) -> int:
        return -(-(self.total - len(self.dates)) // HISTORY_PAGE)


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
        # One window for every repository asked at once: they count the same 52 weeks.
        weeks = window(self._now())
        answers = await asyncio.gather(
            *(self._fetch_batch(batch, weeks, usage) for batch in batches)
        )
        found = {result.key: result for answer in answers for result in answer}
        return [
            found.get(repo.key)
            or RepoResult(repo.key, Outcome.FAILED, error="GitHub: not an owner/name path")
            for repo in repos
        ]

    async def _fetch_batch(
        self, repos: Sequence[RepoRequest], weeks: Window, usage: Usage
    ) -> list[RepoResult]:
        answers = await self._graphql_batch(repos, usage)
        week = weeks.end.date().isoformat()
        changed: list[tuple[RepoRequest, RepoResult, str | None, str]] = []
        for repo, (result, oid) in zip(repos, answers, strict=True):
            if result.outcome is not Outcome.OK:
                continue
            marker = f"{oid or 'empty'}@{week}"
            if repo.etags.get(HEAD) == marker:
                # No new commit on the default branch this week: nothing else can differ.
                result.etags = {
                    name: repo.etags[name] for name in (CONTRIBUTORS, HEAD) if repo.etags.get(name)
                }
                continue
            changed.append((repo, result, oid, marker))
        walks = []
        for repo, result, oid, _marker in changed:
            # After a rename, ask under the new name (REST's old one answers 301).
            path = _path_of(result.figures.moved_to) or repo.key.path
            if oid is None:
                result.figures.commits_over_52 = [0] * WEEKS  # an empty repository
            else:
                walks.append(_Walk(result, path, oid))
        await asyncio.gather(
            self._histories(walks, weeks, usage),
            *(
                self._complete(
                    repo, result, _path_of(result.figures.moved_to) or repo.key.path, usage
                )
                for repo, result, _oid, _marker in changed
            ),
        )
        for repo, result, _oid, marker in changed:
            if result.outcome is Outcome.OK and result.figures.commits_over_52 is not None:
                result.etags[HEAD] = marker
            if result.outcome in {Outcome.FAILED, Outcome.NOT_FOUND}:
                # Nothing half-taken: the stored figures stay as they are, with their ETags.
                result.figures = RepoFigures()
                result.etags = dict(repo.etags)
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

    # --- GraphQL: a year of commits, page by page, many repositories a query -----------

    async def _histories(self, walks: list[_Walk], weeks: Window, usage: Usage) -> None:
        """The weekly totals of every walk's head commit: pages of up to `batch_size`
        repositories at once, each repository on until its last page, or counted week by
        week when its history is long."""
        bounds = {"since": _git_time(weeks.start), "until": _git_time(weeks.end)}
        queue, long = list(walks), list[_Walk]()
        while queue:
            batch, queue = queue[: self.batch_size], queue[self.batch_size :]
            for walk in await self._history_page(batch, bounds, usage):
                (long if walk.pages_left > PAGES_BEFORE_WEEKLY else queue).append(walk)
        await asyncio.gather(
            *(
                self._weekly(long[start : start + WEEKLY_BATCH], weeks, usage)
                for start in range(0, len(long), WEEKLY_BATCH)
            )
        )
        for walk in walks:
            if walk.result.outcome is Outcome.OK and walk.result.figures.commits_over_52 is None:
                walk.result.figures.commits_over_52 = weeks.totals(walk.dates)

    async def _batch_answer(
        self,
        batch: list[_Walk],
        query: str,
        variables: Mapping[str, str | None],
        usage: Usage,
        what: str,
    ) -> tuple[Any, dict[str, dict[str, Any]]] | None:
        """A batch query's `data` and its errors by alias; None, every walk of the batch
        failed, when the query as a whole failed."""
        try:
            payload = await self._post_graphql({"query": query, "variables": variables}, usage)
        except (UpstreamError, PayloadError) as failure:
            for walk in batch:
                _fail(walk.result, Outcome.FAILED, f"GitHub GraphQL {what}: {failure}")
            return None
        return payload.get("data") or {}, _errors_by_alias(payload)

    async def _history_page(
        self, batch: list[_Walk], bounds: dict[str, str], usage: Usage
    ) -> list[_Walk]:
        """One page of each walk; the walks that have more pages."""
        variables: dict[str, str | None] = dict(bounds)
        for i, walk in enumerate(batch):
            owner, _, name = walk.path.partition("/")
            variables |= {f"o{i}": owner, f"n{i}": name, f"h{i}": walk.oid, f"c{i}": walk.cursor}
        query = build_history_query(len(batch))
        answer = await self._batch_answer(batch, query, variables, usage, "history")
        if answer is None:
            return []
        data, errors = answer
        more: list[_Walk] = []
        for i, walk in enumerate(batch):
            node = data.get(f"r{i}") if isinstance(data, dict) else None
            if node is None:
                error = errors.get(f"r{i}") or errors.get("")
                gone = bool(error and error.get("type") == "NOT_FOUND")
                outcome = Outcome.NOT_FOUND if gone else Outcome.FAILED
                _fail(walk.result, outcome, f"GitHub GraphQL history: {_message(error)}")
                continue
            try:
                page = _history_from_graphql(node)
            except PayloadError as garbage:
                _fail(walk.result, Outcome.FAILED, f"GitHub GraphQL history: {garbage}")
                continue
            walk.total = page.total
            walk.dates += page.dates
            if page.next_cursor is None:
                if len(walk.dates) != page.total:
                    # A page went missing or the history moved: never a made-up count.
                    _fail(
                        walk.result,
                        Outcome.FAILED,
                        f"GitHub GraphQL history: {len(walk.dates)} commits listed of {page.total}",
                    )
                continue
            if page.next_cursor == walk.cursor or not page.dates:
                _fail(walk.result, Outcome.FAILED, "GitHub GraphQL history: paging stalled")
                continue
            walk.cursor = page.next_cursor
            more.append(walk)
        return more

    async def _weekly(self, batch: list[_Walk], weeks: Window, usage: Usage) -> None:
        """Long histories: each week's count, 52 connections a repository in one query."""
        variables: dict[str, str] = {}
        for k in range(WEEKS):
            start = weeks.start + dt.timedelta(weeks=k)
            variables[f"s{k}"] = _git_time(start)
            # `until` includes its second; the next week starts one second later.
            variables[f"u{k}"] = _git_time(start + dt.timedelta(weeks=1, seconds=-1))
        for i, walk in enumerate(batch):
            owner, _, name = walk.path.partition("/")
            variables |= {f"o{i}": owner, f"n{i}": name, f"h{i}": walk.oid}
        query = build_weekly_query(len(batch))
        answer = await self._batch_answer(batch, query, variables, usage, "weekly history")
        if answer is None:
            return
        data, errors = answer
        for i, walk in enumerate(batch):
            node = data.get(f"r{i}") if isinstance(data, dict) else None
            try:
                if node is None:
                    raise PayloadError(_message(errors.get(f"r{i}") or errors.get("")))
                walk.result.figures.commits_over_52 = _weekly_from_graphql(node)
            except PayloadError as garbage:
                _fail(walk.result, Outcome.FAILED, f"GitHub GraphQL weekly history: {garbage}")

    # --- REST: contributors ----------------------------------------------------------

    async def _complete(
        self, repo: RepoRequest, result: RepoResult, path: str, usage: Usage
    ) -> None:
        try:
            await self._contributors(f"{self.api_url}/repos/{path}", repo, result, usage)
        except UpstreamError as error:
            _fail(result, Outcome.FAILED, f"GitHub REST: {error}")
            result.retry_after = error.retry_after
        except Exception as error:  # a bug must not cost the other repositories their figures
            logger.error("github %s: %r", repo.key.path, error, exc_info=error)
            _fail(result, Outcome.FAILED, f"GitHub: internal error ({type(error).__name__})")

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


class _PageInfo(UpstreamModel):
    hasNextPage: bool
    endCursor: Name | None = None


class _CommitDate(UpstreamModel):
    committedDate: UtcDatetime


class _History(UpstreamModel):
    totalCount: Count
    pageInfo: _PageInfo
    nodes: list[_CommitDate] = Field(max_length=HISTORY_PAGE)


class _HistoryOf(UpstreamModel):
    history: _History  # absent when the object is not a commit


class _RepositoryHistory(UpstreamModel):
    object: _HistoryOf | None  # None when the commit is no longer in the repository


class _Total(UpstreamModel):
    totalCount: Count


class _RepositoryWeeks(UpstreamModel):
    object: dict[str, _Total] | None  # w0..w51; None when the commit is no longer there


@dataclass(frozen=True, slots=True)
class _Page:
    total: int
    dates: list[dt.datetime]
    next_cursor: str | None


_REPOSITORY = TypeAdapter(_Repository)
_CONTRIBUTORS = TypeAdapter(list[_Contributor])
_REPOSITORY_HISTORY = TypeAdapter(_RepositoryHistory)
_REPOSITORY_WEEKS = TypeAdapter(_RepositoryWeeks)


def _strict(adapter: TypeAdapter[Any], node: Any) -> Any:
    try:
        # Round-tripped through JSON so strict validation reads dates as GitHub sends them.
        return adapter.validate_json(pydantic_core.to_json(node), strict=True)
    except ValidationError as error:
        raise PayloadError(describe(error)) from None


def _figures_from_graphql(node: Any, key: RepoKey) -> tuple[RepoFigures, str | None]:
    """Our fields from a repository node, and the oid of its default branch's head."""
    repo: _Repository = _strict(_REPOSITORY, node)
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


def _history_from_graphql(node: Any) -> _Page:
    repository: _RepositoryHistory = _strict(_REPOSITORY_HISTORY, node)
    if repository.object is None:
        raise PayloadError("the head commit is gone (a force push?); asked again next run")
    history = repository.object.history
    cursor = history.pageInfo.endCursor if history.pageInfo.hasNextPage else None
    if history.pageInfo.hasNextPage and cursor is None:
        raise PayloadError("a next page without a cursor")
    return _Page(history.totalCount, [n.committedDate for n in history.nodes], cursor)


def _weekly_from_graphql(node: Any) -> list[int]:
    repository: _RepositoryWeeks = _strict(_REPOSITORY_WEEKS, node)
    if repository.object is None:
        raise PayloadError("the head commit is gone (a force push?); asked again next run")
    weeks = repository.object
    if set(weeks) != {f"w{k}" for k in range(WEEKS)}:
        raise PayloadError(f"{len(weeks)} weekly totals, not {WEEKS}")
    return [weeks[f"w{k}"].totalCount for k in range(WEEKS)]


async def _logins(response: httpx.Response) -> list[str]:
    contributors = await parse(_CONTRIBUTORS, response, "contributors")
    return [c.login for c in contributors if c.login]


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
