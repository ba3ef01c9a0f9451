"""A search hit: the row fields of djangopackages' SearchV3, plus our id and hyperlink.

In the original (searchv3/models.py, apiv4/serializers.py SearchV3Serializer) `participants`
is a text column holding a comma-separated list of logins, `category` the category's title
(empty for grids), `last_committed`/`last_released` nullable datetimes, and `weight` and
`score` integers; `item_type` is "package" or "grid".
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

ItemType = Literal["package", "grid"]


class SearchResult(BaseModel):
    item_type: ItemType
    title: str
    slug: str
    description: str = Field(description="A package's repo_description, a grid's description.")
    category: str = Field(description="The package's category title; empty for grids.")
    repo_watchers: int
    repo_forks: int
    score: int
    weight: int = Field(
        description="Popularity, 0-100: djangopackages' rules (see docs/search.md, Ranking)."
    )
    participants: str = Field(description="Comma-separated contributor logins.")
    last_committed: dt.datetime | None
    last_released: dt.datetime | None
    created: dt.datetime
    modified: dt.datetime
    # Ours, after the original's keys (SearchV3 rows carry no id).
    id: int = Field(description="The package's or grid's id.")
    url: str = Field(description="The package's or grid's hyperlink.")
