"""`packages-api search rebuild`: the repair tool for the search index."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import run_in_session
from app.repositories.counts import recount
from app.repositories.search import SearchRepository

search_cli = typer.Typer(help="Maintain the search index.", add_completion=False)


@search_cli.command("rebuild")
def search_rebuild() -> None:
    """Write every package's and grid's search document again, in one transaction.

    A repair tool: database triggers keep search current in every write's own transaction.
    It is for a dump restored without the search rows, or a SQLite FTS index in doubt.
    It also recounts the tables whose counts triggers keep (`table_counts`)."""

    async def work(session: AsyncSession) -> int:
        await recount(session)
        return await SearchRepository(session).rebuild()

    count = run_in_session(work)
    typer.echo(f"search index rebuilt: {count} documents", err=True)
