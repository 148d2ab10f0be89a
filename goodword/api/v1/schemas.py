"""Out schemas shared by several routers, and the error envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


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
    program: str
    referral: str
    beneficiary: str
    participant: str
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    coupon_code: str | None
    status: str
    hold_until: datetime
    created_at: datetime
    approved_at: datetime | None
    fulfilled_at: datetime | None
    reversed_at: datetime | None


ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
}
