"""Webhook signature checks: pure functions over (secrets, headers, raw body, now).

Every ``verify_*`` returns ``None`` on success and raises :class:`SignatureError` otherwise. The
signature is always checked before the timestamp, so ``stale`` is only ever reported for a delivery
that really came from the provider (a clock-skew or replay signal worth alerting on), and a forger
learns nothing from the reason. Secrets never appear in an error.

``secrets`` is a sequence so a rotation can accept the old and the new secret side by side; a bare
string is accepted as one secret rather than iterated character by character.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

import standardwebhooks
import stripe

__all__ = [
    "CALENDLY_TOLERANCE_SECONDS",
    "CLOSE_TOLERANCE_SECONDS",
    "STRIPE_TOLERANCE_SECONDS",
    "WHOP_TOLERANCE_SECONDS",
    "SignatureError",
    "SignatureFailure",
    "sign_calendly",
    "sign_close",
    "sign_stripe",
    "sign_typeform",
    "sign_whop",
    "verify_calendly",
    "verify_close",
    "verify_stripe",
    "verify_typeform",
    "verify_whop",
]

SignatureFailure = Literal["missing", "malformed", "stale", "mismatch"]

CALENDLY_TOLERANCE_SECONDS = 180
CLOSE_TOLERANCE_SECONDS = 300
STRIPE_TOLERANCE_SECONDS = 300
WHOP_TOLERANCE_SECONDS = 300  # fixed by the Standard Webhooks spec

CALENDLY_HEADER = "calendly-webhook-signature"
TYPEFORM_HEADER = "typeform-signature"
CLOSE_HASH_HEADER = "close-sig-hash"
CLOSE_TIMESTAMP_HEADER = "close-sig-timestamp"
STRIPE_HEADER = "stripe-signature"
WHOP_ID_HEADER = "webhook-id"
WHOP_TIMESTAMP_HEADER = "webhook-timestamp"
WHOP_SIGNATURE_HEADER = "webhook-signature"

Secrets = str | Sequence[str]


class SignatureError(Exception):
    """A webhook failed verification; ``reason`` says how, and never carries a secret."""

    reason: SignatureFailure

    def __init__(self, reason: SignatureFailure) -> None:
        super().__init__(reason)
        self.reason = reason


# --- shared helpers -------------------------------------------------------------------------


def _secrets(secrets: Secrets) -> tuple[str, ...]:
    # An empty slot (the "next" secret not set yet) is skipped; having none at all is a
    # configuration error, not a bad request, so it must not look like a signature failure.
    values = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    usable = tuple(s for s in values if s)
    if not usable:
        raise ValueError("no webhook secret configured")
    return usable


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Django's request.headers is case-insensitive but a plain dict (tests, META copies) is not.
    for key, value in headers.items():
        if key.lower() == name:
            value = value.strip() if isinstance(value, str) else value
            return value or None
    return None


def _unix(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp())


def _check_fresh(*, timestamp: int, now: datetime, tolerance: int) -> None:
    # Both ways: a timestamp far in the future is as suspicious as one far in the past.
    if abs(_unix(now) - timestamp) > tolerance:
        raise SignatureError("stale")


def _parse_int(value: str) -> int:
    if not value.isascii() or not value.lstrip("-").isdigit():
        raise SignatureError("malformed")
    return int(value)


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return bool(value)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _any_matches(expected: Sequence[bytes], received: Sequence[bytes]) -> bool:
    # Every pair is compared, without short-circuiting, so timing does not reveal which matched.
    matched = False
    for mac in expected:
        for candidate in received:
            matched |= hmac.compare_digest(mac, candidate)
    return matched


def _parse_t_v1(header: str) -> tuple[int, list[str]]:
    """Parse ``t=<unix>,v1=<hex>[,v1=<hex>...]`` (Calendly and Stripe share the shape)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError("malformed")
        if key == "t":
            timestamp = _parse_int(value.strip())
        elif key == "v1":
            signatures.append(value.strip())
    if timestamp is None or not signatures or not all(_is_hex(s) for s in signatures):
        raise SignatureError("malformed")
    return timestamp, signatures


# --- Calendly -------------------------------------------------------------------------------


def verify_calendly(
    *,
    secrets: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: int = CALENDLY_TOLERANCE_SECONDS,
) -> None:
    keys = _secrets(secrets)
    header = _header(headers, CALENDLY_HEADER)
    if header is None:
        raise SignatureError("missing")
    timestamp, signatures = _parse_t_v1(header)
    message = str(timestamp).encode() + b"." + body
    expected = [_hmac_sha256(key.encode(), message) for key in keys]
    if not _any_matches(expected, [bytes.fromhex(s) for s in signatures]):
        raise SignatureError("mismatch")
    _check_fresh(timestamp=timestamp, now=now, tolerance=tolerance)


