"""Structured logs: one JSON object per line (or readable text on a terminal), each carrying
the request id of the request that wrote it, with secrets scrubbed from every line.

`configure_logging` installs one handler on the root logger and routes uvicorn's loggers
through it, so the service logs the same way under `packages-api serve`, a bare `uvicorn`
or gunicorn. Any `extra={...}` fields a caller passes (method, route, status, package...)
become keys of the JSON object, or `key=value` pairs in text.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import re
import sys
from contextvars import ContextVar
from typing import Any, TextIO

from app.config import Settings

# The id of the request being served, for every log line written while serving it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "color_message"}
)
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")

# What must never reach a log line, whatever wrote it: credentials in URLs (DATABASE_URL),
# Authorization values, our API tokens and the forges' token formats.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^@/\s'\"]+@"), r"\g<keep>***@"),
    (
        re.compile(r"(?i)(?P<keep>\b(?:bearer|token|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
        r"\g<keep>***",
    ),
    (
        re.compile(
            r"(?i)(?P<keep>authorization['\"]?\s*[:=,]\s*(?:b?['\"])?(?:(?:bearer|token|basic)\s+)?)"
            r"[^'\"\s,)}\]]+"
        ),
        r"\g<keep>***",
    ),
    (
        re.compile(r"(?i)(?P<keep>\b(?:password|passwd|pwd|secret|access_token|token)=)[^&\s'\"]+"),
        r"\g<keep>***",
    ),
    (
        re.compile(r"\b(?:pkapi_|gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_\-]{8,}"),
        "***",
    ),
)


# What every pattern above needs somewhere in the text: most lines (an access line's path,
# route and client) have none of it, and one search is cheaper than five substitutions.
_MAY_HOLD_SECRET = re.compile(
    r"(?i)://|bearer|token|basic|authorization|passw|pwd|secret|pkapi_|gh[pousr]_|github_pat_|glpat-"
)


# _MAY_HOLD_SECRET's alternatives, for ASCII text: there, its case-insensitive match is a
# substring of the lowered text, and str's `in` finds one many times faster than the regex,
# which tries every alternative at every position (2 us for a route, 29 for a whole line;
# the access line, 40% of a cached answer's CPU, ran it on each of its values).
_SECRET_MARKERS = (
    "://",
    "bearer",
    "token",
    "basic",
    "authorization",
    "passw",
    "pwd",
    "secret",
    "pkapi_",
    *(f"gh{kind}_" for kind in "pousr"),
    "github_pat_",
    "glpat-",
)


def may_hold_secret(text: str) -> bool:
    """Whether any pattern of _REDACTIONS could match in `text` (False: none can)."""
    if text.isascii():
        lowered = text.lower()
        return any(marker in lowered for marker in _SECRET_MARKERS)
    # Beyond ASCII, case-insensitive matching has its own rules ("\u017f" is an "s"):
    # the regex, which applies them as the patterns do.
    return _MAY_HOLD_SECRET.search(text) is not None


def redact(text: str) -> str:
    """`text` with every credential we recognise replaced by `***`."""
    if not may_hold_secret(text):
        return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_FIELDS and not key.startswith("_")
    }


def _plain(value: Any) -> Any:
    """An extra as a log line holds it: JSON's scalars as they are, anything else as text
    (so that it is redacted as text)."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    return str(value)


def _stamp_request_ids() -> None:
    """Every record gets the current request's id when it is created, whatever handler
    (ours, a test's) reads it later."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# Keys of a JSON line that are never redacted: the formatter's own.
_UNREDACTED = frozenset({"ts", "level", "logger", "request_id"})


# json.dumps with options builds an encoder at every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    moment = dt.datetime.fromtimestamp(second, dt.UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond (as isoformat(timespec="milliseconds")); the
    seconds are formatted once per second, not once per line."""
    # Rounded to the microsecond first (half to even), as datetime.fromtimestamp rounds.
    fraction, whole = math.modf(created)
    second, microseconds = int(whole), round(fraction * 1e6)
    if microseconds >= 1_000_000:
        second, microseconds = second + 1, microseconds - 1_000_000
    elif microseconds < 0:
        second, microseconds = second - 1, microseconds + 1_000_000
    return f"{_utc_second(second)}.{microseconds // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in _extras(record).items():
            line.setdefault(key, _plain(value))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        texts = {key: v for key, v in line.items() if isinstance(v, str) and key not in _UNREDACTED}
        # One check of all the texts instead of one each: no pattern needs a line break, so
        # the joined texts hold what one needs exactly when one of them does.
        if may_hold_secret("\n".join(texts.values())):
            line.update({key: redact(text) for key, text in texts.items()})
        return _ENCODER.encode(line)


class TextFormatter(logging.Formatter):
    """For people at a terminal: time, level, logger, [request id], message, key=value."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        request_id = getattr(record, "request_id", None)
        parts = [when, f"{record.levelname:<7}", record.name]
        if request_id:
            parts.append(f"[{request_id}]")
        message = record.getMessage()
        parts.append(message)
        # Extras the message already says (an access line's method, path, status) are not
        # repeated; the rest (route, client, package...) follow as key=value.
        extras = {k: v for k, v in _extras(record).items() if str(v) not in message}
        if extras:
            parts.append(" ".join(f"{key}={value}" for key, value in extras.items()))
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return redact(text)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time, not the one present at setup (so a
    test runner's capture, or a redirected stderr, still receives the lines)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def wants_json(log_format: str, stream: TextIO) -> bool:
    if log_format == "auto":
        isatty = getattr(stream, "isatty", None)
        return not (callable(isatty) and isatty())
    return log_format == "json"


def configure_logging(settings: Settings) -> None:
    """Route every log record of the process through one handler of ours. Idempotent: the
    app factory and `serve` both call it, in each worker process."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        root.addHandler(handler)
    _stamp_request_ids()
    # What a record would gather that no line of ours shows: the caller's file and line
    # (a walk up the stack), thread and process names. The logging HOWTO's "Optimization"
    # section turns them off this way; they were a sixth of an access line's cost.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler.setFormatter(
        JsonFormatter() if wants_json(settings.log_format, sys.stderr) else TextFormatter()
    )
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    root.setLevel(level)
    # httpx logs every request at INFO: thousands of lines per refresh run, each already
    # counted in the metrics and, when it matters, logged by app.forges.http. Alembic logs
    # its dialect on every command that migrates first. Debug shows them all.
    quiet = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for chatty in ("httpx", "httpcore", "alembic"):
        logging.getLogger(chatty).setLevel(quiet)
    # uvicorn's own handlers would print the same events again in their format; its access
    # log would double ours (app.observability.requests writes one line per request).
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
