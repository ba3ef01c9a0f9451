"""`packages-api check requirements.txt --django 5.2`: the lookup's answer as a table, for
people and CI pipelines. Against this directory's database, or a remote one (`--api`).

Exit codes: 0 nothing found against the requirements; 1 something is deprecated, archived
or incompatible; 2 the file, the versions or the service could not be used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import load_settings, run_in_session
from app.errors import AppError
from app.hosts import host_of
from app.links import Links
from app.schemas.insights import Insight
from app.services.lookup import answer, parse_lookup, wanted_version

# What fails a check: a package that should not be used, or that does not fit.
FAILING_STATUSES = frozenset({"deprecated", "archived"})
REMOTE_TIMEOUT = 60.0
USAGE_ERROR = 2


def check(
    requirements: Annotated[
        Path, typer.Argument(help="A requirements.txt; `-` reads standard input.")
    ],
    django: Annotated[
        str | None, typer.Option(help="The Django version to check against, e.g. 5.2.")
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="The Python version to check against, e.g. 3.13.")
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            help="Ask this packages-api service (e.g. https://packages.example.org) instead "
            "of the local database."
        ),
    ] = None,
) -> None:
    """Check every requirement: is it known, maintained, and does it support this Django
    and Python? Exits 1 when one is deprecated, archived or incompatible."""
    content = _read(requirements)
    body = {"requirements": content, "django": django, "python": python}
    answered = _remote(api, body) if api else _local(body)
    findings = render(answered, Console(), django=django, python=python)
    raise typer.Exit(code=1 if findings else 0)


def _read(path: Path) -> str:
    try:
        if str(path) == "-":
            return typer.get_text_stream("stdin").read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"error: {path}: {error}", err=True)
        raise typer.Exit(code=USAGE_ERROR) from None


def _refused(detail: str, errors: list[dict[str, Any]]) -> typer.Exit:
    typer.echo(f"error: {detail}" if not errors else "error: the check cannot start:", err=True)
    for error in errors:
        typer.echo(f"  {error['field']}: {error['message']}", err=True)
    return typer.Exit(code=USAGE_ERROR)


def _local(body: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings()
    try:
        django = wanted_version(body["django"], "django")
        python = wanted_version(body["python"], "python")
        asked = parse_lookup(
            None,
            body["requirements"],
            forge_hosts=settings.forge_hosts,
            pypi_hosts=frozenset({host_of(settings.pypi_url)}),
        )
    except AppError as error:
        raise _refused(error.detail, [e.model_dump() for e in error.errors]) from None
    base = settings.public_base_url or f"http://localhost:{settings.port}"
    links = Links(base, Insight.of(settings))

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await answer(
            session, asked, links, django=django, python=python, forge_hosts=settings.forge_hosts
        )

    return run_in_session(work, writes=False)


def _remote(api: str, body: dict[str, Any]) -> dict[str, Any]:
    base = api.rstrip("/").removesuffix("/api/v4")
    sent = {key: value for key, value in body.items() if value is not None}
    try:
        response = httpx.post(f"{base}/api/v4/lookup/", json=sent, timeout=REMOTE_TIMEOUT)
    except httpx.HTTPError as error:
        typer.echo(f"error: {base}: {error}", err=True)
        raise typer.Exit(code=USAGE_ERROR) from None
    try:
        payload: dict[str, Any] = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200:
        detail = payload.get("detail") or f"{response.status_code} {response.reason_phrase}"
        raise _refused(f"{base}: {detail}", payload.get("errors") or [])
    return payload


def render(
    answered: dict[str, Any], console: Console, *, django: str | None, python: str | None
) -> int:
    """The table, then the skipped lines; returns how many results fail the check."""
    against = ", ".join(
        f"{what} {version}" for what, version in (("Django", django), ("Python", python)) if version
    )
    table = Table(title=f"Checked against {against}" if against else None)
    for column in ("requirement", "package", "version", "status", "compatible", "reasons"):
        table.add_column(column, overflow="fold")
    findings = 0
    for result in answered["results"]:
        package = result["package"]
        health = package["maintenance"] if package else None
        status = health["status"] if health else "not found"
        failing = result["compatible"] == "no" or status in FAILING_STATUSES
        findings += failing
        reasons = list(result["reasons"])
        if health and status != "active":
            reasons += health["reasons"]
        if package and package["deprecated_by"]:
            reasons.append(f"replacement: {package['deprecated_by']}")
        table.add_row(
            result["query"],
            package["title"] if package else "-",
            (package["pypi_version"] or "-") if package else "-",
            Text(status, style="red" if status in FAILING_STATUSES else ""),
            Text(result["compatible"], style="red" if result["compatible"] == "no" else ""),
            "\n".join(reasons),
            style="bold" if failing else None,
        )
    console.print(table)
    for skipped in answered["skipped"]:
        console.print(f"skipped line {skipped['line']}: {skipped['text']} ({skipped['reason']})")
    total = len(answered["results"])
    console.print(f"{findings} of {total} requirements deprecated, archived or incompatible")
    return findings
