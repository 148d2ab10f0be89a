from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from goodword.events.models import DomainEvent


def record(
    name: str,
    *,
    workspace_id: int,
    subject_id: str,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> DomainEvent:
    """Record a domain event. Call inside the transaction of the change it describes."""
    if not connection.in_atomic_block:
        raise RuntimeError("domain events are written in the transaction of their change")
    return DomainEvent.objects.create(
        workspace_id=workspace_id,
        name=name,
        subject_id=subject_id,
        data=data or {},
        created_at=now or timezone.now(),
    )
