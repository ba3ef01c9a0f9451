"""A fake GitHub: GraphQL (validated and executed against the real schema) and REST.

It answers with GitHub's shapes, headers and quirks, and charges what GitHub charges:

- GraphQL needs a token (401 without). A query costs GitHub's published rule: one request
  per connection (a field whose type is a `...Connection`) per parent instance, children
  multiplied by `first`/`last`, summed, divided by 100, rounded, at least 1 point; a
  connection listing nodes without `first`/`last`, or asking for more than 100, is refused
  (MISSING_PAGINATION_BOUNDARIES, EXCESSIVE_PAGINATION), as is a query over 500,000 nodes.
  `rateLimit` reports that cost, the points left and the window's fixed reset; a query
  costing more than what is left is RATE_LIMITED. NOT_FOUND errors come per alias.
- REST charges one request against the hour's budget for every answer but a 304 to a
  request that carries a token; without one, the budget is 60 and a 304 counts too. Every
  answer says x-ratelimit-limit/-remaining/-used/-reset/-resource; the reset is the end
  of an hour that starts with its first request; an exhausted budget answers 403.
- Commit history (`history(since:, until:, first:, after:)` on a Commit) pages the
  default branch's commits newest first; the weekly totals of /stats/commit_activity are
  counted from the same commits. That endpoint answers 202 `stats_pending` times first.
- Renamed repositories (GraphQL follows the rename and names the new repository, REST
  answers 301 to /repositories/{id}/...), ETag and 304, 403 for a contributor list too
  large, Link pagination. Other faults (5xx, secondary limits with retry-after, garbage)
  are scripted through `faults`; `/graphql OperationName` targets one kind of query.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    execute,
    get_named_type,
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
HOUR = 3600.0
MAX_PAGE = 100  # GitHub's largest `first`/`last`
MAX_NODES = 500_000  # and the most nodes one query may ask for
ANONYMOUS_REST_LIMIT = 60
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


def this_sunday(now: float) -> int:
    """Unix time of the Sunday 00:00 UTC that starts the week of `now`."""
    whole = int(now)
    return whole - (whole + 4 * 86400) % WEEK_SECONDS  # the epoch was a Thursday


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
    # Commits on the default branch per week, oldest first, the current week last: what
    # /stats/commit_activity totals and `history` lists one by one.
    weeks: list[int] = field(default_factory=lambda: [0] * 52)
    older_commits: int = 2  # before the 52 weeks: in the history, in no weekly total
    stats_pending: int = 0  # commit_activity answers 202 this many times first
    contributors_too_large: bool = False
    id: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def head(self) -> str:
        """The default branch's head commit: any change to its history changes it."""
        history = [self.contributors, self.weeks, str(self.last_commit), self.older_commits]
        return hashlib.sha1(json.dumps(history).encode(), usedforsecurity=False).hexdigest()

    def commit_dates(self, now: float) -> list[dt.datetime]:
        """The default branch's commits, newest first: each week's count a minute apart
        from the week's Sunday (bucket 51 is the week of `now`), then the older ones."""
        sunday = this_sunday(now)
        dates = [
            sunday - (51 - index) * WEEK_SECONDS + minute * 60
            for index, total in enumerate(self.weeks)
            for minute in range(total)
        ]
        year_start = sunday - 51 * WEEK_SECONDS
        dates += [year_start - (k + 1) * 3600 for k in range(self.older_commits)]
        return [dt.datetime.fromtimestamp(when, dt.UTC) for when in sorted(dates, reverse=True)]


@dataclass
class RateWindow:
    """One primary rate limit: `limit` an hour, the hour starting with its first use."""

    limit: int
    remaining: int
    length: float = HOUR
    resets_at: float | None = None

    def roll(self, now: float) -> None:
        if self.resets_at is None:
            self.resets_at = now + self.length
        elif now >= self.resets_at:
            self.remaining = self.limit
            self.resets_at = now + self.length

    def headers(self, resource: str) -> dict[str, str]:
        remaining = max(self.remaining, 0)
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(max(self.limit - remaining, 0)),
            "x-ratelimit-reset": str(math.ceil(self.resets_at or time.time() + self.length)),
            "x-ratelimit-resource": resource,
        }


def _etag(payload: Any) -> str:
    digest = hashlib.sha1(json.dumps(payload).encode(), usedforsecurity=False).hexdigest()
    return f'W/"{digest}"'


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class QueryCost:
    """What GitHub computes of a query before running it."""

    requests: int = 0  # one per connection per parent instance
    nodes: int = 0  # what the connections may return, at their `first`/`last`
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def points(self) -> int:
        # "Divide by 100 and round the result to the nearest whole number"; at least 1.
        return max(1, math.floor(self.requests / 100 + 0.5))


