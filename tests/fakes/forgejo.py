"""A fake Forgejo (or Gitea) instance: repositories and their default branch's commits.

Forgejo's shapes, headers and quirks: `/api/v1/repos/{owner}/{repo}` with stars_count
and an `empty` flag; a renamed repository answers its old name with a redirect (307, as
Forgejo's API does) to the new one; private repositories are 404 without an
`Authorization: token ...` that may see them; commits filtered by `since`, paged with
`limit` (at most 50) and `page`, with Link, X-Total-Count, X-PageCount and X-HasMore; a
commit whose author matches no account has `author: null`; an empty repository answers
its commits with 409. Forgejo sends no ETag on these unless `etags` is set (as a caching
proxy in front of an instance would). Other faults are scripted through `faults`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.answers import (
    Commit,
    error_answer,
    iso,
    json_answer,
    link_header,
    newest_first,
    page_params,
)
from tests.fakes.world import Faults


@dataclass
class ForgejoRepo:
    full_name: str  # owner/name
    stars: int = 0
    forks: int = 0
    description: str = ""
    archived: bool = False
    commits: list[Commit] = field(default_factory=list)  # empty list: an empty repository
    private: bool = False
    id: int = 0


class FakeForgejo:
    def __init__(
        self, token: str | None = None, *, etags: bool = False, ignores_since: bool = False
    ) -> None:
        self.ignores_since = ignores_since  # as instances did before `since` existed
        self.repos: dict[str, ForgejoRepo] = {}
        self.renames: dict[str, str] = {}
        self.token = token
        self.etags = etags
        self.faults = Faults()
        self.app = Starlette(
            routes=[
                Route("/api/v1/repos/{owner}/{name}", self.repository, methods=["GET"]),
                Route("/api/v1/repos/{owner}/{name}/commits", self.commits, methods=["GET"]),
            ]
        )

    def add(self, repo: ForgejoRepo) -> ForgejoRepo:
        repo.id = repo.id or len(self.repos) + 1
        self.repos[repo.full_name.lower()] = repo
        return repo

    def rename(self, old: str, repo: ForgejoRepo) -> None:
        self.renames[old.lower()] = repo.full_name

    def _find(self, request: Request, suffix: str) -> tuple[ForgejoRepo | None, Response | None]:
        fault = self.faults.take(request.url.path)
        if fault:
            return None, fault.response()
        full = f"{request.path_params['owner']}/{request.path_params['name']}".lower()
        if full in self.renames:
            target = f"/api/v1/repos/{self.renames[full]}{suffix}"
            if request.url.query:
                target += f"?{request.url.query}"
            return None, Response(status_code=307, headers={"location": target})
        repo = self.repos.get(full)
        allowed = repo is not None and (
            not repo.private or request.headers.get("authorization") == f"token {self.token}"
        )
        if repo is None or not allowed:
            return None, error_answer(404, {"errors": [], "message": "not found", "url": ""})
        return repo, None

    async def repository(self, request: Request) -> Response:
        repo, answer = self._find(request, "")
        if repo is None:
            assert answer is not None
            return answer
        owner, _, name = repo.full_name.partition("/")
        html_url = f"https://codeberg.example/{repo.full_name}"
        payload: dict[str, Any] = {
            "id": repo.id,
            "owner": {"id": 3, "login": owner, "full_name": "", "avatar_url": ""},
            "name": name,
            "full_name": repo.full_name,
            "description": repo.description,
            "empty": not repo.commits,
            "private": repo.private,
            "fork": False,
            "template": False,
            "parent": None,
            "mirror": False,
            "size": 120,
            "language": "Python",
            "html_url": html_url,
            "url": f"{request.base_url}api/v1/repos/{repo.full_name}",
            "ssh_url": f"git@codeberg.example:{repo.full_name}.git",
            "clone_url": f"{html_url}.git",
            "website": "",
            "stars_count": repo.stars,
            "forks_count": repo.forks,
            "watchers_count": 2,
            "open_issues_count": 0,
            "default_branch": "main",
            "archived": repo.archived,
            "created_at": "2021-05-04T10:00:00+02:00",
            "updated_at": "2026-11-19T08:00:00+01:00",
            "archived_at": "1970-01-01T00:00:00Z",
        }
        return json_answer(request, payload, etag=self.etags)

    async def commits(self, request: Request) -> Response:
        repo, answer = self._find(request, "/commits")
        if repo is None:
            assert answer is not None
            return answer
        if not repo.commits:
            return error_answer(409, {"message": "Git Repository is empty.", "url": ""})
        commits = newest_first(repo.commits)
        since = request.query_params.get("since")
        if since and not self.ignores_since:
            start = dt.datetime.fromisoformat(since)
            commits = [c for c in commits if c.when >= start]
        page, limit = page_params(request, "limit", 30, 50)
        last = max(1, -(-len(commits) // limit))
        headers = {
            "link": link_header(request, page, last),
            "x-total-count": str(len(commits)),
            "x-page": str(page),
            "x-perpage": str(limit),
            "x-pagecount": str(last),
            "x-hasmore": "true" if page < last else "false",
        }
        chunk = commits[(page - 1) * limit : page * limit]
        payload = [_commit_json(request, repo, c) for c in chunk]
        return json_answer(request, payload, headers=headers, etag=self.etags)


def _commit_json(request: Request, repo: ForgejoRepo, commit: Commit) -> dict[str, Any]:
    signature = {"name": commit.name, "email": commit.email, "date": iso(commit.when)}
    user = {"id": 9, "login": commit.login, "full_name": commit.name} if commit.login else None
    api = f"{request.base_url}api/v1/repos/{repo.full_name}"
    return {
        "url": f"{api}/git/commits/{commit.sha}",
        "sha": commit.sha,
        "created": iso(commit.when),
        "html_url": f"https://codeberg.example/{repo.full_name}/commit/{commit.sha}",
        "commit": {
            "url": f"{api}/git/commits/{commit.sha}",
            "author": signature,
            "committer": signature,
            "message": "A change\n",
            "tree": {"url": f"{api}/git/trees/{commit.sha}", "sha": commit.sha},
            "verification": None,
        },
        "author": user,
        "committer": user,
        "parents": [],
        "files": None,
        "stats": None,
    }
