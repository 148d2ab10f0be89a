from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, OrderOut
from goodword.referrals.models import Referral

router = Router(tags=["referrals"])

ReferralStatus = Literal["clicked", "signed_up", "converted", "rewarded", "rejected", "reversed"]


class AdvocateRef(Schema):
    external_id: str
    code: str


class StoppedOut(Schema):
    rule: str
    beneficiary: str
    reason: str


class ReferralOut(Schema):
    id: str
    program: str
    advocate: AdvocateRef
    referee: str
    status: str
    source: str
    reject_reason: str | None
    stopped: list[StoppedOut]
    order: OrderOut | None
    created_at: datetime
    clicked_at: datetime | None
    signed_up_at: datetime | None
    converted_at: datetime | None
    rewarded_at: datetime | None
    rejected_at: datetime | None
    reversed_at: datetime | None


class ReferralList(Schema):
    data: list[ReferralOut]
    next_cursor: str | None


def render_referral(r: Referral) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "program": r.program.public_id,
        "advocate": {"external_id": r.advocate.participant.external_id, "code": r.advocate.code},
        "referee": r.referee.external_id,
        "status": r.status,
        "source": r.source,
        "reject_reason": r.reject_reason or None,
        "stopped": r.stopped,
        "order": (
            {"id": r.order_id, "amount": r.order_amount, "currency": r.order_currency}
            if r.order_id
            else None
        ),
        "created_at": r.created_at,
        "clicked_at": r.clicked_at,
        "signed_up_at": r.signed_up_at,
        "converted_at": r.converted_at,
        "rewarded_at": r.rewarded_at,
        "rejected_at": r.rejected_at,
        "reversed_at": r.reversed_at,
    }


def _referrals(request: HttpRequest) -> Any:
    return Referral.objects.for_workspace(workspace_of(request)).select_related(
        "program", "advocate__participant", "referee"
    )


@router.get("/referrals", response={200: ReferralList, **ERRORS})
def list_referrals(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    program: str | None = None,
    status: ReferralStatus | None = None,
    advocate: str | None = None,
    referee: str | None = None,
) -> dict[str, Any]:
    qs = _referrals(request)
    if program:
        qs = qs.filter(program__public_id=program)
    if status:
        qs = qs.filter(status=status)
    if advocate:
        qs = qs.filter(advocate__participant__external_id=advocate)
    if referee:
        qs = qs.filter(referee__external_id=referee)
    return paginate(qs, cursor=cursor, limit=limit, render=render_referral)


@router.get("/referrals/{referral_id}", response={200: ReferralOut, **ERRORS})
def read_referral(request: HttpRequest, referral_id: str) -> dict[str, Any]:
    return render_referral(get_object_or_404(_referrals(request), public_id=referral_id))
