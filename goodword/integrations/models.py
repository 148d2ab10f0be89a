"""Inbound connections (Shopify, Stripe, Segment) and the inbox their deliveries land in.

A delivery is verified, stored as it came in one insert and answered at once; the worker
translates and ingests it later (`goodword.integrations.inbox`). The raw body stays on the row,
so a failed item can be retried after a fix without the provider sending it again.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


def new_connection_id() -> str:  # named: migrations refer to it
    return ids.new_id("con")


def new_inbox_item_id() -> str:
    return ids.new_id("inb")


class Provider(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    STRIPE = "stripe", "Stripe"
    SEGMENT = "segment", "Segment"


class Connection(models.Model):
    public_id = models.CharField(
        max_length=32, unique=True, default=new_connection_id, editable=False
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Shopify's app secret or Stripe's signing secret (whsec_...): the provider signs with it,
    # so we must keep it as given. Empty for Segment.
    secret = models.CharField(max_length=200, blank=True, default="")
    # Segment's write key, which arrives as a password: only its SHA-256 is kept (shown once).
    key_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    key_prefix = models.CharField(max_length=16, blank=True, default="")  # to recognise it
    # Mapping: Segment event names per type, Shopify's shop domain, a description.
    options = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    last_received_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.provider} {self.public_id}"


class InboxItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"  # visible with its error; `retry_item` runs it again
        IGNORED = "ignored", "Ignored"  # a topic or message type we do not translate

    # Unique by a constraint, not `unique=True`: on PostgreSQL that adds a second index for
    # LIKE (`_like`), which no query uses and every write of an item maintains.
    public_id = models.CharField(max_length=32, default=new_inbox_item_id, editable=False)
    # Not indexed: every query names the connection too, whose index serves; nothing deletes a
    # workspace (its admin is read-only), and if an operator did, the cascade would read the
    # inbox once.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # What the delivery is: Shopify's topic, Stripe's event type, Segment's path (`batch`...).
    topic = models.CharField(max_length=100, blank=True, default="")
    # The provider's id of the delivery (Shopify's X-Shopify-Webhook-Id, Stripe's event id):
    # a redelivery of one already stored adds no row. Empty when there is none (Segment).
    delivery_id = models.CharField(max_length=255, blank=True, default="")
    body = models.TextField()
    headers = models.JSONField(default=dict)  # the few that matter, never the signature
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    # When a pending item may be claimed: now, or later for one waiting on another delivery
    # (a refund whose order has not arrived yet).
    next_attempt_at = models.DateTimeField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    # What processing said: the events recorded (our ids) or why nothing was.
    result = models.JSONField(default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="inbox_item_public_id_unique"),
            models.UniqueConstraint(
                fields=["connection", "delivery_id"],
                condition=~Q(delivery_id=""),
                name="one_inbox_item_per_delivery",
            ),
        ]
        # Every write of an item maintains each index (an outcome is never a HOT update: it
        # changes `status`), so there are only those a query uses: the primary key, `public_id`,
        # `connection` (a connection's items, newest first by id; deleting a connection), the
        # delivery's unique constraint and:
        indexes = [
            # The worker's claim: due pending items, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="inbox_item_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.provider} {self.topic}"
