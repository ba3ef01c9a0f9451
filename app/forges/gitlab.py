"""GitLab REST v4 (gitlab.com or a self-managed instance at GITLAB_URL).

Three resources per repository, each conditional on its own ETag:
- the project (`/projects/:path`): stars, forks, description, archived, renames;
- its contributors (`/repository/contributors`): participants. GitLab groups them by
  commit email and gives a display name, never a username (mapping an email to an
  account takes an admin-only user search per contributor), so participants on GitLab
  are contributor names as GitLab's own contributors page shows them, most commits
  first, each name once;
- the default branch's commits since the 52-week window began (`/repository/commits`
  without `ref_name`, which GitLab reads as the default branch): the weekly totals and
  `last_commit_at`, the newest `committed_date`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from app.forges.base import Outcome, RepoFigures, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream
from app.forges.payload import Count, Description, Name, UpstreamModel, UtcDatetime, parse
from app.forges.rest import (
    MAX_PARTICIPANTS,
    PerRepositoryClient,
    Refusal,
    etag_for_window,
    etag_of,
    next_link,
    windowed_etag,
)
from app.forges.weeks import WEEKS, Window

PER_PAGE = 100  # GitLab's largest page


# --- GitLab's payloads, and the one place they become our figures -------------------


class _Project(UpstreamModel):
    path_with_namespace: Name
    web_url: Name
    star_count: Count
    forks_count: Count
    description: Description | None = None
    archived: bool
    default_branch: Name | None = None  # null while the repository is empty


class _Contributor(UpstreamModel):
    name: Name
    commits: Count


class _Commit(UpstreamModel):
    committed_date: UtcDatetime


_PROJECT = TypeAdapter(_Project)
_CONTRIBUTORS = TypeAdapter(list[_Contributor])
_COMMITS = TypeAdapter(list[_Commit])


def _project_figures(project: _Project, asked_path: str, figures: RepoFigures) -> None:
    figures.stars = project.star_count
    figures.forks = project.forks_count
    figures.description = project.description or ""
    figures.archived = project.archived
    # GitLab answers an old path of a renamed or transferred project with the project.
    if project.path_with_namespace.casefold() != asked_path.casefold():
        figures.moved_to = project.web_url


def _participants(contributors: Sequence[_Contributor]) -> list[str]:
    # One person committing under two emails is two entries with the same name.
    seen: dict[str, str] = {}
    for contributor in contributors:
        name = contributor.name.strip()
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())[:MAX_PARTICIPANTS]


# --- the client ---------------------------------------------------------------------


class GitLabClient(PerRepositoryClient):
    """`url` is the instance (GITLAB_URL, e.g. https://gitlab.com); `token` a personal,
    group or project access token with read_api, sent as PRIVATE-TOKEN."""

    name = "gitlab"

    def __init__(
        self,
        upstream: Upstream,
        *,
        url: str,
        token: str | None = None,
        concurrency: int = 8,
        max_commit_pages: int = 20,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(
            upstream,
            api=f"{url.rstrip('/')}/api/v4",
            headers={"PRIVATE-TOKEN": token} if token else {},
            concurrency=concurrency,
            max_commit_pages=max_commit_pages,
            now=now,
        )

    async def _fetch(self, request: RepoRequest, usage: Usage, weeks: Window) -> RepoResult:
        path = request.key.path
        # Subgroups included, the whole path is one URL-encoded segment (group%2Fsub%2Frepo).
        base = f"{self._api}/projects/{quote(path, safe='')}"
        figures = RepoFigures()
        etags: dict[str, str] = {}
        stored = request.etags.get("project")
        response = await self._get(base, usage, f"project {path}", etag=stored)
        if response is None:
            etags["project"] = stored or ""  # unchanged: its figures stay None
        else:
            project = await parse(_PROJECT, response, f"gitlab project {path}")
            _project_figures(project, path, figures)
            _remember(etags, "project", response)
            if project.default_branch is None:
                # An empty repository: no commits, nobody contributed yet.
                figures.participants = []
                figures.commits_over_52 = [0] * WEEKS
                return RepoResult(request.key, Outcome.OK, figures, etags)
        await self._contributors(base, request, usage, figures, etags)
        await self._commits(base, request, usage, weeks, figures, etags)
        return RepoResult(request.key, Outcome.OK, figures, etags)

    async def _contributors(
        self,
        base: str,
        request: RepoRequest,
        usage: Usage,
        figures: RepoFigures,
        etags: dict[str, str],
    ) -> None:
        what = f"contributors of {request.key.path}"
        params: dict[str, str | int] = {"order_by": "commits", "sort": "desc", "per_page": PER_PAGE}
        stored = request.etags.get("contributors")
        try:
            response = await self._get(
                f"{base}/repository/contributors", usage, what, params=params, etag=stored
            )
        except Refusal as refusal:
            if refusal.outcome is Outcome.NOT_FOUND:
                return  # the repository is disabled or hidden while the project is public
            raise
        if response is None:
            etags["contributors"] = stored or ""
            return
        contributors: list[_Contributor] = []
        pages = 1
        while True:
            page: list[_Contributor] = await parse(_CONTRIBUTORS, response, f"gitlab {what}")
            contributors += page
            following = _next_page(response)
            if following is None or len(contributors) >= MAX_PARTICIPANTS:
                break
            response = await self._require(following, usage, what)
            pages += 1
        figures.participants = _participants(contributors)
        if pages == 1 and following is None:
            # Only a one-page list is known unchanged by its first page's ETag.
            _remember(etags, "contributors", response)

    async def _commits(
        self,
        base: str,
        request: RepoRequest,
        usage: Usage,
        weeks: Window,
        figures: RepoFigures,
        etags: dict[str, str],
    ) -> None:
        what = f"commits of {request.key.path}"
        url = f"{base}/repository/commits"
        since = weeks.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        stored = etag_for_window(request.etags.get("commits"), weeks)
        try:
            response = await self._get(
                url, usage, what, params={"since": since, "per_page": PER_PAGE}, etag=stored
            )
        except Refusal as refusal:
            if refusal.outcome is Outcome.NOT_FOUND:
                return
            raise
        if response is None:
            etags["commits"] = windowed_etag(stored or "", weeks)
            return
        first = response
        dates: list[dt.datetime] = []
        pages = 1
        while True:
            dates += [c.committed_date for c in await parse(_COMMITS, response, f"gitlab {what}")]
            following = _next_page(response)
            if following is None or pages >= self._max_commit_pages:
                break
            response = await self._require(following, usage, what)
            pages += 1
        if following is None:
            figures.commits_over_52 = weeks.totals(dates)
        # else: more commits than the bound allows reading; the old totals stay.
        if pages == 1 and following is None and (etag := etag_of(first)):
            etags["commits"] = windowed_etag(etag, weeks)
        if dates:
            figures.last_commit_at = max(dates)
            return
        # Nothing in 52 weeks: the newest commit is older, one more request finds it.
        newest = await self._require(url, usage, what, params={"per_page": 1})
        commits = await parse(_COMMITS, newest, f"gitlab {what}")
        if commits:
            figures.last_commit_at = commits[0].committed_date

    async def _require(
        self, url: str, usage: Usage, what: str, *, params: dict[str, str | int] | None = None
    ) -> httpx.Response:
        response = await self._get(url, usage, what, params=params)
        assert response is not None  # unconditional requests are never 304
        return response


def _next_page(response: httpx.Response) -> str | None:
    """The next page: x-next-page (empty on the last page) on the URL we asked, else the
    Link rel="next". The first stays on our URL even when GitLab's external URL differs."""
    page = response.headers.get("x-next-page", "").strip()
    if page.isdigit():
        return str(response.url.copy_set_param("page", page))
    return next_link(response)


def _remember(etags: dict[str, str], resource: str, response: httpx.Response) -> None:
    etag = etag_of(response)
    if etag:
        etags[resource] = etag
