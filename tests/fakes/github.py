"""A fake GitHub: GraphQL (validated and executed against the real schema) and REST.

It answers with GitHub's shapes, headers and quirks: `rateLimit` with GitHub's cost rule,
NOT_FOUND errors per alias, renamed repositories (GraphQL follows the rename, REST answers
301 to /repositories/{id}/...), ETag and 304 (which costs no point), 202 while statistics
are computed, 403 for a contributor list too large, Link pagination, and the primary
rate limit (403 with x-ratelimit-remaining 0 and x-ratelimit-reset). Other faults (5xx,
secondary limits with retry-after, garbage) are scripted through `faults`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    execute,
    parse,
    validate,
)
from graphql.language import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.schema import github_schema
from tests.fakes.world import Faults

WEEK_SECONDS = 7 * 24 * 3600


@dataclass
class FakeRepo:
    owner: str
    name: str
    stars: int = 0
    forks: int = 0
    description: str | None = None
    archived: bool = False
    last_commit: dt.datetime | None = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    contributors: list[str] = field(default_factory=list)
    weeks: list[int] = field(default_factory=lambda: [0] * 52)
    stats_pending: int = 0  # commit_activity answers 202 this many times first
    contributors_too_large: bool = False
    id: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def head(self) -> str:
        """The default branch's head commit: any change to its history changes it."""
        history = [self.contributors, self.weeks, str(self.last_commit)]
        return hashlib.sha1(json.dumps(history).encode(), usedforsecurity=False).hexdigest()


def _etag(payload: Any) -> str:
    digest = hashlib.sha1(json.dumps(payload).encode(), usedforsecurity=False).hexdigest()
    return f'W/"{digest}"'


