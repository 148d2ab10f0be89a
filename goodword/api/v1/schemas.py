"""Schemas shared by several routers: PATCH bodies, out schemas and the error envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from ninja import Schema
from pydantic import model_validator
from pydantic.json_schema import SkipJsonSchema

# A PATCH field's type is `X | Unset = None`: None marks the field as left out; it is not a
# value a client may send, and the OpenAPI schema does not offer it.
Unset = SkipJsonSchema[None]


class PatchIn(Schema):
    """Send only what changes: a field left out keeps its value, and none of them takes null
    (an explicit null used to reach NOT NULL columns: a 500, found by SEC-10)."""

    model_config = {"extra": "forbid"}

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]} cannot be null; leave it out to keep its current value")
        return self


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    error: ErrorBody


class OrderOut(Schema):
    id: str
    amount: int | None
    currency: str | None


class RewardOut(Schema):
    id: str
    source: str  # "rule" (earned by a referral) or "manual" (granted by hand)
    program: str | None  # null for a manual reward booked to no program
    referral: str | None  # null for a manual reward
    beneficiary: str | None  # null for a manual reward
    participant: str
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    coupon_code: str | None
    status: str
    reason: str | None  # why a manual reward was granted
    status_reason: str | None  # why it was rejected or reversed by hand
    fulfilment_reference: str | None
    hold_until: datetime
    created_at: datetime
    approved_at: datetime | None
    fulfilled_at: datetime | None
    rejected_at: datetime | None
    reversed_at: datetime | None
    # Credit of a rule with `expires_days`: what is unspent of it at `expires_at` expires.
    expires_at: datetime | None
    expired_at: datetime | None  # when its expiry was settled (what was left, maybe nothing)
    # What a product, gift card, charity or custom reward gives (`sku`, `cause`,
    # `description`), a coupon's `min_order`.
    details: dict[str, Any]
    coupon_expires_at: datetime | None
    coupon_used_at: datetime | None  # an order carried its code
    # Recipient's choice: the offers the beneficiary may take instead, until `choose_by`.
    choices: list[dict[str, Any]] | None
    choose_by: datetime | None
    # The event that earned a subscription, NPS or custom-event reward (`evt_...`).
    trigger_event: str | None
    earned_at: datetime | None  # business time: the conversion, or the triggering event
    program_version: int | None  # the program's configuration version that granted it


ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
}
