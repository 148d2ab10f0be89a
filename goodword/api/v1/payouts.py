"""Payout batches: cash owed to participants, gathered, approved, exported and marked paid."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import StringConstraints

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.rewards import actor_of
from goodword.api.v1.schemas import ERRORS
from goodword.rewards import payout_exports, payouts
from goodword.rewards.models import Payout, PayoutBatch
from goodword.rewards.schemas import PayoutBatchIn, Reason

router = Router(tags=["payouts"])

BatchStatus = Literal["draft", "approved", "closed", "cancelled"]


class PaidIn(Schema):
    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
    ] = Field(description="your reference for the payment: a PayPal or bank transaction id")

    model_config = {"extra": "forbid"}


class FailedIn(Schema):
    reason: Reason

    model_config = {"extra": "forbid"}


class PayoutOut(Schema):
    id: str
    batch: str
    participant: str  # the participant's external id
    email: str | None  # PayPal and Wise files need it
    name: str | None
    amount: int
    currency: str
    status: str  # draft, approved (being paid), paid, failed
    reference: str | None
    failure_reason: str | None
    paid_at: datetime | None
    failed_at: datetime | None


class PayoutBatchOut(Schema):
    id: str
    currency: str
    min_amount: int
    status: str
    payout_count: int
    amount: int  # minor units: the sum of its payouts
    created_by: str
    approved_by: str | None
    created_at: datetime
    approved_at: datetime | None
    closed_at: datetime | None


class PayoutBatchDetailOut(PayoutBatchOut):
    payouts: list[PayoutOut]


class PayoutBatchList(Schema):
    data: list[PayoutBatchOut]
    next_cursor: str | None


def render_payout(p: Payout) -> dict[str, Any]:
    return {
        "id": p.public_id,
        "batch": p.batch.public_id,
        "participant": p.participant.external_id,
        "email": p.participant.email or None,
        "name": p.participant.name or None,
        "amount": p.amount,
        "currency": p.currency,
        "status": p.status,
        "reference": p.reference or None,
        "failure_reason": p.failure_reason or None,
        "paid_at": p.paid_at,
        "failed_at": p.failed_at,
    }


def render_batch(b: PayoutBatch) -> dict[str, Any]:
    # Listed batches carry the totals annotated on them; one alone counts its payouts.
    count = getattr(b, "n_payouts", None)
    total = getattr(b, "total", None)
    if count is None:
        totals = b.payouts.aggregate(n=Count("pk"), total=Sum("amount"))
        count, total = totals["n"], totals["total"]
    return {
        "id": b.public_id,
        "currency": b.currency,
        "min_amount": b.min_amount,
        "status": b.status,
        "payout_count": count,
        "amount": int(total or 0),
        "created_by": b.created_by,
        "approved_by": b.approved_by or None,
        "created_at": b.created_at,
        "approved_at": b.approved_at,
        "closed_at": b.closed_at,
    }


def render_batch_detail(b: PayoutBatch) -> dict[str, Any]:
    rows = b.payouts.select_related("batch", "participant").order_by("pk")
    return {**render_batch(b), "payouts": [render_payout(p) for p in rows]}


def get_batch(request: HttpRequest, batch_id: str) -> PayoutBatch:
    qs = PayoutBatch.objects.for_workspace(workspace_of(request)).select_related("workspace")
    return get_object_or_404(qs, public_id=batch_id)


def get_payout(request: HttpRequest, payout_id: str) -> Payout:
    qs = Payout.objects.for_workspace(workspace_of(request)).select_related("batch", "participant")
    return get_object_or_404(qs, public_id=payout_id)


@router.post("/payout-batches", response={201: PayoutBatchDetailOut, **ERRORS})
def create_batch(request: HttpRequest, body: PayoutBatchIn) -> Status[dict[str, Any]]:
    """Propose a draft batch: one payout per participant owed at least `min_amount` in
    `currency`. Nothing moves until it is approved. 409 `nothing_to_pay` when nobody is."""
    batch = payouts.create_batch(
        workspace_id=workspace_of(request).pk,
        currency=body.currency,
        min_amount=body.min_amount,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return Status(201, render_batch_detail(batch))


@router.get("/payout-batches", response={200: PayoutBatchList, **ERRORS})
def list_batches(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    status: BatchStatus | None = None,
) -> dict[str, Any]:
    qs = PayoutBatch.objects.for_workspace(workspace_of(request)).annotate(
        n_payouts=Count("payouts"), total=Sum("payouts__amount")
    )
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, cursor=cursor, limit=limit, render=render_batch)


@router.get("/payout-batches/{batch_id}", response={200: PayoutBatchDetailOut, **ERRORS})
def read_batch(request: HttpRequest, batch_id: str) -> dict[str, Any]:
    return render_batch_detail(get_batch(request, batch_id))


@router.post("/payout-batches/{batch_id}/approve", response={200: PayoutBatchDetailOut, **ERRORS})
def approve_batch(request: HttpRequest, batch_id: str) -> dict[str, Any]:
    """Approve a draft batch: each payout's cash moves from payable to paying. A payout a
    clawback has emptied since is dropped. 409 `invalid_state` unless a draft."""
    batch = payouts.approve_batch(
        batch=get_batch(request, batch_id), actor=actor_of(request), now=timezone.now()
    )
    return render_batch_detail(batch)


@router.post("/payout-batches/{batch_id}/cancel", response={200: PayoutBatchDetailOut, **ERRORS})
def cancel_batch(request: HttpRequest, batch_id: str) -> dict[str, Any]:
    """Throw away a draft batch. 409 `invalid_state` unless a draft."""
    batch = payouts.cancel_batch(
        batch=get_batch(request, batch_id), actor=actor_of(request), now=timezone.now()
    )
    return render_batch_detail(batch)


CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "the payment file, as an attachment",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get("/payout-batches/{batch_id}/export", response={**ERRORS}, openapi_extra=CSV_RESPONSE)
def export_batch(
    request: HttpRequest, batch_id: str, format: payout_exports.Format = "csv"
) -> HttpResponse:
    """The batch as a file: `paypal` (PayPal Payouts upload), `wise` (Wise batch, send by
    email) or `csv` (every payout). 409 `invalid_state` before approval; 409 `missing_email`
    when a payout to pay has no recipient email (PayPal, Wise)."""
    batch = get_batch(request, batch_id)
    text = payout_exports.export(batch, format)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    filename = f"goodword-{batch.public_id}-{format}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/payouts/{payout_id}/paid", response={200: PayoutOut, **ERRORS})
def mark_paid(request: HttpRequest, payout_id: str, body: PaidIn) -> dict[str, Any]:
    """Mark an approved payout paid, with your reference. 409 `invalid_state` otherwise."""
    payout = payouts.mark_paid(
        payout=get_payout(request, payout_id),
        reference=body.reference,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_payout(payout)


@router.post("/payouts/{payout_id}/failed", response={200: PayoutOut, **ERRORS})
def mark_failed(request: HttpRequest, payout_id: str, body: FailedIn) -> dict[str, Any]:
    """Mark an approved payout failed, with a reason: its cash is owed again (payable)."""
    payout = payouts.mark_failed(
        payout=get_payout(request, payout_id),
        reason=body.reason,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_payout(payout)
