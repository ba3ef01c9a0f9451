"""The list of a titled resource (categories, grids): ordered by id or title, or listed since."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Generic

from sqlalchemy import select

from app.pagination import ListPage, PageRequest
from app.repositories.base import Model, Repository, fetch_page, listed_since
from app.repositories.counts import table_count


class TitledRepository(Repository, Generic[Model]):
    """What a category's and a grid's repository share; each names its model and table."""

    model: ClassVar[type[Any]]
    table_name: ClassVar[str]
    ordering_fields: ClassVar[dict[str, Any]]
    # Loader options of a listed row, and whether a page past the first reads its ids first
    # (worth it where a row joins more rows: a grid its members).
    list_options: ClassVar[tuple[Any, ...]] = ()
    ids_first: ClassVar[bool] = False

    async def list_page(
        self,
        page: PageRequest,
        *,
        ordering: str | None = None,
        modified_since: dt.datetime | None = None,
    ) -> ListPage[Model]:
        stmt, order = listed_since(
            select(self.model), self.model, ordering, self.ordering_fields, modified_since
        )
        # The whole list's count is kept by triggers; a filtered one is counted.
        total = await table_count(self.session, self.table_name) if modified_since is None else None
        return await fetch_page(
            self.session,
            stmt,
            page,
            order,
            *self.list_options,
            resource=self.table_name,
            total=total,
            ids_first=self.model.id if self.ids_first else None,
        )
