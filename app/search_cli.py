"""`packages-api search rebuild`: write every search document again (a repair tool).

Freshness never needs it: database triggers update the search data in the transaction of
every write. It is for a database restored without its search tables' contents, or a
SQLite FTS index suspected of damage.
"""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.search import SearchRepository

search_cli = typer.Typer(help="Maintain the search index.")


@search_cli.command("rebuild")
def rebuild() -> None:
    """Rebuild the search documents of every package and grid, in one transaction."""
    # Imported here: app.cli registers this command group, so it imports this module first.
    from app.cli import _run_in_session

    async def work(session: AsyncSession) -> int:
        return await SearchRepository(session).rebuild()

    count = _run_in_session(work)
    typer.echo(f"search index rebuilt: {count} documents", err=True)
