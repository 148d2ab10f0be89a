"""Segment's HTTP tracking API authenticates with HTTP Basic auth: the write key as the user
name, no password. We keep only the key's SHA-256, so the look-up is by hash (cached for a
few seconds, as `receive.connection` is)."""

from __future__ import annotations

import base64
import binascii

from goodword.integrations import receive
from goodword.integrations.models import Connection
from goodword.integrations.services import WRITE_KEY_PREFIX, hash_key


def write_key(header: str | None) -> str | None:
    """The write key in an `Authorization: Basic ...` header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 200:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key = decoded.partition(":")[0]
    return key if key.startswith(WRITE_KEY_PREFIX) else None


def connection(header: str | None) -> Connection | None:
    """The active Segment connection whose write key the header carries."""
    key = write_key(header)
    if key is None:
        return None
    key_hash = hash_key(key)

    def load() -> Connection | None:
        found: Connection | None = Connection.objects.filter(
            key_hash=key_hash, provider="segment", active=True
        ).first()
        return found

    return receive.cached(("key", key_hash), load)
