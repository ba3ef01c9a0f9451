"""Webhook signatures: GitHub's scheme on the body, and a second one over the delivery id
and timestamp, so that a receiver can tell our deliveries, altered ones and replays apart."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.webhooks import signing
from app.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TIMESTAMP_SIGNATURE_HEADER,
    delivery_headers,
    new_secret,
    sign,
    sign_timestamped,
    verify,
    verify_delivery,
)

BODY = b'{"seq":42,"at":"2024-05-01T12:00:00Z","kind":"updated","resource":"package","id":631}'
NOW = 1_714_564_800
SECRET = "whsec-test"


def headers(**changes: str) -> dict[str, str]:
    sent = delivery_headers(
        SECRET, BODY, delivery_id="2b1e", timestamp=NOW, event="package.updated"
    )
    return {**sent, **changes}


def test_the_body_signature_is_githubs_scheme() -> None:
    """The example in GitHub's documentation of X-Hub-Signature-256 verifies as ours."""
    assert sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_a_delivery_carries_both_signatures_its_id_timestamp_and_event() -> None:
    sent = headers()

    assert sent[SIGNATURE_HEADER] == sign(SECRET, BODY)
    assert sent[DELIVERY_HEADER] == "2b1e"
    assert sent[TIMESTAMP_HEADER] == str(NOW)
    assert sent[EVENT_HEADER] == "package.updated"
    expected = hmac.new(SECRET.encode(), f"2b1e.{NOW}.".encode() + BODY, hashlib.sha256)
    assert sent[TIMESTAMP_SIGNATURE_HEADER] == "sha256=" + expected.hexdigest()
    assert sent["Content-Type"] == "application/json"


def test_verify_accepts_the_body_it_signed_and_nothing_else() -> None:
    signature = sign(SECRET, BODY)

    assert verify(SECRET, BODY, signature)
    assert verify(SECRET.encode(), BODY, signature + "\n")
    assert not verify(SECRET, BODY + b" ", signature)
    assert not verify("another secret", BODY, signature)
    assert not verify(SECRET, BODY, signature.removeprefix("sha256="))
    assert not verify(SECRET, BODY, signature.upper())
    assert not verify(SECRET, BODY, "")
    assert not verify(SECRET, BODY, "sha256=é")


def test_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", compare_digest)
    verify(SECRET, BODY, "sha256=00")
    verify_delivery(SECRET, headers(), BODY, now=NOW)
    assert len(compared) == 2


@given(
    secret=st.binary(min_size=1, max_size=64),
    body=st.binary(max_size=512),
    flip=st.integers(min_value=0),
)
def test_any_change_to_a_body_breaks_its_signature(secret: bytes, body: bytes, flip: int) -> None:
    signature = sign(secret, body)
    assert verify(secret, body, signature)
    if body:
        position = flip % len(body)
        altered = body[:position] + bytes([body[position] ^ 0x01]) + body[position + 1 :]
        assert not verify(secret, altered, signature)


def test_a_fresh_delivery_verifies_with_headers_in_any_case() -> None:
    assert verify_delivery(SECRET, headers(), BODY, now=NOW + 299)
    assert verify_delivery(
        SECRET, {key.lower(): value for key, value in headers().items()}, BODY, now=NOW
    )


def test_a_stale_or_future_delivery_is_refused() -> None:
    assert not verify_delivery(SECRET, headers(), BODY, now=NOW + 301)
    assert not verify_delivery(SECRET, headers(), BODY, now=NOW - 301)
    assert verify_delivery(SECRET, headers(), BODY, now=NOW + 3000, tolerance=3600)


def test_a_replayed_delivery_with_a_new_timestamp_or_id_is_refused() -> None:
    """Changing the timestamp (to look fresh) or the id (to look new) needs the secret."""
    assert not verify_delivery(
        SECRET, headers(**{TIMESTAMP_HEADER: str(NOW + 600)}), BODY, now=NOW + 600
    )
    assert not verify_delivery(SECRET, headers(**{DELIVERY_HEADER: "2b1f"}), BODY, now=NOW)
    assert not verify_delivery(SECRET, headers(), BODY + b" ", now=NOW)
    assert not verify_delivery("another secret", headers(), BODY, now=NOW)


@pytest.mark.parametrize(
    "broken",
    [
        {TIMESTAMP_HEADER: "soon"},
        {TIMESTAMP_HEADER: "-1"},
        {TIMESTAMP_HEADER: "١٧١٤٥٦٤٨٠٠"},  # digits, but not ASCII ones
        {TIMESTAMP_SIGNATURE_HEADER: "sha256=zz"},
    ],
)
def test_malformed_headers_are_refused(broken: dict[str, str]) -> None:
    assert not verify_delivery(SECRET, headers(**broken), BODY, now=NOW)


def test_missing_headers_are_refused() -> None:
    for name in (DELIVERY_HEADER, TIMESTAMP_HEADER, TIMESTAMP_SIGNATURE_HEADER):
        partial = {key: value for key, value in headers().items() if key != name}
        assert not verify_delivery(SECRET, partial, BODY, now=NOW), name


def test_the_timestamp_is_signed_as_its_text() -> None:
    assert sign_timestamped(SECRET, "d", NOW, BODY) == sign_timestamped(SECRET, "d", str(NOW), BODY)
    assert not verify_delivery(SECRET, headers(**{TIMESTAMP_HEADER: f"0{NOW}"}), BODY, now=NOW)


def test_secrets_are_long_and_new_each_time() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) >= 43 and secret.isascii() for secret in secrets)
