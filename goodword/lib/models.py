"""Model helpers shared by every tenant app."""

from __future__ import annotations

from typing import Self, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class TenantQuerySet(models.QuerySet[M]):
    """Every tenant query starts here: `.for_workspace(ws)` is the only way in for the API."""

    def for_workspace(self, workspace: models.Model | int) -> Self:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        return self.filter(workspace_id=workspace_id)
