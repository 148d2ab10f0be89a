"""Staff notifications: which team members' emails and Slack-compatible webhooks hear of new
referrals, rewards to review, low coupon pools, failing webhooks, payouts due and the weekly
KPI digest. Writes go through `goodword.messaging.staff_services`; docs/messaging.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.lib.errors import Invalid
from goodword.messaging import staff_services
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.models import Channel, StaffSubscription

router = Router(tags=["staff notifications"])

Bool = Annotated[bool, Field(strict=True)]
PATH = "/staff-notifications"


class SubscriptionOut(Schema):
    id: str
    channel: str = Field(description="email or slack")
    email: str | None = Field(description="a member of the workspace, for channel email")
    slack_url: str | None = Field(description="a Slack-compatible incoming webhook")
    new_referral: bool = Field(description="each new referral")
    review_waiting: bool = Field(description="rewards to review: at most one summary an hour")
    low_coupons: bool = Field(description="a coupon pool running low or empty")
    webhook_failing: bool = Field(description="a webhook endpoint failing for an hour, or off")
    payouts_due: bool = Field(description="daily, from 09:00, when payouts wait")
    kpi_digest: bool = Field(description="Mondays at 09:00: the last week's KPIs")
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionList(Schema):
    data: list[SubscriptionOut]
    next_cursor: str | None


class Topics(Schema):
    new_referral: Bool | None = None
    review_waiting: Bool | None = None
    low_coupons: Bool | None = None
    webhook_failing: Bool | None = None
    payouts_due: Bool | None = None
    kpi_digest: Bool | None = None


class SubscriptionIn(Topics):
    model_config = {"extra": "forbid"}

    email: str | None = Field(default=None, description="a member's email; or slack_url")
    slack_url: str | None = Field(default=None, description="https only; or email")
    is_active: Bool = True


class SubscriptionPatch(PatchIn):
    new_referral: Bool | Unset = None
    review_waiting: Bool | Unset = None
    low_coupons: Bool | Unset = None
    webhook_failing: Bool | Unset = None
    payouts_due: Bool | Unset = None
    kpi_digest: Bool | Unset = None
    is_active: Bool | Unset = None


class TestOut(Schema):
    sent: bool


def render_subscription(s: StaffSubscription) -> dict[str, Any]:
    is_email = s.channel == Channel.EMAIL
    return {
        "id": s.public_id,
        "channel": s.channel,
        "email": s.address if is_email else None,
        "slack_url": None if is_email else s.address,
        **{topic: getattr(s, topic) for topic in staff_services.TOPICS},
        "is_active": s.is_active,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _get(request: HttpRequest, subscription_id: str) -> StaffSubscription:
    qs = StaffSubscription.objects.for_workspace(workspace_of(request))
    found: StaffSubscription = get_object_or_404(qs, public_id=subscription_id)
    return found


@router.get(PATH, response={200: SubscriptionList, **ERRORS})
def list_subscriptions(
    request: HttpRequest, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """The workspace's staff notification subscriptions, newest first."""
    qs = StaffSubscription.objects.for_workspace(workspace_of(request))
    return paginate(qs, cursor=cursor, limit=limit, render=render_subscription)


@router.post(PATH, response={201: SubscriptionOut, **ERRORS})
def add_subscription(request: HttpRequest, body: SubscriptionIn) -> Status[dict[str, Any]]:
    """Subscribe a member's `email` or a `slack_url` (every topic on unless set false)."""
    if (body.email is None) == (body.slack_url is None):
        raise Invalid(
            "give either email (a member of the workspace) or slack_url, not both",
            code="email_or_slack_url",
        )
    channel = Channel.EMAIL if body.email is not None else Channel.SLACK
    row = staff_services.add_subscription(
        workspace=workspace_of(request),
        channel=channel,
        address=body.email if body.email is not None else str(body.slack_url),
        topics=body.model_dump(include=set(staff_services.TOPICS)),
        is_active=body.is_active,
    )
    return Status(201, render_subscription(row))


@router.get(PATH + "/{subscription_id}", response={200: SubscriptionOut, **ERRORS})
def read_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    return render_subscription(_get(request, subscription_id))


@router.patch(PATH + "/{subscription_id}", response={200: SubscriptionOut, **ERRORS})
def change_subscription(
    request: HttpRequest, subscription_id: str, body: SubscriptionPatch
) -> dict[str, Any]:
    """Turn topics, or the whole subscription, on or off."""
    row = staff_services.update_subscription(
        subscription=_get(request, subscription_id), changes=body.model_dump(exclude_unset=True)
    )
    return render_subscription(row)


@router.delete(PATH + "/{subscription_id}", response={204: None, **ERRORS})
def delete_subscription(request: HttpRequest, subscription_id: str) -> Status[None]:
    staff_services.remove_subscription(subscription=_get(request, subscription_id))
    return Status(204, None)


@router.post(PATH + "/{subscription_id}/test", response={200: TestOut, **ERRORS})
def test_subscription(request: HttpRequest, subscription_id: str) -> dict[str, Any]:
    """Send a test notice now; 422 `test_failed` with the mail server's or webhook's answer."""
    row = _get(request, subscription_id)
    try:
        staff_services.send_test(subscription=row)
    except ChannelError as exc:
        raise Invalid(f"the test was not delivered: {exc.reason}", code="test_failed") from None
    return {"sent": True}
