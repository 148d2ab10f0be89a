"""The worker's claims: oldest first, recorded in one transaction (a failure leaves nothing
half done); on PostgreSQL a claim is that transaction's row locks (two workers take disjoint
items, each item written once), on SQLite one UPDATE a lease ahead. Claims larger than a batch
are fed to ingestion in chunks, and the retry schedules: a refund waiting for its order is
tried for 3 days, an item that could not be recorded 8 times."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from goodword.ingest import services as ingest
from goodword.ingest.models import Event
from goodword.integrations import inbox, services
from goodword.integrations.models import Connection, InboxItem
from goodword.referrals.models import Referral
from tests.conftest import postgres
from tests.factories import Story, make_story
from tests.integrations import connect
from tests.test_integrations_shopify import order, refund_of

WAITING = "waiting for the purchase of order 820982911946154508"


def deliver(
    connection: Connection, topic: str, delivery_id: str, body: dict[str, Any], at: datetime
) -> InboxItem:
    """A delivery stored as the receiving view stores it, received at `at`."""
    services.store_delivery(
        connection=connection, topic=topic, delivery_id=delivery_id, body=json.dumps(body),
        headers={}, now=at,
    )  # fmt: skip
    return InboxItem.objects.get(connection=connection, delivery_id=delivery_id)


def buyer(n: int) -> dict[str, Any]:
    return {"id": 5000 + n, "email": f"friend{n}@example.net"}


AGES = {"b": 3, "a": 5, "c": 1, "later": -1}  # minutes before now (-1: not due yet)


def deliver_aged(story: Story, now: datetime) -> dict[int, str]:
    """Items received AGES minutes before `now`, due then; their delivery ids by pk."""
    connection, _ = connect(story.acme.workspace, "shopify")
    named = {}
    for delivery_id, minutes in AGES.items():
        item = deliver(connection, "shop/update", delivery_id, {}, now - timedelta(minutes=minutes))
        named[item.pk] = delivery_id
    return named


def test_a_claim_takes_the_oldest_due_items_and_leaves_the_rest(story: Story) -> None:
    if postgres():
        pytest.skip("SQLite's lease; PostgreSQL claims by row locks (tests below)")
    now = timezone.now()
    named = deliver_aged(story, now)
    claimed = inbox._lease(now, 2)
    assert [named[i.pk] for i in claimed] == ["b", "a"]  # in id order
    assert {(i.attempts, i.next_attempt_at) for i in claimed} == {(1, now + inbox.LEASE)}
    assert {i.received_at for i in claimed} == {
        now - timedelta(minutes=3),
        now - timedelta(minutes=5),
    }
    stored = dict(InboxItem.objects.values_list("delivery_id", "attempts"))
    assert stored == {"a": 1, "b": 1, "c": 0, "later": 0}
    assert [named[i.pk] for i in inbox._lease(now, 10)] == ["c"]
    assert inbox._lease(now, 10) == []


def test_a_claim_on_postgresql_locks_the_oldest_due_items_and_writes_nothing(
    story: Story,
) -> None:
    if not postgres():
        pytest.skip("row locks: PostgreSQL only")
    now = timezone.now()
    named = deliver_aged(story, now)
    before = set(InboxItem.objects.values_list("delivery_id", "attempts", "next_attempt_at"))
    with transaction.atomic():
        claimed = inbox._lock(now, 2)
        # The try is counted in hand, written with the outcome; the row is not touched.
        assert [named[i.pk] for i in claimed] == ["b", "a"]  # in id order
        assert [(i.attempts, i.next_attempt_at) for i in claimed] == [
            (1, now - timedelta(minutes=3)),
            (1, now - timedelta(minutes=5)),
        ]
        assert [i.body for i in claimed] == ["{}", "{}"]
        assert set(InboxItem.objects.values_list("delivery_id", "attempts", "next_attempt_at")) == (
            before
        )
    assert {a for _, a, _ in before} == {0}


def test_a_failure_mid_claim_records_nothing_and_gives_the_items_back_after_the_lease(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    now = timezone.now()
    deliver(connection, "orders/paid", "o1", order(story.alice["code"]), now)

    def crash(items: list[InboxItem]) -> None:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(inbox, "_received", crash)
    with pytest.raises(RuntimeError):
        inbox.process_due(now=now)
    # The claim's events and outcomes were one transaction: none of it stayed. On PostgreSQL
    # the try was not counted either (the claim wrote nothing), but the item waits a lease, as
    # after SQLite's: due at once, it would be the next claim's oldest, failing again.
    tries = 0 if postgres() else 1
    assert Event.objects.count() == 0
    assert Referral.objects.count() == 0
    item = InboxItem.objects.get()
    assert (item.status, item.attempts, item.next_attempt_at) == (
        "pending",
        tries,
        now + inbox.LEASE,
    )
    assert inbox.process_due(now=now + inbox.LEASE - timedelta(seconds=1)) == 0
    monkeypatch.undo()
    assert inbox.process_due(now=now + inbox.LEASE) == 1
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("processed", tries + 1)
    assert Event.objects.get().external_id == "order:820982911946154508"
    assert Referral.objects.get().status == "converted"


def test_a_claim_larger_than_a_batch_is_ingested_in_chunks(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    now = timezone.now()
    for n in range(5):
        body = order(story.alice["code"], id=900 + n, customer=buyer(n))
        deliver(connection, "orders/paid", f"o{n}", body, now)
    monkeypatch.setattr(ingest, "MAX_BATCH", 2)
    real = ingest.ingest
    calls: list[list[str]] = []

    def spy(**kwargs: Any) -> Any:
        calls.append([e.id for e in kwargs["events"]])
        return real(**kwargs)

    monkeypatch.setattr(ingest, "ingest", spy)
    assert inbox.process_due(now=now) == 5
    assert calls == [["order:900", "order:901"], ["order:902", "order:903"], ["order:904"]]
    assert set(InboxItem.objects.values_list("status", flat=True)) == {"processed"}
    assert Referral.objects.filter(status="converted").count() == 5


def test_a_refund_waits_three_days_for_its_order_then_fails(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    received = timezone.now()
    deliver(connection, "refunds/create", "r1", refund_of("5.00"), received)
    tries: list[float] = []  # hours after receipt
    now = received
    while inbox.process_due(now=now):
        tries.append((now - received).total_seconds() / 3600)
        item = InboxItem.objects.get()
        if item.status != "pending":
            break
        assert item.error == WAITING
        now = item.next_attempt_at
    # 1, 2, 4 ... 32 minutes apart, then hourly (WAIT_STEP), the last try at 72 hours.
    minutes = [60 * (t - u) for t, u in zip(tries[1:7], tries[:6], strict=True)]
    assert [round(m, 6) for m in minutes] == [1, 2, 4, 8, 16, 32]
    assert [round(t - u, 6) for t, u in zip(tries[7:-1], tries[6:-2], strict=True)] == [1.0] * 70
    assert round(tries[6], 6) == 1.05  # 63 minutes
    assert round(tries[-2], 6) == 71.05
    assert tries[-1] == 72.0
    item = InboxItem.objects.get()
    assert (item.status, item.attempts, item.error) == ("failed", 78, WAITING)
    assert item.processed_at == received + timedelta(days=3)
    assert Event.objects.count() == 0
    # The old limit failed it at the 8th try, about 2 hours in; it went on waiting.
    assert len([t for t in tries if t <= 2.2]) == 8


def test_a_refund_whose_order_comes_two_days_later_is_recorded(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    received = timezone.now()
    deliver(connection, "refunds/create", "r1", refund_of("42.50"), received)
    now = received
    while now < received + timedelta(hours=47):
        assert inbox.process_due(now=now) == 1
        now = InboxItem.objects.get().next_attempt_at
    assert InboxItem.objects.get().status == "pending"
    # Shopify delivers the order at last (its retries last 48 hours), just before the
    # refund's next try: the order alone is claimed.
    order_at = received + timedelta(hours=47, minutes=1)
    deliver(connection, "orders/paid", "o1", order(story.alice["code"]), order_at)
    assert inbox.process_due(now=order_at) == 1
    assert Referral.objects.get().status == "converted"
    refund = InboxItem.objects.get(delivery_id="r1")
    assert (refund.status, refund.attempts) == ("pending", 52)
    assert refund.next_attempt_at == received + timedelta(hours=47, minutes=3)
    assert inbox.process_due(now=refund.next_attempt_at) == 1
    refund.refresh_from_db()
    assert (refund.status, refund.error) == ("processed", "")
    assert Event.objects.get(type="refund").customer_external_id == "115310627314723954"
    assert Referral.objects.get().status == "reversed"


def test_an_item_that_cannot_be_recorded_is_tried_eight_times_with_backoff(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    received = timezone.now()
    deliver(connection, "orders/paid", "o1", order(story.alice["code"]), received)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the database is away")

    monkeypatch.setattr(ingest, "ingest", broken)
    tries: list[int] = []  # seconds after receipt
    now = received
    while inbox.process_due(now=now):
        tries.append(int((now - received).total_seconds()))
        item = InboxItem.objects.get()
        if item.status != "pending":
            break
        now = item.next_attempt_at
    # 60, 120, 240 ... 3,840 s apart: backoff(attempts), as before the waiting schedule.
    assert tries == [0, 60, 180, 420, 900, 1860, 3780, 7620]
    item = InboxItem.objects.get()
    assert (item.status, item.attempts) == ("failed", inbox.MAX_ATTEMPTS)
    assert item.error == "could not record: RuntimeError: the database is away"
    assert item.processed_at == received + timedelta(seconds=7620)
    assert Event.objects.count() == 0


# Concurrency (PostgreSQL) ---------------------------------------------------------------------


def deliver_orders(story: Story, count: int, now: datetime) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    for n in range(count):
        body = order(story.alice["code"], id=900 + n, customer=buyer(n))
        deliver(connection, "orders/paid", f"o{n}", body, now)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_take_disjoint_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers, each on its own connection, both with a claim open at once: each holds
    items the other skipped, and every item is processed once, its try counted once."""
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    story = make_story()
    now = timezone.now()
    deliver_orders(story, 20, now)
    barrier = threading.Barrier(2, timeout=60)
    real = inbox._record_claim
    taken: dict[str, list[int]] = {}

    def both_open(works: list[inbox.Work], at: datetime) -> None:
        taken[threading.current_thread().name] = [w.item.pk for w in works]
        barrier.wait()  # the other claim is open too, holding its rows
        real(works, at)

    monkeypatch.setattr(inbox, "_record_claim", both_open)

    def worker() -> int:
        try:
            return inbox.process_due(now=now, limit=10)
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(worker) for _ in range(2)]
        assert [f.result() for f in done] == [10, 10]
    first, second = taken.values()
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(InboxItem.objects.values_list("pk", flat=True))
    assert set(InboxItem.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Event.objects.count() == 20
    assert Referral.objects.filter(status="converted").count() == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_exception_mid_claim_leaves_every_item_pending_with_its_tries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The claim's events were recorded and its outcomes written, then it failed: all of it
    is rolled back, no try is counted, and the items wait a lease."""
    if not postgres():
        pytest.skip("the claim's own transaction: PostgreSQL only")
    story = make_story()
    now = timezone.now()
    deliver_orders(story, 3, now)
    InboxItem.objects.filter(delivery_id="o0").update(attempts=3)  # tried before
    real = inbox._finish

    def crash(works: list[inbox.Work], at: datetime) -> None:
        real(works, at)
        raise RuntimeError("the worker failed here")

    monkeypatch.setattr(inbox, "_finish", crash)
    with pytest.raises(RuntimeError):
        inbox.process_due(now=now)
    rows = InboxItem.objects.order_by("delivery_id")
    assert list(rows.values_list("delivery_id", "status", "attempts", "next_attempt_at")) == [
        ("o0", "pending", 3, now + inbox.LEASE),
        ("o1", "pending", 0, now + inbox.LEASE),
        ("o2", "pending", 0, now + inbox.LEASE),
    ]
    assert list(rows.values_list("processed_at", "result", "error")) == [(None, {}, "")] * 3
    assert Event.objects.count() == 0
    assert Referral.objects.filter(status="converted").count() == 0
    monkeypatch.undo()
    assert inbox.process_due(now=now + inbox.LEASE) == 3
    assert list(rows.values_list("status", "attempts")) == [
        ("processed", 4),
        ("processed", 1),
        ("processed", 1),
    ]
    assert Event.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_mid_claim_leaves_its_items_due_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No lease to wait for: the transaction rolls back, the row locks go with it."""
    if not postgres():
        pytest.skip("the claim's own transaction: PostgreSQL only")
    story = make_story()
    now = timezone.now()
    deliver_orders(story, 2, now)

    def die(works: list[inbox.Work], at: datetime) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(inbox, "_finish", die)
    with pytest.raises(SystemExit):
        inbox.process_due(now=now)
    rows = InboxItem.objects.order_by("delivery_id")
    assert list(rows.values_list("status", "attempts", "next_attempt_at")) == [
        ("pending", 0, now),
        ("pending", 0, now),
    ]
    assert Event.objects.count() == 0
    monkeypatch.undo()
    assert inbox.process_due(now=now) == 2
    assert list(rows.values_list("status", "attempts")) == [("processed", 1), ("processed", 1)]
