"""Signatures of outbound webhooks, per the Standard Webhooks specification.

Every delivery carries `webhook-id` (the message's public id: the same on every retry, so a
receiver deduplicates on it), `webhook-timestamp` (this attempt's, in Unix seconds) and
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). While a rotated-out
secret is still in its grace period it signs too: the header then holds two signatures,
space-separated, and a receiver that knows either secret accepts the message.

The signing itself is the official `standardwebhooks` library's, so that what we send is what
its `Webhook(secret).verify(body, headers)` accepts.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    """`whsec_` and the base64 of 24 random bytes (192 bits), the format Standard Webhooks'
    libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def body(payload: Mapping[str, Any]) -> bytes:
    """The bytes sent for a stored payload: compact JSON with sorted keys, so every retry sends
    the same bytes whatever order the database gives the keys back in (PostgreSQL's jsonb
    keeps its own)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def headers(
    *, msg_id: str, timestamp: datetime, data: bytes, keys: Iterable[str]
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with each secret of `keys`."""
    signatures = [Webhook(secret).sign(msg_id, timestamp, data) for secret in keys]
    if not signatures:
        raise ValueError("a webhook is signed with at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


def signing_secrets(
    *, secret: str, previous_secret: str, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign at `now`: the current one, and the previous one until its grace
    period ends."""
    if previous_secret and previous_expires_at is not None and now < previous_expires_at:
        return [secret, previous_secret]
    return [secret]
