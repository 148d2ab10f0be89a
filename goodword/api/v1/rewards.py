from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, RewardOut
from goodword.rewards.models import Reward

router = Router(tags=["rewards"])

RewardStatus = Literal["pending", "approved", "fulfilled", "rejected", "reversed", "expired"]


class RewardList(Schema):
    data: list[RewardOut]
    next_cursor: str | None


def render_reward(r: Reward) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "program": r.program.public_id,
        "referral": r.referral.public_id,
        "beneficiary": r.beneficiary,
        "participant": r.participant.external_id,
        "kind": r.kind,
        "amount": r.amount,
        "percent_off": r.percent_off,
        "currency": r.currency,
        "coupon_code": r.coupon_code or None,
        "status": r.status,
        "hold_until": r.hold_until,
        "created_at": r.created_at,
        "approved_at": r.approved_at,
        "fulfilled_at": r.fulfilled_at,
        "reversed_at": r.reversed_at,
    }


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
