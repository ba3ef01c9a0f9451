"""Webhook subscriptions' rules: a URL the sender may call (checked now, and again before
every delivery), filters that name a real grid or category, a secret shown once, and a
new subscription starting at the feed's present (it is told about what happens next), and
a disabled one resumed where it stopped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidBody
from app.models import Category, Change, Grid, Subscription
from app.repositories.subscriptions import SubscriptionRepository
from app.schemas.subscription import SubscriptionIn
from app.webhooks.addresses import WebhookAddressError, resolve_destination
from app.webhooks.signing import new_secret


class SubscriptionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, body: SubscriptionIn, *, base_url: str, allow_private: bool
    ) -> tuple[Subscription, str]:
        """The new subscription and its secret (returned once, never shown again)."""
        try:
            await resolve_destination(body.url, allow_private=allow_private)
        except WebhookAddressError as error:
            raise InvalidBody("url", str(error)) from error
        if body.grid is not None and await self.session.get(Grid, body.grid) is None:
            raise InvalidBody("grid", f"there is no grid {body.grid}")
        if body.category is not None and await self.session.get(Category, body.category) is None:
            raise InvalidBody("category", f"there is no category {body.category}")
        newest = (await self.session.execute(select(func.max(Change.seq)))).scalar() or 0
        secret = body.secret or new_secret()
        subscription = Subscription(
            url=body.url.strip(),
            events=body.events,
            grid_id=body.grid,
            category_id=body.category,
            secret=secret,
            base_url=base_url,
            active=True,
            cursor=newest,
        )
        self.session.add(subscription)
        await self.session.flush()
        return subscription, secret

    async def enable(self, subscription: Subscription, *, now: dt.datetime) -> None:
        """Make a disabled subscription active again, its reason cleared. Delivery resumes
        where it stopped: the delivery that failed (same id, so a receiver that got it
        before can tell) is due now with a fresh 24 h of retries, then the changes after
        it in order. Enabling an active subscription changes nothing."""
        if subscription.active:
            return
        subscription.active = True
        subscription.disabled_reason = None
        pending = await SubscriptionRepository(self.session).pending_delivery(subscription.id)
        if pending is not None:
            # The give-up deadline counts from the first attempt: a new schedule.
            pending.attempts = 0
            pending.first_attempt_at = None
            pending.next_attempt_at = now
            pending.claimed_until = None
        await self.session.flush()

    async def delete(self, subscription: Subscription) -> None:
        await self.session.delete(subscription)
        await self.session.flush()
