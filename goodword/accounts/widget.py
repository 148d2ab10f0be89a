"""The widget's signing secret: how the business's server proves who the signed-in customer is.

The server sends `HMAC-SHA256(widget secret, external_id)` (hex) with the widget; Goodword
recomputes it. API keys cannot serve: only their SHA-256 is stored, so Goodword could not
recompute an HMAC keyed by one. This secret is stored as it is, like a webhook signing secret,
and can do nothing but vouch for a customer id in the widget (docs/sharing-widget.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.events import services as events

SECRET_PREFIX = "gw_wss_"  # noqa: S105 (what every secret starts with)
# After a rotation the previous secret still verifies for this long, so the business can
# deploy the new one without signed-in customers losing their widget in between.
PREVIOUS_VALID_FOR = timedelta(hours=24)


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def widget_secret(*, workspace_id: int) -> str:
    """The workspace's signing secret, made on first use (two first uses at once agree)."""
    current = Workspace.objects.filter(pk=workspace_id).values_list("widget_secret", flat=True)
    secret = current.first() or ""
    if secret:
        return secret
    Workspace.objects.filter(pk=workspace_id, widget_secret="").update(widget_secret=_new_secret())
    return str(current.first())


@transaction.atomic
def rotate_widget_secret(*, workspace_id: int, now: datetime | None = None) -> str:
    """Replace the signing secret; the old one verifies for PREVIOUS_VALID_FOR more."""
    now = now or timezone.now()
    workspace = Workspace.objects.select_for_update().get(pk=workspace_id)
    workspace.widget_secret_previous = workspace.widget_secret
    workspace.widget_secret = _new_secret()
    workspace.widget_secret_rotated_at = now
    workspace.save(
        update_fields=["widget_secret", "widget_secret_previous", "widget_secret_rotated_at"]
    )
    events.record(
        "workspace.updated",
        workspace_id=workspace.pk,
        subject_id=workspace.public_id,
        data={"fields": ["widget_secret"]},
        now=now,
    )
    return workspace.widget_secret


def sign(secret: str, external_id: str) -> str:
    """What the business's server computes: hex HMAC-SHA256 of the customer's id."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def verify(workspace: Workspace, external_id: str, signature: str, now: datetime) -> bool:
    """True when `signature` is the HMAC of `external_id` under the workspace's secret (or
    the previous one, within a day of a rotation). Constant time in the signature."""
    if not external_id or not signature or len(signature) > 128:
        return False
    candidates = [workspace.widget_secret]
    rotated = workspace.widget_secret_rotated_at
    if workspace.widget_secret_previous and rotated and now - rotated < PREVIOUS_VALID_FOR:
        candidates.append(workspace.widget_secret_previous)
    given = signature.strip().lower().encode()
    ok = False
    for secret in candidates:
        if secret:
            ok |= hmac.compare_digest(sign(secret, external_id).encode(), given)
    return ok
