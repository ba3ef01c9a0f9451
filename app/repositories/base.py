"""What every repository shares: finding rows by id or slug, and turning references into ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, bindparam, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.errors import InvalidBody, InvalidQuery, NotFound, conflict_from_integrity_error
from app.links import Links, Resource
from app.models import Category, Grid, Package
from app.pagination import ListPage, PageRequest
from app.repositories.keyset import Ordering, fetch_keyset_page, fetch_rows, parse_ordering

# Largest value of a 32-bit INTEGER primary key: a bigger "id" cannot exist, and asking
# PostgreSQL for one would be an error rather than "not found".
MAX_ID = 2**31 - 1

Sluggable = Category | Package | Grid
Row = TypeVar("Row")
Model = TypeVar("Model", Category, Package, Grid)
NAMES: dict[type[Sluggable], str] = {Category: "category", Package: "package", Grid: "grid"}


class Repository:
    """An aggregate's queries, run in the caller's session: it flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


def id_of(text: str) -> int | None:
    """The id a key spells, or None when it spells none (then the key is a slug).

    ASCII digits only: `str.isdigit()` also holds for '²' (which int() refuses) and for
    other scripts' digits (U+0661, an Arabic-Indic one, would be read as 1). A slug is never
    all digits (validate_slug), so a number above MAX_ID, looked up as a slug, matches nothing.
    """
    if text.isascii() and text.isdigit():
        number = int(text)
        return number if number <= MAX_ID else None
    return None


def storable(text: str) -> bool:
    """False for text no row can hold: PostgreSQL refuses NUL in any string, even a parameter."""
    return "\x00" not in text


def key_filter(model: type[Sluggable], key: str | int) -> ColumnElement[bool]:
    """Detail routes take a numeric id or a slug. Two categories may share a slug (as in
    the original): order by id and take the first, and a slug names the lowest id."""
    text = str(key)
    if not storable(text):
        return false()
    number = id_of(text)
    return model.slug == text if number is None else model.id == number


class KeyedSelect(Generic[Model]):
    """`select(model)` by id or by slug (as key_filter reads a key), built once.

    SQLAlchemy memoizes a statement's cache key on the statement, so one reused with a
    bound key skips recomputing it on every request: with loader options, the costliest
    part of a detail's Python work in SQLAlchemy.
    """

    def __init__(self, model: type[Model], *options: Any) -> None:
        self.model: type[Model] = model
        base: Select[Model] = select(model).options(*options)
        self.by_id: Select[Model] = base.where(model.id == bindparam("key"))
        self.by_slug: Select[Model] = base.where(model.slug == bindparam("key"))

    def __call__(self, key: str | int) -> tuple[Select[Model], dict[str, Any]] | None:
        """The statement and its parameters; None when no row can have the key."""
        text = str(key)
        if not storable(text):
            return None
        number = id_of(text)
        if number is None:
            return self.by_slug, {"key": text}
        return self.by_id, {"key": number}

    async def one(self, session: AsyncSession, key: str | int, *, for_update: bool) -> Model:
        """The row the key names, row-locked `for_update`; 404 when there is none."""
        query = self(key)
        row = None
        if query is not None:
            stmt, params = query
            if for_update:
                # Serializes concurrent writers on PostgreSQL; SQLite's BEGIN IMMEDIATE does.
                stmt = stmt.with_for_update(of=self.model)
            row = (await session.scalars(stmt, params)).unique().one_or_none()
        if row is None:
            raise NotFound(f"No {NAMES[self.model]} matches {str(key)!r}.")
        return row


async def first_or_404(
    session: AsyncSession, stmt: Select[Row], *, for_update: bool, missing: str
) -> Row:
    """The statement's first entity, row-locked `for_update`; 404 saying `missing` if none."""
    if for_update:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise NotFound(missing)
    return found


def key_from_ref(ref: int | str, resource: Resource, links: Links, field: str) -> str:
    """A body reference (id, slug or our hyperlink) as a detail key."""
    if isinstance(ref, int):
        return str(ref)
    text = ref.strip()
    if "://" in text:
        key = links.key_from_link(text, resource)
        if key is None:
            raise InvalidBody(field, f"is not a link to one of this service's {resource}")
        return key
    return text


async def resolve_ids(
    session: AsyncSession,
    model: type[Sluggable],
    refs: Sequence[int | str],
    resource: Resource,
    links: Links,
    field: str,
    *,
    many: bool,
) -> list[int]:
    """Ids of the referenced rows, in the given order, in one query; 422 for any unknown.

    `many`: the refs are a list field's items, and an error names the position (`packages.2`).
    """
    names = [f"{field}.{position}" if many else field for position in range(len(refs))]
    keys = [key_from_ref(ref, resource, links, name) for ref, name in zip(refs, names, strict=True)]
    numbers = [id_of(key) for key in keys]
    ids = {number for number in numbers if number is not None}
    slugs = {
        key for key, number in zip(keys, numbers, strict=True) if number is None and storable(key)
    }
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions.append(model.id.in_(ids))
    if slugs:
        conditions.append(model.slug.in_(slugs))
    by_id: dict[int, int] = {}
    by_slug: dict[str, int] = {}
    if conditions:
        rows = await session.execute(
            select(model.id, model.slug).where(or_(*conditions)).order_by(model.id)
        )
        for row_id, slug in rows:
            by_id[row_id] = row_id
            # A slug two categories share names the lowest id (see key_filter).
            by_slug.setdefault(slug, row_id)
    resolved = []
    for name, key, number in zip(names, keys, numbers, strict=True):
        found = by_slug.get(key) if number is None else by_id.get(number)
        if found is None:
            raise InvalidBody(name, f"names no existing {NAMES[model]} ({key!r})")
        resolved.append(found)
    return resolved


