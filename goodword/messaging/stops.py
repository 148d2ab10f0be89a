"""STOP and START by text: a number that opts out of texts, or back in.

One sender (SMS_URL's number or Messaging Service) serves the whole installation, and carriers
and Twilio keep an opt-out per sender number, not per business: after STOP, Twilio refuses
every later text from that sender to the number (error 21610), whichever workspace sends it.
So a STOP suppresses the number for texts in every workspace that has texted it, and START
lifts those `stopped` suppressions again. Both are idempotent: a reply delivered twice (Twilio
retries a webhook that timed out) changes nothing more.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from goodword.messaging import unsubscribe
from goodword.messaging.models import Channel, Message, Suppression


def workspaces_texting(number: str) -> list[int]:
    """The workspaces that have texted `number` (E.164), sent or tried.

    Across workspaces on purpose: the opt-out is the shared sender's, not one workspace's."""
    rows = Message.objects.filter(channel=Channel.SMS, to=number)
    return sorted(set(rows.values_list("workspace_id", flat=True)))


@transaction.atomic
def stop_number(*, number: str, now: datetime, also: int | None = None) -> int:
    """Suppress `number` for texts (`stopped`: nothing more, not even reward notices) in every
    workspace that has texted it, and in workspace `also`; return how many were new."""
    workspaces = set(workspaces_texting(number)) | ({also} if also is not None else set())
    return sum(
        unsubscribe.suppress(
            workspace_id=workspace_id,
            channel=Channel.SMS,
            address=number,
            reason=Suppression.Reason.STOPPED,
            now=now,
        )
        for workspace_id in sorted(workspaces)
    )


@transaction.atomic
def start_number(*, number: str) -> int:
    """Lift the `stopped` text suppressions of `number` in the workspaces that have texted it
    (other reasons stay); return how many were lifted."""
    deleted, _ = Suppression.objects.filter(
        workspace_id__in=workspaces_texting(number),
        channel=Channel.SMS,
        address=number,
        reason=Suppression.Reason.STOPPED,
    ).delete()
    return deleted
