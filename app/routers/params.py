"""Path and query parameters, and dependencies, that several routers declare."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.conditional import check_preconditions
from app.deps import LinksDep, SessionDep, WriteToken
from app.errors import InvalidQuery
from app.links import Links
from app.models import ApiToken

# RFC 3339's date-time (section 5.6): a full date, a time with seconds, and an offset.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
ModifiedSince = Annotated[
    str | None,
    Query(
        description="RFC 3339 instant, e.g. `2026-12-01T00:00:00Z` (a `+` offset sent as "
        "`%2B`): only records modified at or after it, ordered by (`modified`, `id`).",
        # Empty is "not sent", as for every filter.
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "maxLength": 0},
                {"type": "null"},
            ]
        },
    ),
]


def parse_instant(raw: str | None, param: str) -> dt.datetime | None:
    """An RFC 3339 instant (blank: none); 400 for anything else."""
    if raw is None or raw == "":
        return None
    if not _RFC3339.fullmatch(raw):
        raise InvalidQuery(param, "an RFC 3339 instant such as 2026-12-01T00:00:00Z")
    digits = re.sub(r"(\.[0-9]{6})[0-9]+", r"\1", raw)  # Python keeps microseconds
    try:
        return dt.datetime.fromisoformat(digits.replace("z", "Z")).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise InvalidQuery(param, "not a real instant (month 13? hour 25?)") from None


# No length limit: a long key is simply not found (404), as in the original.
Key = Annotated[str, Path(description="A numeric id or a slug.")]


def choices(*values: str) -> dict[str, Any]:
    """A filter's documented values; blank (no filter) included."""
    return {"enum": ["", *values]}


def ordering_pattern(fields: Iterable[str]) -> dict[str, Any]:
    """`?ordering=` as the repositories read it (app.repositories.base.ordering_clauses):
    comma-separated names among `fields`, each optionally `-`, spaces around them allowed."""
    name = f" *(?:-?(?:{'|'.join(sorted(fields))}) *)?"
    return {"pattern": f"^{name}(?:,{name})*$"}


def ordering_query(description: str, fields: Iterable[str]) -> Any:
    """A list's `?ordering=`: its description, and the pattern of its `fields`."""
    return Query(description=description, json_schema_extra=ordering_pattern(fields))


Row = TypeVar("Row")
Row_co = TypeVar("Row_co", covariant=True)


class Lockable(Protocol[Row_co]):
    """A repository whose rows can be read locked for the rest of the transaction."""

    async def get(self, key: str, *, for_update: bool = False) -> Row_co: ...


@dataclass(frozen=True, slots=True)
class Write:
    """What a write works with: the request's session, its hyperlinks, the token allowed
    to write (401 or 403 before any of the route's own work)."""

    session: AsyncSession
    links: Links
    token: ApiToken

    async def locked(
        self,
        request: Request,
        repository: Callable[[AsyncSession], Lockable[Row]],
        key: str,
        render: Callable[[Row, Links], BaseModel],
    ) -> Row:
        """The row `key` names, locked until the write commits, once the request's
        preconditions (If-Match) hold for its representation: 412 when they do not."""
        row = await repository(self.session).get(key, for_update=True)
        check_preconditions(request, render(row, self.links))
        return row


async def write_context(session: SessionDep, links: LinksDep, token: WriteToken) -> Write:
    return Write(session, links, token)


WriteDep = Annotated[Write, Depends(write_context)]
