"""The worker's side of the inbox: claim due items set-wise, translate each with its
provider's `translate.py`, hand the events to the one ingestion entry point
(`goodword.ingest.services.ingest`), mark every item processed, failed or ignored.

What a claim records (its events, each item's outcome and tries, the connections'
`last_received_at`) is written in one transaction: a worker that dies before the commit leaves
nothing half done. On PostgreSQL the claim is that transaction's row locks (`SELECT … FOR
UPDATE SKIP LOCKED`): other workers skip the items while it runs, each item is written once
(its outcome), and a worker that dies releases them, due again at once. On SQLite, whose one
write lock would stop every other writer for the whole claim, the items are moved a lease ahead
first (one `UPDATE … RETURNING`), translated, then recorded; a worker that dies leaves them to
be claimed again when the lease ends. Recording twice is harmless anyway: events are idempotent
on the ids translation derives from the provider's own ids.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pydantic
from django.db import connection as db
from django.db import transaction
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.ingest import services as ingest
from goodword.ingest.models import Event
from goodword.ingest.schemas import CustomerIn, EventIn
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.segment import translate as segment
from goodword.integrations.shopify import translate as shopify
from goodword.integrations.stripe import translate as stripe
from goodword.integrations.translation import Refused, Translated
from goodword.lib import sql
from goodword.lib.errors import DomainError
from goodword.participants.services import upsert_participant

logger = logging.getLogger(__name__)

# Items per claim: what one `ingest` call takes, so that a claim of one provider's deliveries
# of one event each is one call, as a full batch of the API is.
BATCH = ingest.MAX_BATCH
LEASE = timedelta(minutes=5)
_LEASE_MS = int(LEASE.total_seconds() * 1000)
# An item that could not be recorded (a database error, a bug) is tried again with backoff, up
# to this many times in all, then fails, visible with its error.
MAX_ATTEMPTS = 8
# An item waiting for another delivery (a refund whose order has not arrived) is tried again
# until this long after it was received (Shopify retries a failed webhook for 48 hours, Stripe
# for 3 days), at most WAIT_STEP apart, then fails, visible with what it waits for.
MAX_WAIT = timedelta(days=3)
WAIT_STEP = timedelta(hours=1)
Translator = Callable[[str, str, dict[str, Any]], Translated]
TRANSLATORS: dict[str, Translator] = {
    "shopify": shopify.translate,
    "stripe": stripe.translate,
    "segment": segment.translate,
}


@dataclass(slots=True)
class Claimed:
    """A claimed item: what processing reads of its row, and the outcome `_finish` writes.
    A plain object: building a thousand model instances was most of a claim's Python."""

    id: int
    public_id: str
    workspace_id: int
    connection_id: int
    provider: str
    topic: str
    body: str
    attempts: int
    next_attempt_at: datetime
    received_at: datetime
    connection: Connection | None = None
    status: str = InboxItem.Status.PENDING
    error: str = ""
    processed_at: datetime | None = None
    result: dict[str, Any] | None = None

    @property
    def pk(self) -> int:
        return self.id


@dataclass(slots=True)
class Work:
    item: Claimed
    events: list[EventIn] = field(default_factory=list)
    people: list[CustomerIn] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # by translation: never recorded
    errors: list[str] = field(default_factory=list)  # answers of ingestion
    recorded: list[str] = field(default_factory=list)
    ignored: str = ""
    waiting: str = ""  # for another delivery: tried again until MAX_WAIT after receipt
    unrecorded: str = ""  # recording failed: tried again up to MAX_ATTEMPTS times


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2**attempts, 6 * 3600))


def wait_backoff(attempts: int) -> timedelta:
    return min(backoff(attempts), WAIT_STEP)


def process_due(*, now: datetime, limit: int = BATCH) -> int:
    """Process up to `limit` due items; how many were claimed."""
    if db.vendor == "postgresql":
        return _process_locked(now, limit)
    items = _lease(now, limit)
    if not items:
        return 0
    # Translation reads only the bodies: done before the transaction, which holds SQLite's one
    # write lock while it lasts.
    works = [_translate(item) for item in items]
    with transaction.atomic():
        _record_claim(works, now)
    return len(items)


