"""Unsubscribe links: a signed token naming the workspace, the channel and the address.

The link works forever (an old email's link must still work) and needs no login; it can only
ever suppress the address it names. `GET` shows a page with a button, `POST` unsubscribes: the
one-click `POST` of RFC 8058 (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`) and the
page's button alike, so a mail scanner that follows links unsubscribes nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction

from goodword.lib.emails import normalize_email
from goodword.messaging.models import Suppression

_SALT = "goodword.messaging.unsubscribe"


@dataclass(frozen=True)
class Target:
    workspace_id: int
    channel: str
    address: str


def token(workspace_id: int, channel: str, address: str) -> str:
    return signing.dumps([workspace_id, channel, address], salt=_SALT, compress=True)


def url(workspace_id: int, channel: str, address: str) -> str:
    return f"{settings.SITE_URL}/u/{token(workspace_id, channel, address)}"


def read(value: str) -> Target | None:
    """The token's target, or None when it was not made by us (or was changed)."""
    try:
        workspace_id, channel, address = signing.loads(value, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(workspace_id, int) or not isinstance(address, str):
        return None
    return Target(workspace_id, str(channel), address)


def suppress(*, workspace_id: int, channel: str, address: str, reason: str, now: datetime) -> bool:
    """Suppress an address; False when it already was (its first reason is kept, except that
    a hard reason (bounce, complaint, STOP) replaces an unsubscribe)."""
    address = normalize_email(address) if channel == "email" else address
    with transaction.atomic():
        row, created = Suppression.objects.get_or_create(
            workspace_id=workspace_id,
            channel=channel,
            address=address,
            defaults={"reason": reason, "created_at": now},
        )
        if not created and row.reason == Suppression.Reason.UNSUBSCRIBED and reason != row.reason:
            Suppression.objects.filter(pk=row.pk).update(reason=reason)
    return created
