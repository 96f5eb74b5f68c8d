"""API key material: how a key looks, and the keyed hash that is all the database keeps of it.

A key is ``atk_<prefix>_<secret>``. The prefix is stored in clear (unique, so a key is found with
one indexed lookup, and shown so people can tell their keys apart); the whole key is kept only as
HMAC-SHA256 under a server key. A fast keyed hash is right here, unlike for passwords: the
secret is 256 random bits, so there is nothing to guess, and a stolen table without the server
key is useless.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

KEY_TAG = "atk"
_KEY_RE = re.compile(r"^atk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


def _server_key() -> bytes:
    if settings.API_KEY_HMAC_KEY:
        return settings.API_KEY_HMAC_KEY.encode()
    # A key of its own, so these hashes reveal nothing about what SECRET_KEY signs elsewhere.
    return hmac.new(settings.SECRET_KEY.encode(), b"apps.api.keys", hashlib.sha256).digest()


def key_digest(raw: str) -> str:
    return hmac.new(_server_key(), raw.encode(), hashlib.sha256).hexdigest()


def key_generate() -> tuple[str, str]:
    """A new key and its prefix."""
    prefix = secrets.token_hex(6)
    return f"{KEY_TAG}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(raw: str) -> str | None:
    """The prefix of something shaped like a key; None for anything else."""
    match = _KEY_RE.match(raw)
    return match.group(1) if match else None


def key_matches(raw: str, digest: str) -> bool:
    return hmac.compare_digest(key_digest(raw), digest)
