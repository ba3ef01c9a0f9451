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
from typing import Annotated
from urllib.parse import quote

import httpx
from pydantic import Field, TypeAdapter

from app.forges.base import RepoFigures
from app.forges.payload import Count, Description, Name, UpstreamModel, UtcDatetime, parse
from app.forges.rest_forge import Job, Page, RestForgeClient, repository_figures

PER_PAGE = 100  # Bitbucket's largest pagelen


# --- Bitbucket's payloads, its pagination, and the one place they become our figures --


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

    @property
    def when(self) -> dt.datetime:
        return self.date

    @property
    def login(self) -> str | None:
        user = self.author.user if self.author else None
        return user.nickname if user else None


class _CommitPage(UpstreamModel):
    values: list[_Commit]
    next: Annotated[str, Field(max_length=4096)] | None = None


_REPOSITORY = TypeAdapter(_Repository)
_SIZED = TypeAdapter(_Sized)
_COMMIT_PAGE = TypeAdapter(_CommitPage)


def _repository_figures(repo: _Repository, asked_path: str, figures: RepoFigures) -> None:
    # Stars and forks are sizes of other resources; Bitbucket cannot archive.
    repository_figures(
        figures,
        asked_path,
        path=repo.full_name,
        url=repo.links.html.href,
        description=repo.description,
    )


async def _commit_pages(response: httpx.Response, what: str) -> Page[_Commit]:
    """Bitbucket pages in the body: `values`, and `next` (a full URL) but on the last."""
    page = await parse(_COMMIT_PAGE, response, what)
    return Page(page.values, page.next)


# --- the client ---------------------------------------------------------------------


class BitbucketClient(RestForgeClient):
    """`api_url` is BITBUCKET_API_URL (https://api.bitbucket.org/2.0); `token` a
    repository, project or workspace access token, sent as a Bearer token."""

    name = "bitbucket"
    auth_header, auth_prefix = "Authorization", "Bearer "
    commit_pages = 10

    async def _fetch(self, job: Job) -> None:
        workspace, _, slug = job.path.partition("/")
        base = f"{self._api}/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"
        # Never conditional: the main branch's name is needed for the commits every time.
        what = f"repository {job.path}"
        response = await self._require(base, job.usage, what)
        repo = await parse(_REPOSITORY, response, f"bitbucket {what}")
        _repository_figures(repo, job.path, job.figures)
        # No stars on Bitbucket: its watchers are the nearest thing.
        job.figures.stars = await self._size(job, base, "watchers")
        job.figures.forks = await self._size(job, base, "forks")
        if repo.mainbranch is None:
            job.empty()
            return
        url = f"{base}/commits/{quote(repo.mainbranch.name, safe='')}"
        # No `since`: newest first, walked until a page reaches back past the window.
        commits = await self._commits(
            job, url, _commit_pages, params={"pagelen": PER_PAGE}, walk_to_window=True
        )
        if commits is not None:
            self._authors(job, commits.items, commits.first_page)
            self._last_commit(job, commits.first_page)

    async def _size(self, job: Job, base: str, resource: str) -> int | None:
        """The `size` of a collection, asked for with the smallest page; None when unchanged."""
        sized = await self._resource(
            job,
            f"{base}/{resource}",
            resource,
            _SIZED,
            what=f"{resource} of {job.path}",
            params={"pagelen": 1},
        )
        return sized.value.size if sized else None
