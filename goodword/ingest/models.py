from __future__ import annotations

from django.db import models

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.participants.models import Advocate


class Event(models.Model):
    """Something the business told us. One row per (workspace, source, external_id).

    `result` is the response the first delivery got; a duplicate is answered from it without
    doing the work again.
    """

    class Type(models.TextChoices):
        SIGNUP = "signup"
        PURCHASE = "purchase"
        REFUND = "refund"
        NPS = "nps"  # a Net Promoter Score answer: `payload.score`, 0 to 10
        SUBSCRIPTION_PAYMENT = "subscription_payment"  # a renewal: `order` is the payment
        CUSTOM = "custom"  # the business's own event: `payload.name`

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_ev_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    source = models.CharField(max_length=32, default="api")
    external_id = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    body_hash = models.CharField(max_length=64)
    type = models.CharField(max_length=24, choices=Type.choices)
    customer_external_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=255, blank=True, default="")
    # A purchase's or refund's amount, in the minor units of `currency`.
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    # The advocate the event presented (code, link token or invite), resolved when it arrived,
    # and when the friend was first touched that way: decisions re-read these in business time.
    advocate = models.ForeignKey(Advocate, null=True, blank=True, on_delete=models.SET_NULL)
    touched_at = models.DateTimeField(null=True, blank=True)
    touch_source = models.CharField(max_length=16, blank=True, default="")
    click_id = models.CharField(max_length=32, blank=True, default="")
    payload = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    # Sent in test mode (the API's `test`, a shop's test order, Stripe's `livemode: false`):
    # decided for a test customer, ignored for a live one, never counted (docs/analytics.md).
    test = models.BooleanField(default=False, db_default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"], name="one_event_per_external_id"
            ),
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="one_event_per_idempotency_key"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "type", "order_id"]),
            models.Index(fields=["workspace", "customer_external_id", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.external_id}"


class IdempotencyKey(models.Model):
    """An Idempotency-Key first seen on a replay of a known event: bound to that request's body,
    so a later request with the same key and another body is refused."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    event = models.ForeignKey(Event, on_delete=models.CASCADE)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="one_bound_idempotency_key")
        ]

    def __str__(self) -> str:
        return self.key
