"""The one place every error the API answers is rendered, ours or the framework's, with the
body of app.errors.ErrorBody."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    AppError,
    ErrorBody,
    FieldError,
    conflict_from_integrity_error,
    database_unavailable,
)

# Named as before the handlers left app.errors: operators filter on the logger name.
logger = logging.getLogger("app.errors")


def error_response(
    status: int,
    code: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = ErrorBody(status=status, code=code, detail=detail, errors=list(errors))
    return Response(
        body.model_dump_json(),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
}


def _validation_errors(exc: RequestValidationError) -> tuple[int, str, list[FieldError]]:
    errors: list[FieldError] = []
    status = 422
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        where = loc[0] if loc and loc[0] in {"body", "query", "path", "header"} else "body"
        field = ".".join(loc[1:]) if len(loc) > 1 else where
        if item.get("type") == "json_invalid":
            # Its loc is ("body", <character offset>); the offset is no field name.
            status = 400
            field = "body"
            message = (
                f"is not valid JSON (at character {loc[1]})"
                if len(loc) > 1
                else "is not valid JSON"
            )
        else:
            message = str(item.get("msg", "is invalid"))
            if message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
        if where in {"query", "path", "header"}:
            status = 400
        errors.append(FieldError(location=where, field=field, message=message))
    detail = "; ".join(f"`{e.field}` {e.message}" for e in errors) or "Invalid request."
    return status, detail, errors


def install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return error_response(exc.status_code, exc.code, exc.detail, exc.errors, exc.headers)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        status, detail, errors = _validation_errors(exc)
        code = "bad_request" if status == 400 else "validation_error"
        return error_response(status, code, detail, errors)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        detail = str(exc.detail) if exc.detail else code.replace("_", " ").capitalize()
        return error_response(exc.status_code, code, detail, headers=exc.headers)

    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        # A fallback: the request middleware (app.observability.requests) sits inside this
        # handler's ServerErrorMiddleware, answers unexpected errors with this same body
        # and logs them with the request id; only an error raised outside it lands here.
        return error_response(500, "internal_error", "Internal server error.")

    async def on_database_error(_request: Request, exc: Exception) -> Response:
        # These handlers answer without re-raising, so what they do not expect they log.
        if isinstance(exc, IntegrityError):
            conflict = conflict_from_integrity_error(exc, "record")
            if conflict is not None:  # a race the repositories' flush did not see
                return error_response(409, conflict.code, conflict.detail, conflict.errors)
        if database_unavailable(exc):
            # The request changed nothing (its transaction rolled back); it may be resent.
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            logger.warning("database unavailable: %s: %s", type(cause).__name__, cause)
            return error_response(
                503,
                "unavailable",
                "The database is busy or unreachable; retry shortly.",
                headers={"Retry-After": "1"},
            )
        logger.error("database error", exc_info=exc)
        return error_response(500, "internal_error", "Internal server error.")

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for database_failure in (DBAPIError, PoolTimeout, ConnectionError, TimeoutError):
        app.add_exception_handler(database_failure, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
