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
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from app.forges.payload import Name, UpstreamModel, UtcDatetime
from app.forges.rest import Refusal, next_link
from app.forges.rest_forge import (
    ForgeRepository,
    Job,
    RestForgeClient,
    array_pages,
    forge_names,
)

PER_PAGE = 50  # Forgejo's default MAX_RESPONSE_ITEMS; larger limits are cut to it
# Only the listing is wanted: per-commit stats, signatures and file lists are costly.
_LEAN = {"stat": "false", "verification": "false", "files": "false"}


# --- Forgejo's payloads, its pagination, and the one place they become our figures ---


class _Repository(ForgeRepository):
    # A renamed repository's old name redirects to it: full_name is the new one.
    model_config = forge_names(
        path="full_name", url="html_url", stars="stars_count", forks="forks_count"
    )
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

    @property
    def when(self) -> dt.datetime:
        return self.commit.committer.date

    @property
    def login(self) -> str | None:
        return self.author.login if self.author else None


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


_REPOSITORY = TypeAdapter(_Repository)
_COMMITS = TypeAdapter(list[_Commit])
_COMMIT_PAGES = array_pages(_COMMITS, _next_page)


# --- the client ---------------------------------------------------------------------


class ForgejoClient(RestForgeClient):
    """One Forgejo/Gitea instance: `api_url` its API base from FORGEJO_INSTANCES (e.g.
    https://codeberg.org/api/v1); `token` an access token with read:repository."""

    name = "forgejo"
    auth_header, auth_prefix = "Authorization", "token "

    async def _fetch(self, job: Job) -> None:
        owner, _, name = job.path.partition("/")
        base = f"{self._api}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        repo = await self._resource(job, base, "repository", _REPOSITORY)
        if repo is not None:
            repo.value.figures_into(job.figures, job.path)
            if repo.value.empty:
                job.empty()
                return
            # After a rename, ask for the commits under the name the instance gave.
            base = str(repo.url)
        url = f"{base}/commits"
        params: dict[str, str | int] = {"since": job.since, "limit": PER_PAGE, **_LEAN}
        try:
            # Instances older than `since` list the whole history: walked to the window.
            commits = await self._commits(
                job, url, _COMMIT_PAGES, params=params, walk_to_window=True
            )
        except Refusal as refusal:
            if refusal.status == 409:  # "Git Repository is empty"
                job.empty()
                return
            raise
        if commits is None:
            return
        # Forgejo has no contributors endpoint: participants are the commits' authors.
        # Nothing in 52 weeks: the newest page tells the last commit and its authors.
        newest = commits.items or await self._newest(
            job, url, _COMMITS, {"limit": PER_PAGE, **_LEAN}
        )
        self._authors(job, newest, newest[:PER_PAGE])
        self._last_commit(job, newest)
