from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.programs import get_program
from goodword.api.v1.rewards import actor_of, render_reward
from goodword.api.v1.schemas import ERRORS, ErrorOut, RewardOut
from goodword.lib.schemas import Email, ExternalId, Name, PositiveAmount
from goodword.participants import portal, services
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals import services as referrals
from goodword.referrals.services import INVITE_TEXT_MAX
from goodword.rewards import actions
from goodword.rewards import services as rewards
from goodword.rewards.models import CreditAdjustment, Redemption
from goodword.rewards.queries import balances
from goodword.rewards.schemas import CreditAdjustmentIn, LedgerCurrency, ManualRewardIn

router = Router(tags=["participants"])


class ParticipantIn(Schema):
    external_id: ExternalId
    email: Email | None = None
    name: Name | None = None
    attributes: dict[str, Any] | None = None

    model_config = {"extra": "forbid"}

    @field_validator("attributes")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > 16_384:
            raise ValueError("attributes must be under 16 KB as JSON")
        return value


class AdvocateIn(Schema):
    external_id: ExternalId
    email: Email | None = None
    name: Name | None = None
    code: str | None = Field(default=None, max_length=40)
    destination_url: str | None = Field(default=None, max_length=2000)

    model_config = {"extra": "forbid"}


class InviteIn(Schema):
    advocate: ExternalId = Field(description="external_id of the inviting advocate")
    email: Email
    note: str = Field(
        default="",
        max_length=INVITE_TEXT_MAX,
        description="the advocate's own words to the friend, shown in the email",
    )
    consent: str = Field(
        default="",
        max_length=INVITE_TEXT_MAX,
        description="the consent text the advocate agreed to, as shown to them; required "
        "with send_email",
    )
    send_email: bool = Field(
        default=False,
        description="email the friend on the advocate's behalf (the friend_invite journey); "
        "false: record the invite for attribution only",
    )

    model_config = {"extra": "forbid"}


class RedemptionIn(Schema):
    order_id: ExternalId
    amount: PositiveAmount = Field(description="minor units, or points with currency PTS")
    currency: LedgerCurrency

    model_config = {"extra": "forbid"}


class AdvocateOut(Schema):
    id: str
    program: str
    participant: str
    code: str
    link: str
    share_url: str
    destination_url: str | None
    variant: str | None = Field(
        description="the program experiment's variant assigned to this advocate; `holdout`: "
        "held out of the program (no rewards, to measure its lift); null without experiment"
    )
    created_at: datetime


class ParticipantOut(Schema):
    id: str
    external_id: str
    email: str | None
    name: str | None
    attributes: dict[str, Any]
    purchase_count: int
    advocates: list[AdvocateOut]
    created_at: datetime
    updated_at: datetime


class InviteOut(Schema):
    id: str
    program: str
    advocate: str
    email: str
    note: str
    send_email: bool
    created_at: datetime


class NextExpiry(Schema):
    amount: int
    at: datetime


class BalanceLine(Schema):
    currency: str
    available: int
    pending: int
    debt: int
    # The credit that expires soonest (all of it expiring at that moment), or null.
    next_expiry: NextExpiry | None
    # Cash (commissions), in minor units: owed and not yet in a payout batch; in an approved
    # batch, being paid; paid out to them in all.
    payable: int
    paying: int
    paid: int


class BalanceOut(Schema):
    participant: str
    balances: list[BalanceLine]


class CreditAdjustmentOut(Schema):
    id: str
    participant: str
    amount: int
    currency: str
    reason: str
    key: str | None
    transaction: str
    created_at: datetime


class RedemptionOut(Schema):
    id: str
    participant: str
    order_id: str
    amount: int
    currency: str
    created_at: datetime


def render_advocate(advocate: Advocate) -> dict[str, Any]:
    return {
        "id": advocate.public_id,
        "program": advocate.program.public_id,
        "participant": advocate.participant.external_id,
        "code": advocate.code,
        "link": f"{settings.SITE_URL}/r/{advocate.code}",
        "share_url": f"{settings.SITE_URL}/s/{advocate.code}",
        "destination_url": advocate.destination_override or None,
        "variant": advocate.variant or None,
        "created_at": advocate.created_at,
    }