def filter_value(raw: str | None) -> str | None:
    """A list filter's value, None when absent or blank: django-filter ignores blank values."""
    text = (raw or "").strip()
    return text or None


async def resolve_filter(
    session: AsyncSession, model: type[Sluggable], raw: str, param: str
) -> int:
    """The id a list filter names, by id or slug (a shared slug: the lowest id); 400 when
    it names nothing."""
    row_id = await session.scalar(
        select(model.id).where(key_filter(model, raw)).order_by(model.id).limit(1)
    )
    if row_id is None:
        raise InvalidQuery(param, f"no such {NAMES[model]} ({raw!r})")
    return row_id


async def flush_or_conflict(session: AsyncSession, resource: str) -> None:
    """Flush, turning a unique violation into a 409 that names the field."""
    try:
        await session.flush()
    except IntegrityError as error:
        conflict = conflict_from_integrity_error(error, resource)
        if conflict is None:
            raise
        raise conflict from error


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Row],
    page: PageRequest,
    ordering: Ordering,
    *options: Any,
    resource: str,
    total: int | None = None,
    plain_rows: bool = False,
    ids_first: Any = None,
) -> ListPage[Row]:
    """A page of `stmt` in `ordering`, by offset or by cursor as `page` asks, with the
    count of the whole list (`total` when the caller knows it, else counted). Entities, or
    with `plain_rows` the rows of a select of columns.

    `ids_first` (the table's id column): a page past the first selects its ids alone first,
    then reads `stmt` (its aggregates, its joined loads) for those rows only; see
    _offset_page_ids_first."""
    if total is None:
        total = await count_rows(session, stmt)
    if page.keyset is not None:
        return await fetch_keyset_page(
            session,
            stmt,
            total,
            ordering,
            page.keyset,
            page.limit,
            resource,
            *options,
            plain_rows=plain_rows,
        )
    if total == 0 or page.offset >= total:
        return ListPage(total, [])
    if ids_first is not None and page.offset > 0:
        rows = await _offset_page_ids_first(
            session, stmt, page, ordering, options, ids_first, plain_rows
        )
        return ListPage(total, rows)
    page_stmt = stmt.options(*options).order_by(*ordering.clauses)
    rows = await fetch_rows(session, page_stmt.limit(page.limit).offset(page.offset), plain_rows)
    return ListPage(total, rows)


async def _offset_page_ids_first(
    session: AsyncSession,
    stmt: Select[Row],
    page: PageRequest,
    ordering: Ordering,
    options: Sequence[Any],
    id_column: Any,
    plain_rows: bool,
) -> list[Row]:
    """An offset page that costs what page 1 costs.

    OFFSET still walks the skipped rows, but the statement that walks them selects only
    the id, under `stmt`'s WHERE and in the ordering: one range of the ordering's
    `(field, id)` index (index-only on PostgreSQL), no heap row and no per-row aggregate
    (a package's grid ids, a grid's members) for any row it skips. The second statement
    reads the page's rows by primary key, and they are put back in the first one's order
    (the ordering is total: id breaks every tie, so the order is the one a single
    statement gives).
    """
    ids_stmt = (
        stmt.with_only_columns(id_column)
        .order_by(*ordering.clauses)
        .limit(page.limit)
        .offset(page.offset)
    )
    connection = await session.connection()
    ids = list((await connection.execute(ids_stmt)).scalars())
    if not ids:
        return []
    rows = await fetch_rows(session, stmt.options(*options).where(id_column.in_(ids)), plain_rows)
    position = {row_id: index for index, row_id in enumerate(ids)}
    key = id_column.key
    # A row deleted between the two statements is simply missing from the page.
    return sorted(rows, key=lambda row: position[getattr(row, key)])


def listed_since(
    stmt: Select[Row],
    model: type[Sluggable],
    ordering: str | None,
    fields: dict[str, Any],
    modified_since: dt.datetime | None,
) -> tuple[Select[Row], Ordering]:
    """A list's statement and order: `?ordering=` among `fields`, or with `?modified_since=`
    only the rows modified since then, in its fixed order, (modified, id) ascending (another
    ordering is then a 400)."""
    if modified_since is None:
        return stmt, parse_ordering(ordering, fields, model.id)
    if ordering:
        raise InvalidQuery(
            "ordering", "modified_since lists are ordered by (modified, id); drop ordering"
        )
    since = stmt.where(model.modified >= modified_since)
    return since, parse_ordering("modified", {"modified": model.modified}, model.id)


async def count_rows(session: AsyncSession, stmt: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)
