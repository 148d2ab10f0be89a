"""Business events in: the one way in for every source, a batch at a time.

`ingest` takes a batch (a single API event is a batch of one): it answers duplicates from their
first result, then, in one transaction, loads the facts for the whole batch with a bounded
number of queries, applies the events in business-time order through the decision core
(`goodword.decisions`), and writes the outcome with bulk statements (`ingest.batch`,
`ingest.write`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from goodword.accounts.models import Workspace
from goodword.events import services as events
from goodword.ingest import load, write
from goodword.ingest.batch import Batch
from goodword.ingest.models import Event
from goodword.ingest.rows import Item
from goodword.ingest.schemas import EventIn
from goodword.lib import ids, sql
from goodword.lib.errors import DomainError, Invalid
from goodword.rewards.tasks import approve_due_rewards_task

# Events sent to the REST API; integrations name their own source.
SOURCE = "api"
MAX_BATCH = 1000
# How far ahead of our clock an event's `occurred_at` may be (the sender's clock may run fast).
MAX_FUTURE_SKEW = timedelta(minutes=5)
# A live event's body is stored and hashed without `test`, as before the field existed: an
# Idempotency-Key retried across the upgrade still matches its first body.
_LIVE_BODY = {"test"}
# A batch whose rows changed under it (a concurrent batch about the same people, an approval)
# is run again from a fresh load; more than this many times in a row is a real fault.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    replayed: bool


Answer = Outcome | DomainError


def body_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    *,
    workspace: Workspace,
    data: EventIn,
    now: datetime,
    idempotency_key: str | None = None,
    source: str = SOURCE,
) -> Outcome:
    """Record one business event, exactly once; raise its error if it is refused."""
    [answer] = ingest(
        workspace=workspace, events=[data], now=now, source=source, idempotency_key=idempotency_key
    )
    if isinstance(answer, DomainError):
        raise answer
    return answer


def ingest(
    *,
    workspace: Workspace,
    events: Sequence[EventIn],
    now: datetime,
    source: str = SOURCE,
    idempotency_key: str | None = None,
) -> list[Answer]:
    """Record a batch of business events; an answer per event, in input order.

    A duplicate (an event id seen before, in an earlier batch or earlier in this one) is
    answered with the first result. Uniqueness is enforced by constraints: of concurrent
    batches carrying the same event, one commits and the others fail on the unique index, roll
    back and run again, finding it recorded.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            return _ingest_once(workspace, list(events), now, source, idempotency_key)
        except (IntegrityError, write.Conflicted):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _ingest_once(
    workspace: Workspace,
    data: list[EventIn],
    now: datetime,
    source: str,
    key: str | None,
) -> list[Answer]:
    answers: list[Answer | None] = [None] * len(data)
    payloads = [d.model_dump(mode="json", exclude=None if d.test else _LIVE_BODY) for d in data]
    digests = [body_hash(p) for p in payloads]
    if key is not None:
        bound = load.by_key(workspace.pk, key)
        if bound is not None:
            if bound.body_hash != digests[0]:
                raise Invalid(
                    "this Idempotency-Key was used with a different request body",
                    code="idempotency_key_reused",
                )
            return [Outcome(bound.result, replayed=True)]
    stored = load.stored(workspace.pk, source, sorted({d.id for d in data}))
    fresh: list[Item] = []
    first: dict[str, int] = {}
    duplicates: dict[int, int] = {}
    for i, event in enumerate(data):
        if event.id in stored:
            found = stored[event.id]
            answers[i] = Outcome(found.result, replayed=True)
            if key is not None:
                load.bind_key(workspace.pk, key, digests[i], found.event_pk, now)
        elif event.id in first:
            duplicates[i] = first[event.id]
        else:
            first[event.id] = i
            occurred = event.occurred_at or now
            if occurred > now + MAX_FUTURE_SKEW:
                answers[i] = Invalid(
                    "occurred_at is in the future; send the moment the event happened, in UTC "
                    "or with an offset",
                    code="occurred_in_future",
                )
                continue
            row = _event_row(workspace, event, payloads[i], digests[i], occurred, now, source)
            row.idempotency_key = key
            fresh.append(Item(index=i, data=event, event=row))
    if fresh:
        for item, answer in zip(fresh, _process(workspace, fresh, now, source), strict=True):
            answers[item.index] = answer
    for i, j in duplicates.items():
        earlier = answers[j]
        answers[i] = Outcome(earlier.result, True) if isinstance(earlier, Outcome) else earlier
    return [a for a in answers if a is not None]


def _event_row(
    workspace: Workspace,
    data: EventIn,
    payload: dict[str, Any],
    digest: str,
    occurred: datetime,
    now: datetime,
    source: str,
) -> Event:
    order = data.order
    return sql.instance(
        Event,
        public_id=ids.new_ev_id(),
        workspace_id=workspace.pk,
        source=source,
        external_id=data.id,
        body_hash=digest,
        type=data.type,
        customer_external_id=data.customer.external_id,
        order_id=order.id if order else "",
        amount=order.amount if order else None,
        currency=(order.currency or "") if order else "",
        advocate_id=None,
        touched_at=None,
        touch_source="",
        click_id="",
        payload=payload,
        result={},
        occurred_at=occurred,
        created_at=now,
        test=data.test,
    )


def _process(workspace: Workspace, items: list[Item], now: datetime, source: str) -> list[Answer]:
    with transaction.atomic(), events.batched():
        batch = Batch(workspace_id=workspace.pk, source=source, now=now)
        batch.load_facts(items)
        accepted = [item for item in items if item.error is None]
        for item in sorted(accepted, key=lambda i: (i.event.occurred_at, i.index)):
            batch.apply(item)
        write.flush(batch, accepted, now)
        if any(r.hold_until <= now for r in batch.changes.new_rewards):
            # Rewards without a hold are approved within seconds, not at the next sweep.
            transaction.on_commit(approve_due_rewards_task.enqueue)
    return [item.error or Outcome(item.event.result, replayed=False) for item in items]
