"""The category resource."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.links import Links
from app.models import Category
from app.schemas.common import (
    Flag,
    LongText,
    OptionalTitle50,
    PatchBody,
    Slug50,
    Title50,
    WriteBody,
    from_row,
)

TitlePlural = OptionalTitle50


class CategoryOut(BaseModel):
    id: int
    title: str
    slug: str
    description: str
    title_plural: str
    show_pypi: bool
    created: dt.datetime
    modified: dt.datetime
    # Ours, after the original's keys.
    url: str = Field(description="This category's hyperlink.")

    @classmethod
    def of(cls, category: Category, links: Links) -> CategoryOut:
        return from_row(cls, category, url=links.category(category.id))


class CategoryIn(WriteBody):
    representation = CategoryOut
    kept_when_omitted = frozenset({"slug"})
    title: Title50
    slug: Slug50 | None = Field(default=None, description="Made from the title when omitted.")
    description: LongText = ""
    title_plural: TitlePlural = ""
    show_pypi: Flag = True


class CategoryPatch(PatchBody, fields_of=CategoryIn):
    representation = CategoryOut
