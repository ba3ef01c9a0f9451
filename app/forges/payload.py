"""Strict reading of upstream JSON: a payload fits the shape we expect, or it is refused.

Each client declares its upstream's payloads as `UpstreamModel`s with the field types
below and reads every response through `parse`, so a wrong type, a null where a value
belongs, an absurd number or a body that is not JSON becomes one `PayloadError` with a
short message (never the offending input, which may be huge), and never figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any, TypeVar

import httpx
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

# Our counters are INTEGER columns; anything larger is garbage, not a popular project.
MAX_COUNT = 2**31 - 1
# Forges cap descriptions at a few thousand characters; far more is not a description.
MAX_DESCRIPTION = 20_000
# Validating a body this large takes milliseconds of CPU: done off the event loop.
_OFF_LOOP_BYTES = 256 * 1024

T = TypeVar("T")


class PayloadError(Exception):
    """An upstream answered 2xx with a body that is not what its API documents."""


class UpstreamModel(BaseModel):
    # strict: "12" is not 12 and 1.0 is not True; unknown keys are the upstream's business.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 parses, but is before the first instant in UTC; a
        # ValueError makes it a validation error (PayloadError), not a crash.
        raise ValueError("is out of range once converted to UTC") from None


Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
Name = Annotated[str, Field(max_length=255)]  # a login, branch, path part or URL
# Forges give offsets ("+02:00", "Z"); a date without one could be any instant.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


def _validate(adapter: TypeAdapter[T], content: bytes) -> T:
    return adapter.validate_json(content, strict=True)


async def parse(adapter: TypeAdapter[T], response: httpx.Response, what: str) -> T:
    """The response body validated by `adapter`, or PayloadError naming `what` was wrong."""
    content = response.content
    try:
        if len(content) > _OFF_LOOP_BYTES:
            return await asyncio.to_thread(_validate, adapter, content)
        return _validate(adapter, content)
    except ValidationError as error:
        raise PayloadError(f"{what}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """The first problem of a validation error, located, without the input's value."""
    problems: list[Any] = error.errors(include_url=False, include_input=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problems)"
    return f"unexpected payload: {message}"