def sign_calendly(*, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    signature = _hmac_sha256(secret.encode(), f"{timestamp}.".encode() + body).hex()
    return {"Calendly-Webhook-Signature": f"t={timestamp},v1={signature}"}


# --- Typeform -------------------------------------------------------------------------------


def verify_typeform(*, secrets: Secrets, headers: Mapping[str, str], body: bytes) -> None:
    # No timestamp in this scheme: replays are absorbed by idempotency on the response token.
    keys = _secrets(secrets)
    header = _header(headers, TYPEFORM_HEADER)
    if header is None:
        raise SignatureError("missing")
    scheme, sep, encoded = header.partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        raise SignatureError("malformed")
    try:
        received = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed") from None
    if len(received) != hashlib.sha256().digest_size:
        raise SignatureError("malformed")
    expected = [_hmac_sha256(key.encode(), body) for key in keys]
    if not _any_matches(expected, [received]):
        raise SignatureError("mismatch")


def sign_typeform(*, secret: str, body: bytes) -> dict[str, str]:
    signature = base64.b64encode(_hmac_sha256(secret.encode(), body)).decode()
    return {"Typeform-Signature": f"sha256={signature}"}


# --- Close ----------------------------------------------------------------------------------


def _close_key(signature_key: str) -> bytes:
    try:
        return bytes.fromhex(signature_key)
    except ValueError:
        # A key that is not hex is a setup mistake; say so without echoing the key.
        raise ValueError("Close signature_key must be hex") from None


def verify_close(
    *,
    secrets: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: int = CLOSE_TOLERANCE_SECONDS,
) -> None:
    keys = [_close_key(key) for key in _secrets(secrets)]
    received_hash = _header(headers, CLOSE_HASH_HEADER)
    raw_timestamp = _header(headers, CLOSE_TIMESTAMP_HEADER)
    if received_hash is None or raw_timestamp is None:
        raise SignatureError("missing")
    timestamp = _parse_int(raw_timestamp)
    if not _is_hex(received_hash):
        raise SignatureError("malformed")
    # The header's own digits are signed, exactly as sent (no separator before the body).
    message = raw_timestamp.encode() + body
    expected = [_hmac_sha256(key, message) for key in keys]
    if not _any_matches(expected, [bytes.fromhex(received_hash)]):
        raise SignatureError("mismatch")
    _check_fresh(timestamp=timestamp, now=now, tolerance=tolerance)


def sign_close(*, signature_key: str, body: bytes, timestamp: int) -> dict[str, str]:
    digest = _hmac_sha256(_close_key(signature_key), str(timestamp).encode() + body).hex()
    return {"close-sig-hash": digest, "close-sig-timestamp": str(timestamp)}


# --- Stripe ---------------------------------------------------------------------------------


def verify_stripe(
    *,
    secrets: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: int = STRIPE_TOLERANCE_SECONDS,
) -> None:
    keys = _secrets(secrets)
    header = _header(headers, STRIPE_HEADER)
    if header is None:
        raise SignatureError("missing")
    # The library raises one exception type for every failure and reads the wall clock for its
    # (past-only) tolerance, so the header is classified here first, the library checks the MAC
    # with tolerance=None, and freshness is checked both ways against the injected `now`.
    timestamp, _ = _parse_t_v1(header)
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("malformed") from None
    verified = False
    for key in keys:
        try:
            stripe.WebhookSignature.verify_header(payload, header, key, tolerance=None)
        except stripe.SignatureVerificationError:
            continue
        verified = True
    if not verified:
        raise SignatureError("mismatch")
    _check_fresh(timestamp=timestamp, now=now, tolerance=tolerance)


def sign_stripe(*, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), secret, timestamp=timestamp
    )
    return {"Stripe-Signature": header}


# --- Whop (Standard Webhooks) ---------------------------------------------------------------


def _whop_webhook(secret: str) -> standardwebhooks.Webhook:
    # Whop uses its secret's characters as the raw HMAC key, while the library expects base64
    # (optionally behind "whsec_"): encode Whop's secret, but pass a spec-style secret through.
    if secret.startswith("whsec_"):
        return standardwebhooks.Webhook(secret)
    return standardwebhooks.Webhook(base64.b64encode(secret.encode()).decode())


def _whop_signatures(header: str) -> list[bytes]:
    signatures: list[bytes] = []
    for entry in header.split():
        version, sep, encoded = entry.partition(",")
        if not sep:
            raise SignatureError("malformed")
        if version != "v1":
            continue  # the spec allows other versions side by side; they are not ours to check
        try:
            signatures.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise SignatureError("malformed") from None
    if not signatures:
        raise SignatureError("malformed")
    return signatures


def verify_whop(
    *,
    secrets: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: int = WHOP_TOLERANCE_SECONDS,
) -> None:
    webhooks = [_whop_webhook(key) for key in _secrets(secrets)]
    msg_id = _header(headers, WHOP_ID_HEADER)
    raw_timestamp = _header(headers, WHOP_TIMESTAMP_HEADER)
    signature_header = _header(headers, WHOP_SIGNATURE_HEADER)
    if msg_id is None or raw_timestamp is None or signature_header is None:
        raise SignatureError("missing")
    timestamp = _parse_int(raw_timestamp)
    received = _whop_signatures(signature_header)
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("malformed") from None
    # Webhook.verify() reads the wall clock and raises one error type for every failure, so
    # the library signs (its key handling and message layout) and the comparison happens here.
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    expected = [
        base64.b64decode(hook.sign(msg_id=msg_id, timestamp=signed_at, data=payload).split(",")[1])
        for hook in webhooks
    ]
    if not _any_matches(expected, received):
        raise SignatureError("mismatch")
    _check_fresh(timestamp=timestamp, now=now, tolerance=tolerance)


def sign_whop(*, secret: str, body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = _whop_webhook(secret).sign(
        msg_id=msg_id, timestamp=signed_at, data=body.decode("utf-8")
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
