"""Delivery: claim due messages, send them signed, record every attempt and its outcome.

A claim is a short transaction that takes due pending messages (`select_for_update(skip_locked)`
so that dispatchers on PostgreSQL take different ones) and pushes their `next_attempt_at` a
lease ahead. Nothing is held while sending: a dispatcher killed mid-send leaves its messages
leased, and they come due again when the lease ends (at least once, never lost; a receiver may
so get a message twice, always under the same `webhook-id`).

Sending happens on a small thread pool, one thread per endpoint and one message of an endpoint
at a time, so a receiver that hangs holds only its own messages. The threads only speak HTTP;
the calling thread does every database write (a thread's own connection would not see an open
transaction's rows, and SQLite has one writer anyway), and it writes the reports waiting
together, one transaction per drain (goodword/webhooks/recording.py).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from goodword.lib import outbound
from goodword.webhooks import fanout, signing
from goodword.webhooks.models import WebhookEndpoint, WebhookMessage
from goodword.webhooks.recording import SCHEDULE as SCHEDULE
from goodword.webhooks.recording import Batch, Outgoing, Released, Report, Result, ok, record

logger = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds for a whole call (connect, send, answer)
# Messages of one endpoint claimed at once; sent one after the other.
PER_ENDPOINT = 10
WINDOW = 500  # due messages a claim reads at a time, oldest first
RESPONSE_CHARS = 1000  # of a receiver's answer kept in the delivery log

Pending = WebhookMessage.Status.PENDING


def lease() -> timedelta:
    """How long a claim holds its messages: a dispatcher that dies holding them delays them
    this long. Sends start only in the first half, so a claim's last answer (at most `TIMEOUT`
    later) comes well within it."""
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def claim(
    *, now: datetime, limit: int, max_endpoints: int | None = None, skip: Collection[int] = ()
) -> list[Batch]:
    """Take up to `limit` due messages of active endpoints, at most `PER_ENDPOINT` of each and
    from at most `max_endpoints` endpoints (not those in `skip`), oldest due first; lease them."""
    chosen = _choose(now=now, limit=limit, max_endpoints=max_endpoints, skip=skip)
    return _lease(chosen, now) if chosen else []


def _choose(
    *, now: datetime, limit: int, max_endpoints: int | None, skip: Collection[int]
) -> list[int]:
    """Walk the due messages oldest first, taking at most `PER_ENDPOINT` of an endpoint: one
    endpoint's backlog does not starve the others. Only the oldest `WINDOW` are read at a time
    (ranking every due message cost a claim 20 ms with 9,000 due); when they did not fill the
    claim, read again past the endpoints already taken, whose backlog may have filled them."""
    most = limit if max_endpoints is None else max_endpoints
    taken: dict[int, int] = {}  # endpoint -> messages taken
    off: set[int] = set()  # endpoints turned off: their messages wait
    chosen: list[int] = []
    # No join to the endpoints: with one, PostgreSQL scanned the due index once per endpoint.
    due = WebhookMessage.objects.filter(status=Pending, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )
    while True:
        passed = [*skip, *taken, *off]
        rows = list(due.exclude(endpoint_id__in=passed).values_list("pk", "endpoint_id")[:WINDOW])
        off |= _turned_off({endpoint_id for _, endpoint_id in rows})
        for pk, endpoint_id in rows:
            count = taken.get(endpoint_id)
            if count is None:
                if len(taken) >= most or endpoint_id in off:
                    continue
                count = 0
            if count < PER_ENDPOINT:
                taken[endpoint_id] = count + 1
                chosen.append(pk)
                if len(chosen) >= limit:
                    return chosen
        if len(rows) < WINDOW or len(taken) >= most:
            return chosen


def _turned_off(endpoints: set[int]) -> set[int]:
    if not endpoints:
        return set()
    return set(
        WebhookEndpoint.objects.filter(pk__in=endpoints, active=False).values_list("pk", flat=True)
    )


@transaction.atomic
def _lease(pks: list[int], now: datetime) -> list[Batch]:
    rows = list(
        WebhookMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=pks, status=Pending, next_attempt_at__lte=now, endpoint__active=True)
        .select_related("endpoint")
        .order_by("next_attempt_at", "pk")
    )
    if not rows:
        return []
    leased_until = now + lease()
    WebhookMessage.objects.filter(pk__in=[m.pk for m in rows]).update(next_attempt_at=leased_until)
    start_by = time.monotonic() + lease().total_seconds() / 2
    grouped: dict[int, list[WebhookMessage]] = {}
    for message in rows:
        grouped.setdefault(message.endpoint_id, []).append(message)
    return [
        Batch(
            endpoint_pk=endpoint_id,
            endpoint_public_id=messages[0].endpoint.public_id,
            workspace_id=messages[0].endpoint.workspace_id,
            url=messages[0].endpoint.url,
            secret=messages[0].endpoint.secret,
            previous_secret=messages[0].endpoint.previous_secret,
            previous_expires_at=messages[0].endpoint.previous_secret_expires_at,
            leased_until=leased_until,
            start_by=start_by,
            messages=tuple(
                Outgoing(m.pk, m.public_id, m.attempts, signing.body(m.payload)) for m in messages
            ),
        )
        for endpoint_id, messages in grouped.items()
    ]


def send_batch(batch: Batch, reports: queue.Queue[Report]) -> None:
    """Send an endpoint's messages one at a time (no database); stop at the first failure, whose
    receiver is likely to fail the rest too, and hand them back."""
    for i, message in enumerate(batch.messages):
        if time.monotonic() > batch.start_by:
            reports.put(Released(batch, tuple(m.pk for m in batch.messages[i:])))
            return
        result = _send(batch, message)
        reports.put(result)
        if not ok(result.status):
            rest = tuple(m.pk for m in batch.messages[i + 1 :])
            if rest:
                reports.put(Released(batch, rest))
            return


def _send(batch: Batch, message: Outgoing) -> Result:
    at = timezone.now()
    keys = signing.signing_secrets(
        secret=batch.secret,
        previous_secret=batch.previous_secret,
        previous_expires_at=batch.previous_expires_at,
        now=at,
    )
    headers = signing.headers(msg_id=message.public_id, timestamp=at, data=message.body, keys=keys)
    started = time.monotonic()
    status, response, error = None, "", ""
    try:
        answer = outbound.post(batch.url, body=message.body, headers=headers, timeout=TIMEOUT)
    except outbound.Blocked as exc:
        error = f"blocked: {exc.reason}"
    except outbound.OutboundError as exc:
        error = exc.reason
    except Exception as exc:  # a bug must cost an attempt, not the dispatcher
        logger.exception("webhook %s: sending failed", message.public_id)
        error = f"internal error: {type(exc).__name__}"
    else:
        status = answer.status
        response = answer.body.decode("utf-8", errors="replace")[:RESPONSE_CHARS]
    duration_ms = int((time.monotonic() - started) * 1000)
    return Result(batch, message, at, status, duration_ms, response, error[:200])


def _drain(reports: queue.Queue[Report], *, wait: float = 0.0) -> Iterator[Report]:
    """The reports waiting, the first after up to `wait` seconds."""
    try:
        yield reports.get(timeout=wait) if wait else reports.get_nowait()
        while True:
            yield reports.get_nowait()
    except queue.Empty:
        return


def _concurrency() -> int:
    return max(1, int(settings.WEBHOOK_CONCURRENCY))


def deliver_due(*, limit: int = 200, now: datetime | None = None) -> int:
    """One pass: claim up to `limit` due messages and send them, the endpoints in parallel
    (`WEBHOOK_CONCURRENCY` at a time); return how many attempts were made. Returns when every
    claimed message was sent or handed back."""
    batches = claim(now=now or timezone.now(), limit=limit)
    if not batches:
        return 0
    reports: queue.Queue[Report] = queue.Queue()
    attempts = 0
    with ThreadPoolExecutor(max_workers=min(_concurrency(), len(batches))) as pool:
        futures = [pool.submit(send_batch, batch, reports) for batch in batches]
        while not all(f.done() for f in futures) or not reports.empty():
            attempts += record(list(_drain(reports, wait=0.05)))
    for future in futures:
        future.result()  # a thread's bug surfaces here; its messages come due after the lease
    return attempts


def run(*, stopping: Callable[[], bool], every: float = 1.0, idle: float = 0.2) -> None:
    """The dispatcher's loop, until `stopping()`: keep up to `WEBHOOK_CONCURRENCY` endpoints
    sending, and claim more as soon as one is done (not a pass at a time: a receiver that hangs
    holds one thread, never the others' next messages). Fan out new events every `every`
    seconds. On stop, finish the sends under way and record them."""
    reports: queue.Queue[Report] = queue.Queue()
    running: dict[int, Future[None]] = {}
    fanned = 0.0
    with ThreadPoolExecutor(max_workers=_concurrency()) as pool:
        while not stopping():
            try:
                if time.monotonic() - fanned >= every:
                    fanout.queue_messages()
                    fanned = time.monotonic()
                running = {pk: f for pk, f in running.items() if not f.done()}
                free = _concurrency() - len(running)
                claimed = []
                if free > 0:
                    claimed = claim(
                        now=timezone.now(),
                        limit=free * PER_ENDPOINT,
                        max_endpoints=free,
                        skip=running.keys(),
                    )
                for batch in claimed:
                    running[batch.endpoint_pk] = pool.submit(send_batch, batch, reports)
                # Every report waiting, in one transaction (`recording.record`).
                record(list(_drain(reports, wait=0 if claimed else idle)))
            except Exception:
                # The database restarting must not end the loop; unrecorded sends are sent
                # again when their lease ends.
                logger.exception("webhook dispatch failed; retrying")
                close_old_connections()
                time.sleep(1.0)
        wait(list(running.values()))
    record(list(_drain(reports)))
