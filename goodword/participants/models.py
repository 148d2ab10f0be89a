from __future__ import annotations

from django.db import models

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.programs.models import Program


class Participant(models.Model):
    """A customer of the workspace, known by the workspace's own `external_id`."""

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_par_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    external_id = models.CharField(max_length=255)
    email = models.CharField(max_length=320, blank=True, default="")
    email_normalized = models.CharField(max_length=320, blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    purchase_count = models.PositiveIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    # The latest Net Promoter Score answer, in business time (an `nps` event).
    nps_score = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Known only from test events (docs/analytics.md, "Test data"): their events are decided
    # as any others, and nothing about them is counted. A live event makes them live for good.
    test = models.BooleanField(default=False, db_default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="one_participant_per_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "email_normalized"]),
            # Participation counts who was known by a date (those created after it are few); the
            # dashboard lists people newest first, by id among equal times.
            models.Index(fields=["workspace", "created_at", "id"]),
        ]

    def __str__(self) -> str:
        return self.external_id


class Advocate(models.Model):
    """A participant enrolled in a program, with a code and a link `/r/<code>`.

    Codes are unique across the installation (not only per workspace) because the link
    `/r/<code>` carries no workspace.
    """

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_adv_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    code = models.CharField(max_length=40)
    code_normalized = models.CharField(max_length=40, unique=True)
    destination_override = models.URLField(max_length=2000, blank=True, default="")
    # The program's experiment variant this advocate was assigned when enrolled, for good:
    # "" when the program has no experiment, "holdout" for those who get no program.
    variant = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "participant"], name="one_advocate_per_program"
            )
        ]
        indexes = [
            # The advocates list, newest first, by id among equal times: a page read from the
            # index, not every advocate sorted with their counts (3 s at a million referrals).
            models.Index(fields=["workspace", "created_at", "id"]),
        ]

    def __str__(self) -> str:
        return self.code
