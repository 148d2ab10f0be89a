"""Reads about connections shared by the API and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from goodword.integrations.models import Connection, InboxItem, Provider


def inbound_url(connection: Connection) -> str:
    """Where the provider sends: the webhook URL (Shopify, Stripe) or the host a Segment
    library is given (it adds `/v1/batch` itself)."""
    if connection.provider == Provider.SEGMENT:
        return f"{settings.SITE_URL}/hooks/segment"
    return f"{settings.SITE_URL}/hooks/{connection.provider}/{connection.public_id}"


def with_inbox_counts(qs: QuerySet[Connection]) -> QuerySet[Connection]:
    """Connections annotated with `pending` and `failed` inbox items: a page of them in one
    query, not one per connection."""
    return qs.annotate(
        pending=Count("inboxitem", filter=Q(inboxitem__status=InboxItem.Status.PENDING)),
        failed=Count("inboxitem", filter=Q(inboxitem__status=InboxItem.Status.FAILED)),
    )


def inbox_counts(connection_ids: list[int]) -> dict[int, dict[str, int]]:
    """Pending and failed items per connection, in one query."""
    rows = (
        InboxItem.objects.filter(connection_id__in=connection_ids)
        .values("connection_id")
        .annotate(
            pending=Count("pk", filter=Q(status=InboxItem.Status.PENDING)),
            failed=Count("pk", filter=Q(status=InboxItem.Status.FAILED)),
        )
    )
    return {r["connection_id"]: {"pending": r["pending"], "failed": r["failed"]} for r in rows}
