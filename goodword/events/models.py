from __future__ import annotations

from django.db import models

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


class DomainEvent(models.Model):
    """`noun.past_verb` facts (`referral.converted`), written in the transaction they record.

    One vocabulary for the audit log, outbound webhooks, messages and analytics.
    """

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_evt_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    name = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=32)  # public id of the row it is about
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "name", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_id}"
