"""The change feed's page: events in seq order and where to read on."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.links import Links
from app.models import Change
from app.schemas.common import from_row


class ChangeOut(BaseModel):
    seq: int = Field(description="Position in the feed: strictly increasing, no gaps.")
    at: dt.datetime = Field(description="When the change was committed.")
    kind: Literal["created", "updated", "deleted"]
    resource: Literal["packages", "grids", "categories"]
    id: int = Field(description="The resource's id.")
    url: str = Field(description="Hyperlink of the resource (a 404 once it is deleted).")
    fields: list[str] = Field(description="The fields that changed, as the resource names them.")

    @classmethod
    def of(cls, change: Change, links: Links) -> ChangeOut:
        """The event, as the feed serves it and the webhooks deliver it."""
        link = {"packages": links.package, "grids": links.grid, "categories": links.category}
        return from_row(
            cls,
            change,
            id=change.resource_id,
            url=link[change.resource](change.resource_id),
            fields=list(change.fields),
        )


class ChangePage(BaseModel):
    results: list[ChangeOut]
    next: str = Field(
        description="Where to read on: the events after the last one here (the same `after` "
        "when there are none yet: poll it again later)."
    )
    newest: int | None = Field(
        None,
        description="The newest seq kept (null before the first event): a mirror notes it "
        "before a full copy, then follows the feed from there.",
    )
