"""The fan-outs' cursors (`MessagingCursor`): a source is read by id up to its top, and what
was seen is only taken as done `LAG` later, because a transaction that took its ids earlier
may commit after one that took later ids. So the last `LAG` of a source is read twice; the
outbox's unique cause makes the second reading queue nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from goodword.messaging.models import MessagingCursor

LAG = timedelta(seconds=30)


@transaction.atomic
def advance(source: str, top: int, now: datetime) -> None:
    """Promote what an earlier fan-out saw, if it saw it `LAG` ago; remember `top` as seen."""
    cursor = MessagingCursor.objects.select_for_update().get(source=source)
    if cursor.seen_at is None or now - cursor.seen_at >= LAG:
        cursor.done = max(cursor.done, cursor.seen)
        cursor.seen = max(cursor.seen, top)
        cursor.seen_at = now
        cursor.save(update_fields=["done", "seen", "seen_at"])
