"""Writes of staff subscriptions (who of the team hears of what, `staff.py`): add, change,
remove, and send a test. The API and the dashboard call these; a refused write raises a
`DomainError` with a stable code and writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.lib.errors import Conflict, Invalid
from goodword.messaging import staff, staff_send
from goodword.messaging.channels import email, slack
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.models import Channel, MessagingSettings, StaffSubscription

CHANNELS = (Channel.EMAIL.value, Channel.SLACK.value)
TOPICS = tuple(staff.TOPICS)
MAX_ADDRESS = 320  # as Message.to


def check_address(workspace: Workspace, channel: str, address: str) -> str:
    """The address as kept (an email in lower case; a URL stripped), or raise Invalid:
    `unknown_channel`, `invalid_email`, `not_a_member`, `invalid_url`, `url_not_https`,
    `url_refused` (the SSRF guard's reason in the message)."""
    if channel not in CHANNELS:
        raise Invalid(
            f"channel must be email or slack; it is {channel!r}",
            code="unknown_channel",
            details={"field": "channel"},
        )
    address = address.strip()
    if channel == Channel.EMAIL:
        return _email(workspace, address)
    return _slack_url(address)


def _email(workspace: Workspace, address: str) -> str:
    address = address.lower()
    try:
        validate_email(address)
    except ValidationError:
        raise Invalid(
            f"{address!r} is not an email address", code="invalid_email", details={"field": "email"}
        ) from None
    if not staff_send.is_member(workspace.pk, address):
        raise Invalid(
            f"{address} is not a member of this workspace: invite them to the team first",
            code="not_a_member",
            details={"field": "email"},
        )
    return address


def _slack_url(url: str) -> str:
    if not url or len(url) > MAX_ADDRESS:
        raise Invalid(
            f"slack_url must be an https URL of at most {MAX_ADDRESS} characters",
            code="invalid_url",
            details={"field": "slack_url"},
        )
    reason = slack.check_slack_url(url)
    if reason == "use an https URL":
        raise Invalid(
            "slack_url must start with https:// (Slack's incoming webhooks do)",
            code="url_not_https",
            details={"field": "slack_url"},
        )
    if reason:
        raise Invalid(
            f"slack_url is refused: {reason}",
            code="url_refused",
            details={"field": "slack_url", "reason": reason},
        )
    return url


def _topics(values: Mapping[str, Any]) -> dict[str, bool]:
    return {t: bool(values[t]) for t in TOPICS if t in values and values[t] is not None}


@transaction.atomic
def add_subscription(
    *,
    workspace: Workspace,
    channel: str,
    address: str,
    topics: Mapping[str, Any] | None = None,
    is_active: bool = True,
    now: datetime | None = None,
) -> StaffSubscription:
    """Subscribe a member's email or a Slack webhook; every topic is on unless said off.
    409 `already_subscribed` when the address already is."""
    now = now or timezone.now()
    kept = check_address(workspace, channel, address)
    try:
        with transaction.atomic():
            return StaffSubscription.objects.create(
                workspace=workspace,
                channel=channel,
                address=kept,
                is_active=is_active,
                created_at=now,
                updated_at=now,
                **_topics(topics or {}),
            )
    except IntegrityError:
        raise Conflict(
            f"{kept} is subscribed already: change that subscription instead",
            code="already_subscribed",
            details={"address": kept},
        ) from None


@transaction.atomic
def update_subscription(
    *, subscription: StaffSubscription, changes: Mapping[str, Any], now: datetime | None = None
) -> StaffSubscription:
    """Turn topics or the whole subscription on or off. The address is not changed: remove
    the subscription and add another."""
    fields: dict[str, Any] = dict(_topics(changes))
    if changes.get("is_active") is not None:
        fields["is_active"] = bool(changes["is_active"])
    if not fields:
        return subscription
    fields["updated_at"] = now or timezone.now()
    StaffSubscription.objects.filter(pk=subscription.pk).update(**fields)
    subscription.refresh_from_db()
    return subscription


def remove_subscription(*, subscription: StaffSubscription) -> None:
    """Remove it; notices queued for it and not sent yet are then skipped."""
    StaffSubscription.objects.filter(pk=subscription.pk).delete()


def send_test(*, subscription: StaffSubscription) -> None:
    """Send a test notice to the subscription now, not through the outbox; raise
    ChannelError when the mail server or the webhook refuses it."""
    workspace = Workspace.objects.get(pk=subscription.workspace_id)
    settings = MessagingSettings.objects.filter(workspace=workspace).first()
    language = settings.language if settings else "en"
    notice = staff_send.test_notice(subscription, language=language, workspace_name=workspace.name)
    conn = email.connection()
    done = staff_send.send_notice(
        notice,
        channel=subscription.channel,
        to=subscription.address,
        message_id=f"test-{subscription.public_id}-{int(timezone.now().timestamp())}",
        language=language,
        workspace_name=workspace.name,
        conn=conn,
    )
    if done.error is not None:
        raise done.error


__all__ = [
    "CHANNELS",
    "TOPICS",
    "ChannelError",
    "add_subscription",
    "check_address",
    "remove_subscription",
    "send_test",
    "update_subscription",
]
