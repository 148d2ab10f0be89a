from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import StringConstraints

from goodword.accounts.models import ApiKey
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, RewardOut
from goodword.programs.rules import Kind
from goodword.rewards import actions, choice
from goodword.rewards.models import Reward
from goodword.rewards.schemas import Reason

router = Router(tags=["rewards"])

RewardStatus = Literal[
    "pending", "approved", "pending_fulfilment", "fulfilled", "rejected", "reversed", "expired"
]


class RewardList(Schema):
    data: list[RewardOut]
    next_cursor: str | None


class ReasonIn(Schema):
    reason: Reason

    model_config = {"extra": "forbid"}


class ChooseIn(Schema):
    kind: Kind = Field(description="one of the kinds the reward offers: its own or a choice's")

    model_config = {"extra": "forbid"}


class FulfilIn(Schema):
    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
    ]

    model_config = {"extra": "forbid"}


def render_reward(r: Reward) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "source": r.source,
        "program": r.program.public_id if r.program is not None else None,
        "referral": r.referral.public_id if r.referral is not None else None,
        "beneficiary": r.beneficiary or None,
        "participant": r.participant.external_id,
        "kind": r.kind,
        "amount": r.amount,
        "percent_off": r.percent_off,
        "currency": r.currency,
        "coupon_code": r.coupon_code or None,
        "status": r.status,
        "reason": r.reason or None,
        "status_reason": r.status_reason or None,
        "fulfilment_reference": r.fulfilment_reference or None,
        "hold_until": r.hold_until,
        "created_at": r.created_at,
        "approved_at": r.approved_at,
        "fulfilled_at": r.fulfilled_at,
        "rejected_at": r.rejected_at,
        "reversed_at": r.reversed_at,
        "expires_at": r.expires_at,
        "expired_at": r.expired_at,
        "details": r.details,
        "coupon_expires_at": r.coupon_expires_at,
        "coupon_used_at": r.coupon_used_at,
        "choices": r.choices,
        "choose_by": r.choose_by,
        "trigger_event": r.trigger_event or None,
        "earned_at": r.earned_at,
        "program_version": r.program_version,
    }


def actor_of(request: HttpRequest) -> str:
    """Who is acting: the API key the request authenticated with."""
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    return actions.api_key_actor(key.public_id)


def get_reward(request: HttpRequest, reward_id: str) -> Reward:
    qs = Reward.objects.for_workspace(workspace_of(request)).select_related(
        "program", "referral", "participant"
    )
    return get_object_or_404(qs, public_id=reward_id)


@router.get("/rewards", response={200: RewardList, **ERRORS})
def list_rewards(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    participant: str | None = None,
    status: RewardStatus | None = None,
    program: str | None = None,
    referral: str | None = None,
) -> dict[str, Any]:
    qs = Reward.objects.for_workspace(workspace_of(request)).select_related(
        "program", "referral", "participant"
    )
    if participant:
        qs = qs.filter(participant__external_id=participant)
    if status:
        qs = qs.filter(status=status)
    if program:
        qs = qs.filter(program__public_id=program)
    if referral:
        qs = qs.filter(referral__public_id=referral)
    return paginate(qs, cursor=cursor, limit=limit, render=render_reward)


@router.post("/rewards/{reward_id}/approve", response={200: RewardOut, **ERRORS})
def approve_reward(request: HttpRequest, reward_id: str) -> dict[str, Any]:
    """Approve a pending reward now, before its hold ends. 409 `invalid_state` otherwise."""
    reward = actions.approve_reward_early(
        reward=get_reward(request, reward_id), actor=actor_of(request), now=timezone.now()
    )
    return render_reward(reward)


@router.post("/rewards/{reward_id}/reject", response={200: RewardOut, **ERRORS})
def reject_reward(request: HttpRequest, reward_id: str, body: ReasonIn) -> dict[str, Any]:
    """Reject a pending reward: it is never paid. 409 `invalid_state` otherwise."""
    reward = actions.reject_reward(
        reward=get_reward(request, reward_id),
        reason=body.reason,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_reward(reward)


@router.post("/rewards/{reward_id}/reverse", response={200: RewardOut, **ERRORS})
def reverse_reward(request: HttpRequest, reward_id: str, body: ReasonIn) -> dict[str, Any]:
    """Reverse a pending, approved or fulfilled reward; approved credit is clawed back."""
    reward = actions.reverse_reward_by_hand(
        reward=get_reward(request, reward_id),
        reason=body.reason,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_reward(reward)


@router.post("/rewards/{reward_id}/fulfil", response={200: RewardOut, **ERRORS})
def fulfil_reward(request: HttpRequest, reward_id: str, body: FulfilIn) -> dict[str, Any]:
    """Mark an approved reward fulfilled, with your reference (a gift card or shipment id).
    Cash is refused (409 `paid_through_payouts`): payout batches pay it."""
    reward = actions.fulfil_reward(
        reward=get_reward(request, reward_id),
        reference=body.reference,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_reward(reward)


@router.post("/rewards/{reward_id}/choose", response={200: RewardOut, **ERRORS})
def choose_reward(request: HttpRequest, reward_id: str, body: ChooseIn) -> dict[str, Any]:
    """The beneficiary's choice: make a pending reward that offers `choices` one of them (or
    keep its own kind), before `choose_by`. 409 when there is no open choice; 422 for a kind it
    does not offer."""
    choice.choose(
        reward=get_reward(request, reward_id),
        kind=body.kind,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return render_reward(get_reward(request, reward_id))
