"""The worker's claims: one UPDATE claims (oldest first, a lease ahead), each claim is recorded
in one transaction (a failure leaves nothing half done and the items to the next lease),
claims larger than a batch are fed to ingestion in chunks, and the retry schedules: a refund
waiting for its order is tried for 3 days, an item that could not be recorded 8 times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from goodword.ingest import services as ingest
from goodword.ingest.models import Event
from goodword.integrations import inbox, services
from goodword.integrations.models import Connection, InboxItem
from goodword.referrals.models import Referral
from tests.factories import Story
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


def test_a_claim_takes_the_oldest_due_items_and_leaves_the_rest(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    now = timezone.now()
    ages = {"b": 3, "a": 5, "c": 1, "later": -1}  # minutes before now (-1: not due yet)
    named = {}
    for delivery_id, minutes in ages.items():
        item = deliver(connection, "shop/update", delivery_id, {}, now - timedelta(minutes=minutes))
        named[item.pk] = delivery_id
    claimed = inbox._claim(now, 2)
    assert [named[i.pk] for i in claimed] == ["b", "a"]  # in id order
    assert {(i.attempts, i.next_attempt_at) for i in claimed} == {(1, now + inbox.LEASE)}
    assert {i.received_at for i in claimed} == {
        now - timedelta(minutes=3),
        now - timedelta(minutes=5),
    }
    stored = dict(InboxItem.objects.values_list("delivery_id", "attempts"))
    assert stored == {"a": 1, "b": 1, "c": 0, "later": 0}
    assert [named[i.pk] for i in inbox._claim(now, 10)] == ["c"]
    assert inbox._claim(now, 10) == []


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
    # The claim's events and outcomes were one transaction: none of it stayed.
    assert Event.objects.count() == 0
    assert Referral.objects.count() == 0
    item = InboxItem.objects.get()
    assert (item.status, item.attempts, item.next_attempt_at) == ("pending", 1, now + inbox.LEASE)
    assert inbox.process_due(now=now + inbox.LEASE - timedelta(seconds=1)) == 0
    monkeypatch.undo()
    assert inbox.process_due(now=now + inbox.LEASE) == 1
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("processed", 2)
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
