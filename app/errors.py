"""Errors are values with a status: the domain's exceptions and the body they are answered
with (`ErrorBody`). The web handlers that render them are app.error_handlers: the CLI,
importer and refresher raise these without importing the web framework.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

Location = Literal["body", "query", "path", "header"]


class FieldError(BaseModel):
    location: Location = Field(description="Where the offending value was sent.")
    field: str = Field(description="Dotted name of the field, e.g. `slug` or `packages.2`.")
    message: str


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    status: int = Field(examples=[409])
    code: str = Field(
        description="Stable machine-readable reason.", examples=["conflict", "not_found"]
    )
    detail: str = Field(
        description="What went wrong, for people.",
        examples=["A package with this slug already exists."],
    )
    errors: list[FieldError] = Field(default_factory=list)


class AppError(Exception):
    """A domain error. Each kind states its HTTP status and stable `code` where it is
    declared: `class NotFound(AppError, status=404, code="not_found")`."""

    status_code = 500
    code = "internal_error"

    def __init_subclass__(cls, *, status: int, code: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = status
        cls.code = code

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})


# The kinds, by status.


class InvalidQuery(AppError, status=400, code="invalid_query"):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(
            f"Invalid value for `{param}`: {message}",
            errors=[FieldError(location="query", field=param, message=message)],
        )


class MalformedBody(AppError, status=400, code="bad_request"):
    """A body that is not one well-formed JSON document of the expected kind."""


class InvalidHost(AppError, status=400, code="invalid_host"):
    pass


class Unauthorized(AppError, status=401, code="unauthorized"):
    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        challenge = 'Bearer realm="packages-api"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(AppError, status=403, code="forbidden"):
    pass


class NotFound(AppError, status=404, code="not_found"):
    pass


class Conflict(AppError, status=409, code="conflict"):
    def __init__(self, detail: str, field: str | None = None) -> None:
        errors = [FieldError(location="body", field=field, message=detail)] if field else []
        super().__init__(detail, errors=errors)


class Gone(AppError, status=410, code="gone"):
    pass


class PreconditionFailed(AppError, status=412, code="precondition_failed"):
    pass


class InvalidBody(AppError, status=422, code="validation_error"):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"`{field}` {message}",
            errors=[FieldError(location="body", field=field, message=message)],
        )


# Which field a unique constraint guards, so a 409 can name it: by the constraint's name on
# PostgreSQL (app.columns.NAMING_CONVENTION: uq_<table>_<columns>), by its column list on
# SQLite ("<table>.<column>, <table>.<column>").
_UNIQUE_CONSTRAINTS = (
    ("packages", ("slug",), "slug"),
    ("packages", ("repo_url",), "repo_url"),
    ("categories", ("slug",), "slug"),
    ("grids", ("slug",), "slug"),
    ("grid_packages", ("grid_id", "package_id"), "package"),
    ("api_tokens", ("name",), "name"),
)
_UNIQUE_FIELDS = {
    spelling: field
    for table, columns, field in _UNIQUE_CONSTRAINTS
    for spelling in (
        f"uq_{table}_{'_'.join(columns)}",
        ", ".join(f"{table}.{column}" for column in columns),
    )
}
_PG_CONSTRAINT = re.compile(r'constraint "([^"]+)"')
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")


# Violations that mean "this clashes with other data" (409). Any other integrity error
# (NOT NULL, CHECK) is a bug of ours and stays a 500.
_CONFLICT_MARKERS = (
    "duplicate key value violates unique constraint",
    "violates foreign key constraint",
    "UNIQUE constraint failed",
    "FOREIGN KEY constraint failed",
)


def conflict_from_integrity_error(error: IntegrityError, resource: str) -> Conflict | None:
    """A 409 naming the field for a unique or foreign-key violation; None for anything else."""
    message = str(error.orig)
    if not any(marker in message for marker in _CONFLICT_MARKERS):
        return None
    match = _PG_CONSTRAINT.search(message) or _SQLITE_UNIQUE.search(message)
    field = _UNIQUE_FIELDS.get(match.group(1).strip()) if match else None
    if field:
        return Conflict(f"A {resource} with this {field} already exists.", field=field)
    return Conflict(f"The {resource} conflicts with existing data.")


# SQLite's BUSY and LOCKED (low byte of the extended code): another writer held on too long.
_SQLITE_BUSY_CODES = {5, 6}
# PostgreSQL SQLSTATEs that mean "try again": serialization failure, deadlock, lock or
# statement timeout, the server shutting down or full; class 08 is a lost connection.
_PG_RETRY_STATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"}


def database_unavailable(exc: BaseException) -> bool:
    """True when a database error is about waiting or reaching, not about our SQL or data."""
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _SQLITE_BUSY_CODES
    state = getattr(exc.orig, "sqlstate", None)
    return isinstance(state, str) and (state in _PG_RETRY_STATES or state.startswith("08"))


_DESCRIPTIONS = {
    400: "A bad query or path parameter (an unknown filter value or ordering field; a "
    "`cursor` this service did not sign, or made for another list or ordering), malformed "
    "or ambiguous JSON (duplicate keys, NaN, too deeply nested), or a Host outside "
    "ALLOWED_HOSTS.",
    401: "No token, or an unknown or revoked one.",
    403: "The token's scope is too small.",
    404: "No such resource.",
    410: "The change feed no longer holds the events after `after` (older than "
    "CHANGES_RETENTION_DAYS): resync from the lists, then follow from the seq the "
    "detail names.",
    409: "Conflicts with existing data (duplicate slug or repo_url, resource in use).",
    412: "If-Match does not match the current ETag.",
    413: "The body is larger than MAX_BODY_BYTES.",
    414: "The query string is longer than MAX_QUERY_BYTES.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "The body failed validation.",
    429: "Too many writes from this token or client address (only when "
    "WRITE_RATE_LIMIT_PER_TOKEN or WRITE_RATE_LIMIT_PER_IP is set); retry after "
    "`Retry-After` seconds.",
    503: "The database is busy or unreachable; retry after `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries that document our error body."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


READ_ERRORS = error_responses(400, 404, 503)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503)
