"""Bitbucket Cloud, API 2.0.

Bitbucket has no stars: repo_watchers is the repository's watcher count (the `size` of
`/watchers`), the nearest thing, and the number Bitbucket's own page shows beside forks
(the `size` of `/forks`). Repositories cannot be archived there, so `archived` is left
None (unchanged). The main branch's commits come newest first in pages linked by `next`
in the body, with no `since` filter: the client walks them until a page ends with a
commit older than the 52-week window, within a bound. Participants are the Bitbucket
nicknames of those commits' authors (a commit whose author matches no account has
none), most commits first; when the window holds no commit, the authors of the newest
page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

import httpx
from pydantic import Field, TypeAdapter

from app.forges.base import Outcome, RepoFigures, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream
from app.forges.payload import Count, Description, Name, UpstreamModel, UtcDatetime, parse
from app.forges.rest import (
    PerRepositoryClient,
    Refusal,
    etag_for_window,
    etag_of,
    rank_logins,
    same_origin,
    windowed_etag,
)
from app.forges.weeks import WEEKS, Window

PER_PAGE = 100  # Bitbucket's largest pagelen


# --- Bitbucket's payloads, and the one place they become our figures -----------------


class _Branch(UpstreamModel):
    name: Name


class _Href(UpstreamModel):
    href: Name


class _Links(UpstreamModel):
    html: _Href


class _Repository(UpstreamModel):
    full_name: Name
    description: Description | None = None
    mainbranch: _Branch | None = None  # null while the repository is empty
    links: _Links


class _Sized(UpstreamModel):
    size: Count


class _User(UpstreamModel):
    nickname: Name | None = None


class _Author(UpstreamModel):
    user: _User | None = None  # absent when the commit's author matches no account


class _Commit(UpstreamModel):
    date: UtcDatetime
    author: _Author | None = None


class _CommitPage(UpstreamModel):
    values: list[_Commit]
    next: Annotated[str, Field(max_length=4096)] | None = None


_REPOSITORY = TypeAdapter(_Repository)
_SIZED = TypeAdapter(_Sized)
_COMMIT_PAGE = TypeAdapter(_CommitPage)


def _repository_figures(repo: _Repository, asked_path: str, figures: RepoFigures) -> None:
    figures.description = repo.description or ""
    if repo.full_name.casefold() != asked_path.casefold():
        figures.moved_to = repo.links.html.href


def _nickname(commit: _Commit) -> str | None:
    user = commit.author.user if commit.author else None
    return user.nickname if user else None


# --- the client ---------------------------------------------------------------------


class BitbucketClient(PerRepositoryClient):
    """`api_url` is BITBUCKET_API_URL (https://api.bitbucket.org/2.0); `token` a
    repository, project or workspace access token, sent as a Bearer token."""

    name = "bitbucket"

    def __init__(
        self,
        upstream: Upstream,
        *,
        api_url: str,
        token: str | None = None,
        concurrency: int = 8,
        max_commit_pages: int = 10,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(
            upstream,
            api=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            concurrency=concurrency,
            max_commit_pages=max_commit_pages,
            now=now,
        )

    async def _fetch(self, request: RepoRequest, usage: Usage, weeks: Window) -> RepoResult:
        path = request.key.path
        workspace, _, slug = path.partition("/")
        base = f"{self._api}/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"
        figures = RepoFigures()
        etags: dict[str, str] = {}
        # Never conditional: the main branch's name is needed for the commits every time.
        response = await self._get(base, usage, f"repository {path}")
        assert response is not None
        repo = await parse(_REPOSITORY, response, f"bitbucket repository {path}")
        _repository_figures(repo, path, figures)
        figures.stars = await self._size(f"{base}/watchers", "watchers", request, usage, etags)
        figures.forks = await self._size(f"{base}/forks", "forks", request, usage, etags)
        if repo.mainbranch is None:
            figures.participants = []
            figures.commits_over_52 = [0] * WEEKS
        else:
            url = f"{base}/commits/{quote(repo.mainbranch.name, safe='')}"
            await self._commits(url, request, usage, weeks, figures, etags)
        return RepoResult(request.key, Outcome.OK, figures, etags)

    async def _size(
        self,
        url: str,
        resource: str,
        request: RepoRequest,
        usage: Usage,
        etags: dict[str, str],
    ) -> int | None:
        """The `size` of a collection, asked for with the smallest page."""
        what = f"{resource} of {request.key.path}"
        stored = request.etags.get(resource)
        response = await self._get(url, usage, what, params={"pagelen": 1}, etag=stored)
        if response is None:
            etags[resource] = stored or ""
            return None
        sized = await parse(_SIZED, response, f"bitbucket {what}")
        if etag := etag_of(response):
            etags[resource] = etag
        return sized.size

    async def _commits(
        self,
        url: str,
        request: RepoRequest,
        usage: Usage,
        weeks: Window,
        figures: RepoFigures,
        etags: dict[str, str],
    ) -> None:
        what = f"commits of {request.key.path}"
        stored = etag_for_window(request.etags.get("commits"), weeks)
        response = await self._get(url, usage, what, params={"pagelen": PER_PAGE}, etag=stored)
        if response is None:
            etags["commits"] = windowed_etag(stored or "", weeks)
            return
        first = response
        newest_page: list[_Commit] = []
        in_window: list[_Commit] = []
        pages = 1
        while True:
            page = await parse(_COMMIT_PAGE, response, f"bitbucket {what}")
            newest_page = newest_page or page.values
            in_window += [c for c in page.values if c.date >= weeks.start]
            # Git's order is newest first, roughly: a rebased commit keeps an old date, so
            # only a page that ends before the window ends the walk.
            reached_start = not page.values or page.values[-1].date < weeks.start
            following = None if reached_start else page.next
            if following is None or pages >= self._max_commit_pages:
                break
            if not same_origin(following, response.url):
                raise Refusal(Outcome.FAILED, f"bitbucket {what}: next page off host")
            response = await self._require(str(response.url.join(following)), usage, what)
            pages += 1
        if following is None:
            figures.commits_over_52 = weeks.totals(c.date for c in in_window)
        # else: more commits than the bound allows reading; the old totals stay.
        if pages == 1 and following is None and (etag := etag_of(first)):
            etags["commits"] = windowed_etag(etag, weeks)
        authors = in_window or newest_page
        figures.participants = rank_logins(_nickname(commit) for commit in authors)
        if newest_page:
            figures.last_commit_at = max(c.date for c in newest_page)

    async def _require(self, url: str, usage: Usage, what: str) -> httpx.Response:
        response = await self._get(url, usage, what)
        assert response is not None  # unconditional requests are never 304
        return response