def render_participant(participant: Participant) -> dict[str, Any]:
    advocates = Advocate.objects.filter(participant=participant).select_related(
        "program", "participant"
    )
    return {
        "id": participant.public_id,
        "external_id": participant.external_id,
        "email": participant.email or None,
        "name": participant.name or None,
        "attributes": participant.attributes,
        "purchase_count": participant.purchase_count,
        "advocates": [render_advocate(a) for a in advocates.order_by("pk")],
        "created_at": participant.created_at,
        "updated_at": participant.updated_at,
    }


def get_participant(request: HttpRequest, external_id: str) -> Participant:
    qs = Participant.objects.for_workspace(workspace_of(request))
    return get_object_or_404(qs, external_id=external_id)


@router.post("/participants", response={200: ParticipantOut, 201: ParticipantOut, **ERRORS})
def upsert_participant(request: HttpRequest, body: ParticipantIn) -> Status[dict[str, Any]]:
    participant, created = services.upsert_participant(
        workspace=workspace_of(request),
        external_id=body.external_id,
        email=body.email,
        name=body.name,
        attributes=body.attributes,
    )
    participant.refresh_from_db()
    return Status(201 if created else 200, render_participant(participant))


@router.post(
    "/programs/{program_id}/advocates", response={200: AdvocateOut, 201: AdvocateOut, **ERRORS}
)
def enrol_advocate(
    request: HttpRequest, program_id: str, body: AdvocateIn
) -> Status[dict[str, Any]]:
    program = get_program(request, program_id)
    # One transaction: a refused enrolment (bad or taken code, destination not allowed) must
    # not leave behind the participant it created on the way.
    with transaction.atomic():
        participant, _ = services.upsert_participant(
            workspace=program.workspace_id,
            external_id=body.external_id,
            email=body.email,
            name=body.name,
        )
        advocate, created = services.enrol_advocate(
            program=program,
            participant=participant,
            code=body.code,
            destination_url=body.destination_url,
        )
    return Status(201 if created else 200, render_advocate(advocate))


class PortalLinkOut(Schema):
    url: str = Field(description="the advocate's magic link to their portal (`/p/<token>`)")
    expires_at: datetime = Field(description="when the link stops working (PORTAL_LINK_DAYS)")


@router.post(
    "/programs/{program_id}/advocates/{path:external_id}/portal-link",
    response={200: PortalLinkOut, **ERRORS},
)
def make_portal_link(request: HttpRequest, program_id: str, external_id: str) -> dict[str, Any]:
    """A fresh magic link to the advocate's portal, to send them yourself (docs/sharing-portal.md).
    It signs in whoever holds it: send it to the advocate only."""
    program = get_program(request, program_id)
    advocate = get_object_or_404(
        Advocate.objects.filter(program=program), participant__external_id=external_id
    )
    made = portal.make_link(advocate, timezone.now())
    return {"url": made.url, "expires_at": made.expires_at}


@router.post(
    "/programs/{program_id}/invites",
    response={200: InviteOut, 201: InviteOut, 429: ErrorOut, **ERRORS},
)
def invite_friend(
    request: HttpRequest, program_id: str, body: InviteIn
) -> Status[dict[str, Any]] | HttpResponse:
    program = get_program(request, program_id)
    advocate = get_object_or_404(
        Advocate.objects.select_related("participant"),
        program=program,
        participant__external_id=body.advocate,
    )
    try:
        invite, created = referrals.invite_friend(
            advocate=advocate,
            email=body.email,
            note=body.note,
            consent=body.consent,
            send_email=body.send_email,
            now=timezone.now(),
        )
    except referrals.RateLimited as exc:
        return _rate_limited(exc)
    body_out = {
        "id": invite.public_id,
        "program": program.public_id,
        "advocate": advocate.participant.external_id,
        "email": invite.email,
        "note": invite.note,
        "send_email": invite.send_email,
        "created_at": invite.created_at,
    }
    return Status(201 if created else 200, body_out)


def _rate_limited(exc: referrals.RateLimited) -> HttpResponse:
    """The error envelope, with `Retry-After` (seconds) as the dashboard's 429 has it."""
    answer = JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        status=exc.status,
    )
    answer["Retry-After"] = str(exc.details["retry_after"])
    return answer