def query_cost(document: DocumentNode, variables: dict[str, Any]) -> QueryCost:
    """GitHub's published rate-limit and node-limit rules, applied to a valid query. A
    connection is a field whose type is a `...Connection`, whatever its arguments."""
    schema = github_schema()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = QueryCost()

    def page(field_node: FieldNode) -> int | None:
        for argument in field_node.arguments or ():
            if argument.name.value in {"first", "last"}:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    given = variables.get(value.name.value)
                    return int(given) if given is not None else None
        return None

    def lists_items(selections: SelectionSetNode) -> bool:
        for selection in selections.selections:
            if isinstance(selection, FieldNode) and selection.name.value in {"nodes", "edges"}:
                return True
            if isinstance(selection, InlineFragmentNode) and lists_items(selection.selection_set):
                return True
            spread = isinstance(selection, FragmentSpreadNode)
            if spread and lists_items(fragments[selection.name.value].selection_set):
                return True
        return False

    def walk(selections: SelectionSetNode, parent: Any, multiplier: int) -> None:
        for selection in selections.selections:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = schema.get_type(condition.name.value) if condition else parent
                walk(selection.selection_set, kind, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(
                    fragment.selection_set,
                    schema.get_type(fragment.type_condition.name.value),
                    multiplier,
                )
            elif isinstance(selection, FieldNode):
                name = selection.name.value
                if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    continue
                definition = parent.fields.get(name)
                if definition is None:
                    continue  # __typename
                named = get_named_type(definition.type)
                child = multiplier
                if named.name.endswith("Connection"):
                    cost.requests += multiplier
                    size = page(selection)
                    if size is None:
                        if selection.selection_set and lists_items(selection.selection_set):
                            cost.problems.append(
                                {
                                    "type": "MISSING_PAGINATION_BOUNDARIES",
                                    "message": "You must provide a `first` or `last` value "
                                    f"to properly paginate the `{name}` connection.",
                                }
                            )
                        size = 1
                    elif not 1 <= size <= MAX_PAGE:
                        cost.problems.append(
                            {
                                "type": "EXCESSIVE_PAGINATION",
                                "message": f"Requesting {size} records on the `{name}` "
                                f"connection exceeds the `first` limit of {MAX_PAGE} records.",
                            }
                        )
                    cost.nodes += multiplier * size
                    child = multiplier * size
                if selection.selection_set:
                    walk(selection.selection_set, named, child)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, schema.query_type, 1)
    if cost.nodes > MAX_NODES:
        cost.problems.append(
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": f"This query requests up to {cost.nodes:,} possible nodes which "
                f"exceeds the maximum limit of {MAX_NODES:,}.",
            }
        )
    return cost


def _cursor(head: str, index: int) -> str:
    return base64.b64encode(f"{head} {index}".encode()).decode()


def _cursor_index(cursor: str, head: str) -> int:
    try:
        oid, _, index = base64.b64decode(cursor, validate=True).decode().partition(" ")
        if oid == head:
            return int(index)
    except ValueError:
        pass
    raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.")


