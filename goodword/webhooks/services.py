"""Writes for outbound webhooks: one function per use case, each in a transaction.

Delivery itself (claiming due messages, sending, recording attempts) is `dispatch`; turning
domain events into messages is `fanout`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.events import catalogue
from goodword.events import services as events
from goodword.lib import ids, outbound
from goodword.lib.errors import Invalid
from goodword.webhooks import signing
from goodword.webhooks.models import WebhookEndpoint, WebhookMessage

# After a rotation the old secret keeps signing this long, unless told otherwise.
ROTATION_GRACE = timedelta(hours=24)
TEST_EVENT = "webhook.test"


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _checked_url(url: str) -> str:
    reason = outbound.check_url(url)
    if reason is not None:
        raise Invalid(f"This URL cannot receive webhooks: {reason}.", code="invalid_url")
    return url


def _checked_event_types(names: list[str]) -> list[str]:
    unknown = sorted({name for name in names if name not in catalogue.CATALOGUE})
    if unknown:
        raise Invalid(
            "Unknown event type: " + ", ".join(unknown) + " (see docs/events.md).",
            code="unknown_event_type",
            details={"unknown": unknown},
        )
    return list(dict.fromkeys(names))  # repeated names once, in the order given


def _record(name: str, endpoint: WebhookEndpoint, data: dict[str, Any], now: datetime) -> None:
    events.record(
        name,
        workspace_id=endpoint.workspace_id,
        subject_id=endpoint.public_id,
        data=data,
        now=now,
    )


@transaction.atomic
def create_endpoint(
    *, workspace: Workspace, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    """A new active endpoint with a fresh `whsec_` secret. Raises `goodword.lib.errors.Invalid`
    (stable codes) for a URL that cannot be a destination or an unknown event type. Records
    `webhook_endpoint.created`."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=_checked_url(url),
        event_types=_checked_event_types(event_types),
        description=description,
        secret=signing.new_secret(),
        created_at=now,
        updated_at=now,
    )
    data = {"url": endpoint.url, "event_types": endpoint.event_types}
    _record("webhook_endpoint.created", endpoint, data, now)
    return endpoint


@transaction.atomic
def update_endpoint(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None: unchanged). Turning an endpoint back on clears its
    `disabled_reason` and `failing_since`; its pending messages are then sent. Records
    `webhook_endpoint.updated` when something changed."""
    wanted: dict[str, Any] = {}
    if url is not None:
        wanted["url"] = _checked_url(url)
    if event_types is not None:
        wanted["event_types"] = _checked_event_types(event_types)
    if description is not None:
        wanted["description"] = description
    if active is not None:
        wanted["active"] = active
    # Read again under a lock: the dispatcher may have turned it off meanwhile.
    current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = sorted(name for name, value in wanted.items() if getattr(current, name) != value)
    if not changed:
        return current
    for name in changed:
        setattr(current, name, wanted[name])
    fields = [*changed, "updated_at"]
    if "active" in changed:
        # On or off by hand: no system reason stands, and the failure clock starts again.
        current.disabled_reason = ""
        current.failing_since = None
        fields += ["disabled_reason", "failing_since"]
    current.updated_at = timezone.now()
    current.save(update_fields=fields)
    _record("webhook_endpoint.updated", current, {"fields": changed}, current.updated_at)
    return current


@transaction.atomic
def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its messages and delivery log. Records
    `webhook_endpoint.deleted`."""
    _record("webhook_endpoint.deleted", endpoint, {"url": endpoint.url}, timezone.now())
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint, grace: timedelta = ROTATION_GRACE) -> str:
    """A new secret; the old one signs too until `now + grace`. Returns the new secret.

    A second rotation within the grace period drops the first old secret: only the secret
    just replaced keeps signing."""
    now = timezone.now()
    current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    expires = now + grace if grace > timedelta(0) else None
    current.previous_secret = current.secret if expires else ""
    current.previous_secret_expires_at = expires
    current.secret = signing.new_secret()
    current.updated_at = now
    current.save(
        update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"]
    )
    data = {"previous_expires_at": _moment(expires) if expires else None}
    _record("webhook_endpoint.secret_rotated", current, data, now)
    endpoint.secret = current.secret
    endpoint.previous_secret = current.previous_secret
    endpoint.previous_secret_expires_at = expires
    return current.secret


def _test_payload(endpoint: WebhookEndpoint, now: datetime) -> dict[str, Any]:
    """A test message's payload: the envelope of a domain event, named `webhook.test`, about
    the endpoint (docs/webhooks-delivery.md)."""
    return {
        "id": ids.new_evt_id(),
        "name": TEST_EVENT,
        "version": 1,
        "subject": endpoint.public_id,
        "created_at": _moment(now),
        "data": {"message": "A test event from Goodword: your endpoint receives webhooks."},
    }


@transaction.atomic
def send_test(*, endpoint: WebhookEndpoint) -> WebhookMessage:
    """A `webhook.test` message to this endpoint only, due now (sent even while the endpoint's
    event types would not match; while it is turned off it waits, as its other messages do)."""
    now = timezone.now()
    return WebhookMessage.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        event=None,
        event_name=TEST_EVENT,
        payload=_test_payload(endpoint, now),
        next_attempt_at=now,
        created_at=now,
    )


# What a replay sets: due now, the retry schedule from its start (the attempts of before stay
# in the delivery log).
def _replayed(now: datetime) -> dict[str, Any]:
    return {"status": WebhookMessage.Status.PENDING, "attempts": 0, "next_attempt_at": now}


@transaction.atomic
def replay_message(*, message: WebhookMessage) -> WebhookMessage:
    """Send a message again, due now, under the same id and with the same body."""
    WebhookMessage.objects.filter(pk=message.pk).update(**_replayed(timezone.now()))
    message.refresh_from_db()
    return message


@transaction.atomic
def replay_range(*, endpoint: WebhookEndpoint, since: datetime, until: datetime) -> int:
    """Send again every message of this endpoint created in [since, until); returns how many."""
    return WebhookMessage.objects.filter(
        endpoint=endpoint, created_at__gte=since, created_at__lt=until
    ).update(**_replayed(timezone.now()))
