"""The webhook sender: each subscription's matching changes POSTed in seq order, signed,
retried with backoff, and logged; started in the app's lifespan when WEBHOOKS_ENABLED.

One pass (`run_once`) first reads which active subscriptions have something to send (a
cursor short of the newest change and no retry waiting), so an idle pass writes nothing.
For each of them, in a short write transaction holding the subscription's row lock, it
finds the delivery in flight or makes one for the next matching change after the cursor,
and claims it with a lease (`claimed_until`), as the refresher claims packages: of
several replicas, one sends it; a replica that dies mid-delivery leaves a lease that
runs out, and another sends it again (at least once). The POST is made outside any
transaction; its outcome is written in a second one: on 2xx the cursor moves on,
otherwise the next attempt is scheduled by the core's RetryPolicy, and past its 24 h the
subscription is disabled with the reason (POST .../enable/ resumes it: app.services.
subscriptions).

Every attempt resolves the URL again and connects to the checked address (app.webhooks.
addresses): never to private, loopback or link-local addresses unless
WEBHOOK_ALLOW_PRIVATE, never following redirects, from a client keeping no idle
connections (see addresses' docstring for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.columns import utcnow
from app.config import Settings
from app.db import SqliteWriters, begin_writing
from app.links import Links
from app.models import Change, Delivery
from app.repositories.subscriptions import SubscriptionRepository
from app.schemas.change import ChangeOut
from app.tls import tls_context
from app.webhooks.addresses import (
    Resolver,
    WebhookAddressError,
    pinned_request,
    resolve_destination,
    system_resolver,
)
from app.webhooks.backoff import DEFAULT_POLICY, RetryPolicy
from app.webhooks.signing import delivery_headers

if TYPE_CHECKING:
    from app.state import AppState

logger = logging.getLogger(__name__)

# A claim outlives the longest attempt (WEBHOOK_TIMEOUT plus the resolution) with margin.
LEASE_MARGIN = dt.timedelta(seconds=30)
# At most this many deliveries per subscription per pass, so one busy subscription does
# not starve the others.
PER_PASS = 100
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Claimed:
    """A delivery this process holds the lease on, with what it needs to send it."""

    delivery_id: int
    uuid: str
    url: str
    secret: str
    event: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after: dt.timedelta | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def event_body(change: Change, base_url: str) -> bytes:
    """The event as /api/v4/changes/ serves it in `results`."""
    return ChangeOut.of(change, Links(base_url)).model_dump_json().encode()


def _retry_after(response: httpx.Response) -> dt.timedelta | None:
    value = response.headers.get("retry-after", "")
    if value.isascii() and value.isdigit():
        return dt.timedelta(seconds=min(int(value), 3600))
    return None


class WebhookSender:
    def __init__(
        self,
        sessions: Callable[[], async_sessionmaker[AsyncSession]],
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        writers: SqliteWriters | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        resolver: Resolver = system_resolver,
    ) -> None:
        # A callable: the app's sessionmaker is read at each use (tests swap it).
        self._sessions = sessions
        self.client = client
        self.settings = settings
        self.policy = policy
        self.resolver = resolver
        self._writers = writers
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with contextlib.AsyncExitStack() as stack:
            if self._writers is not None:
                await stack.enter_async_context(self._writers.turn(patient=True))
            session = await stack.enter_async_context(self._sessions()())
            await begin_writing(session)
            yield session

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._periodic(), name="webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _periodic(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the loop
                logger.exception("webhook pass failed")
            await asyncio.sleep(self.settings.webhook_interval)

    # --- one pass --------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send what is due for every active subscription; how many deliveries succeeded."""
        # A read first: only a subscription with something to send is claimed for (a write
        # transaction, which on SQLite holds the database's one write lock).
        async with self._sessions()() as session:
            ids = await SubscriptionRepository(session).behind_ids(utcnow())
        delivered = 0
        for subscription_id in ids:
            for _ in range(PER_PASS):
                claimed = await self._claim_next(subscription_id)
                if claimed is None:
                    break
                outcome = await self._send(claimed)
                await self._record(claimed, outcome)
                if not outcome.ok:
                    break  # in order: nothing after it goes before it
                delivered += 1
        return delivered

    async def _claim_next(self, subscription_id: int) -> Claimed | None:
        now = utcnow()
        async with self._writing() as session:
            repository = SubscriptionRepository(session)
            subscription = await repository.get(subscription_id, for_update=True)
            if not subscription.active:
                return None
            delivery = await repository.pending_delivery(subscription_id)
            if delivery is None:
                change, looked_at = await repository.next_change(subscription)
                if change is None:
                    if looked_at > subscription.cursor:
                        subscription.cursor = looked_at  # nothing it wants up to there
                        await session.commit()
                    return None
                delivery = Delivery(
                    uuid=str(uuid.uuid4()),
                    subscription_id=subscription_id,
                    seq=change.seq,
                    attempts=0,
                    next_attempt_at=now,
                )
                session.add(delivery)
                await session.flush()
            else:
                change = await session.get(Change, delivery.seq)
            lease = dt.timedelta(seconds=self.settings.webhook_timeout + 5) + LEASE_MARGIN
            if not await repository.claim(delivery.id, now, now + lease):
                await session.commit()
                return None
            if change is None:  # pruned past retention while it waited: nothing to send
                delivery.error = "the change is no longer kept (CHANGES_RETENTION_DAYS)"
                delivery.delivered_at = now
                delivery.claimed_until = None
                subscription.cursor = max(subscription.cursor, delivery.seq)
                await session.commit()
                return await self._claim_next(subscription_id)
            claimed = Claimed(
                delivery_id=delivery.id,
                uuid=delivery.uuid,
                url=subscription.url,
                secret=subscription.secret,
                event=f"{change.resource}.{change.kind}",
                body=event_body(change, self.settings.public_base_url or subscription.base_url),
            )
            await session.commit()
            return claimed

    async def _send(self, claimed: Claimed) -> Outcome:
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            destination = await resolve_destination(
                claimed.url,
                allow_private=self.settings.webhook_allow_private,
                resolver=self.resolver,
            )
            pinned = pinned_request(destination)
            headers = delivery_headers(
                claimed.secret,
                claimed.body,
                delivery_id=claimed.uuid,
                timestamp=int(time.time()),
                event=claimed.event,
            )
            response = await self.client.post(
                pinned.url,
                content=claimed.body,
                headers={**pinned.headers, **headers},
                extensions=pinned.extensions,
                follow_redirects=False,
                timeout=self.settings.webhook_timeout,
            )
        except WebhookAddressError as error:
            return Outcome(None, elapsed(), str(error), None)
        except httpx.HTTPError as error:
            message = f"{type(error).__name__}: {error}".rstrip(": ")
            return Outcome(None, elapsed(), message, None)
        error_text = None
        if not 200 <= response.status_code < 300:
            error_text = f"HTTP {response.status_code}"
        return Outcome(response.status_code, elapsed(), error_text, _retry_after(response))

    async def _record(self, claimed: Claimed, outcome: Outcome) -> None:
        now = utcnow()
        async with self._writing() as session:
            delivery = await session.get(Delivery, claimed.delivery_id, with_for_update=True)
            if delivery is None:  # the subscription was deleted meanwhile
                return
            subscription = await SubscriptionRepository(session).get(
                delivery.subscription_id, for_update=True
            )
            delivery.attempts += 1
            delivery.status_code = outcome.status_code
            delivery.duration_ms = outcome.duration_ms
            delivery.error = None if outcome.error is None else outcome.error[:ERROR_LIMIT]
            delivery.first_attempt_at = delivery.first_attempt_at or now
            delivery.last_attempt_at = now
            delivery.claimed_until = None
            if outcome.ok:
                delivery.delivered_at = now
                subscription.cursor = max(subscription.cursor, delivery.seq)
            else:
                retry = self.policy.next_attempt(
                    attempts=delivery.attempts,
                    first_attempt_at=delivery.first_attempt_at,
                    last_attempt_at=now,
                    draw=random.random(),  # noqa: S311 (jitter, not a secret)
                    retry_after=outcome.retry_after,
                )
                if retry is None:
                    subscription.active = False
                    subscription.disabled_reason = (
                        f"Disabled at {now.isoformat()}: delivery {delivery.uuid} (seq "
                        f"{delivery.seq}) failed {delivery.attempts} times since "
                        f"{delivery.first_attempt_at.isoformat()}; last error: {delivery.error}"
                    )
                    logger.warning("webhook subscription %s disabled", subscription.id)
                else:
                    delivery.next_attempt_at = retry
            await session.commit()


@contextlib.asynccontextmanager
async def sender_lifespan(state: AppState) -> AsyncIterator[WebhookSender]:
    """The process's WebhookSender and its one HTTP client; its loop runs when
    WEBHOOKS_ENABLED."""
    settings = state.settings
    # No idle connections: the pinned URLs pool by address (see app.webhooks.addresses).
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        limits=limits,
        timeout=settings.webhook_timeout,
        trust_env=False,
        verify=tls_context(trust_env=False),
    ) as client:
        sender = WebhookSender(
            lambda: state.sessionmaker, client, settings, writers=state.sqlite_writers
        )
        if settings.webhooks_enabled:
            sender.start()
        try:
            yield sender
        finally:
            await sender.stop()
