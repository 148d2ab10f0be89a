"""Bounces and complaints from an email provider's tracking webhook suppress the address.

anymail receives the provider's webhook (`/hooks/email/<esp>/tracking/`, basic auth with
EMAIL_WEBHOOK_SECRET; `messaging/hooks.py`) and sends its `tracking` signal with one normalised
event; `record_event` (connected in `apps.py`) finds our message and writes a Suppression in the
message's own workspace. The signal is the webhook library's only way out, so this is the one
receiver of it: the flow stays explicit from here on.

An event names its message by our metadata `gw_message` (sent with every message,
`channels/email.py`) or by the provider's id (`Message.provider_id`). An event for no message
of ours (another application on the same account, a test send) is logged and left. Only the
address the message went to is ever suppressed, and only in its workspace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from goodword.lib.emails import normalize_email
from goodword.messaging import unsubscribe
from goodword.messaging.channels.email import METADATA_KEY
from goodword.messaging.channels.errors import plain
from goodword.messaging.models import Channel, Message, Suppression

logger = logging.getLogger(__name__)

Reason = Suppression.Reason
# anymail's reject_reason of a `rejected` event (the provider would not even try) -> ours. A
# refusal for another reason ("blocked": the provider's policy, DMARC of our own domain) says
# nothing about the address: it is noted on the message only.
_REJECTED = {
    "bounced": Reason.BOUNCED,
    "invalid": Reason.BOUNCED,
    "timed_out": Reason.BOUNCED,
    "spam": Reason.COMPLAINED,
    "unsubscribed": Reason.UNSUBSCRIBED,
}


@dataclass(frozen=True)
class Outcome:
    """What an event did: `reason` suppressed (or "" for nothing), `note` on the message."""

    reason: str
    note: str


def decide(event_type: str, reject_reason: str | None, esp_event: Any) -> Outcome | None:
    """What an anymail tracking event means for the address; None: nothing (delivered,
    opened, deferred, a soft bounce...). Pure."""
    if event_type == "bounced":
        if _soft(esp_event):
            return None
        return Outcome(Reason.BOUNCED, "bounced")
    if event_type == "complained":
        return Outcome(Reason.COMPLAINED, "complained")
    if event_type == "unsubscribed":
        return Outcome(Reason.UNSUBSCRIBED, "unsubscribed")
    if event_type == "rejected":
        return Outcome(_REJECTED.get(reject_reason or "", ""), f"rejected ({reject_reason})")
    return None


def _soft(esp_event: Any) -> bool:
    """Whether a `bounced` event is a soft bounce that anymail does not tell apart: Postmark's
    SoftBounce (it may be followed by a HardBounce) and SendGrid's `blocked` (a temporary
    refusal by the receiving server)."""
    if not isinstance(esp_event, dict):
        return False
    return esp_event.get("Type") == "SoftBounce" or esp_event.get("type") == "blocked"


def record_event(sender: object, event: Any, esp_name: str, **kwargs: object) -> None:
    """The receiver of anymail's `tracking` signal."""
    outcome = decide(event.event_type, event.reject_reason, event.esp_event)
    if outcome is None:
        return
    message = _message(event)
    if message is None:
        logger.info(
            "email tracking: %s %s event for no message of ours (%s)",
            esp_name,
            event.event_type,
            event.message_id,
        )
        return
    recipient = normalize_email(event.recipient or message.to)
    if recipient != normalize_email(message.to):
        logger.warning(
            "email tracking: %s %s event for %s names another address; left",
            esp_name,
            event.event_type,
            message.public_id,
        )
        return
    note = f"{outcome.note}: {plain(event.description or event.mta_response or '')}".strip(" :")
    with transaction.atomic():
        if outcome.reason:
            unsubscribe.suppress(
                workspace_id=message.workspace_id,
                channel=Channel.EMAIL,
                address=recipient,
                reason=outcome.reason,
                now=timezone.now(),
            )
        # The message stays sent (the provider took it); the log says what became of it.
        Message.objects.filter(pk=message.pk).update(error=note[:1000])


def _message(event: Any) -> Message | None:
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    public_id = metadata.get(METADATA_KEY)
    rows = Message.objects.filter(channel=Channel.EMAIL)
    if isinstance(public_id, str) and public_id:
        return rows.filter(public_id=public_id).first()
    if event.message_id:
        return rows.filter(provider_id=str(event.message_id)).order_by("pk").first()
    return None
