"""Shopify signs a webhook's raw body: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of
the bytes with the app's secret (shopify.dev, "Verify webhooks")."""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    # Constant time: a byte-by-byte early exit would leak how much of a guess was right.
    return hmac.compare_digest(signature(body, secret).encode(), header.strip().encode())
