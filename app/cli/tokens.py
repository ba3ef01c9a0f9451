"""`packages-api tokens create|list|revoke`: the API tokens that writes need."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import fail, run_in_session
from app.repositories.tokens import SCOPES, TokenRepository
from app.services.tokens import TokenService

tokens_cli = typer.Typer(
    help="Create, list and revoke API tokens for writes.", add_completion=False
)


@tokens_cli.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. who or what uses it.")],
    scope: Annotated[
        str, typer.Option(help="write, or admin (also edits locked grids).")
    ] = "write",
) -> None:
    """Create a token and print it alone on stdout (it is shown only this once)."""
    if scope not in SCOPES:
        raise fail(f"--scope must be one of: {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise fail("NAME must be 1 to 100 characters")

    async def work(session: AsyncSession) -> str:
        _, plain = await TokenService(session).create(name.strip(), scope)
        return plain

    typer.echo(run_in_session(work))


@tokens_cli.command("list")
def tokens_list() -> None:
    """List tokens (never their text): name, scope, created, last used, revoked."""

    async def work(session: AsyncSession) -> list[str]:
        rows = []
        for token in await TokenRepository(session).list():
            used = token.last_used.isoformat(timespec="seconds") if token.last_used else "never"
            state = (
                f"revoked {token.revoked.isoformat(timespec='seconds')}"
                if token.revoked
                else "active"
            )
            created = token.created.isoformat(timespec="seconds")
            rows.append(f"{token.name}\t{token.scope}\t{created}\t{used}\t{state}")
        return rows

    rows = run_in_session(work, writes=False)
    typer.echo("name\tscope\tcreated\tlast_used\tstate")
    for row in rows:
        typer.echo(row)


@tokens_cli.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: the next request that uses it gets 401."""

    async def work(session: AsyncSession) -> bool:
        _token, newly = await TokenService(session).revoke(name)
        return newly

    newly = run_in_session(work)
    typer.echo(f"revoked {name}" if newly else f"{name} was already revoked", err=True)
