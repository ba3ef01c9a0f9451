"""Change feed queries: a page of events after a seq, and the bounds of what is kept."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Change


async def events_after(session: AsyncSession, after: int, limit: int) -> Sequence[Change]:
    """Up to `limit` events with seq > `after`, in seq order (a range of the primary key)."""
    stmt = select(Change).where(Change.seq > after).order_by(Change.seq).limit(limit)
    return (await session.scalars(stmt)).all()


async def kept_bounds(session: AsyncSession) -> tuple[int, int] | None:
    """(oldest, newest) seq still kept; None before the first event."""
    row = (await session.execute(select(func.min(Change.seq), func.max(Change.seq)))).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))
