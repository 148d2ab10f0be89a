"""`POST /hooks/stripe/<connection id>`: Stripe's webhook events, verified, stored, answered."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.integrations import receive, services
from goodword.integrations.models import Provider
from goodword.integrations.stripe import verify


def _id_and_type(text: str) -> tuple[str, str]:
    """The event's id and type, to name the item; a body that is not an event object is
    stored all the same (it was signed) and fails in processing, visibly."""
    try:
        document = json.loads(text)
    except ValueError:
        return "", ""
    if not isinstance(document, dict):
        return "", ""
    event_id, kind = document.get("id"), document.get("type")
    # An escaped NUL (\u0000) in either would reach a text column: PostgreSQL refuses it.
    event_id = event_id if isinstance(event_id, str) and "\x00" not in event_id else ""
    kind = kind if isinstance(kind, str) and "\x00" not in kind else ""
    return event_id, kind


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, connection_id: str) -> HttpResponse:
    body = receive.read_body(request)
    if isinstance(body, HttpResponse):
        return body
    connection = receive.connection(connection_id, Provider.STRIPE)
    if connection is None:
        return receive.error(404, "not_found", receive.NOT_FOUND)
    text = receive.decode(body)
    # Stripe signs the body's text; one that is not UTF-8 cannot be Stripe's.
    if text is None or not verify.verify(
        text, request.headers.get("Stripe-Signature"), connection.secret
    ):
        return receive.error(401, "invalid_signature", receive.UNSIGNED)
    event_id, kind = _id_and_type(text)
    stored = services.store_delivery(
        connection=connection,
        topic=kind,
        delivery_id=event_id,
        body=text,
        headers={},
        now=timezone.now(),
    )
    if not stored:  # deleted meanwhile (by another process)
        return receive.error(404, "not_found", receive.NOT_FOUND)
    return JsonResponse({"received": True})