def _process_locked(now: datetime, limit: int) -> int:
    """PostgreSQL: claim, translate and record in one transaction that holds the items' rows."""
    claimed: list[int] = []
    try:
        with transaction.atomic():
            items = _lock(now, limit)
            claimed = [item.pk for item in items]
            if items:
                # A worker stuck between statements (in translation, say) would hold its items
                # for as long as it lives: the server ends its session after a lease instead.
                sql.execute(f"SET LOCAL idle_in_transaction_session_timeout = {_LEASE_MS}", [])
                _record_claim([_translate(item) for item in items], now)
    except Exception:
        if claimed:
            _postpone(claimed, now)
        raise
    return len(claimed)


def _record_claim(works: list[Work], now: datetime) -> None:
    """Record the claim's events and every item's outcome; call it inside a transaction."""
    by_workspace: dict[int, list[Work]] = defaultdict(list)
    for work in works:
        by_workspace[work.item.workspace_id].append(work)
    workspaces = Workspace.objects.in_bulk(list(by_workspace))
    for workspace_id, group in sorted(by_workspace.items()):
        _process(workspaces[workspace_id], group, now)
    _finish(works, now)
    _received([work.item for work in works])


# `Claimed`'s columns, in its order, as a claim reads them (bodies included).
_CLAIMED = (
    "id",
    "public_id",
    "workspace_id",
    "connection_id",
    "provider",
    "topic",
    "body",
    "attempts",
    "next_attempt_at",
    "received_at",
)
_TIMES = {f.attname: f for f in InboxItem._meta.concrete_fields if f.attname in _CLAIMED[-2:]}


def _due() -> str:
    """The due items, oldest first by `next_attempt_at` alone: the due index's order, so
    a claim reads `limit` entries of it. A tie broken by id too would sort every due item at
    each claim (items received in the same instant, a backlog seeded at once)."""
    # The status as a literal: the due index is partial (status = 'pending'), and SQLite uses
    # a partial index only when the query's own WHERE names its condition.
    return f"""
        FROM {InboxItem._meta.db_table} WHERE status = '{InboxItem.Status.PENDING}'
            AND next_attempt_at <= %s
        ORDER BY next_attempt_at LIMIT %s
    """  # noqa: S608 - the table and the status from the model; values are parameters


def _lock(now: datetime, limit: int) -> list[Claimed]:
    """PostgreSQL: the due items (bodies included) read and locked by one SELECT, inside the
    transaction that records them; items another worker holds are skipped. `attempts` counts
    this try, as after a lease: the outcome writes it."""
    columns = ", ".join("attempts + 1" if c == "attempts" else c for c in _CLAIMED)
    statement = f"SELECT {columns} {_due()} FOR UPDATE SKIP LOCKED"
    return _claimed(sql.rows(statement, [now, limit]))


def _lease(now: datetime, limit: int) -> list[Claimed]:
    """SQLite: the due items moved a lease ahead and read back (bodies included) by one
    UPDATE, committed at once: the claim's transaction comes after translation."""
    table = InboxItem._meta.db_table
    statement = f"""
        UPDATE {table} SET attempts = attempts + 1, next_attempt_at = %s
        WHERE id IN (SELECT id {_due()}) RETURNING {sql.columns(InboxItem, _CLAIMED)}
    """  # noqa: S608 - the table from the model; values are parameters
    items = _claimed(sql.rows(statement, [now + LEASE, now, limit]))
    for item in items:  # SQLite's times are text
        item.next_attempt_at = sql.convert(_TIMES["next_attempt_at"], item.next_attempt_at)
        item.received_at = sql.convert(_TIMES["received_at"], item.received_at)
    return items


def _claimed(rows: list[tuple[Any, ...]]) -> list[Claimed]:
    items = [Claimed(*row) for row in rows]
    if not items:
        return []
    # The few connections of a claim, once each, not joined onto every row.
    connections = Connection.objects.in_bulk({i.connection_id for i in items})
    for item in items:
        item.connection = connections[item.connection_id]
    items.sort(key=lambda i: i.pk)
    return items


def _postpone(ids: list[int], now: datetime) -> None:
    """PostgreSQL: after a claim failed (a bug, the database), its items wait a lease, as a
    leased claim's did: due again at once, they would be the next claim's oldest, and one item
    that trips a bug would stop the whole inbox behind it. Their tries are left as they were:
    nothing of the claim was recorded."""
    try:
        with transaction.atomic():
            InboxItem.objects.filter(
                pk__in=ids, status=InboxItem.Status.PENDING, next_attempt_at__lte=now
            ).update(next_attempt_at=now + LEASE)
    except Exception:
        # The database itself failing: the items are due again at once, as after a crash.
        logger.exception("inbox: postponing a failed claim of %d items failed", len(ids))


