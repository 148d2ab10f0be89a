"""The fan-outs' cursors (`MessagingCursor`): a source is read by id up to its top, and what
was seen is only taken as done `LAG` later, because a transaction that took its ids earlier
may commit after one that took later ids. So the last `LAG` of a source is read twice; the
outbox's unique cause makes the second reading queue nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import transaction
from django.db.models import Max, Model, QuerySet

from goodword.messaging.models import MessagingCursor

LAG = timedelta(seconds=30)
BATCH = 1000
M = TypeVar("M", bound=Model)


def batches(
    source: str, rows: QuerySet[M], workspaces: set[int], now: datetime
) -> Iterator[list[M]]:
    """The `rows` of `workspaces` recorded since `source`'s cursor, by id, `BATCH` at a time;
    once they are all read, the cursor advances (`advance`)."""
    cursor, _ = MessagingCursor.objects.get_or_create(source=source)
    top = rows.model._default_manager.aggregate(top=Max("pk"))["top"] or 0
    after = cursor.done
    while workspaces and after < top:
        found = rows.filter(pk__gt=after, pk__lte=top, workspace_id__in=workspaces)
        batch = list(found.order_by("pk")[:BATCH])
        if not batch:
            break
        yield batch
        after = batch[-1].pk
    advance(source, top, now)


@transaction.atomic
def advance(source: str, top: int, now: datetime) -> None:
    """Promote what an earlier fan-out saw, if it saw it `LAG` ago; remember `top` as seen."""
    cursor = MessagingCursor.objects.select_for_update().get(source=source)
    if cursor.seen_at is None or now - cursor.seen_at >= LAG:
        cursor.done = max(cursor.done, cursor.seen)
        cursor.seen = max(cursor.seen, top)
        cursor.seen_at = now
        cursor.save(update_fields=["done", "seen", "seen_at"])
