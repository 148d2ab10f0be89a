"""Helpers for the inbound connection tests: connections, signed deliveries, the worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.test import Client
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.integrations import inbox, services
from goodword.integrations.models import Connection
from goodword.integrations.shopify.verify import signature as shopify_signature

SHOPIFY_SECRET = "shpss_acme_app_secret_0123456789"
STRIPE_SECRET = "whsec_acme_signing_secret_0123456789"


def connect(workspace: Workspace, provider: str, **options: Any) -> tuple[Connection, str | None]:
    secret = {"shopify": SHOPIFY_SECRET, "stripe": STRIPE_SECRET}.get(provider, "")
    return services.create_connection(
        workspace=workspace, provider=provider, secret=secret, options=options, now=timezone.now()
    )


def post_shopify(
    connection: Connection,
    payload: dict[str, Any] | bytes,
    *,
    topic: str = "orders/paid",
    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    secret: str = SHOPIFY_SECRET,
    shop: str = "acme-shop.myshopify.com",
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Client().post(
        f"/hooks/shopify/{connection.public_id}",
        body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_HMAC_SHA256=shopify_signature(body, secret),
        HTTP_X_SHOPIFY_SHOP_DOMAIN=shop,
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
        HTTP_X_SHOPIFY_API_VERSION="2025-07",
    )


def process() -> int:
    """Run the worker over everything due now, as the scheduler's sweep does."""
    total = 0
    while done := inbox.process_due(now=timezone.now()):
        total += done
    return total


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def stripe_header(payload: str, secret: str = STRIPE_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header made with the stripe library's own signing helper."""
    import time

    import stripe

    t = int(time.time()) if timestamp is None else timestamp
    v1 = stripe.WebhookSignature._compute_signature(f"{t}.{payload}", secret)
    return f"t={t},v1={v1}"


def post_stripe(
    connection: Connection,
    event: dict[str, Any] | str,
    *,
    secret: str = STRIPE_SECRET,
    timestamp: int | None = None,
) -> Any:
    payload = event if isinstance(event, str) else json.dumps(event)
    return Client().post(
        f"/hooks/stripe/{connection.public_id}",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_header(payload, secret, timestamp),
    )
