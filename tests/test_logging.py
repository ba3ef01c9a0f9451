"""Logs: one JSON line per request with its id, the id on every line the request writes,
readable text on a terminal, and no secret (tokens, database passwords) on any line."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.observability.logs import (
    _MAY_HOLD_SECRET,
    _REDACTIONS,
    JsonFormatter,
    TextFormatter,
    may_hold_secret,
    redact,
    wants_json,
)
from tests.conftest import Databases
from tests.test_cli import _stop, given_tokens, serving

TOKEN = "pkapi_" + "s3cr3tT0kenV4lue" * 3
PASSWORD = "hunter2-Secret"


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def log_lines(captured: str) -> list[dict[str, Any]]:
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def access_lines(captured: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(captured) if line["logger"] == "packages_api.access"]


async def test_each_request_is_one_json_line_with_its_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = await client.get("/api/v4/packages/?limit=5", headers={"X-Request-ID": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"
    (line,) = access_lines(capsys.readouterr().err)
    assert line["request_id"] == "abc-123"
    assert line["level"] == "INFO"
    assert {k: line[k] for k in ("method", "path", "route", "status")} == {
        "method": "GET",
        "path": "/api/v4/packages/",
        "route": "/api/v4/packages/",
        "status": 200,
    }
    assert isinstance(line["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["ts"])


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "<script>", "", "ünïcode"])
async def test_an_unusable_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], sent: str
) -> None:
    capsys.readouterr()
    response = await client.get("/api/v4/", headers={"X-Request-ID": sent.encode()})

    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = access_lines(capsys.readouterr().err)
    assert line["request_id"] == request_id


async def test_requests_without_an_id_get_distinct_ones(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_probes_are_logged_only_at_debug(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    await client.get("/healthz")
    await client.get("/metrics")
    assert access_lines(capsys.readouterr().err) == []


async def test_lines_written_while_serving_a_request_carry_its_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An unreachable PostgreSQL: app.errors logs a warning before answering 503.
    url = f"postgresql+asyncpg://app:{PASSWORD}@127.0.0.1:1/nothing"
    app = create_app(Settings(database_url=url))
    capsys.readouterr()
    async with app.router.lifespan_context(app), _client(app) as client:
        response = await client.get("/api/v4/packages/")

    assert response.status_code == 503
    output = capsys.readouterr().err
    request_id = response.headers["x-request-id"]
    (warning,) = [line for line in log_lines(output) if line["logger"] == "app.errors"]
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == request_id
    assert access_lines(output)[0]["request_id"] == request_id
    assert PASSWORD not in output


async def test_an_unhandled_error_is_our_500_logged_once_with_its_id_and_no_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"))

    async def fail() -> None:
        # What a careless library's error can look like: a DSN and a header in the message.
        raise RuntimeError(
            f"cannot reach postgresql://app:{PASSWORD}@db:5432/packages with "
            f"{{'authorization': 'Bearer {TOKEN}'}}"
        )

    app.add_api_route("/fail", fail)
    capsys.readouterr()
    async with app.router.lifespan_context(app), _client(app) as client:
        response = await client.get("/fail")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["x-content-type-options"] == "nosniff"
    # Never kept by a shared cache: RequestMiddleware's own answer carries the policy.
    assert response.headers["cache-control"] == "private, no-store"
    output = capsys.readouterr().err
    errors = [line for line in log_lines(output) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == response.headers["x-request-id"]
    assert "RuntimeError" in errors[0]["exc"]
    assert "postgresql://app:***@db:5432/packages" in errors[0]["exc"]
    assert access_lines(output)[0]["status"] == 500
    assert PASSWORD not in output
    assert TOKEN not in output


async def test_a_served_session_logs_no_token_and_no_password(
    databases: Databases, dialect: str, tmp_path: Path
) -> None:
    url = await databases.fresh()
    if dialect == "postgresql":
        # The test server trusts local connections, so any password works: and must not show.
        url = make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    [token] = await given_tokens(url, ("ci", "write"))
    assert token.startswith("pkapi_")

    async with serving(url, tmp_path, LOG_LEVEL="debug") as server:
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            headers = {"Authorization": f"Bearer {token}"}
            created = await client.post(
                "/api/v4/categories/", json={"title": "Apps"}, headers=headers
            )
            refused = await client.post(
                "/api/v4/categories/",
                json={"title": "Other"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            await client.get("/readyz")
        code = await _stop(server)

    assert code == 0
    assert created.status_code == 201, created.text
    assert refused.status_code == 401
    output = server.output()
    assert access_lines(output), output[-2000:]
    for secret in (token, TOKEN, PASSWORD):
        assert secret not in output


def test_refresher_events_carry_the_package_slug(capsys: pytest.CaptureFixture[str]) -> None:
    create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    capsys.readouterr()
    logging.getLogger("packages_api.refresh").warning(
        "refresh failed", extra={"package": "django-shop", "forge": "github", "status": 502}
    )

    (line,) = log_lines(capsys.readouterr().err)
    assert line["logger"] == "packages_api.refresh"
    assert line["message"] == "refresh failed"
    assert (line["package"], line["forge"], line["status"]) == ("django-shop", "github", 502)
    assert line["request_id"] is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_on_a_terminal_and_json_elsewhere() -> None:
    assert wants_json("auto", _Terminal()) is False
    assert wants_json("auto", io.StringIO()) is True
    assert wants_json("json", _Terminal()) is True
    assert wants_json("text", io.StringIO()) is False

    record = logging.LogRecord(
        "packages_api.refresh", logging.INFO, __file__, 1, "refreshed %s", ("x",), None
    )
    record.request_id = "req-1"
    record.package = "django-shop"
    text = TextFormatter().format(record)
    assert "INFO" in text
    assert "[req-1] refreshed x package=django-shop" in text
    assert json.loads(JsonFormatter().format(record))["package"] == "django-shop"


def test_an_exception_renders_in_both_formats() -> None:
    try:
        raise ValueError(f"bad DSN postgresql+asyncpg://u:{PASSWORD}@h/db")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "ValueError" in line["exc"]
    assert PASSWORD not in line["exc"]
    text = TextFormatter().format(record)
    assert "Traceback" in text
    assert PASSWORD not in text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            f"postgresql+asyncpg://app:{PASSWORD}@db:5432/x",
            "postgresql+asyncpg://app:***@db:5432/x",
        ),
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer ***"),
        (f"Authorization: Token {TOKEN}", "Authorization: Token ***"),
        (f"{{'authorization': 'Bearer {TOKEN}'}}", "{'authorization': 'Bearer ***'}"),
        (f"[(b'authorization', b'Bearer {TOKEN}')]", "[(b'authorization', b'Bearer ***')]"),
        (f"token {TOKEN} was refused", "token *** was refused"),
        ("https://api.example/?access_token=abcdef123456&x=1", "access_token=***&x=1"),
        (f"DATABASE_URL=x password={PASSWORD} host=db", "password=*** host=db"),
        ("used ghp_" + "a" * 36 + " for github", "used *** for github"),
        ("glpat-" + "b" * 20, "***"),
    ],
)
def test_secrets_are_redacted(text: str, kept: str) -> None:
    redacted = redact(text)
    assert kept in redacted
    assert PASSWORD not in redacted
    assert TOKEN not in redacted
    assert "a" * 36 not in redacted


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "x",
                " ",
                "://",
                "u:p@",
                "Bearer ",
                "TOKEN ",
                "basic ",
                "Authorization: ",
                "password=",
                "PWD=",
                "secret=",
                "access_token=",
                "pkapi_",
                "ghs_",
                "github_pat_",
                "glpat-",
                "abcdefgh12345678",
                "'",
                "@",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_the_quick_check_skips_only_texts_no_pattern_matches(text: str) -> None:
    """redact() skips its substitutions when a first search finds none of what they need:
    it must answer exactly what running every substitution answers."""
    every = text
    for pattern, replacement in _REDACTIONS:
        every = pattern.sub(replacement, every)
    assert redact(text) == every


# Pieces of text around what the patterns look for, in any case, with characters that
# case-insensitive matching treats specially ("\u017f" is an "s", "\u212a" a "k") and
# the ones JSON escapes.
_FRAGMENTS = st.sampled_from(
    [
        "x",
        " ",
        "://",
        "u:p@",
        "bearer ",
        "token",
        "basic",
        "authorization",
        "passw",
        "pwd=",
        "secret=",
        "pkapi_",
        "ghp_",
        "gho_",
        "github_pat_",
        "glpat-",
        "/api/v4/",
        "abcdefgh12345678",
        "\u017f",
        "\u212a",
        "\u0130",
        "\u00e9",
        '"',
        "\\",
        "\n",
        "=",
    ]
)
_TEXTS = st.lists(
    st.tuples(_FRAGMENTS, st.booleans()).map(lambda f: f[0].upper() if f[1] else f[0]),
    max_size=8,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_the_ascii_check_agrees_with_the_patterns_prefilter(text: str) -> None:
    assert may_hold_secret(text) == (_MAY_HOLD_SECRET.search(text) is not None)


def _line_as_redacted_field_by_field(record: logging.LogRecord) -> str:
    """The JSON line as the formatter wrote it before it checked all texts at once: each value
    redacted on its own, every time."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        return redact(str(value))

    line: dict[str, Any] = {
        "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": redact(record.getMessage()),
        "request_id": getattr(record, "request_id", None),
    }
    own = vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    for key, value in vars(record).items():
        if key not in own and key not in {"request_id", "message"}:
            line.setdefault(key, scrub(value))
    return json.dumps(line, ensure_ascii=False, default=str)


@settings(max_examples=300, deadline=None)
@given(
    message=_TEXTS,
    extras=st.dictionaries(
        st.sampled_from(["path", "route", "client", "token_id", "status", "detail", "items"]),
        _TEXTS
        | st.integers()
        | st.none()
        | st.lists(_TEXTS, max_size=2)
        | st.just(dt.date(2026, 1, 2)),
    ),
    created=st.floats(min_value=0, max_value=4e9),
    request_id=st.none() | st.just("0123abcd"),
)
def test_a_json_line_is_what_redacting_each_value_gives(
    message: str, extras: dict[str, Any], created: float, request_id: str | None
) -> None:
    record = logging.LogRecord("packages_api.access", logging.INFO, "f", 1, message, None, None)
    record.__dict__.update(extras)
    record.created = created
    record.request_id = request_id
    assert JsonFormatter().format(record) == _line_as_redacted_field_by_field(record)
