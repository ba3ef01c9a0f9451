"""What every repository shares: finding rows by id or slug, and turning references into ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.errors import InvalidBody, InvalidQuery, conflict_from_integrity_error
from app.links import Links, Resource
from app.models import Category, Grid, Package
from app.normalize import slugify
from app.pagination import PageRequest

# Largest value of a 32-bit INTEGER primary key: a bigger "id" cannot exist, and asking
# PostgreSQL for one would be an error rather than "not found".
MAX_ID = 2**31 - 1

Sluggable = Category | Package | Grid
Row = TypeVar("Row")
NAMES: dict[type[Sluggable], str] = {Category: "category", Package: "package", Grid: "grid"}


def key_filter(model: type[Sluggable], key: str | int) -> ColumnElement[bool]:
    """Detail routes take a numeric id or a slug."""
    text = str(key)
    if text.isdigit():
        number = int(text)
        return model.id == number if number <= MAX_ID else false()
    return model.slug == text


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
    refs: list[int | str],
    resource: Resource,
    links: Links,
    field: str,
) -> list[int]:
    """Ids of the referenced rows, in the given order, in one query; 422 for any unknown."""
    # A list field names the offending position (`packages.2`), a single reference itself.
    names = [
        field if len(refs) == 1 and field != "packages" else f"{field}.{position}"
        for position in range(len(refs))
    ]
    keys = [key_from_ref(ref, resource, links, name) for ref, name in zip(refs, names, strict=True)]
    if not keys:
        return []
    ids = {int(k) for k in keys if k.isdigit() and int(k) <= MAX_ID}
    slugs = {k for k in keys if not k.isdigit()}
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions.append(model.id.in_(ids))
    if slugs:
        conditions.append(model.slug.in_(slugs))
    by_key: dict[str, int] = {}
    if conditions:
        rows = await session.execute(select(model.id, model.slug).where(or_(*conditions)))
        for row_id, slug in rows:
            by_key[str(row_id)] = row_id
            by_key[slug] = row_id
    resolved = []
    for name, key in zip(names, keys, strict=True):
        if key not in by_key:
            raise InvalidBody(name, f"names no existing {NAMES[model]} ({key!r})")
        resolved.append(by_key[key])
    return resolved


async def resolve_filter(
    session: AsyncSession, model: type[Sluggable], raw: str, param: str
) -> int:
    """The id a list filter names, by id or slug; 400 when it names nothing."""
    row_id = await session.scalar(select(model.id).where(key_filter(model, raw.strip())))
    if row_id is None:
        raise InvalidQuery(param, f"no such {NAMES[model]} ({raw!r})")
    return row_id


def pick_slug(given: str | None, title: str, max_length: int) -> str:
    if given:
        return given
    try:
        return slugify(title, max_length)
    except ValueError as error:
        raise InvalidBody("slug", str(error)) from error


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
    session: AsyncSession, stmt: Select[Row], page: PageRequest, order: list[Any], *options: Any
) -> tuple[int, Sequence[Row]]:
    """(count of the whole list, this page's rows), in two statements plus `options`' loads."""
    total = await count_rows(session, stmt)
    if total == 0 or page.offset >= total:
        return total, []
    rows = await session.scalars(
        stmt.options(*options).order_by(*order).limit(page.limit).offset(page.offset)
    )
    return total, rows.all()


async def count_rows(session: AsyncSession, stmt: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return int(total or 0)


def ordering_clauses(
    raw: str | None, allowed: dict[str, Any], id_column: Any, default: str = "-id"
) -> list[Any]:
    """ORDER BY for `?ordering=a,-b` over the allowed fields, id last as the tie-breaker."""
    text = (raw or "").strip() or default
    clauses = []
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        field = name.removeprefix("-")
        if field not in allowed:
            choices = ", ".join(sorted(allowed))
            raise InvalidQuery("ordering", f"cannot order by {field!r}; choose from {choices}")
        column = allowed[field]
        clauses.append(column.desc() if name.startswith("-") else column.asc())
    if "id" not in {name.removeprefix("-") for name in names}:
        clauses.append(id_column.desc() if names[0].startswith("-") else id_column.asc())
    return clauses
