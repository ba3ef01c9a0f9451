"""Forgejo and Gitea (codeberg.org and self-hosted instances, one client per instance).

Two resources per repository, each conditional on its own ETag when the instance sends
one: the repository (`/repos/{owner}/{repo}`: stars, forks, description, archived,
renames, which the instance answers with a redirect to the new name) and the default
branch's commits since the 52-week window began (`/repos/{owner}/{repo}/commits` without
`sha`, which Forgejo reads as the default branch). Forgejo has no contributors endpoint,
so participants are the logins of those commits' authors (a commit whose email matches no
account has no login), most commits first; when the window holds no commit, the authors
of the newest page of commits. An empty repository answers its commits with 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from app.forges.base import Outcome, RepoFigures, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream
from app.forges.payload import Count, Description, Name, UpstreamModel, UtcDatetime, parse
from app.forges.rest import (
    PerRepositoryClient,
    Refusal,
    etag_for_window,
    etag_of,
    next_link,
    rank_logins,
    windowed_etag,
)
from app.forges.weeks import WEEKS, Window

PER_PAGE = 50  # Forgejo's default MAX_RESPONSE_ITEMS; larger limits are cut to it
# Only the listing is wanted: per-commit stats, signatures and file lists are costly.
_LEAN = {"stat": "false", "verification": "false", "files": "false"}


# --- Forgejo's payloads, and the one place they become our figures -------------------


class _Repository(UpstreamModel):
    full_name: Name
    html_url: Name
    stars_count: Count
    forks_count: Count
    description: Description | None = None
    archived: bool
    empty: bool = False


class _User(UpstreamModel):
    login: Name


class _Signature(UpstreamModel):
    date: UtcDatetime


class _GitCommit(UpstreamModel):
    committer: _Signature


class _Commit(UpstreamModel):
    commit: _GitCommit
    author: _User | None = None  # null when the author's email matches no account


_REPOSITORY = TypeAdapter(_Repository)
_COMMITS = TypeAdapter(list[_Commit])


def _repository_figures(repo: _Repository, asked_path: str, figures: RepoFigures) -> None:
    figures.stars = repo.stars_count
    figures.forks = repo.forks_count
    figures.description = repo.description or ""
    figures.archived = repo.archived
    if repo.full_name.casefold() != asked_path.casefold():
        figures.moved_to = repo.html_url


def _login(commit: _Commit) -> str | None:
    return commit.author.login if commit.author else None


# --- the client ---------------------------------------------------------------------


class ForgejoClient(PerRepositoryClient):
    """One Forgejo/Gitea instance: `api_url` its API base from FORGEJO_INSTANCES (e.g.
    https://codeberg.org/api/v1); `token` an access token with read:repository."""

    name = "forgejo"

    def __init__(
        self,
        upstream: Upstream,
        *,
        api_url: str,
        token: str | None = None,
        concurrency: int = 8,
        max_commit_pages: int = 20,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(
            upstream,
            api=api_url.rstrip("/"),
            headers={"Authorization": f"token {token}"} if token else {},
            concurrency=concurrency,
            max_commit_pages=max_commit_pages,
            now=now,
        )

    async def _fetch(self, request: RepoRequest, usage: Usage, weeks: Window) -> RepoResult:
        path = request.key.path
        owner, _, name = path.partition("/")
        base = f"{self._api}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        figures = RepoFigures()
        etags: dict[str, str] = {}
        stored = request.etags.get("repository")
        response = await self._get(base, usage, f"repository {path}", params={}, etag=stored)
        if response is None:
            etags["repository"] = stored or ""  # unchanged: its figures stay None
        else:
            repo = await parse(_REPOSITORY, response, f"forgejo repository {path}")
            _repository_figures(repo, path, figures)
            if etag := etag_of(response):
                etags["repository"] = etag
            if repo.empty:
                figures.participants = []
                figures.commits_over_52 = [0] * WEEKS
                return RepoResult(request.key, Outcome.OK, figures, etags)
            # After a rename, ask for the commits under the name the instance gave.
            base = str(response.url)
        await self._commits(base, request, usage, weeks, figures, etags)
        return RepoResult(request.key, Outcome.OK, figures, etags)

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
        url = f"{base}/commits"
        since = weeks.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        params: dict[str, str | int] = {"since": since, "limit": PER_PAGE, **_LEAN}
        stored = etag_for_window(request.etags.get("commits"), weeks)
        try:
            response = await self._get(url, usage, what, params=params, etag=stored)
        except Refusal as refusal:
            if refusal.status == 409:  # "Git Repository is empty"
                figures.participants = []
                figures.commits_over_52 = [0] * WEEKS
                return
            raise
        if response is None:
            etags["commits"] = windowed_etag(stored or "", weeks)
            return
        first = response
        commits: list[_Commit] = []
        pages = 1
        while True:
            page: list[_Commit] = await parse(_COMMITS, response, f"forgejo {what}")
            commits += page
            following = _next_page(response)
            # Instances older than `since` list the whole history: a page that ends before
            # the window ends the walk.
            if page and page[-1].commit.committer.date < weeks.start:
                following = None
            if following is None or pages >= self._max_commit_pages:
                break
            response = await self._require(following, usage, what)
            pages += 1
        if following is None:
            figures.commits_over_52 = weeks.totals(c.commit.committer.date for c in commits)
        # else: more commits than the bound allows reading; the old totals stay.
        if pages == 1 and following is None and (etag := etag_of(first)):
            etags["commits"] = windowed_etag(etag, weeks)
        authors = [c for c in commits if c.commit.committer.date >= weeks.start]
        if not authors:
            # Nothing in 52 weeks: the newest page tells the last commit and its authors.
            if not commits:
                newest = await self._require(url, usage, what, params={"limit": PER_PAGE, **_LEAN})
                commits = await parse(_COMMITS, newest, f"forgejo {what}")
            authors = commits[:PER_PAGE]
        figures.participants = rank_logins(_login(commit) for commit in authors)
        if commits:
            figures.last_commit_at = max(c.commit.committer.date for c in commits)

    async def _require(
        self, url: str, usage: Usage, what: str, *, params: dict[str, str | int] | None = None
    ) -> httpx.Response:
        response = await self._get(url, usage, what, params=params or {}, etag=None)
        assert response is not None  # unconditional requests are never 304
        return response


def _next_page(response: httpx.Response) -> str | None:
    """Forgejo's Link rel="next", else the next page number when X-HasMore says so."""
    following = next_link(response)
    if following is not None:
        return following
    if response.headers.get("x-hasmore", "").lower() == "true":
        page = response.url.params.get("page", "1")
        if page.isdigit():
            return str(response.url.copy_set_param("page", int(page) + 1))
    return None
