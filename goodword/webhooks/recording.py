"""Recording what the send threads report: attempts, outcomes, endpoint health.

The dispatcher's calling thread drains the reports waiting and writes them in one transaction
(`record`): the attempts in one insert, the messages' outcomes in one batch of updates, then
each touched endpoint once. One transaction per delivery cost the dispatcher most of its time
waiting on PostgreSQL's commits; a drain usually holds a few to a few dozen reports.

Every message update holds only while the claim is still ours (`next_attempt_at` is still the
lease's end): a replay meanwhile (due now, attempts from 0) stands. The attempt is logged
either way, as it was sent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from goodword.events import services as events
from goodword.lib import sql
from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

# The wait after failed attempt n is SCHEDULE[n - 1], give or take 20 % (so that the messages of
# a receiver that came back do not all arrive at once). Ten attempts over 71 h 35 min, about
# 3 days; after the tenth failure the message is failed (a replay sends it again).
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)
JITTER = (0.8, 1.2)
# An endpoint with no success for this long is turned off at its next failure.
FAILING_FOR = timedelta(days=3)

Status = WebhookMessage.Status


@dataclass(frozen=True)
class Outgoing:
    pk: int
    public_id: str
    attempts: int  # before this one
    body: bytes


@dataclass(frozen=True)
class Batch:
    """One endpoint's claimed messages, with what is needed to send them (no database)."""

    endpoint_pk: int
    endpoint_public_id: str
    workspace_id: int
    url: str
    secret: str
    previous_secret: str
    previous_expires_at: datetime | None
    leased_until: datetime
    start_by: float  # monotonic: no send starts later
    messages: tuple[Outgoing, ...]


@dataclass(frozen=True)
class Result:
    batch: Batch
    message: Outgoing
    at: datetime
    status: int | None  # None: no answer
    duration_ms: int
    response: str
    error: str


@dataclass(frozen=True)
class Released:
    """Claimed messages not sent (the endpoint failed or time ran out): due again now."""

    batch: Batch
    pks: tuple[int, ...]


Report = Result | Released


def ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _due_at(value: datetime) -> Any:
    # `update_many` passes its `where` values as they are: SQLite stores datetimes as text,
    # so a lease's end must be written as the ORM writes it to match.
    field = WebhookMessage._meta.get_field("next_attempt_at")
    return field.get_db_prep_save(value, connection)


def record(reports: Sequence[Report]) -> int:
    """Write the reports in one transaction, in their order; return how many were attempts."""
    return _record(reports) if reports else 0


@transaction.atomic
def _record(reports: Sequence[Report]) -> int:
    results = [r for r in reports if isinstance(r, Result)]
    _release([r for r in reports if isinstance(r, Released)])
    if not results:
        return 0
    sql.insert_many(
        WebhookAttempt,
        [
            {
                "message_id": r.message.pk,
                "endpoint_id": r.batch.endpoint_pk,
                "at": r.at,
                "status_code": r.status,
                "duration_ms": r.duration_ms,
                "response_body": r.response,
                "error": r.error,
            }
            for r in results
        ],
    )
    _settle(results)
    _endpoints(results)
    return len(results)


def _release(released: list[Released]) -> None:
    # Only while still ours: a replay meanwhile already made them due.
    now = timezone.now()
    ours = sorted((pk, r.batch.leased_until) for r in released for pk in r.pks)  # key order
    rows = [{"next_attempt_at": now, "id": pk, "where": (_due_at(until),)} for pk, until in ours]
    sql.update_many(
        WebhookMessage, ["next_attempt_at"], "status = 'pending' AND next_attempt_at = %s", rows
    )


def _outcome(result: Result) -> tuple[str, datetime | None]:
    """The message's status and next attempt after this result."""
    attempts = result.message.attempts + 1
    if ok(result.status):
        return Status.DELIVERED.value, None
    if result.status == 410 or attempts > len(SCHEDULE):  # 410 Gone: the receiver asks for no more
        return Status.FAILED.value, None
    wait = SCHEDULE[attempts - 1] * random.uniform(*JITTER)  # noqa: S311 (spread, not secret)
    return Status.PENDING.value, result.at + wait


def _settle(results: list[Result]) -> None:
    rows = []
    for r in sorted(results, key=lambda r: r.message.pk):
        status, next_at = _outcome(r)
        rows.append(
            {
                "status": status,
                "attempts": r.message.attempts + 1,
                "last_attempt_at": r.at,
                "next_attempt_at": next_at,
                "id": r.message.pk,
                "where": (_due_at(r.batch.leased_until),),
            }
        )
    # Only while the claim is still ours: a replay meanwhile (due now, attempts from 0) stands.
    sql.update_many(
        WebhookMessage,
        ["status", "attempts", "last_attempt_at", "next_attempt_at"],
        "status = 'pending' AND next_attempt_at = %s",
        rows,
    )


def _endpoints(results: list[Result]) -> None:
    """Each touched endpoint's failure clock and, when due, its turning off: the results of an
    endpoint applied in the order they came, to its row locked (in key order)."""
    by_endpoint: dict[int, list[Result]] = {}
    for r in results:
        by_endpoint.setdefault(r.batch.endpoint_pk, []).append(r)
    rows = (
        WebhookEndpoint.objects.select_for_update(no_key=True)
        .filter(pk__in=list(by_endpoint))
        .order_by("pk")
        .values_list("pk", "active", "failing_since")
    )
    for pk, active, was_failing_since in rows:
        failing_since, off = _health(by_endpoint[pk], active, was_failing_since)
        if failing_since != was_failing_since:
            WebhookEndpoint.objects.filter(pk=pk).update(failing_since=failing_since)
        if off is not None:
            _disable(off[0], off[1], off[2])


def _health(
    results: list[Result], active: bool, failing_since: datetime | None
) -> tuple[datetime | None, tuple[Batch, str, datetime] | None]:
    """An endpoint's failing_since after these results, and whether to turn it off (the batch,
    the reason and when). A success clears the clock; a failure starts it if it is not running;
    410 turns the endpoint off at once, three days of failures at the next failure."""
    off = None
    for r in results:
        if ok(r.status):
            failing_since = None
        elif r.status == 410:
            if active:
                active, off = False, (r.batch, "gone", r.at)
        else:
            failing_since = failing_since or r.at
            if active and failing_since <= r.at - FAILING_FOR:
                active, off = False, (r.batch, "failing", r.at)
    return failing_since, off


def _disable(batch: Batch, reason: str, at: datetime) -> None:
    """Turn the endpoint off (once) and alert: `webhook_endpoint.disabled`."""
    turned_off = WebhookEndpoint.objects.filter(pk=batch.endpoint_pk, active=True).update(
        active=False, disabled_reason=reason, updated_at=at
    )
    if turned_off:
        logger.warning("webhook endpoint %s turned off: %s", batch.endpoint_public_id, reason)
        events.record(
            "webhook_endpoint.disabled",
            workspace_id=batch.workspace_id,
            subject_id=batch.endpoint_public_id,
            data={"reason": reason, "url": batch.url},
            now=at,
        )