def _git_time(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"`{value}` is not a valid GitTimestamp") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


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
        self.points = 0  # what GitHub would have charged: GraphQL cost + REST not free
        self.core = RateWindow(5000, 5000)  # REST with a token
        self.anonymous = RateWindow(ANONYMOUS_REST_LIMIT, ANONYMOUS_REST_LIMIT)
        self.graphql_budget = RateWindow(5000, 5000)
        self.app = Starlette(
            routes=[
                Route("/graphql", self.graphql, methods=["POST"]),
                Route("/repos/{owner}/{name}/{resource:path}", self.rest, methods=["GET"]),
                Route("/repositories/{id:int}/{resource:path}", self.rest_by_id, methods=["GET"]),
            ]
        )

    # The budgets by their old names (tests and the soak set them).
    @property
    def rest_limit(self) -> int:
        return self.core.limit

    @rest_limit.setter
    def rest_limit(self, value: int) -> None:
        self.core.limit = value

    @property
    def rest_remaining(self) -> int:
        return self.core.remaining

    @rest_remaining.setter
    def rest_remaining(self, value: int) -> None:
        self.core.remaining = value

    @property
    def rest_reset_in(self) -> float:
        return self.core.length

    @rest_reset_in.setter
    def rest_reset_in(self, value: float) -> None:
        self.core.length = value

    @property
    def graphql_remaining(self) -> int:
        return self.graphql_budget.remaining

    @graphql_remaining.setter
    def graphql_remaining(self, value: int) -> None:
        self.graphql_budget.limit = max(self.graphql_budget.limit, value)
        self.graphql_budget.remaining = value

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
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        query = body.get("query") if isinstance(body, dict) else None
        operation = _OPERATION.match(query) if isinstance(query, str) else None
        fault = self.faults.take(f"/graphql {operation.group(1) if operation else ''}")
        if fault:
            return fault.response()
        if not request.headers.get("authorization"):
            message = "This endpoint requires you to be authenticated."
            return JSONResponse({"message": message}, 401)
        if not isinstance(query, str):
            return JSONResponse({"errors": [{"message": "A query attribute must be specified"}]})
        variables = body.get("variables") or {}
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
        if cost.problems:
            self.invalid_queries.append(query)
            return JSONResponse({"errors": cost.problems})
        budget = self.graphql_budget
        budget.roll(time.time())
        if cost.points > budget.remaining:
            limited = {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            return JSONResponse({"errors": [limited]}, headers=budget.headers("graphql"))
        budget.remaining -= cost.points
        self.points += cost.points
        reset_at = dt.datetime.fromtimestamp(math.ceil(budget.resets_at or 0), dt.UTC)
        root = {
            "repository": self._resolve_repository,
            "rateLimit": lambda _info, **_args: {
                "cost": cost.points,
                "remaining": budget.remaining,
                "resetAt": _iso(reset_at),
                "limit": budget.limit,
                "used": budget.limit - budget.remaining,
                "nodeCount": cost.nodes,
            },
        }
        result = execute(github_schema(), document, root_value=root, variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_github_error(error) for error in result.errors]
        return JSONResponse(answer, headers=budget.headers("graphql"))

    def _resolve_repository(self, _info: Any, owner: str, name: str, **_args: Any) -> Any:
        repo, _renamed = self.lookup(owner, name)
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        head = self._head_commit(repo)

        def git_object(_info: Any, oid: str | None = None, **_args: Any) -> Any:
            return head if head is not None and oid == repo.head else None

        return {
            "nameWithOwner": repo.full_name,
            "url": f"https://github.com/{repo.full_name}",
            "description": repo.description,
            "stargazerCount": repo.stars,
            "forkCount": repo.forks,
            "isArchived": repo.archived,
            "defaultBranchRef": {"target": head} if head else None,
            "object": git_object,
        }

    def _head_commit(self, repo: FakeRepo) -> dict[str, Any] | None:
        if repo.last_commit is None:
            return None  # an empty repository: no default branch yet

        def history(_info: Any, **arguments: Any) -> dict[str, Any]:
            return self._history(repo, **arguments)

        return {
            "__typename": "Commit",
            "oid": repo.head,
            "committedDate": _iso(repo.last_commit),
            "history": history,
        }

    def _history(
        self,
        repo: FakeRepo,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        since: str | None = None,
        until: str | None = None,
        **_filters: Any,
    ) -> dict[str, Any]:
        dates = repo.commit_dates(time.time())
        if since is not None:
            start = _git_time(since)
            dates = [when for when in dates if when >= start]
        if until is not None:
            end = _git_time(until)
            dates = [when for when in dates if when <= end]
        offset = _cursor_index(after, repo.head) + 1 if after else 0
        size = first if first is not None else (last or 0)
        chunk = dates[offset : offset + size]
        last_index = offset + len(chunk) - 1
        nodes = [
            {
                "__typename": "Commit",
                "oid": _etag([repo.head, str(when)])[3:-1],
                "committedDate": _iso(when),
            }
            for when in chunk
        ]
        return {
            "totalCount": len(dates),
            "pageInfo": {
                "hasNextPage": offset + len(chunk) < len(dates),
                "hasPreviousPage": offset > 0,
                "startCursor": _cursor(repo.head, offset) if chunk else None,
                "endCursor": _cursor(repo.head, last_index) if chunk else None,
            },
            "nodes": nodes,
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

    def _budget(self, request: Request) -> RateWindow:
        """The budget a request counts against: the token's, or the anonymous one."""
        return self.core if request.headers.get("authorization") else self.anonymous

    def _resource(self, request: Request, repo: FakeRepo | None, resource: str) -> Response:
        fault = self.faults.take(request.url.path)
        if fault:
            return fault.response()
        budget = self._budget(request)
        budget.roll(time.time())
        if budget.remaining <= 0:
            message = "API rate limit exceeded for user ID 1."
            return self._answer(request, 403, {"message": message}, charge=False)
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
        sunday = this_sunday(time.time())
        payload = [
            {
                "days": [total, 0, 0, 0, 0, 0, 0],
                "total": total,
                "week": sunday - (51 - index) * WEEK_SECONDS,
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
        self,
        request: Request,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        *,
        charge: bool = True,
    ) -> Response:
        budget = self._budget(request)
        # Every answer counts against the hour's budget, but a 304 to a request made with
        # a token (GitHub: "correctly authorized with an Authorization header").
        free = status == 304 and budget is self.core
        if charge and not free:
            budget.remaining -= 1
            self.points += 1
        all_headers = {**budget.headers("core"), **(headers or {})}
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