@router.get("/participants/{path:external_id}/balance", response={200: BalanceOut, **ERRORS})
def read_balance(request: HttpRequest, external_id: str) -> dict[str, Any]:
    participant = get_participant(request, external_id)
    return {
        "participant": participant.external_id,
        "balances": [
            {
                "currency": line.currency,
                "available": line.available,
                "pending": line.pending,
                "debt": line.debt,
                "next_expiry": (
                    {"amount": line.next_expiry[0], "at": line.next_expiry[1]}
                    if line.next_expiry is not None
                    else None
                ),
                "payable": line.payable,
                "paying": line.paying,
                "paid": line.paid,
            }
            for line in balances(participant)
        ],
    }


def render_redemption(redemption: Redemption) -> dict[str, Any]:
    return {
        "id": redemption.public_id,
        "participant": redemption.participant.external_id,
        "order_id": redemption.order_id,
        "amount": redemption.amount,
        "currency": redemption.currency,
        "created_at": redemption.created_at,
    }


@router.post(
    "/participants/{path:external_id}/redemptions",
    response={200: RedemptionOut, 201: RedemptionOut, **ERRORS},
)
def redeem(request: HttpRequest, external_id: str, body: RedemptionIn) -> Status[dict[str, Any]]:
    participant = get_participant(request, external_id)
    redemption, created = rewards.redeem_credit(
        participant=participant,
        order_id=body.order_id,
        amount=body.amount,
        currency=body.currency,
        now=timezone.now(),
    )
    return Status(201 if created else 200, render_redemption(redemption))


@router.post("/participants/{path:external_id}/rewards", response={201: RewardOut, **ERRORS})
def grant_reward(
    request: HttpRequest, external_id: str, body: ManualRewardIn
) -> Status[dict[str, Any]]:
    """Grant a reward of any kind by hand, with a reason: approved at once and delivered by its
    kind (credit and points posted, cash owed, coupon issued, the rest queued for fulfilment)."""
    participant = get_participant(request, external_id)
    program = None
    if body.program is not None:
        programs = Program.objects.for_workspace(workspace_of(request))
        program = get_object_or_404(programs, public_id=body.program)
    reward = actions.grant_reward(
        participant=participant,
        offer=body.offer(default_currency=program.currency if program else "USD"),
        reason=body.reason,
        program=program,
        actor=actor_of(request),
        now=timezone.now(),
    )
    return Status(201, render_reward(reward))


def render_adjustment(adjustment: CreditAdjustment) -> dict[str, Any]:
    return {
        "id": adjustment.public_id,
        "participant": adjustment.participant.external_id,
        "amount": adjustment.amount,
        "currency": adjustment.currency,
        "reason": adjustment.reason,
        "key": adjustment.key or None,
        "transaction": adjustment.transaction.public_id,
        "created_at": adjustment.created_at,
    }


@router.post(
    "/participants/{path:external_id}/credit-adjustments",
    response={200: CreditAdjustmentOut, 201: CreditAdjustmentOut, **ERRORS},
)
def adjust_credit(
    request: HttpRequest, external_id: str, body: CreditAdjustmentIn
) -> Status[dict[str, Any]]:
    """Add (amount > 0) or take (amount < 0) credit by hand, with a reason; idempotent on
    `key`; 409 `insufficient_balance` when taking more than is available."""
    participant = get_participant(request, external_id)
    adjustment, created = actions.adjust_credit(
        participant=participant,
        amount=body.amount,
        currency=body.currency,
        reason=body.reason,
        key=body.key or "",
        actor=actor_of(request),
        now=timezone.now(),
    )
    return Status(201 if created else 200, render_adjustment(adjustment))


# Registered last: with `path:` ids (which may hold '/'), the more specific routes above
# (`…/balance`, `…/redemptions`, `…/rewards`, `…/credit-adjustments`) must be tried first.
@router.get("/participants/{path:external_id}", response={200: ParticipantOut, **ERRORS})
def read_participant(request: HttpRequest, external_id: str) -> dict[str, Any]:
    return render_participant(get_participant(request, external_id))
