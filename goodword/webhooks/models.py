"""Outbound webhooks: a workspace's endpoints, the messages due to each, and every attempt.

A message is one domain event (or a test) for one endpoint, stored with its payload when it is
fanned out, so a retry sends the same bytes under the same `webhook-id` (its public id). The
dispatcher claims due messages by `next_attempt_at`; every attempt is a row (the delivery log).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.events.models import DomainEvent
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


def new_endpoint_id() -> str:  # named: migrations refer to it
    return ids.new_id("whe")


def new_message_id() -> str:
    return ids.new_id("msg")


class WebhookEndpoint(models.Model):
    public_id = models.CharField(
        max_length=32, unique=True, default=new_endpoint_id, editable=False
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    # Names from the domain-event catalogue; empty: every event.
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    # Why it was turned off, when the system did it ("gone": the receiver answered 410;
    # "failing": no success for days); "" when a person did, or while active.
    disabled_reason = models.CharField(max_length=32, blank=True, default="")
    secret = models.CharField(max_length=100)  # whsec_<base64>
    # After a rotation the old secret signs too, until then.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failure since the last success; None while healthy.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # to send, now or at next_attempt_at
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # every attempt of the schedule failed; replay resends

    public_id = models.CharField(max_length=32, unique=True, default=new_message_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE)
    # None for a test message ("send test event").
    event = models.ForeignKey(DomainEvent, null=True, blank=True, on_delete=models.CASCADE)
    event_name = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            # Fanning out twice (a re-read of the last seconds) makes no second message.
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=Q(event__isnull=False),
                name="one_message_per_endpoint_event",
            ),
        ]
        indexes = [
            # The dispatcher's claim: due pending messages, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_message_due",
            ),
            models.Index(fields=["endpoint", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.event_name}"


class WebhookAttempt(models.Model):
    """One try at delivering a message: the delivery log."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE)
    at = models.DateTimeField()
    # None when no response came (timeout, refused, blocked address).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, default="")  # the first 1,000 characters
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["endpoint", "at"])]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status_code or self.error}"


class WebhookCursor(models.Model):
    """The fan-out's place in the domain events (one row), read again for `LAG` as the
    rollups' is (goodword.analytics.rollups): a transaction that commits late is not missed."""

    done = models.BigIntegerField(default=0)
    seen = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhooks at {self.done}"
