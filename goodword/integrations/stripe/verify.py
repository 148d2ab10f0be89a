"""Stripe signs `<timestamp>.<raw body>` with the endpoint's signing secret (whsec_...):
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256>[,v1=...]`. Verified with the official
library, refusing a timestamp older than TOLERANCE (a replayed capture)."""

from __future__ import annotations

import stripe

TOLERANCE = 300  # seconds, Stripe's own default


def verify(body: str, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
    except stripe.SignatureVerificationError:
        return False
    return True
