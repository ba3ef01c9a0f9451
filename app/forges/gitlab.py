"""GitLab REST v4: gitlab.com and any self-managed instance, one client per instance of
GITLAB_INSTANCES (a mirror may serve gitlab.com's projects).

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
from collections.abc import Awaitable, Sequence
from typing import TypeVar, Unpack
from urllib.parse import quote, urlsplit

import httpx
from pydantic import TypeAdapter

from app.forges.base import Outcome
from app.forges.http import Upstream
from app.forges.payload import Count, Name, UpstreamModel, UtcDatetime
from app.forges.rest import MAX_PARTICIPANTS, Refusal, next_link
from app.forges.rest_forge import (
    ClientOptions,
    ForgeRepository,
    Job,
    Listing,
    RestForgeClient,
    array_pages,
    forge_names,
)
from app.hosts import host_of

PER_PAGE = 100  # GitLab's largest page
T = TypeVar("T")


# --- GitLab's payloads, its pagination, and the one place they become our figures ----


class _Project(ForgeRepository):
    # GitLab answers an old path of a renamed or transferred project with the project.
    model_config = forge_names(
        path="path_with_namespace", url="web_url", stars="star_count", forks="forks_count"
    )
    default_branch: Name | None = None  # null while the repository is empty


class _Contributor(UpstreamModel):
    name: Name
    commits: Count


class _Commit(UpstreamModel):
    committed_date: UtcDatetime

    @property
    def when(self) -> dt.datetime:
        return self.committed_date


def _next_page(response: httpx.Response) -> str | None:
    """The next page: x-next-page (empty on the last page) on the URL we asked, else the
    Link rel="next". The first stays on our URL even when GitLab's external URL differs."""
    page = response.headers.get("x-next-page", "").strip()
    if page.isdigit():
        return str(response.url.copy_set_param("page", page))
    return next_link(response)


_PROJECT = TypeAdapter(_Project)
_COMMITS = TypeAdapter(list[_Commit])
_CONTRIBUTOR_PAGES = array_pages(TypeAdapter(list[_Contributor]), _next_page)
_COMMIT_PAGES = array_pages(_COMMITS, _next_page)


def _participants(contributors: Sequence[_Contributor]) -> list[str]:
    # One person committing under two emails is two entries with the same name.
    seen: dict[str, str] = {}
    for contributor in contributors:
        name = contributor.name.strip()
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())[:MAX_PARTICIPANTS]


# --- the client ---------------------------------------------------------------------


class GitLabClient(RestForgeClient):
    """One GitLab instance: `url` as GITLAB_INSTANCES gives it (e.g. https://gitlab.com);
    `token` a personal, group or project access token with read_api, sent as
    PRIVATE-TOKEN."""

    name = "gitlab"
    auth_header = "PRIVATE-TOKEN"

    def __init__(self, upstream: Upstream, *, url: str, **options: Unpack[ClientOptions]) -> None:
        self._instance = url.rstrip("/")
        super().__init__(upstream, api_url=f"{self._instance}/api/v4", **options)

    async def _fetch(self, job: Job) -> None:
        # Subgroups included, the whole path is one URL-encoded segment (group%2Fsub%2Frepo).
        base = f"{self._api}/projects/{quote(job.path, safe='')}"
        project = await self._resource(job, base, "project", _PROJECT)
        if project is not None:
            project.value.figures_into(job.figures, job.path)
            if job.figures.moved_to:
                job.figures.moved_to = self._on_repository_host(
                    job.figures.moved_to, job.request.key.host
                )
            if project.value.default_branch is None:
                job.empty()
                return
        contributors = await _unless_hidden(
            self._list(
                job,
                f"{base}/repository/contributors",
                _CONTRIBUTOR_PAGES,
                resource="contributors",
                params={"order_by": "commits", "sort": "desc", "per_page": PER_PAGE},
                max_items=MAX_PARTICIPANTS,
            )
        )
        if contributors is not None:
            job.figures.participants = _participants(contributors.items)
        url = f"{base}/repository/commits"
        commits = await _unless_hidden(
            self._commits(
                job, url, _COMMIT_PAGES, params={"since": job.since, "per_page": PER_PAGE}
            )
        )
        if commits is not None:
            # Nothing in 52 weeks: the newest commit is older, one more request finds it.
            newest = commits.items or await self._newest(job, url, _COMMITS, {"per_page": 1})
            self._last_commit(job, newest)

    def _on_repository_host(self, web_url: str, host: str) -> str:
        """`web_url` on the host the repository's URL names. An instance serving another
        host's projects (GITLAB_INSTANCES=gitlab.com=<a mirror>) gives its own URLs: a
        project there moved on `host`, not onto the mirror."""
        instance, page = urlsplit(self._instance), urlsplit(web_url)
        under = f"{instance.path.rstrip('/')}/"
        if host_of(self._instance) == host or host_of(web_url) != host_of(self._instance):
            return web_url
        if not page.path.startswith(under):
            return web_url
        return f"https://{host}/{page.path.removeprefix(under)}"


async def _unless_hidden(listing: Awaitable[Listing[T] | None]) -> Listing[T] | None:
    """A listing, or None when the repository is disabled or hidden while the project is
    public (404): its figures stay as they were."""
    try:
        return await listing
    except Refusal as refusal:
        if refusal.outcome is Outcome.NOT_FOUND:
            return None
        raise
