"""The structlog candidate for app.observability.logs' two formatters, measured by
bench/logs.py: the same lines, byte for byte, through structlog's stdlib bridge
(`ProcessorFormatter`, which formats the records every library writes through `logging`).

Only the formatters would change: structlog has no redaction (ours stays), the request id is
stamped when a record is made (a test's handler sees it too; ours stays), and uvicorn's
loggers are routed the same way. structlog is not a dependency; run with
`uv run --with structlog python bench/logs.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from app.observability.logs import redact

# ExtraAdder copies every attribute a bare LogRecord lacks; these are not `extra=` fields.
_NOT_EXTRAS = ("message", "asctime", "request_id", "color_message")


def _ordered(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """Our keys, in our order: structlog's dict starts with `event` and its bookkeeping."""
    record: logging.LogRecord = event.pop("_record")
    line: EventDict = {
        "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": event.pop("event"),
        "request_id": getattr(record, "request_id", None),
    }
    tail = {key: event.pop(key) for key in ("exc_info", "stack_info") if key in event}
    for key, value in event.items():
        if not key.startswith("_") and key not in _NOT_EXTRAS:
            line.setdefault(key, value)
    if record.exc_text and "exc_info" not in tail:
        tail["exception"] = record.exc_text  # a record formatted before, then pickled
    return {**line, **tail, "_record": record}


def _renamed_and_scrubbed(_logger: Any, _method: str, event: EventDict) -> EventDict:
    event.pop("_record")
    exc, stack = event.pop("exception", None), event.pop("stack_info", None)
    event.update({"exc": exc} if exc else {}, **({"stack": stack} if stack else {}))
    for key, value in event.items():
        if key in {"ts", "level", "logger", "request_id"}:
            continue
        if isinstance(value, str) or not isinstance(value, bool | int | float | None):
            event[key] = redact(str(value))
    return event


def _text(_logger: Any, _method: str, event: EventDict) -> str:
    record: logging.LogRecord = event.pop("_record")
    when = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
    parts = [when, f"{record.levelname:<7}", record.name]
    request_id = event.pop("request_id")
    if request_id:
        parts.append(f"[{request_id}]")
    message = event.pop("message")
    parts.append(message)
    exc = event.pop("exception", None)
    event.pop("stack_info", None)
    extras = {
        key: value
        for key, value in event.items()
        if key not in {"ts", "level", "logger"} and str(value) not in message
    }
    if extras:
        parts.append(" ".join(f"{key}={value}" for key, value in extras.items()))
    text = " ".join(parts)
    if exc:
        text += "\n" + exc
    return redact(text)


# Before ProcessorFormatter drops the record copy's exc_text.
_FIELDS: list[Processor] = [structlog.stdlib.ExtraAdder(), _ordered]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FIELDS,
        processors=[
            structlog.processors.format_exc_info,
            _renamed_and_scrubbed,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ],
    )


def text_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FIELDS, processors=[structlog.processors.format_exc_info, _text]
    )
