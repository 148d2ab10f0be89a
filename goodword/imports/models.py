from __future__ import annotations

from django.db import models

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


def new_imp_id() -> str:
    return ids.new_id("imp")


class Import(models.Model):
    """One CSV file being imported into a workspace, known by its content's digest.

    `line` is the last line of the file whose batch committed, written in the same transaction
    as the rows of that batch: running the same file again continues after it, so a crash
    costs at most the batch in flight and never writes a row twice.
    """

    class Kind(models.TextChoices):
        PARTICIPANTS = "participants"
        ORDERS = "orders"

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    public_id = models.CharField(max_length=32, unique=True, default=new_imp_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    digest = models.CharField(max_length=64)  # SHA-256 of the file's bytes, hex
    with_rewards = models.BooleanField(default=False)
    file_name = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    line = models.PositiveBigIntegerField(default=0)
    # Counted over every run of this file, committed with each batch.
    rows = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    skipped = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "digest"], name="one_import_per_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"
