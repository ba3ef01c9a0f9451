"""Our log formatters (app.observability.logs) against a structlog equivalent
(bench/logs_structlog.py): µs per line and lines of code, side by side.

    uv run --with structlog python bench/logs.py [--lines 20000] [--rounds 5]

Both format the same records, the kinds the service writes: an access line with its
extras, a refresher warning with a stack, a line holding a DSN to redact, an error with a traceback.
First checks that both write the same text, byte for byte, for every record in both formats;
then formats each record `--lines` times in each format, best of `--rounds`. Prints
figures; asserts nothing but the sameness it measures under.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.observability import logs as ours

try:
    from bench import logs_structlog as candidate
except ImportError:
    sys.exit("structlog is not installed: uv run --with structlog python bench/logs.py")

# What the structlog candidate replaces in app/observability/logs.py.
REPLACED = {"_RECORD_FIELDS", "_extras", "_scrub", "JsonFormatter", "TextFormatter"}


def _records() -> list[logging.LogRecord]:
    access = logging.LogRecord(
        "packages_api.access", logging.INFO, __file__, 1, "GET /api/v4/packages/ 200", None, None
    )
    access.__dict__.update(
        request_id="0f3c2a9d6e5b4c7a8f1e2d3c4b5a6978",
        method="GET",
        path="/api/v4/packages/",
        route="/api/v4/packages/",
        status=200,
        duration_ms=3.217,
        client="203.0.113.7",
    )
    warning = logging.LogRecord(
        "packages_api.refresh", logging.WARNING, __file__, 1, "refresh failed", None, None
    )
    warning.__dict__.update(request_id=None, package="django-shop", forge="github", status=502)
    warning.stack_info = 'Stack (most recent call last):\n  File "app/refresh/refresher.py"'
    secret = logging.LogRecord(
        "app.errors",
        logging.WARNING,
        __file__,
        1,
        "database unavailable: %s",
        ("cannot reach postgresql://app:hunter2@db:5432/packages",),
        None,
    )
    secret.request_id = "req-1"
    try:
        raise RuntimeError("Authorization: Bearer pkapi_s3cr3tT0kenV4lue")
    except RuntimeError:
        failed = logging.LogRecord(
            "packages_api.request", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    failed.request_id = "req-2"
    return [access, warning, secret, failed]


def _per_line(
    format_: Callable[[logging.LogRecord], str], record: logging.LogRecord, lines: int, rounds: int
) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(lines):
            format_(record)
        best = min(best, time.perf_counter() - start)
    return best / lines * 1e6


def _code_lines(path: Path, only: set[str] | None = None) -> int:
    """Lines holding code (no blank line, comment or docstring), of the whole module or of
    the top-level definitions named in `only`."""
    source = path.read_text()
    tree = ast.parse(source)
    docstrings = {
        node.body[0].lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and node.lineno in docstrings:
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    wanted: set[int] | None = None
    if only is not None:
        wanted = set()
        for node in tree.body:
            names = {getattr(node, "name", None)} | {
                target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)
            }
            if names & only:
                wanted.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    text = source.splitlines()
    return sum(
        1
        for number, line in enumerate(text, 1)
        if line.strip()
        and not line.strip().startswith("#")
        and number not in skipped
        and (wanted is None or number in wanted)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    pairs = {
        "json": (ours.JsonFormatter(), candidate.json_formatter()),
        "text": (ours.TextFormatter(), candidate.text_formatter()),
    }
    records = _records()
    for kind, (mine, theirs) in pairs.items():
        for record in records:
            a, b = mine.format(record), theirs.format(record)
            if a != b:
                sys.exit(f"{kind} differs for {record.name}:\n ours:      {a!r}\n structlog: {b!r}")
    print("same output, byte for byte, for every record in both formats")

    print(f"\n{'µs per line':<34}{'ours':>8}{'structlog':>11}{'ratio':>8}")
    for kind, (mine, theirs) in pairs.items():
        for record in records:
            a = _per_line(mine.format, record, args.lines, args.rounds)
            b = _per_line(theirs.format, record, args.lines, args.rounds)
            print(f"{kind + ', ' + record.name:<34}{a:>8.2f}{b:>11.2f}{b / a:>7.2f}x")

    logs = Path(ours.__file__)
    whole, replaced = _code_lines(logs), _code_lines(logs, REPLACED)
    instead = _code_lines(Path(candidate.__file__))
    print(f"\n{'lines of code':<34}{'ours':>8}{'structlog':>11}")
    print(f"{'the formatters':<34}{replaced:>8}{instead:>11}")
    print(f"{'app/observability/logs.py':<34}{whole:>8}{whole - replaced + instead:>11}")


if __name__ == "__main__":
    main()
