from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema, Status

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS
from goodword.ingest import services
from goodword.ingest.schemas import EventIn
from goodword.lib.errors import DomainError

router = Router(tags=["events"])

MAX_IDEMPOTENCY_KEY = 255


class EventReferralOut(Schema):
    id: str
    status: str
    reject_reason: str | None
    note: str | None


class EventRewardOut(Schema):
    id: str
    beneficiary: str
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    status: str
    hold_until: str


class EventOut(Schema):
    id: str
    event_id: str
    type: str
    participant: str
    attribution: str
    referrals: list[EventReferralOut]
    rewards: list[EventRewardOut]


@router.post("/events", response={200: EventOut, 201: EventOut, **ERRORS})
def post_event(
    request: HttpRequest, response: HttpResponse, body: EventIn
) -> Status[dict[str, Any]]:
    """Record a business event. A duplicate `id` returns the first result with 200 and
    `Idempotent-Replayed: true`; reusing an `Idempotency-Key` with another body is a 422."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise DomainError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            code="invalid_idempotency_key",
        )
    outcome = services.record_event(
        workspace=workspace_of(request), data=body, now=timezone.now(), idempotency_key=key
    )
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
        return Status(200, outcome.result)
    return Status(201, outcome.result)
