from __future__ import annotations

from django.db import models

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


class Event(models.Model):
    """Something the business told us. One row per (workspace, source, external_id).

    `result` is the response the first delivery got; a duplicate is answered from it without
    doing the work again.
    """

    class Type(models.TextChoices):
        SIGNUP = "signup"
        PURCHASE = "purchase"
        REFUND = "refund"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_ev_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    source = models.CharField(max_length=32, default="api")
    external_id = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    body_hash = models.CharField(max_length=64)
    type = models.CharField(max_length=16, choices=Type.choices)
    customer_external_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()

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
        indexes = [models.Index(fields=["workspace", "type", "order_id"])]

    def __str__(self) -> str:
        return f"{self.type} {self.external_id}"
