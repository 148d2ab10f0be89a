"""The fulfilment queue: approved rewards the business delivers itself, and marking them done."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.rewards import FulfilIn, actor_of, render_reward
from goodword.api.v1.schemas import ERRORS, RewardOut
from goodword.rewards import fulfilment
from goodword.rewards.models import Fulfilment

router = Router(tags=["fulfilments"])

FulfilmentStatus = Literal["pending", "done", "cancelled"]
RewardKind = Literal[
    "credit", "coupon", "cash", "points", "product", "gift_card", "charity", "custom"
]


class DeliverTo(Schema):
    """Who receives the reward, as the workspace knows them."""

    external_id: str
    name: str | None
    email: str | None


class FulfilmentOut(Schema):
    id: str
    status: str  # "pending", "done" or "cancelled" (its reward was reversed first)
    kind: str  # the reward's kind
    # What else it waits for before it can be done ("pool_codes": a coupon pool's codes).
    waiting_for: str | None
    reference: str | None  # the business's reference, once done
    actor: str | None  # who marked it done
    created_at: datetime
    done_at: datetime | None
    deliver_to: DeliverTo
    reward: RewardOut


class FulfilmentList(Schema):
    data: list[FulfilmentOut]
    next_cursor: str | None


def render_fulfilment(f: Fulfilment) -> dict[str, Any]:
    participant = f.reward.participant
    return {
        "id": f.public_id,
        "status": f.status,
        "kind": f.reward.kind,
        "waiting_for": f.waiting_for or None,
        "reference": f.reference or None,
        "actor": f.actor or None,
        "created_at": f.created_at,
        "done_at": f.done_at,
        "deliver_to": {
            "external_id": participant.external_id,
            "name": participant.name or None,
            "email": participant.email or None,
        },
        "reward": render_reward(f.reward),
    }


def _fulfilments(request: HttpRequest) -> QuerySet[Fulfilment]:
    return Fulfilment.objects.for_workspace(workspace_of(request)).select_related(
        "reward__program", "reward__referral", "reward__participant"
    )


def get_fulfilment(request: HttpRequest, fulfilment_id: str) -> Fulfilment:
    return get_object_or_404(_fulfilments(request), public_id=fulfilment_id)


@router.get("/fulfilments", response={200: FulfilmentList, **ERRORS})
def list_fulfilments(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    status: FulfilmentStatus | None = None,
    kind: RewardKind | None = None,
) -> dict[str, Any]:
    """The queue, newest first: `status=pending` is what is left to deliver."""
    qs = _fulfilments(request)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(reward__kind=kind)
    return paginate(qs, cursor=cursor, limit=limit, render=render_fulfilment)


@router.get("/fulfilments/{fulfilment_id}", response={200: FulfilmentOut, **ERRORS})
def read_fulfilment(request: HttpRequest, fulfilment_id: str) -> dict[str, Any]:
    return render_fulfilment(get_fulfilment(request, fulfilment_id))


@router.post("/fulfilments/{fulfilment_id}/done", response={200: FulfilmentOut, **ERRORS})
def mark_done(request: HttpRequest, fulfilment_id: str, body: FulfilIn) -> dict[str, Any]:
    """Mark a pending fulfilment done with your reference (an order, a gift card, a receipt):
    its reward becomes `fulfilled`. 409 `invalid_state` when done or cancelled already."""
    fulfilment.mark_done(
        fulfilment=get_fulfilment(request, fulfilment_id),
        reference=body.reference,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_fulfilment(get_fulfilment(request, fulfilment_id))