def _received(items: list[Claimed]) -> None:
    """`last_received_at` per connection, from the claim in hand (the latest item's time, never
    moving it back): set here, so that receiving stays one insert."""
    latest: dict[int, datetime] = {}
    for item in items:
        at = latest.get(item.connection_id)
        if at is None or item.received_at > at:
            latest[item.connection_id] = item.received_at
    for connection_id, at in sorted(latest.items()):
        Connection.objects.filter(
            Q(last_received_at__isnull=True) | Q(last_received_at__lt=at), pk=connection_id
        ).update(last_received_at=at)


def _process(workspace: Workspace, works: list[Work], now: datetime) -> None:
    _find_customers(workspace, works)
    by_source: dict[str, list[Work]] = defaultdict(list)
    for work in works:
        # A delivery of many messages records the good ones even if others were refused.
        if (work.events or work.people) and not (work.waiting or work.ignored):
            by_source[work.item.provider].append(work)
    for source, group in sorted(by_source.items()):
        try:
            # A savepoint: what failed is undone, and the claim's transaction goes on.
            with transaction.atomic():
                _record(workspace, source, group, now)
        except Exception:
            logger.exception("inbox: recording %d items of %s failed", len(group), source)
            # One item may be to blame: each is tried alone, so the others are not held back.
            for work in group:
                _record_alone(workspace, source, work, now)


def _record_alone(workspace: Workspace, source: str, work: Work, now: datetime) -> None:
    work.recorded, work.errors = [], []
    try:
        with transaction.atomic():
            _record(workspace, source, [work], now)
    except Exception as exc:
        # Not the item's fault as far as we know (the database went away, a bug): it is tried
        # again with backoff, and fails visibly after MAX_ATTEMPTS.
        logger.exception("inbox: recording %s failed", work.item.public_id)
        work.recorded, work.errors = [], []
        work.unrecorded = f"could not record: {type(exc).__name__}: {exc}"[:1000]


def _translate(item: Claimed) -> Work:
    work = Work(item=item)
    assert item.connection is not None  # noqa: S101 - set by the claim
    try:
        translated = TRANSLATORS[item.provider](item.topic, item.body, item.connection.options)
    except Refused as exc:
        work.refused.append(str(exc))
        return work
    except Exception as exc:
        # A translator's bug fails this item, visibly: raised, it would leave every item of
        # the claim unfinished, claimed again with it at each lease, forever.
        logger.exception("inbox: translating %s failed", item.public_id)
        work.refused.append(f"internal error: {type(exc).__name__}")
        return work
    work.ignored = translated.ignored
    # A delivery of many messages (a Segment batch) names the ones it refused; the others are
    # still recorded.
    work.refused.extend(translated.errors)
    for document in translated.events:
        try:
            work.events.append(_event(document))
        except pydantic.ValidationError as exc:
            work.refused.append(f"event {document.get('id')}: {_message(exc)}")
    for person in translated.people:
        try:
            work.people.append(CustomerIn.model_validate(person))
        except pydantic.ValidationError as exc:
            work.refused.append(f"person {person.get('external_id')}: {_message(exc)}")
    if not (work.events or work.people or work.refused or work.ignored):
        work.ignored = "nothing in it that Goodword reads"
    return work


# A refund whose customer the provider did not name stands for its order's purchaser until
# the purchase is found.
_UNKNOWN = "\x00unknown"


def _event(document: dict[str, Any]) -> EventIn:
    if document.get("customer") is None:
        document = {**document, "customer": {"external_id": _UNKNOWN}}
    return EventIn.model_validate(document)


