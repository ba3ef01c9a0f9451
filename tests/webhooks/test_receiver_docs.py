"""The receiver in docs/changes.md works against our signer: it accepts our deliveries once,
and refuses altered, forged, stale and replayed ones. The snippet is run as printed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.webhooks.signing import (
    DELIVERY_HEADER,
    TIMESTAMP_HEADER,
    TIMESTAMP_SIGNATURE_HEADER,
    delivery_headers,
    new_secret,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "changes.md"
MARKER = "<!-- The block below is run by tests/webhooks/test_receiver_docs.py"
BODY = b'{"seq":7,"at":"2024-05-01T12:00:00Z","kind":"created","resource":"package","id":9}'


def receiver_source() -> str:
    text = DOCS.read_text()
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert match, "the receiver's code block follows its marker"
    return match.group(1)


@pytest.fixture
def receiver() -> tuple[Callable[[Any, bytes], bool], bytes]:
    """The docs' `verify`, with a secret of our own in place of the placeholder."""
    namespace: dict[str, Any] = {}
    exec(compile(receiver_source(), str(DOCS), "exec"), namespace)  # noqa: S102 (our docs)
    secret = new_secret().encode()
    namespace["SECRET"] = secret
    return namespace["verify"], secret


def sent(
    secret: bytes, *, body: bytes = BODY, delivery: str = "d5e1", at: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if at is None else at
    return delivery_headers(
        secret, body, delivery_id=delivery, timestamp=timestamp, event="package.created"
    )


def test_the_receiver_is_fifteen_lines() -> None:
    lines = [line for line in receiver_source().splitlines() if line.strip()]
    assert len(lines) <= 15, len(lines)


def test_it_accepts_our_delivery_once(receiver: tuple[Callable[[Any, bytes], bool], bytes]) -> None:
    verify, secret = receiver
    headers = sent(secret)

    assert verify(headers, BODY)
    assert not verify(headers, BODY)  # the same delivery again: a retry or a replay
    assert verify(sent(secret, delivery="d5e2"), BODY)


def test_it_refuses_altered_forged_and_stale_deliveries(
    receiver: tuple[Callable[[Any, bytes], bool], bytes],
) -> None:
    verify, secret = receiver

    assert not verify(sent(secret), BODY.replace(b'"id":9', b'"id":8'))
    assert not verify(sent(b"not the secret"), BODY)
    assert not verify(sent(secret, at=int(time.time()) - 600), BODY)
    assert not verify(sent(secret, at=int(time.time()) + 600), BODY)
    # A captured delivery made to look fresh: a new timestamp breaks its signature.
    old = sent(secret, delivery="d5e3", at=int(time.time()) - 600)
    assert not verify({**old, TIMESTAMP_HEADER: str(int(time.time()))}, BODY)
    # ... and so does a new id.
    handled = sent(secret, delivery="d5e4")
    assert verify(handled, BODY)
    assert not verify({**handled, DELIVERY_HEADER: "d5e5"}, BODY)
    assert not verify({**sent(secret), TIMESTAMP_SIGNATURE_HEADER: "sha256=é"}, BODY)
