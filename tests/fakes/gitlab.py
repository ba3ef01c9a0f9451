"""A fake GitLab REST v4: projects, their contributors and their commits.

GitLab's shapes, headers and quirks: the project id in the path is the URL-encoded full
path (`group%2Fsub%2Fname`; unencoded slashes find nothing), private projects are 404
without a PRIVATE-TOKEN that may see them, an old path of a renamed project answers with
the project under its new path, weak ETags with 304 on If-None-Match, pages with
`per_page` (at most 100) and both a Link header and x-page/x-next-page/x-total headers,
`since` on commits, and a repository hidden behind 404 while the project is visible.
Other faults (5xx, garbage) are scripted through `faults`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

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
class GitLabProject:
    path: str  # group/sub/name
    stars: int = 0
    forks: int = 0
    description: str | None = None
    archived: bool = False
    default_branch: str | None = "main"  # None: an empty repository
    contributors: list[tuple[str, str, int]] = field(default_factory=list)  # name, email, commits
    commits: list[Commit] = field(default_factory=list)
    private: bool = False
    repository_hidden: bool = False  # repository feature disabled: its endpoints 404
    id: int = 0


class FakeGitLab:
    """State and ASGI app; `projects` by lowercase path, `renames` old path -> project."""

    def __init__(
        self,
        token: str | None = None,
        *,
        page_headers: bool = True,
        external_url: str = "https://gitlab.example",
    ) -> None:
        # page_headers=False: only the Link header, as GitLab answers keyset pagination.
        self.page_headers = page_headers
        # The instance's external_url (gitlab.rb): the base of every web_url it gives. A
        # mirror has its own, whatever host the projects it mirrors come from.
        self.external_url = external_url
        self.projects: dict[str, GitLabProject] = {}
        self.renames: dict[str, GitLabProject] = {}
        self.token = token
        self.faults = Faults()
        self.app = Starlette(
            routes=[Route("/api/v4/projects/{rest:path}", self.projects_api, methods=["GET"])]
        )

    def add(self, project: GitLabProject) -> GitLabProject:
        project.id = project.id or len(self.projects) + 1
        self.projects[project.path.lower()] = project
        return project

    def rename(self, old_path: str, project: GitLabProject) -> None:
        self.renames[old_path.lower()] = project

    async def projects_api(self, request: Request) -> Response:
        fault = self.faults.take(request.url.path)
        if fault:
            return fault.response()
        # The raw path keeps %2F: GitLab takes the first segment as the whole project id.
        raw = request.scope["raw_path"].decode().split("?")[0]
        rest = raw.removeprefix("/api/v4/projects/")
        encoded_id, _, resource = rest.partition("/")
        project = self._lookup(unquote(encoded_id))
        if project is None or (
            project.private and request.headers.get("private-token") != self.token
        ):
            return error_answer(404, {"message": "404 Project Not Found"})
        if resource == "":
            return json_answer(request, self.project_json(project))
        if project.repository_hidden:
            return error_answer(404, {"message": "404 Not Found"})
        if resource == "repository/contributors":
            return self._contributors(request, project)
        if resource == "repository/commits":
            return self._commits(request, project)
        return error_answer(404, {"error": "404 Not Found"})

    def _lookup(self, project_id: str) -> GitLabProject | None:
        if project_id.isdigit():
            return next((p for p in self.projects.values() if p.id == int(project_id)), None)
        key = project_id.lower()
        return self.projects.get(key) or self.renames.get(key)

    def project_json(self, project: GitLabProject) -> dict[str, Any]:
        namespace, _, name = project.path.rpartition("/")
        web_url = f"{self.external_url}/{project.path}"
        ssh_host = self.external_url.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        return {
            "id": project.id,
            "description": project.description,
            "name": name,
            "name_with_namespace": project.path.replace("/", " / "),
            "path": name,
            "path_with_namespace": project.path,
            "created_at": "2019-03-01T09:00:00.000Z",
            "default_branch": project.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{ssh_host}:{project.path}.git",
            "http_url_to_repo": f"{web_url}.git",
            "web_url": web_url,
            "readme_url": f"{web_url}/-/blob/main/README.md" if project.default_branch else None,
            "forks_count": project.forks,
            "avatar_url": None,
            "star_count": project.stars,
            "last_activity_at": "2026-11-20T10:00:00.000Z",
            "namespace": {"id": 7, "name": namespace, "path": namespace, "kind": "group"},
            "archived": project.archived,
            "visibility": "private" if project.private else "public",
            "empty_repo": project.default_branch is None,
        }

    def _page(self, request: Request, items: list[dict[str, Any]], default: int = 20) -> Response:
        page, per_page = page_params(request, "per_page", default, 100)
        last = max(1, -(-len(items) // per_page))
        headers = {
            "x-page": str(page),
            "x-per-page": str(per_page),
            "x-total": str(len(items)),
            "x-total-pages": str(last),
            "x-next-page": str(page + 1) if page < last else "",
            "x-prev-page": str(page - 1) if page > 1 else "",
            "link": link_header(request, page, last),
        }
        if not self.page_headers:
            headers = {"link": headers["link"]}
        chunk = items[(page - 1) * per_page : page * per_page]
        return json_answer(request, chunk, headers=headers)

    def _contributors(self, request: Request, project: GitLabProject) -> Response:
        rows = [
            {"name": name, "email": email, "commits": commits, "additions": 0, "deletions": 0}
            for name, email, commits in project.contributors
        ]
        if request.query_params.get("order_by", "commits") == "commits":
            reverse = request.query_params.get("sort", "asc") == "desc"
            rows.sort(key=lambda row: row["commits"], reverse=reverse)
        return self._page(request, rows)

    def _commits(self, request: Request, project: GitLabProject) -> Response:
        commits = newest_first(project.commits)
        since = request.query_params.get("since")
        if since:
            start = dt.datetime.fromisoformat(since)
            commits = [c for c in commits if c.when >= start]
        return self._page(request, [_commit_json(c, self.external_url) for c in commits])


def _commit_json(commit: Commit, external_url: str) -> dict[str, Any]:
    stamp = iso(commit.when, millis=True)
    return {
        "id": commit.sha,
        "short_id": commit.sha[:8],
        "created_at": stamp,
        "parent_ids": [],
        "title": "A change",
        "message": "A change\n",
        "author_name": commit.name,
        "author_email": commit.email,
        "authored_date": stamp,
        "committer_name": commit.name,
        "committer_email": commit.email,
        "committed_date": stamp,
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{external_url}/-/commit/{commit.sha}",
    }
