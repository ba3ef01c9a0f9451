"""Path and query parameters several routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

Key = Annotated[str, Path(description="A numeric id or a slug.", max_length=200)]
LimitParam = Annotated[
    str | None,
    Query(alias="limit", description="Page size (default 20, at most MAX_PAGE_SIZE)."),
]
OffsetParam = Annotated[str | None, Query(alias="offset", description="Results to skip.")]
