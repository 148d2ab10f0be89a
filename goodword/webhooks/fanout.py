"""Fan-out: turn new domain events into webhook messages, one per matching endpoint.

An endpoint gets an event when it is active, of the event's workspace, subscribed to its name
(or to every name: empty `event_types`) and created no later than the event. The message keeps
the event's envelope as it is now, so every retry sends the same bytes.

Domain events are read by id after the cursor (WebhookCursor), as the rollups read them
(goodword.analytics.rollups): a transaction that took its ids earlier may commit later, so the
events of the last `LAG` are read again until a fan-out that much later has seen them. Reading
twice queues nothing twice: the pairs already queued are skipped, and the unique
(endpoint, event) constraint settles a race between two schedulers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from goodword.events.models import DomainEvent
from goodword.webhooks.models import WebhookCursor, WebhookEndpoint, WebhookMessage

# Events are read again until a fan-out this much later has seen them.
LAG = timedelta(seconds=30)
# Events per batch: three queries each (events, pairs already queued, insert).
BATCH = 1000


@dataclass(frozen=True)
class _Endpoint:
    pk: int
    event_types: frozenset[str]  # empty: every event
    created_at: datetime

    def wants(self, event: DomainEvent) -> bool:
        return self.created_at <= event.created_at and (
            not self.event_types or event.name in self.event_types
        )


def queue_messages(*, now: datetime | None = None) -> int:
    """Queue a message for every endpoint that wants an event recorded since the cursor; return
    how many were queued. The dispatcher's loop calls this every second (`dispatch.run`, in
    the scheduler's process and in `goodword dispatch_webhooks`)."""
    now = now or timezone.now()
    cursor, _ = WebhookCursor.objects.get_or_create(pk=1)
    top = DomainEvent.objects.aggregate(top=Max("pk"))["top"] or 0
    endpoints = _active_endpoints()
    queued = 0
    after = cursor.done
    while endpoints and after < top:
        batch = list(
            DomainEvent.objects.filter(
                pk__gt=after, pk__lte=top, workspace_id__in=list(endpoints)
            ).order_by("pk")[:BATCH]
        )
        if not batch:
            break
        queued += _queue(batch, endpoints, now)
        after = batch[-1].pk
    _advance(top, now)
    return queued


def _active_endpoints() -> dict[int, list[_Endpoint]]:
    """The active endpoints by workspace (a workspace has a handful: read them all once)."""
    by_workspace: dict[int, list[_Endpoint]] = defaultdict(list)
    rows = WebhookEndpoint.objects.filter(active=True).values_list(
        "pk", "workspace_id", "event_types", "created_at"
    )
    for pk, workspace_id, event_types, created_at in rows:
        by_workspace[workspace_id].append(_Endpoint(pk, frozenset(event_types or ()), created_at))
    return by_workspace


def _queue(batch: list[DomainEvent], endpoints: dict[int, list[_Endpoint]], now: datetime) -> int:
    queued = set(
        WebhookMessage.objects.filter(event_id__in=[e.pk for e in batch]).values_list(
            "endpoint_id", "event_id"
        )
    )
    rows = [
        WebhookMessage(
            workspace_id=event.workspace_id,
            endpoint_id=endpoint.pk,
            event_id=event.pk,
            event_name=event.name,
            payload=event.envelope(),
            next_attempt_at=now,
            created_at=now,
        )
        for event in batch
        for endpoint in endpoints.get(event.workspace_id, ())
        if (endpoint.pk, event.pk) not in queued and endpoint.wants(event)
    ]
    WebhookMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def _advance(top: int, now: datetime) -> None:
    """Promote what an earlier fan-out saw, if it saw it `LAG` ago; remember `top` as seen."""
    cursor = WebhookCursor.objects.select_for_update().get(pk=1)
    if cursor.seen_at is None or now - cursor.seen_at >= LAG:
        cursor.done = max(cursor.done, cursor.seen)
        cursor.seen = max(cursor.seen, top)
        cursor.seen_at = now
        cursor.save(update_fields=["done", "seen", "seen_at"])
