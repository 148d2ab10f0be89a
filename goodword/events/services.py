from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from goodword.events import catalogue
from goodword.events.models import DomainEvent
from goodword.lib import sql
from goodword.lib.ids import new_evt_id

_local = threading.local()


def record(
    name: str,
    *,
    workspace_id: int,
    subject_id: str,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Record a domain event. Call inside the transaction of the change it describes.

    `name` must be in the catalogue (goodword/events/catalogue.py). The payload is not checked
    here, on every write: the tests check every row the referral loop writes.
    """
    if name not in catalogue.CATALOGUE:
        raise catalogue.UnknownEvent(name)
    row = {
        "public_id": new_evt_id(),
        "workspace_id": workspace_id,
        "name": name,
        "subject_id": subject_id,
        "data": data or {},
        "created_at": now or timezone.now(),
    }
    pending: list[dict[str, Any]] | None = getattr(_local, "pending", None)
    if pending is not None:
        # Rows, not model instances: a batch of events records thousands.
        pending.append(row)
        return
    if not connection.in_atomic_block:
        raise RuntimeError("domain events are written in the transaction of their change")
    DomainEvent(**row).save(force_insert=True)


@contextmanager
def batched() -> Iterator[None]:
    """Write the domain events recorded inside in one INSERT when the block ends.

    Use inside the transaction whose changes they record: an error in the block discards them
    with everything else. Nesting joins the outer batch.
    """
    if getattr(_local, "pending", None) is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("domain events are written in the transaction of their change")
    pending: list[dict[str, Any]] = []
    _local.pending = pending
    try:
        yield
    finally:
        _local.pending = None
    sql.insert_many(DomainEvent, pending)
