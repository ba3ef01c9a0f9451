"""Webhook subscriptions as the admin API reads and writes them, with their delivery log."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import Delivery, Subscription
from app.schemas.common import from_row

# resource.kind, either part may be `*`; `*` alone is everything.
EVENT_PATTERN = re.compile(r"\*|(packages|grids|categories|\*)\.(created|updated|deleted|\*)")


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where to POST: http:// or https://.",
        json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]+"},
    )
    events: list[Annotated[str, Field(pattern=f"^(?:{EVENT_PATTERN.pattern})$")]] = Field(
        default=["*"],
        min_length=1,
        max_length=20,
        description="Which events: `resource.kind` (`packages.updated`, `grids.*`, "
        "`*.deleted`) or `*` for all.",
    )
    grid: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Only this grid's events and its packages' events.",
    )
    category: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Only this category's events and its packages' events.",
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="The HMAC key; one is made (and shown once) when omitted.",
    )

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        for item in value:
            if not EVENT_PATTERN.fullmatch(item):
                raise ValueError(
                    f"{item!r} is not `resource.kind` (packages|grids|categories|*)."
                    "(created|updated|deleted|*) nor `*`"
                )
        return sorted(set(value))


class DeliveryOut(BaseModel):
    id: str = Field(description="The X-Packages-Delivery header of its attempts.")
    seq: int = Field(description="The change's seq in /api/v4/changes/.")
    attempts: int
    status_code: int | None = Field(description="The last attempt's HTTP status, if any.")
    duration_ms: int | None = Field(description="How long the last attempt took.")
    error: str | None = Field(description="Why the last attempt failed.")
    first_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None = Field(description="When it is tried again.")
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        pending = delivery.delivered_at is None
        return from_row(
            cls,
            delivery,
            id=delivery.uuid,
            next_attempt_at=delivery.next_attempt_at if pending else None,
        )


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    grid: int | None
    category: int | None
    active: bool
    disabled_reason: str | None
    cursor: int = Field(description="The seq of the last change it is done with.")
    created: dt.datetime
    secret: str | None = Field(
        default=None, description="Only in the answer to its creation: keep it then."
    )
    deliveries: list[DeliveryOut] | None = Field(
        default=None, description="The detail's delivery log, newest first."
    )

    @classmethod
    def of(
        cls,
        subscription: Subscription,
        *,
        secret: str | None = None,
        deliveries: list[Delivery] | None = None,
    ) -> SubscriptionOut:
        return from_row(
            cls,
            subscription,
            events=list(subscription.events),
            grid=subscription.grid_id,
            category=subscription.category_id,
            secret=secret,
            deliveries=None
            if deliveries is None
            else [DeliveryOut.of(item) for item in deliveries],
        )


class SubscriptionList(BaseModel):
    results: list[SubscriptionOut]
