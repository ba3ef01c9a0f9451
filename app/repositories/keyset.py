"""Orderings, and keyset (cursor) pages over them.

An ordering is a list of sort keys ending in the primary key, so every row has one
place. NULL sorts as PostgreSQL sorts it, above every value: last going up, first going
down (both dialects are told so explicitly). Seen that way, reversing an ordering flips
each key's direction, and "the rows after this one" is one rule for both directions.

The WHERE a cursor page adds is written so that a btree index on the keys (every
ordering field of a list has one, `(field, id)`) answers it as a range, reading only the
rows it returns, and in index order, so no sort: a row-value comparison
`(field, id) > (:v, :id)` when no key can be NULL, and for a nullable leading key two
ranges read one after the other (the non-NULL ones, then the NULL ones, or the reverse).
Other shapes (several fields, mixed directions) get the general OR-of-prefixes form:
exact, but read by the planner as it can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, and_, false, literal, or_, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

from app.errors import InvalidQuery
from app.pagination import Cursor, KeysetRequest, ListPage, bad_cursor

_INT32 = 2**31
_INT64 = 2**63
_MAX_DATETIME_TEXT = 40


@dataclass(frozen=True, slots=True)
class SortKey:
    name: str
    column: InstrumentedAttribute[Any]
    descending: bool
    nullable: bool

    def clause(self, *, tie_breaker: bool = False) -> Any:
        # The tie-breaker (id), or any key that is never NULL: no NULLS clause, as the offset
        # path always had. (SQLite sorts `id DESC NULLS FIRST` itself rather than read the
        # ids of an IN list in order: a filter by version would sort its every match.)
        if tie_breaker or not self.nullable:
            return self.column.desc() if self.descending else self.column.asc()
        return (
            self.column.desc().nulls_first() if self.descending else self.column.asc().nulls_last()
        )

    def flipped(self) -> SortKey:
        return replace(self, descending=not self.descending)


@dataclass(frozen=True, slots=True)
class Ordering:
    keys: tuple[SortKey, ...]
    # The last key was added as the tie-breaker (not asked for).
    implicit_id: bool

    @property
    def clauses(self) -> list[Any]:
        last = len(self.keys) - 1
        return [
            key.clause(tie_breaker=self.implicit_id and index == last)
            for index, key in enumerate(self.keys)
        ]

    @property
    def label(self) -> str:
        """What a cursor records of the ordering: `-repo_watchers,-id`."""
        return ",".join(f"-{key.name}" if key.descending else key.name for key in self.keys)

    def reversed(self) -> Ordering:
        return Ordering(tuple(key.flipped() for key in self.keys), self.implicit_id)


def _names(text: str) -> list[str]:
    # Spaces only, as the documented pattern says (app.routers.params.ordering_pattern).
    return [part.strip(" ") for part in text.split(",") if part.strip(" ")]


def parse_ordering(
    raw: str | None, allowed: dict[str, Any], id_column: Any, default: str = "-id"
) -> Ordering:
    """`?ordering=a,-b` over the allowed fields, id last as the tie-breaker.

    No names at all (`?ordering=` or `?ordering=,,`) is the default ordering. NULLs come
    last going up and first going down on both dialects: PostgreSQL's default, which
    djangopackages.org answers with (SQLite's own default is the reverse).
    """
    names = _names(raw or "") or _names(default)
    keys = []
    for name in names:
        field = name.removeprefix("-")
        if field not in allowed:
            choices = ", ".join(sorted(allowed))
            raise InvalidQuery("ordering", f"cannot order by {field!r}; choose from {choices}")
        column = allowed[field]
        nullable = bool(column.expression.nullable)
        keys.append(SortKey(field, column, name.startswith("-"), nullable))
    implicit_id = "id" not in {key.name for key in keys}
    if implicit_id:
        keys.append(SortKey("id", id_column, keys[0].descending, nullable=False))
    return Ordering(tuple(keys), implicit_id)


# --- Cursor values: from rows, to JSON, and back, checked against their columns. ----------


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def row_key(ordering: Ordering, row: Any) -> tuple[Any, ...]:
    return tuple(_json_value(getattr(row, key.column.key)) for key in ordering.keys)


def _typed(key: SortKey, value: Any) -> Any:
    """A cursor's JSON value as the key's column holds it; ValueError if it cannot be one."""
    if value is None:
        if not key.nullable:
            raise ValueError("null for a column that is never null")
        return None
    column_type = key.column.expression.type
    # A TypeDecorator (UTCDateTime) reports `object`; what it stores is its impl's type.
    python_type = (
        column_type.impl if isinstance(column_type, TypeDecorator) else column_type
    ).python_type
    if python_type is int:
        limit = _INT64 if isinstance(column_type, BigInteger) else _INT32
        if type(value) is not int or not -limit <= value < limit:
            raise ValueError("not an integer of the column's size")
        return value
    if python_type is str:
        length = column_type.length if isinstance(column_type, String) else None
        if not isinstance(value, str) or "\x00" in value or (length and len(value) > length):
            raise ValueError("not a text the column can hold")
        return value
    if python_type is dt.datetime:
        if not isinstance(value, str) or len(value) > _MAX_DATETIME_TEXT:
            raise ValueError("not a datetime")
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("not an aware datetime")
        return moment.astimezone(dt.UTC)
    raise ValueError(f"cannot page by a {python_type.__name__} column")


def typed_cursor_values(cursor: Cursor, ordering: Ordering, resource: str) -> tuple[Any, ...]:
    """The cursor's key values, if it was made for this list and ordering; else 400."""
    if cursor.resource != resource or cursor.ordering != ordering.label:
        raise InvalidQuery(
            "cursor",
            "was made for another list or ordering; keep the parameters of the page it came from",
        )
    if len(cursor.values) != len(ordering.keys):
        raise bad_cursor()
    try:
        return tuple(
            _typed(key, value) for key, value in zip(ordering.keys, cursor.values, strict=True)
        )
    except ValueError as error:
        raise bad_cursor() from error


async def fetch_rows(session: AsyncSession, stmt: Select[Any], plain_rows: bool) -> list[Any]:
    """The entities `stmt` selects, or with `plain_rows` its rows (a select of columns)."""
    if plain_rows:
        # On the session's connection (its transaction): Session.execute() would still run
        # the ORM's statement setup and result wrapping for a select of plain columns.
        connection = await session.connection()
        return list((await connection.execute(stmt)).all())
    # unique(): a joined collection load repeats each row once per related row.
    return list((await session.scalars(stmt)).unique().all())


# --- The WHERE of "rows after this key". ---------------------------------------------------


def _greater(key: SortKey, value: Any) -> ColumnElement[bool]:
    """Rows past `value` in this key's direction, NULL counting as above every value."""
    column = key.column
    if key.descending:
        return column.is_not(None) if value is None else column < value
    if value is None:
        return false()
    return or_(column > value, column.is_(None)) if key.nullable else column > value


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """One predicate for the rows after `values`."""
    if not keys:
        return false()
    if len({key.descending for key in keys}) == 1 and not any(
        key.nullable or value is None for key, value in zip(keys, values, strict=True)
    ):
        # A btree index on the keys reads this as a range.
        left = tuple_(*(key.column for key in keys))
        right = tuple_(
            *(
                literal(value, key.column.expression.type)
                for key, value in zip(keys, values, strict=True)
            )
        )
        return left < right if keys[0].descending else left > right
    # (k1 after v1) or (k1 = v1 and k2 after v2) or ...
    branches = []
    for position, key in enumerate(keys):
        earlier = [_equal(k, v) for k, v in zip(keys[:position], values[:position], strict=True)]
        branches.append(and_(*earlier, _greater(key, values[position])))
    return or_(*branches)


def after_ranges(keys: Sequence[SortKey], values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """The rows after `values`, as predicates to read one after the other, in order.

    A nullable leading key splits the rows in two ranges (its non-NULL values and its
    NULLs), each a range of the `(field, id)` index; one OR of both would not be.
    """
    lead, rest = keys[0], list(keys[1:])
    if not (lead.nullable and rest) or any(key.nullable for key in rest):
        return [_after(keys, values)]
    value, rest_values = values[0], list(values[1:])
    column = lead.column
    # Within the range of values the key is never NULL: the row-value form applies.
    never_null = replace(lead, nullable=False)
    if value is None:
        nulls = [and_(column.is_(None), _after(rest, rest_values))]
        # Going up NULLs are last: nothing is after them. Going down all values follow.
        return nulls if not lead.descending else [*nulls, column.is_not(None)]
    values_range = _after([never_null, *rest], values)
    # Going up the NULLs follow every value; going down they came first.
    return [values_range, column.is_(None)] if not lead.descending else [values_range]


# --- Reading a cursor page. -----------------------------------------------------------------


async def fetch_keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    total: int,
    ordering: Ordering,
    keyset: KeysetRequest,
    limit: int,
    resource: str,
    *options: Any,
    plain_rows: bool = False,
) -> ListPage[Any]:
    """A cursor page: the `limit` rows after (or before) the cursor's row, and the cursors
    of the pages around it. One more row than asked says whether there is a page beyond."""
    cursor = keyset.cursor
    forward = cursor is None or cursor.forward
    order = ordering if forward else ordering.reversed()
    if cursor is None:
        ranges: list[ColumnElement[bool]] = [true()]
    else:
        ranges = after_ranges(order.keys, typed_cursor_values(cursor, ordering, resource))
    wanted = limit + 1
    fetched: list[Any] = []
    for predicate in ranges:
        batch = stmt.options(*options).where(predicate).order_by(*order.clauses)
        fetched.extend(await fetch_rows(session, batch.limit(wanted - len(fetched)), plain_rows))
        if len(fetched) >= wanted:
            break
    more = len(fetched) > limit
    rows = fetched[:limit]
    if not forward:
        rows.reverse()

    def at(row: Any | None, ahead: bool) -> Cursor:
        values = row_key(ordering, row) if row is not None else cursor.values  # type: ignore[union-attr]
        return Cursor(resource, ordering.label, ahead, values)

    # An empty page (its rows deleted since the link was made) links back from the
    # cursor's own row, which the page before showed.
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    if forward:
        next_cursor = at(last, True) if more else None
        previous_cursor = at(first, False) if cursor is not None else None
    else:
        previous_cursor = at(first, False) if more else None
        next_cursor = at(last, True)
    return ListPage(total, rows, next_cursor, previous_cursor)
