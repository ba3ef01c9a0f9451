"""The `packages-api` command, one module per command group:

serve.py (serve, migrate), tokens.py, search.py, transfer.py (import, export),
refresh.py, demo.py, status.py, check.py, sync.py; common.py holds what they share (settings,
database errors, a session).
"""

from __future__ import annotations

import typer

from app.cli import check, demo, refresh, serve, status, sync, transfer
from app.cli.search import search_cli
from app.cli.tokens import tokens_cli

cli = typer.Typer(help="A package directory API, compatible with djangopackages.org API v4.")
cli.command()(serve.serve)
cli.command()(serve.migrate)
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(search_cli, name="search")
cli.command("import")(transfer.import_command)
cli.command("export")(transfer.export_command)
cli.command("refresh")(refresh.refresh)
cli.command("demo")(demo.demo)
cli.command("status")(status.status)
cli.command("check")(check.check)
cli.command("sync")(sync.sync)


def main() -> None:
    cli()
