"""A fake Bitbucket Cloud (API 2.0): repositories, watchers, forks, commits on a branch.

Bitbucket's shapes, headers and quirks: paginated bodies (`values`, `pagelen`, `size`
where it is cheap, `next` as a full URL), commit pages with opaque `page` tokens and no
`size`, newest commit first and no `since`; `pagelen` capped at 100; an author with no
matching account has only `raw`; `mainbranch` absent while the repository is empty;
errors as `{"type": "error", "error": {"message": ...}}`, 403 for a private repository
without a Bearer token that may see it; strong ETags with 304. Other faults through
`faults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.answers import Commit, error_answer, iso, json_answer, newest_first, page_params
from tests.fakes.world import Faults


@dataclass
class BitbucketRepo:
    full_name: str  # workspace/slug
    watchers: int = 0
    forks: int = 0
    description: str = ""
    mainbranch: str | None = "main"  # None: an empty repository
    commits: list[Commit] = field(default_factory=list)
    private: bool = False
    as_listed: bool = False  # list `commits` in this order (git's), not sorted by date


class FakeBitbucket:
    def __init__(self, token: str | None = None) -> None:
        self.repos: dict[str, BitbucketRepo] = {}
        self.token = token
        self.faults = Faults()
        base = "/2.0/repositories/{workspace}/{slug}"
        self.app = Starlette(
            routes=[
                Route(base, self.repository, methods=["GET"]),
                Route(f"{base}/watchers", self.watchers, methods=["GET"]),
                Route(f"{base}/forks", self.forks, methods=["GET"]),
                Route(base + "/commits/{revision:path}", self.commits, methods=["GET"]),
            ]
        )

    def add(self, repo: BitbucketRepo) -> BitbucketRepo:
        self.repos[repo.full_name.lower()] = repo
        return repo

    def _find(self, request: Request) -> tuple[BitbucketRepo | None, Response | None]:
        fault = self.faults.take(request.url.path)
        if fault:
            return None, fault.response()
        full = f"{request.path_params['workspace']}/{request.path_params['slug']}"
        repo = self.repos.get(full.lower())
        if repo is None:
            return None, _error(404, f"Repository {full} not found")
        if repo.private and request.headers.get("authorization") != f"Bearer {self.token}":
            return None, _error(403, "Access denied. You must have read access.")
        return repo, None

    async def repository(self, request: Request) -> Response:
        repo, answer = self._find(request)
        if repo is None:
            assert answer is not None
            return answer
        workspace, _, slug = repo.full_name.partition("/")
        api = f"{request.base_url}2.0/repositories/{repo.full_name}"
        payload: dict[str, Any] = {
            "type": "repository",
            "full_name": repo.full_name,
            "links": {
                "self": {"href": api},
                "html": {"href": f"https://bitbucket.example/{repo.full_name}"},
                "commits": {"href": f"{api}/commits"},
                "watchers": {"href": f"{api}/watchers"},
                "forks": {"href": f"{api}/forks"},
            },
            "name": slug,
            "slug": slug,
            "description": repo.description,
            "scm": "git",
            "website": None,
            "owner": {"type": "team", "display_name": workspace, "username": workspace},
            "workspace": {"type": "workspace", "slug": workspace, "name": workspace},
            "is_private": repo.private,
            "project": {"type": "project", "key": "PROJ", "name": "Project"},
            "fork_policy": "allow_forks",
            "created_on": "2015-02-01T12:00:00.000000+00:00",
            "updated_on": "2026-11-19T08:00:00.123456+00:00",
            "size": 123456,
            "language": "python",
            "uuid": "{6d7a0c35-0000-4000-8000-000000000000}",
            "has_issues": True,
            "has_wiki": False,
        }
        if repo.mainbranch is not None:
            payload["mainbranch"] = {"name": repo.mainbranch, "type": "branch"}
        return json_answer(request, payload, weak=False)

    def _sized(self, request: Request, count: int, item: dict[str, Any]) -> Response:
        page, pagelen = page_params(request, "pagelen", 10, 100)
        values = [item] * max(0, min(pagelen, count - (page - 1) * pagelen))
        payload: dict[str, Any] = {"pagelen": pagelen, "size": count, "page": page}
        payload["values"] = values
        if page * pagelen < count:
            payload["next"] = str(request.url.include_query_params(page=page + 1))
        return json_answer(request, payload, weak=False)

    async def watchers(self, request: Request) -> Response:
        repo, answer = self._find(request)
        if repo is None:
            assert answer is not None
            return answer
        watcher = {"type": "user", "display_name": "Watcher", "nickname": "watcher"}
        return self._sized(request, repo.watchers, watcher)

    async def forks(self, request: Request) -> Response:
        repo, answer = self._find(request)
        if repo is None:
            assert answer is not None
            return answer
        return self._sized(request, repo.forks, {"type": "repository", "full_name": "x/fork"})

    async def commits(self, request: Request) -> Response:
        repo, answer = self._find(request)
        if repo is None:
            assert answer is not None
            return answer
        if request.path_params["revision"] != repo.mainbranch:
            return _error(404, f"Commit not found: {request.path_params['revision']}")
        _, pagelen = page_params(request, "pagelen", 30, 100)
        token = request.query_params.get("page", "c0")  # opaque to clients
        offset = int(token.removeprefix("c")) if token.removeprefix("c").isdigit() else 0
        commits = repo.commits if repo.as_listed else newest_first(repo.commits)
        chunk = commits[offset : offset + pagelen]
        payload: dict[str, Any] = {
            "values": [_commit_json(request, repo, commit) for commit in chunk],
            "pagelen": pagelen,
        }
        if offset + pagelen < len(commits):
            following = f"c{offset + pagelen}"
            payload["next"] = str(request.url.include_query_params(page=following))
        return json_answer(request, payload, weak=False)


def _error(status: int, message: str) -> Response:
    return error_answer(status, {"type": "error", "error": {"message": message}})


def _commit_json(request: Request, repo: BitbucketRepo, commit: Commit) -> dict[str, Any]:
    author: dict[str, Any] = {"type": "author", "raw": f"{commit.name} <{commit.email}>"}
    if commit.login:
        author["user"] = {
            "type": "user",
            "display_name": commit.name,
            "nickname": commit.login,
            "account_id": f"5b{commit.login}",
            "uuid": "{00000000-0000-4000-8000-000000000001}",
        }
    api = f"{request.base_url}2.0/repositories/{repo.full_name}"
    return {
        "type": "commit",
        "hash": commit.sha,
        "date": iso(commit.when),
        "author": author,
        "message": "A change\n",
        "summary": {"type": "rendered", "raw": "A change\n", "markup": "markdown"},
        "links": {"self": {"href": f"{api}/commit/{commit.sha}"}},
        "parents": [],
        "repository": {"type": "repository", "full_name": repo.full_name},
    }
