"""Reads of outbound webhooks for the API and the dashboard: an endpoint's messages with their
last answer, a message's attempts (the delivery log), and the last 24 hours per endpoint.

Callers pass endpoints they fetched through `.for_workspace()`; attempts carry no workspace of
their own and are only ever read through their endpoint or message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery

from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

WINDOW = timedelta(hours=24)


def is_success(status_code: int | None) -> bool:
    """A 2xx answer delivers a message; anything else (or no answer) is a failed attempt."""
    return status_code is not None and 200 <= status_code < 300


_SUCCESS = Q(status_code__gte=200, status_code__lt=300)


def messages_of(
    endpoint: WebhookEndpoint, *, status: str | None = None
) -> QuerySet[WebhookMessage]:
    """The endpoint's messages, each with `last_status_code` (of its latest attempt, None
    before any or when none was answered). Not ordered: callers order or paginate."""
    last_code = (
        WebhookAttempt.objects.filter(message_id=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("status_code")[:1]
    )
    qs = WebhookMessage.objects.for_workspace(endpoint.workspace_id).filter(endpoint=endpoint)
    if status:
        qs = qs.filter(status=status)
    return qs.annotate(last_status_code=Subquery(last_code, output_field=IntegerField()))


def attempts_of(message: WebhookMessage) -> list[WebhookAttempt]:
    """Every attempt at a message, oldest first."""
    return list(
        WebhookAttempt.objects.filter(message=message, endpoint_id=message.endpoint_id).order_by(
            "at", "pk"
        )
    )


@dataclass(frozen=True)
class Recent:
    """An endpoint's last 24 hours: its messages by status (by when they were made), its
    attempts and how many of them a 2xx answered, and its latest attempt ever."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    succeeded: int = 0
    last_attempt: WebhookAttempt | None = None

    @property
    def success_rate(self) -> float | None:
        """Attempts answered with a 2xx over all attempts, in percent; None without attempts."""
        if not self.attempts:
            return None
        return round(100 * self.succeeded / self.attempts, 1)


def recent(endpoints: Iterable[WebhookEndpoint], *, now: datetime) -> dict[int, Recent]:
    """`Recent` of each endpoint, by primary key: three queries, however many endpoints."""
    by_pk = {e.pk: e for e in endpoints}
    if not by_pk:
        return {}
    since = now - WINDOW
    messages: dict[int, dict[str, int]] = {pk: {} for pk in by_pk}
    rows = (
        WebhookMessage.objects.filter(endpoint_id__in=by_pk, created_at__gte=since)
        .values_list("endpoint_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for endpoint_id, status, n in rows:
        messages[endpoint_id][status] = n
    tries = (
        WebhookAttempt.objects.filter(endpoint_id__in=by_pk, at__gte=since)
        .values("endpoint_id")
        .annotate(n=Count("pk"), ok=Count("pk", filter=_SUCCESS))
        .order_by()
    )
    attempts = {row["endpoint_id"]: (row["n"], row["ok"]) for row in tries}
    last = _last_attempts(list(by_pk))
    Status = WebhookMessage.Status
    return {
        pk: Recent(
            pending=messages[pk].get(Status.PENDING, 0),
            delivered=messages[pk].get(Status.DELIVERED, 0),
            failed=messages[pk].get(Status.FAILED, 0),
            attempts=attempts.get(pk, (0, 0))[0],
            succeeded=attempts.get(pk, (0, 0))[1],
            last_attempt=last.get(pk),
        )
        for pk in by_pk
    }


def _last_attempts(endpoint_pks: list[int]) -> dict[int, WebhookAttempt]:
    """Each endpoint's latest attempt: one subquery per endpoint row, on the (endpoint, at)
    index, rather than every attempt read back."""
    latest = (
        WebhookAttempt.objects.filter(endpoint_id=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("pk")[:1]
    )
    pks = (
        WebhookEndpoint.objects.filter(pk__in=endpoint_pks)
        .annotate(last=Subquery(latest, output_field=IntegerField()))
        .values_list("last", flat=True)
    )
    found = WebhookAttempt.objects.filter(pk__in=[pk for pk in pks if pk is not None])
    return {a.endpoint_id: a for a in found}
