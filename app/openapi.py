"""The OpenAPI document: its metadata, one tag per resource, and one error body everywhere.

FastAPI builds the document from the routes; `install_openapi` then reshapes what FastAPI
assumes and we do differently: a request that fails validation is answered with our
`ErrorBody` (400 for a bad parameter, 422 only for a bad body), never with FastAPI's
`HTTPValidationError`. Doing it here, once, covers every route, including future ones.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.schemas.examples import SCHEMA_EXAMPLES

TITLE = "packages-api"

DESCRIPTION = """
A package directory: packages, the categories they belong to, and grids that compare them.

Reads answer like [djangopackages.org](https://djangopackages.org)'s API v4: the same
resources, keys, `limit`/`offset` pages and hyperlinks, and need no token.

Writes need a bearer token (`packages-api tokens create NAME --scope write`; *Authorize*
above) and honour `If-Match`: send back the `ETag` you read, and an edit made meanwhile is
refused with 412 instead of being lost.

Every error has the same body, `ErrorBody`: `{status, code, detail, errors}`.

How the deployment is doing (counts, the refresher, the newest change):
[`GET /api/v4/status/`](api/v4/status/) (the *status* operation below), or
`packages-api status`.
"""

# One tag per resource, in the order the docs page lists them. Operational endpoints
# (health, metrics) are not resources and stay out of this list.
TAGS: list[dict[str, Any]] = [
    {
        "name": "packages",
        "description": "Packages: a repository and a PyPI project, with their metrics "
        "(stars, forks, commits over 52 weeks, PyPI version), refreshed by the service.",
    },
    {
        "name": "categories",
        "description": "What kind of thing a package is (an app, a framework, ...).",
    },
    {
        "name": "grids",
        "description": "Comparison grids and the packages they compare.",
    },
    {
        "name": "grid table",
        "description": "A grid's comparison table: its features (rows), the cells each "
        "package has for them, and the whole table in one read.",
    },
    {
        "name": "search",
        "description": "Packages and grids ranked for a query: full text, prefixes, typos "
        "and popularity, current with every write.",
    },
    {
        "name": "badges",
        "description": "Shields-style SVG badges of a package, to paste in a README.",
    },
    {
        "name": "changes",
        "description": "The change feed: every create, update and delete, in commit order.",
    },
    {
        "name": "feeds",
        "description": "Atom feeds of new packages, for people and feed readers.",
    },
    {
        "name": "lookup",
        "description": "Many packages at once, by PyPI name, repository URL, PURL or a "
        "requirements.txt, checked against a Django and a Python version.",
    },
    {"name": "root", "description": "The API root: where each collection lives."},
    {
        "name": "subscriptions",
        "description": "Outgoing webhooks (admin token): signed POSTs of the change feed's "
        "events to a URL, in order, retried, with a delivery log.",
    },
    {
        "name": "status",
        "description": "A running deployment's health at a glance: counts, the refresher "
        "(last run, due, pending, failing by forge, rate-limit budgets), the newest change.",
    },
    {
        "name": "webhooks",
        "description": "Upstream events (GitHub pushes) that refresh a package's metrics now.",
    },
]

ERROR_BODY_REF = "#/components/schemas/ErrorBody"

# What each error status looks like, as the service really answers it.
ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "status": 400,
        "code": "invalid_query",
        "detail": "Invalid value for `repo_host`: unknown host 'svn'; "
        "choose from 'github', 'gitlab', 'bitbucket', 'forgejo'",
        "errors": [
            {
                "location": "query",
                "field": "repo_host",
                "message": "unknown host 'svn'; choose from 'github', 'gitlab', 'bitbucket', "
                "'forgejo'",
            }
        ],
    },
    401: {
        "status": 401,
        "code": "unauthorized",
        "detail": "Writing needs a token: `Authorization: Bearer <token>`.",
        "errors": [],
    },
    403: {
        "status": 403,
        "code": "forbidden",
        "detail": "Only a token with the 'admin' scope may create a locked grid.",
        "errors": [],
    },
    404: {"status": 404, "code": "not_found", "detail": "No package matches 'nope'.", "errors": []},
    409: {
        "status": 409,
        "code": "conflict",
        "detail": "A package with this slug already exists.",
        "errors": [
            {
                "location": "body",
                "field": "slug",
                "message": "A package with this slug already exists.",
            }
        ],
    },
    410: {
        "status": 410,
        "code": "gone",
        "detail": "The events after seq 12 are no longer kept (the feed keeps 30 days; the "
        "oldest kept is 4051). Resync: note the newest seq (9120), read the packages, grids "
        "and categories lists in full, then follow /api/v4/changes/?after=9120.",
        "errors": [],
    },
    412: {
        "status": 412,
        "code": "precondition_failed",
        "detail": "The resource changed since you read it (If-Match does not match its ETag); "
        "GET it again and reapply your change.",
        "errors": [],
    },
    414: {
        "status": 414,
        "code": "uri_too_long",
        "detail": "The query string is longer than 4096 bytes (MAX_QUERY_BYTES).",
        "errors": [],
    },
    415: {
        "status": 415,
        "code": "unsupported_media_type",
        "detail": "Send the body as JSON: `Content-Type: application/json`.",
        "errors": [],
    },
    413: {
        "status": 413,
        "code": "payload_too_large",
        "detail": "The body is larger than 1048576 bytes (MAX_BODY_BYTES).",
        "errors": [],
    },
    422: {
        "status": 422,
        "code": "validation_error",
        "detail": "`title` Field required",
        "errors": [{"location": "body", "field": "title", "message": "Field required"}],
    },
    429: {
        "status": 429,
        "code": "rate_limited",
        "detail": "Too many writes from this token; retry in 2 s.",
        "errors": [],
    },
    503: {
        "status": 503,
        "code": "unavailable",
        "detail": "The database is busy or unreachable; retry shortly.",
        "errors": [],
    },
}

_PARAMETER_ERROR = "A bad query or path parameter, or a Host outside ALLOWED_HOSTS."
_BODY_ERROR = "The body failed validation; each field is named in `errors`."


def app_version() -> str:
    """The installed distribution's version, so the document never disagrees with it."""
    try:
        return distribution_version("packages-api")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def operation_id(route: APIRoute) -> str:
    """The endpoint's function name (`list_packages`): short, stable deep links on /docs."""
    return route.name


def _error_content(status: int, declared: dict[str, Any]) -> dict[str, Any]:
    """ErrorBody, with the route's own example when it declares one, else ours."""
    media: dict[str, Any] = {"schema": {"$ref": ERROR_BODY_REF}}
    declared_media = declared.get("application/json", {})
    if "example" in declared_media or "examples" in declared_media:
        media.update(
            {key: declared_media[key] for key in ("example", "examples") if key in declared_media}
        )
    elif status in ERROR_EXAMPLES:
        media["example"] = ERROR_EXAMPLES[status]
    return {"application/json": media}


# What app.request_limits answers before any route runs: on every API operation, and on
# every one that takes a body.
_LIMIT_ERRORS = {"414": "The query string is longer than MAX_QUERY_BYTES."}
_BODY_LIMIT_ERRORS = {
    "400": "Malformed JSON (duplicate keys, NaN, too deeply nested), or a bad parameter.",
    "413": "The body is larger than MAX_BODY_BYTES.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
}


def shape_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx/5xx response documented with `ErrorBody`; validation as we answer it."""
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.get("responses", {})
            has_body = "requestBody" in operation
            if path.startswith("/api/"):
                limits = {**_LIMIT_ERRORS, **(_BODY_LIMIT_ERRORS if has_body else {})}
                for status, description in limits.items():
                    responses.setdefault(status, {"description": description})
            # FastAPI adds a 422 to every operation with parameters; ours says 400 for
            # parameters (RFC 9110: the request is malformed) and 422 for a body only.
            validation = responses.pop("422", None)
            if validation is not None:
                if has_body:
                    responses["422"] = {"description": _BODY_ERROR}
                elif "400" not in responses:
                    responses["400"] = {"description": _PARAMETER_ERROR}
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = _error_content(int(status), response.get("content", {}))
            operation["responses"] = dict(sorted(responses.items()))
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Each resource schema's examples, as the API serves them (app.schemas.examples)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for name, values in SCHEMA_EXAMPLES.items():
        if name in schemas:
            schemas[name]["examples"] = values
    return document


# OpenAPI links: what a created resource's answer lets a client do next, by operationId.
# Clients (and schemathesis' stateful tests) follow them from a create to its detail routes.
_BY_ID = {"key": "$response.body#/id"}
_FEATURE = {"key": "$request.path.key", "feature_id": "$response.body#/id"}
_ITEM_ROUTES = ("get_{0}", "replace_{0}", "patch_{0}", "delete_{0}")
LINKS: dict[str, dict[str, dict[str, str]]] = {
    "create_category": dict.fromkeys([r.format("category") for r in _ITEM_ROUTES], _BY_ID),
    "create_package": dict.fromkeys(
        [*(r.format("package") for r in _ITEM_ROUTES), "refresh_package"], _BY_ID
    ),
    "create_grid": dict.fromkeys(
        [
            *(r.format("grid") for r in _ITEM_ROUTES),
            "list_grid_packages",
            "add_grid_package",
            "get_grid_table",
            "list_features",
            "create_feature",
        ],
        _BY_ID,
    ),
    "create_feature": dict.fromkeys(
        ["get_feature", "replace_feature", "patch_feature", "delete_feature"], _FEATURE
    ),
}


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Each create's 201 answer links to the operations on what it created."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            targets = LINKS.get(operation.get("operationId", ""))
            created = operation.get("responses", {}).get("201")
            if targets and created is not None:
                created["links"] = {
                    target: {"operationId": target, "parameters": dict(parameters)}
                    for target, parameters in targets.items()
                }
    return document


def install_openapi(app: FastAPI) -> None:
    """Build the document once, on first use, then reshape it (errors, example order)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                license_info=app.license_info,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            app.openapi_schema = add_links(add_examples(shape_errors(document)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
