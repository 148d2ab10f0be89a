"""`POST /hooks/shopify/<connection id>`: Shopify's webhooks, verified, stored, answered."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.integrations import receive, services
from goodword.integrations.models import Provider
from goodword.integrations.shopify import verify

# Kept with the item: what it is and where from; never the signature.
HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-API-Version",
)


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, connection_id: str) -> HttpResponse:
    body = receive.read_body(request)
    if isinstance(body, HttpResponse):
        return body
    connection = receive.connection(connection_id, Provider.SHOPIFY)
    if connection is None:
        return receive.error(404, "not_found", receive.NOT_FOUND)
    if not verify.verify(body, request.headers.get("X-Shopify-Hmac-Sha256"), connection.secret):
        return receive.error(401, "invalid_signature", receive.UNSIGNED)
    shop = str(connection.options.get("shop_domain") or "")
    if shop and request.headers.get("X-Shopify-Shop-Domain", "").lower() != shop.lower():
        return receive.error(401, "wrong_shop", f"this connection takes webhooks of {shop} only")
    text = receive.decode(body)
    if text is None:
        return receive.error(400, "malformed_body", receive.NOT_UTF8)
    stored = services.store_delivery(
        connection=connection,
        topic=request.headers.get("X-Shopify-Topic", ""),
        delivery_id=request.headers.get("X-Shopify-Webhook-Id", ""),
        body=text,
        headers={h: request.headers[h] for h in HEADERS if h in request.headers},
        now=timezone.now(),
    )
    if not stored:  # deleted meanwhile (by another process)
        return receive.error(404, "not_found", receive.NOT_FOUND)
    return JsonResponse({"received": True})
