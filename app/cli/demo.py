"""`packages-api demo`, and what `packages-api serve` does about an empty directory."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from app import migrate as migrations
from app.cli.common import database, load_settings
from app.cli.transfer import EXIT_REFUSED, summary_text
from app.config import Settings
from app.demo.load import DemoLoad, DirectorySize, Outcome, load_demo, read_directory_size
from app.transfer.format import FormatError

logger = logging.getLogger("packages_api.demo")

# What `serve` says, once, when it is about to serve an empty directory.
EMPTY_DIRECTORY_HINT = (
    "the directory is empty: load a demo of well-known Django packages with "
    "`packages-api demo` (or serve with `packages-api serve --demo`), or import a real "
    "directory with `packages-api import https://djangopackages.org/api/v4/`"
)


def _created(result: DemoLoad) -> DirectorySize:
    assert result.summary is not None
    counts = result.summary.counts
    return DirectorySize(
        counts["packages"].created, counts["categories"].created, counts["grids"].created
    )


def _load(settings: Settings, *, force: bool = False, only_if_empty: bool = False) -> DemoLoad:
    try:
        return asyncio.run(load_demo(settings, force=force, only_if_empty=only_if_empty))
    except FormatError as error:  # the file itself: an installation without it, say
        typer.echo(f"error: the demo directory: {error}", err=True)
        raise typer.Exit(1) from None


def demo(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also into a database that holds another directory: an upsert by id, "
            "as `import` does (nothing is deleted; conflicting records are refused).",
        ),
    ] = False,
) -> None:
    """Load the demo directory: well-known Django packages, their categories, and
    comparison grids with features and cells.

    Into an empty database; run again, it changes nothing. A database that holds
    another directory is left alone unless --force.

    Figures (stars, forks, commits) start as never fetched: `refresh` fetches them.

    Exit status: 0 loaded or already there; 1 not loaded (another directory, or an
    error); 2 loaded with --force, but some records were refused.
    """
    settings = load_settings()
    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        result = _load(settings, force=force)
    summary = result.summary
    assert summary is not None
    differing = sum(counts.updated for counts in summary.counts.values())
    if result.outcome is Outcome.ALREADY:
        typer.echo("the demo directory is already loaded: nothing changed", err=True)
    elif result.outcome is Outcome.CHANGED:
        typer.echo(
            f"the demo directory is loaded, and {differing} of its records "
            f"{'has' if differing == 1 else 'have'} changed since (refreshed figures, "
            "edits): nothing changed "
            "(`packages-api demo --force` writes the demo's values back)",
            err=True,
        )
    elif result.outcome is Outcome.OTHER:
        typer.echo(
            f"error: this database holds another directory ({result.held}); the demo was "
            "not loaded and nothing changed.\n"
            "Load it into a database of its own, e.g.\n"
            "  DATABASE_URL=sqlite+aiosqlite:///./demo.db packages-api demo\n"
            "or into this one with `packages-api demo --force` (loaded as `import` loads "
            "a file: nothing is deleted, and records that conflict are refused).",
            err=True,
        )
        raise typer.Exit(1)
    else:
        typer.echo(summary_text(summary))
        if summary.refused:
            typer.echo(f"committed; {len(summary.refused)} record(s) refused (see above)")
            raise typer.Exit(EXIT_REFUSED)
        typer.echo(
            f"committed: the demo directory is loaded ({_created(result)} created); "
            "serve it with `packages-api serve`"
        )


def prepare_directory(settings: Settings, *, demo: bool, migrated: bool) -> None:
    """Before `serve` starts: with `--demo`, load the demo into an empty directory; without,
    say how to fill an empty one. One log line either way (none for a directory that has
    something and no --demo). Without migrations (--no-migrate) and without --demo, the
    database is not touched at all: serving must not wait for it."""
    if demo:
        result = _load(settings, only_if_empty=True)
        if result.outcome is Outcome.NOT_EMPTY:
            logger.info(
                "--demo: the database already holds a directory (%s); the demo was not loaded",
                result.held,
            )
        elif result.outcome is Outcome.LOADED:
            assert result.summary is not None
            if result.summary.refused:
                logger.warning(
                    "loaded the demo directory (%s), but %d record(s) were refused: "
                    "`packages-api demo --force` lists them",
                    _created(result),
                    len(result.summary.refused),
                )
            else:
                logger.info("loaded the demo directory: %s", _created(result))
        return
    if migrated and asyncio.run(read_directory_size(settings)).is_empty:
        logger.info(EMPTY_DIRECTORY_HINT)
