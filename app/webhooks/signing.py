"""Signatures on webhook deliveries, so a receiver knows a delivery is ours, unaltered and
fresh.

Each delivery carries:

- `X-Packages-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the
  subscription's secret: GitHub's scheme (X-Hub-Signature-256), so tools written for it
  verify ours. It covers the body only, so on its own it cannot tell a replay.
- `X-Packages-Delivery`: the delivery's id (a UUID), the same on every retry of it, so a
  receiver can drop a delivery it already handled (deliveries come at least once).
- `X-Packages-Timestamp`: when this attempt was signed, in Unix seconds.
- `X-Packages-Timestamp-Signature-256: sha256=<hex HMAC-SHA256 of
  "<delivery id>.<timestamp>.<body>">`: the id and the timestamp are in the signed
  material here, so neither can be changed without the secret.

A receiver refuses replays by checking the second signature, refusing a timestamp more
than five minutes from its clock, and remembering the delivery ids it handled for longer
than that window (docs/changes.md has a receiver, tested in tests/webhooks/).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Packages-Signature-256"
TIMESTAMP_SIGNATURE_HEADER = "X-Packages-Timestamp-Signature-256"
DELIVERY_HEADER = "X-Packages-Delivery"
TIMESTAMP_HEADER = "X-Packages-Timestamp"
EVENT_HEADER = "X-Packages-Event"
DEFAULT_TOLERANCE = 300  # seconds a timestamp may be from the receiver's clock
_PREFIX = "sha256="


def new_secret() -> str:
    """A subscription secret: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _hmac(secret: str | bytes, message: bytes) -> str:
    return _PREFIX + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of body>`, the value of X-Packages-Signature-256."""
    return _hmac(secret, body)


def sign_timestamped(
    secret: str | bytes, delivery_id: str, timestamp: int | str, body: bytes
) -> str:
    """`sha256=<hex HMAC-SHA256 of "<delivery_id>.<timestamp>.<body>">`, the value of
    X-Packages-Timestamp-Signature-256. A receiver signs the headers' text as it came."""
    return _hmac(secret, f"{delivery_id}.{timestamp}.".encode() + body)


def delivery_headers(
    secret: str | bytes, body: bytes, *, delivery_id: str, timestamp: int, event: str
) -> dict[str, str]:
    """The headers of one delivery attempt: both signatures, the id, the timestamp, and
    the event's kind (`package.updated`), sign again on each retry with a new timestamp."""
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_SIGNATURE_HEADER: sign_timestamped(secret, delivery_id, timestamp, body),
    }


def verify(secret: str | bytes, body: bytes, signature: str) -> bool:
    """Whether `signature` (an X-Packages-Signature-256 value) is the body's, compared in
    constant time."""
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    if name in headers:
        return headers[name]
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def verify_delivery(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """Whether a delivery is ours, unaltered, and signed within `tolerance` seconds of
    `now` (Unix seconds). Headers are looked up case-insensitively. Remembering which
    delivery ids were handled is the receiver's part."""
    delivery_id = _header(headers, DELIVERY_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, TIMESTAMP_SIGNATURE_HEADER)
    if delivery_id is None or timestamp is None or signature is None:
        return False
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    expected = sign_timestamped(secret, delivery_id, timestamp, body)
    fresh = abs(now - int(timestamp)) <= tolerance
    return hmac.compare_digest(expected.encode(), signature.strip().encode()) and fresh
