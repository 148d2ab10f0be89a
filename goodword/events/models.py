from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import models

from goodword.events import catalogue
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


class DomainEvent(models.Model):
    """`noun.past_verb` facts (`referral.converted`), written in the transaction they record.

    One vocabulary for the audit log, outbound webhooks, messages and analytics.
    """

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_evt_id, editable=False)
    # Named, not imported: `events` sits below `accounts` in the layers, so that the account
    # services can record events.
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE)
    name = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=32)  # public id of the row it is about
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "name", "created_at"]),
            # A row's history (a referral's timeline, a reward's events) reads by subject.
            models.Index(fields=["workspace", "subject_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_id}"

    def envelope(self) -> dict[str, Any]:
        """The event as consumers see it (docs/events.md). Every event is at version 1 so far;
        the first version 2 will need a `version` column."""
        return {
            "id": self.public_id,
            "name": self.name,
            "version": catalogue.get(self.name).version,
            "subject": self.subject_id,
            "created_at": self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