def _message(exc: pydantic.ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def _find_customers(workspace: Workspace, works: list[Work]) -> None:
    """Name the customer of each refund whose provider did not: the purchaser of its order,
    from the purchase recorded before or arriving in this batch. A refund whose purchase is
    not known yet waits for it."""
    unknown = [(w, e) for w in works for e in w.events if e.customer.external_id == _UNKNOWN]
    if not unknown:
        return
    orders = {(w.item.provider, e.order.id) for w, e in unknown if e.order}
    buyers: dict[tuple[str, str], str] = {}
    for work in works:
        for event in work.events:
            if event.type != "refund" and event.order and event.customer.external_id != _UNKNOWN:
                buyers[(work.item.provider, event.order.id)] = event.customer.external_id
    rows = (
        Event.objects.for_workspace(workspace)
        .filter(source__in={s for s, _ in orders}, order_id__in={o for _, o in orders})
        .exclude(type=Event.Type.REFUND)
        .values_list("source", "order_id", "customer_external_id")
    )
    for source, order_id, customer in rows:
        buyers.setdefault((source, order_id), customer)
    for work, event in unknown:
        assert event.order is not None  # noqa: S101 - a refund always names its order
        buyer = buyers.get((work.item.provider, event.order.id))
        if buyer is None:
            work.waiting = f"waiting for the purchase of order {event.order.id}"
        else:
            event.customer.external_id = buyer


def _record(workspace: Workspace, source: str, works: list[Work], now: datetime) -> None:
    """Record the works' people and events; call it inside a transaction (a savepoint)."""
    for work in works:
        for person in work.people:
            upsert_participant(
                workspace=workspace,
                external_id=person.external_id,
                email=person.email,
                name=person.name,
                attributes=person.attributes,
            )
            work.recorded.append(f"participant:{person.external_id}")
    pairs = [(work, event) for work in works for event in work.events]
    for start in range(0, len(pairs), ingest.MAX_BATCH):
        chunk = pairs[start : start + ingest.MAX_BATCH]
        answers = ingest.ingest(
            workspace=workspace, events=[e for _, e in chunk], now=now, source=source
        )
        for (work, event), answer in zip(chunk, answers, strict=True):
            if isinstance(answer, DomainError):
                work.errors.append(f"event {event.id}: {answer.message} ({answer.code})")
            else:
                work.recorded.append(str(answer.result["id"]))


def _again(work: Work, now: datetime) -> datetime | None:
    """When to try an item again, or None: it fails now."""
    item = work.item
    if work.unrecorded:
        return now + backoff(item.attempts) if item.attempts < MAX_ATTEMPTS else None
    if work.waiting:
        # The last try at the end of the wait, whatever the backoff says.
        give_up = item.received_at + MAX_WAIT
        return min(now + wait_backoff(item.attempts), give_up) if now < give_up else None
    return None


def _finish(works: list[Work], now: datetime) -> None:
    for work in works:
        item = work.item
        again = _again(work, now)
        if again is not None:
            item.status, item.error = InboxItem.Status.PENDING, work.unrecorded or work.waiting
            item.next_attempt_at, item.processed_at, item.result = again, None, {}
            continue
        item.processed_at = now
        item.result = {"recorded": work.recorded}
        if work.refused or work.errors or work.waiting or work.unrecorded:
            item.status = InboxItem.Status.FAILED
            reasons = [*work.refused, *work.errors, work.waiting, work.unrecorded]
            item.error = "\n".join(r for r in reasons if r)[:5000]
        elif work.ignored:
            item.status, item.error = InboxItem.Status.IGNORED, ""
            item.result = {"ignored": work.ignored}
        else:
            item.status, item.error = InboxItem.Status.PROCESSED, ""
    rows = [
        {
            "id": w.item.pk,
            "status": w.item.status,
            "attempts": w.item.attempts,
            "error": w.item.error,
            "next_attempt_at": w.item.next_attempt_at,
            "processed_at": w.item.processed_at,
            "result": w.item.result,
        }
        for w in works
    ]
    # `bulk_update` writes a CASE per field and row: it was two thirds of a claim's time.
    if db.vendor == "postgresql":
        _finish_at_once(rows)
    else:
        sql.update_many(InboxItem, [k for k in rows[0] if k != "id"], "", rows)


def _finish_at_once(rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: every item of the claim in one UPDATE, one array per column (one statement
    per item, even pipelined, cost the server twice as much): the one write of each item."""
    statement = f"""
        UPDATE {InboxItem._meta.db_table} AS item SET status = v.status,
            attempts = v.attempts, error = v.error, next_attempt_at = v.next_attempt_at,
            processed_at = v.processed_at, result = v.result::jsonb
        FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::timestamptz[],
                    %s::timestamptz[], %s::text[])
            AS v(id, status, attempts, error, next_attempt_at, processed_at, result)
        WHERE item.id = v.id AND item.id = ANY(%s::bigint[])
    """  # noqa: S608 - the table's name from the model; values are parameters
    ids = [r["id"] for r in rows]
    # The ids twice: the second bounds the items read to the claim's (by the primary key), or
    # PostgreSQL may hash-join against a scan of the whole inbox.
    sql.execute(
        statement,
        [
            ids,
            [str(r["status"]) for r in rows],
            [r["attempts"] for r in rows],
            [r["error"] for r in rows],
            [r["next_attempt_at"] for r in rows],
            [r["processed_at"] for r in rows],
            [json.dumps(r["result"]) for r in rows],
            ids,
        ],
    )
