"""The `packages-api` command, one module per command group:

serve.py (serve, migrate), tokens.py, search.py, transfer.py (import, export),
refresh.py, demo.py, status.py, check.py, sync.py; common.py holds what they share (settings,
database errors, a session).

A run imports the module of the command it runs, not every command's: `packages-api tokens
list` need not load the web app, the forges or Rich's progress bars (about a second of CPU
per start). `--help` alone, or an unknown command, builds the whole command.
"""

from __future__ import annotations

import importlib
import sys

import typer

# Each command's module and attribute (a command function, or a Typer group of its own), as
# entry points name them, in the order `--help` lists them: Typer lists groups after commands.
COMMANDS: dict[str, str] = {
    "serve": "app.cli.serve:serve",
    "migrate": "app.cli.serve:migrate",
    "import": "app.cli.transfer:import_command",
    "export": "app.cli.transfer:export_command",
    "refresh": "app.cli.refresh:refresh",
    "demo": "app.cli.demo:demo",
    "status": "app.cli.status:status",
    "check": "app.cli.check:check",
    "sync": "app.cli.sync:sync",
    "tokens": "app.cli.tokens:tokens_cli",
    "search": "app.cli.search:search_cli",
}
HELP = "A package directory API, compatible with djangopackages.org API v4."


def build_cli(command: str | None = None) -> typer.Typer:
    """The command line with every command, or with `command` alone (all that one run needs:
    its usage, help and errors read as in the whole)."""
    cli = typer.Typer(help=HELP)
    # A group even with one command, so that its name stays on the command line.
    cli.callback()(_root)
    for name, entry_point in COMMANDS.items():
        if command in (None, name):
            module, attribute = entry_point.split(":")
            target = getattr(importlib.import_module(module), attribute)
            if isinstance(target, typer.Typer):
                cli.add_typer(target, name=name)
            else:
                cli.command(name)(target)
    return cli


def _root() -> None:
    pass


def main() -> None:
    # The command is the first argument that is not an option (the root's options are only
    # --help and the completion ones, which take no value).
    named = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build_cli(named if named in COMMANDS else None)()
