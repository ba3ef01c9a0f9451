"""The `packages-api` command: serve, migrate, and manage API tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate as migrations
from app.config import get_settings
from app.db import create_engine, create_sessionmaker
from app.errors import AppError
from app.repositories.tokens import SCOPES, TokenRepository

cli = typer.Typer(help="A package directory API, compatible with djangopackages.org API v4.")
tokens_cli = typer.Typer(help="Create, list and revoke API tokens for writes.")
cli.add_typer(tokens_cli, name="tokens")

T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a migrated database: commit on success."""
    settings = get_settings()
    if settings.migrate_on_start:
        migrations.upgrade(settings)

    async def go() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except AppError as error:
        raise _fail(error.detail) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [env HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env PORT].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [env WORKERS].")] = None,
    migrate: Annotated[
        bool, typer.Option(help="Apply migrations before serving [env MIGRATE_ON_START].")
    ] = True,
) -> None:
    """Serve the API (http://127.0.0.1:8000 by default), migrating the database first."""
    settings = get_settings()
    if migrate and settings.migrate_on_start:
        migrations.upgrade(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        # Forwarded headers are ours to judge (TRUSTED_PROXIES), in one place: app.links.
        proxy_headers=False,
        server_header=False,
    )


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations up to REVISION (default: the newest)."""
    migrations.upgrade(get_settings(), revision)
    typer.echo(f"database at {revision}", err=True)


@tokens_cli.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. who or what uses it.")],
    scope: Annotated[
        str, typer.Option(help="write, or admin (also edits locked grids).")
    ] = "write",
) -> None:
    """Create a token and print it alone on stdout (it is shown only this once)."""
    if scope not in SCOPES:
        raise _fail(f"--scope must be one of: {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise _fail("NAME must be 1 to 100 characters")

    async def work(session: AsyncSession) -> str:
        _, plain = await TokenRepository(session).create(name.strip(), scope)
        return plain

    typer.echo(_run_in_session(work))


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

    rows = _run_in_session(work)
    typer.echo("name\tscope\tcreated\tlast_used\tstate")
    for row in rows:
        typer.echo(row)


@tokens_cli.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: the next request that uses it gets 401."""

    async def work(session: AsyncSession) -> None:
        await TokenRepository(session).revoke(name)

    _run_in_session(work)
    typer.echo(f"revoked {name}", err=True)


def main() -> None:
    cli()
