"""Webhook subscriptions and deliveries: the admin API's reads, and the sender's claims."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update

from app.errors import NotFound
from app.models import Change, Delivery, GridPackage, Package, Subscription
from app.repositories.base import Repository


class SubscriptionRepository(Repository):
    async def all(self) -> Sequence[Subscription]:
        return (await self.session.scalars(select(Subscription).order_by(Subscription.id))).all()

    async def behind_ids(self, now: dt.datetime) -> list[int]:
        """The active subscriptions the sender has work for: a cursor short of the newest
        change, and no delivery in flight that waits for its retry or another replica's
        lease. A plain read, so an idle sender never takes the write lock."""
        newest = select(func.max(Change.seq)).scalar_subquery()
        waiting = select(Delivery.id).where(
            Delivery.subscription_id == Subscription.id,
            Delivery.delivered_at.is_(None),
            or_(Delivery.next_attempt_at > now, Delivery.claimed_until >= now),
        )
        stmt = (
            select(Subscription.id)
            .where(Subscription.active, Subscription.cursor < newest, ~waiting.exists())
            .order_by(Subscription.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription:
        stmt = select(Subscription).where(Subscription.id == subscription_id)
        if for_update:
            stmt = stmt.with_for_update()
        subscription = (await self.session.scalars(stmt)).first()
        if subscription is None:
            raise NotFound(f"No subscription {subscription_id}.")
        return subscription

    async def recent_deliveries(self, subscription_id: int, limit: int = 50) -> list[Delivery]:
        stmt = (
            select(Delivery)
            .where(Delivery.subscription_id == subscription_id)
            .order_by(Delivery.seq.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def pending_delivery(self, subscription_id: int) -> Delivery | None:
        """The subscription's delivery in flight (at most one: they go in order)."""
        stmt = select(Delivery).where(
            Delivery.subscription_id == subscription_id, Delivery.delivered_at.is_(None)
        )
        return (await self.session.scalars(stmt.order_by(Delivery.seq).limit(1))).first()

    async def next_change(self, subscription: Subscription) -> tuple[Change | None, int]:
        """The first change after the cursor that matches the subscription, and the seq
        of the last change looked at (the cursor may move past what does not match)."""
        newest = (
            await self.session.scalars(select(Change.seq).order_by(Change.seq.desc()).limit(1))
        ).first() or 0
        stmt = (
            select(Change)
            .where(Change.seq > subscription.cursor, _matches(subscription))
            .order_by(Change.seq)
            .limit(1)
        )
        change = (await self.session.scalars(stmt)).first()
        return change, (change.seq if change is not None else newest)

    async def claim(self, delivery_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take the lease on a due delivery; False when another replica holds it."""
        result = await self.session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.delivered_at.is_(None),
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            )
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def _matches(subscription: Subscription) -> ColumnElement[bool]:
    """The changes `subscription` wants: its event patterns, then its grid or category."""
    kinds: list[ColumnElement[bool]] = []
    for pattern in subscription.events:
        resource, _, kind = pattern.partition(".")
        conditions: list[ColumnElement[bool]] = []
        if resource != "*":
            conditions.append(Change.resource == resource)
        if kind not in {"", "*"}:
            conditions.append(Change.kind == kind)
        kinds.append(and_(*conditions) if conditions else Change.seq.is_not(None))
    wanted = or_(*kinds) if kinds else false()
    scopes: list[ColumnElement[bool]] = []
    if subscription.grid_id is not None:
        members = select(GridPackage.package_id).where(GridPackage.grid_id == subscription.grid_id)
        scopes.append(
            or_(
                and_(Change.resource == "grids", Change.resource_id == subscription.grid_id),
                and_(Change.resource == "packages", Change.resource_id.in_(members)),
            )
        )
    if subscription.category_id is not None:
        packages = select(Package.id).where(Package.category_id == subscription.category_id)
        scopes.append(
            or_(
                and_(
                    Change.resource == "categories",
                    Change.resource_id == subscription.category_id,
                ),
                and_(Change.resource == "packages", Change.resource_id.in_(packages)),
            )
        )
    return and_(wanted, *scopes)