def query_cost(document: DocumentNode, variables: dict[str, Any]) -> int:
    """GitHub's rule: one request per connection per parent instance, summed, divided by
    100, rounded, at least 1."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def page(field_node: FieldNode) -> int | None:
        for argument in field_node.arguments or ():
            if argument.name.value in {"first", "last"}:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    return int(variables[value.name.value])
        return None

    def walk(selections: SelectionSetNode | None, multiplier: int) -> int:
        if selections is None:
            return 0
        requests = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                size = page(selection)
                if size is None:
                    requests += walk(selection.selection_set, multiplier)
                else:
                    requests += multiplier + walk(selection.selection_set, multiplier * size)
            elif isinstance(selection, FragmentSpreadNode):
                requests += walk(fragments[selection.name.value].selection_set, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                requests += walk(selection.selection_set, multiplier)
        return requests

    total = sum(
        walk(d.selection_set, 1)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    return max(1, round(total / 100))


class FakeGitHub:
    """State and ASGI app; `repos` by lowercase full name, `renames` old -> new name."""

    def __init__(self) -> None:
        # Parsed here (once per process) rather than inside the first GraphQL request: 0.8 s
        # of CPU, many times that on a busy machine, would count against the client's timeout.
        github_schema()
        self.repos: dict[str, FakeRepo] = {}
        self.renames: dict[str, str] = {}
        self.faults = Faults()
        self.invalid_queries: list[str] = []
        self.graphql_queries: list[str] = []
        self.points = 0  # what GitHub would have charged: GraphQL cost + REST not 304
        self.rest_limit = 5000
        self.rest_remaining = 5000
        self.rest_reset_in = 3600.0  # seconds from the first exhaustion to the reset
        self._rest_reset_at = 0.0
        self.graphql_remaining = 5000
        self.app = Starlette(
            routes=[
                Route("/graphql", self.graphql, methods=["POST"]),
                Route("/repos/{owner}/{name}/{resource:path}", self.rest, methods=["GET"]),
                Route("/repositories/{id:int}/{resource:path}", self.rest_by_id, methods=["GET"]),
            ]
        )

    # --- the world ---------------------------------------------------------------------

    def add(self, repo: FakeRepo) -> FakeRepo:
        repo.id = repo.id or len(self.repos) + 1
        self.repos[repo.full_name.lower()] = repo
        return repo

    def rename(self, old: str, repo: FakeRepo) -> None:
        """`repo` is now known under its own name; `old` redirects to it."""
        self.renames[old.lower()] = repo.full_name.lower()

    def lookup(self, owner: str, name: str) -> tuple[FakeRepo | None, bool]:
        """The repository and whether it was reached through a rename."""
        full = f"{owner}/{name}".lower()
        if full in self.repos:
            return self.repos[full], False
        target = self.renames.get(full)
        return (self.repos.get(target), True) if target else (None, False)

    # --- GraphQL -----------------------------------------------------------------------

    async def graphql(self, request: Request) -> Response:
        fault = self.faults.take("/graphql")
        if fault:
            return fault.response()
        body = await request.json()
        query, variables = body["query"], body.get("variables") or {}
        self.graphql_queries.append(query)
        try:
            document = parse(query)
        except GraphQLError as error:
            self.invalid_queries.append(query)
            return JSONResponse({"errors": [{"message": error.message}]})
        problems = validate(github_schema(), document)
        if problems:
            self.invalid_queries.append(query)
            return JSONResponse({"errors": [{"message": p.message} for p in problems]})
        cost = query_cost(document, variables)
        self.points += cost
        self.graphql_remaining -= cost
        reset_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
        root = {
            "repository": self._resolve_repository,
            "rateLimit": lambda _info, **_args: {
                "cost": cost,
                "remaining": self.graphql_remaining,
                "resetAt": reset_at.isoformat().replace("+00:00", "Z"),
                "limit": 5000,
                "used": 5000 - self.graphql_remaining,
                "nodeCount": 0,
            },
        }
        result = execute(github_schema(), document, root_value=root, variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_github_error(error) for error in result.errors]
        return JSONResponse(answer)

    def _resolve_repository(self, _info: Any, owner: str, name: str, **_args: Any) -> Any:
        repo, _renamed = self.lookup(owner, name)
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        target = None
        if repo.last_commit is not None:
            target = {
                "__typename": "Commit",
                "oid": repo.head,
                "committedDate": repo.last_commit.isoformat().replace("+00:00", "Z"),
            }
        return {
            "nameWithOwner": repo.full_name,
            "url": f"https://github.com/{repo.full_name}",
            "description": repo.description,
            "stargazerCount": repo.stars,
            "forkCount": repo.forks,
            "isArchived": repo.archived,
            "defaultBranchRef": {"target": target} if target else None,
        }

    # --- REST --------------------------------------------------------------------------

    async def rest(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        repo, renamed = self.lookup(owner, name)
        resource = request.path_params["resource"]
        if repo is not None and renamed:
            query = f"?{request.url.query}" if request.url.query else ""
            location = f"{request.base_url}repositories/{repo.id}/{resource}{query}"
            return self._answer(
                request, 301, {"message": "Moved Permanently"}, {"location": location}
            )
        return self._resource(request, repo, resource)

    async def rest_by_id(self, request: Request) -> Response:
        repo = next((r for r in self.repos.values() if r.id == request.path_params["id"]), None)
        return self._resource(request, repo, request.path_params["resource"])

    def _resource(self, request: Request, repo: FakeRepo | None, resource: str) -> Response:
        fault = self.faults.take(request.url.path)
        if fault:
            return fault.response()
        if self.rest_remaining <= 0:
            if time.time() >= self._rest_reset_at:
                self.rest_remaining = self.rest_limit
            else:
                return self._answer(
                    request, 403, {"message": "API rate limit exceeded for user ID 1."}
                )
        if repo is None:
            return self._answer(request, 404, {"message": "Not Found"})
        if resource == "contributors":
            return self._contributors(request, repo)
        if resource == "stats/commit_activity":
            return self._commit_activity(request, repo)
        return self._answer(request, 404, {"message": "Not Found"})

    def _contributors(self, request: Request, repo: FakeRepo) -> Response:
        if repo.contributors_too_large:
            message = (
                "The history or contributor list is too large to list contributors for "
                "this repository via the API."
            )
            return self._answer(request, 403, {"message": message})
        per_page = min(int(request.query_params.get("per_page", 30)), 100)
        page = int(request.query_params.get("page", 1))
        logins = repo.contributors[(page - 1) * per_page : page * per_page]
        payload = [
            {"login": login, "id": index, "type": "User", "contributions": 1000 - index}
            for index, login in enumerate(logins)
        ]
        headers: dict[str, str] = {}
        last = max(1, -(-len(repo.contributors) // per_page))
        if page < last:
            base = f"{request.base_url}repositories/{repo.id}/contributors?per_page={per_page}"
            headers["link"] = (
                f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
            )
        return self._conditional(request, payload, headers)

    def _commit_activity(self, request: Request, repo: FakeRepo) -> Response:
        if repo.stats_pending > 0:
            repo.stats_pending -= 1
            return self._answer(request, 202, {})
        now = int(time.time())
        this_sunday = now - (now + 4 * 86400) % WEEK_SECONDS  # the epoch was a Thursday
        payload = [
            {
                "days": [total, 0, 0, 0, 0, 0, 0],
                "total": total,
                "week": this_sunday - (51 - index) * WEEK_SECONDS,
            }
            for index, total in enumerate(repo.weeks)
        ]
        return self._conditional(request, payload, {})

    def _conditional(self, request: Request, payload: Any, headers: dict[str, str]) -> Response:
        etag = _etag(payload)
        if request.headers.get("if-none-match") == etag:
            return self._answer(request, 304, None, {"etag": etag, **headers})
        return self._answer(request, 200, payload, {"etag": etag, **headers})

    def _answer(
        self, request: Request, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> Response:
        # A 304 costs no point; every other answer does (GitHub's primary REST limit).
        if status != 304 and not (status == 403 and self.rest_remaining <= 0):
            self.points += 1
            self.rest_remaining -= 1
            if self.rest_remaining <= 0:
                self._rest_reset_at = time.time() + self.rest_reset_in
        all_headers = {
            "x-ratelimit-limit": str(self.rest_limit),
            "x-ratelimit-remaining": str(max(self.rest_remaining, 0)),
            "x-ratelimit-reset": str(int(self._rest_reset_at or time.time() + 3600)),
            "x-ratelimit-resource": "core",
            **(headers or {}),
        }
        if status == 304 or payload is None:
            return Response(status_code=status, headers=all_headers)
        return JSONResponse(payload, status, headers=all_headers)


def _github_error(error: GraphQLError) -> dict[str, Any]:
    """GitHub's error shape: `type` beside the message, not under extensions."""
    formatted: dict[str, Any] = {"message": error.message}
    if error.path:
        formatted["path"] = error.path
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.extensions and "type" in error.extensions:
        formatted["type"] = error.extensions["type"]
    return formatted
