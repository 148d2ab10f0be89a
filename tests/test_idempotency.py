"""Idempotent event ingestion: IDEM-1 (a storm of identical deliveries), IDEM-2 (Idempotency-Key
misuse), IDEM-3 (a replay weeks later). Each ends with the ledger checked for drift (LEDGER-3)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, Story, make_story, purchase
from tests.shared import balance_line

CALLERS = 50
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def assert_no_drift() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()
    assert "problem" not in out.getvalue()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: str | None


def post_at_once(api: Api, body: dict[str, Any], callers: int) -> list[Answer]:
    """POST `body` to /events from `callers` threads released together by a barrier.

    Each thread has its own test client and, Django connections being per thread, its own
    database connection, which it closes when done.
    """
    barrier = threading.Barrier(callers, timeout=60)
    payload = json.dumps(body)

    def call() -> Answer:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                "/api/v1/events",
                payload,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {api.key}",
            )
            return Answer(r.status_code, r.content, r.headers.get("Idempotent-Replayed"))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=callers) as pool:
        futures = [pool.submit(call) for _ in range(callers)]
        return [f.result() for f in futures]


def approve_at_once(now: datetime, workers: int) -> int:
    """Run the approval sweeper from several threads at once; return the total approved."""
    barrier = threading.Barrier(workers, timeout=60)

    def sweep() -> int:
        try:
            barrier.wait()
            return approve_due_rewards(now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(sweep) for _ in range(workers)]
        return sum(f.result() for f in futures)


def check_round(story: Story, n: int, answers: list[Answer]) -> None:
    friend = f"bob-{n}"
    # One delivery did the work; the 49 others were answered from its stored result.
    assert sorted(a.status for a in answers) == [200] * (CALLERS - 1) + [201]
    assert sorted(str(a.replayed) for a in answers) == ["None"] + ["true"] * (CALLERS - 1)
    assert len({a.body for a in answers}) == 1
    event = Event.objects.get(workspace=story.acme.workspace, external_id=f"p-{friend}")
    assert json.loads(answers[0].body) == event.result
    referral = Referral.objects.get(referee__external_id=friend)
    assert referral.status == Referral.Status.CONVERTED
    assert (referral.order_id, referral.order_amount) == (f"order-{n}", 2500)
    rewards = Reward.objects.filter(referral=referral).order_by("pk")
    assert [(r.beneficiary, r.participant.external_id, r.amount, r.status) for r in rewards] == [
        ("advocate", "alice", 1000, "pending"),
        ("friend", friend, 500, "pending"),
    ]
    assert [x["id"] for x in event.result["rewards"]] == [r.public_id for r in rewards]
    conversions = DomainEvent.objects.filter(
        name="referral.converted", subject_id=referral.public_id
    )
    assert conversions.count() == 1


ROUNDS = [
    pytest.param(20, id="20-rounds"),
    pytest.param(200, id="200-rounds", marks=pytest.mark.long),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", ROUNDS)
def test_concurrent_identical_purchases_record_one_event_and_one_reward_set(rounds: int) -> None:
    """IDEM-1: 50 identical purchases at once, each round a new friend converting."""
    story = make_story()
    for n in range(rounds):
        body = purchase(
            f"p-bob-{n}", f"bob-{n}", f"order-{n}", 2500, referral_code=story.alice["code"]
        )
        check_round(story, n, post_at_once(story.acme, body, CALLERS))
    assert Event.objects.count() == rounds
    assert Referral.objects.count() == rounds
    assert Reward.objects.count() == 2 * rounds
    assert DomainEvent.objects.filter(name="referral.converted").count() == rounds
    assert LedgerTransaction.objects.count() == 0

    # Four sweepers race over the due rewards: each reward is approved and posted once.
    assert approve_at_once(timezone.now() + timedelta(days=15), workers=4) == 2 * rounds
    assert approve_due_rewards(now=timezone.now() + timedelta(days=16)) == 0
    for reward in Reward.objects.all():
        assert reward.status == Reward.Status.APPROVED
        assert LedgerTransaction.objects.filter(reward=reward, kind="reward").count() == 1
    assert LedgerTransaction.objects.count() == 2 * rounds
    balance = story.acme.get("/participants/alice/balance").json()["balances"]
    assert balance == [balance_line(available=1000 * rounds)]
    assert Referral.objects.filter(status=Referral.Status.REWARDED).count() == rounds
    assert_no_drift()


def test_reused_idempotency_key_with_another_body_is_refused(story: Story) -> None:
    """IDEM-2: a key names one request; the same key with another body is a client bug."""
    acme = story.acme
    first = acme.event(purchase("p-bob", "bob", "order-1", 2500), {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert first.status_code == 201
    assert first.headers.get("Idempotent-Replayed") is None

    other = acme.event(purchase("p-bob-2", "bob", "order-2", 3000), {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Event.objects.values_list("external_id", flat=True)) == ["p-bob"]
    assert Event.objects.filter(order_id="order-2").exists() is False

    again = acme.event(purchase("p-bob", "bob", "order-1", 2500), {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Event.objects.count() == 1


def test_same_event_id_under_another_key_is_answered_from_the_first(story: Story) -> None:
    acme = story.acme
    first = acme.event(
        purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"]),
        {"HTTP_IDEMPOTENCY_KEY": "k-1"},
    )
    assert first.status_code == 201
    retry = acme.event(
        purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"]),
        {"HTTP_IDEMPOTENCY_KEY": "k-2"},
    )
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert retry.content == first.content
    assert Event.objects.count() == 1
    assert Reward.objects.count() == 2


@pytest.mark.parametrize("key", ["k" * 256, "k" * 10_000, "", "k\x00", "k\x1b[31m"])
def test_bad_idempotency_key_is_refused_and_writes_nothing(story: Story, key: str) -> None:
    """IDEM-2: keys over 255 characters, empty ones and control characters (a NUL was a 500 on
    PostgreSQL, found by SEC-10) are a 400 before any work."""
    r = story.acme.event(
        purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"]),
        {"HTTP_IDEMPOTENCY_KEY": key},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_idempotency_key"
    assert Event.objects.count() == 0
    assert Referral.objects.count() == 0
    assert Reward.objects.count() == 0
    assert Participant.objects.filter(external_id="bob").exists() is False


def test_idempotency_key_of_255_characters_is_accepted(story: Story) -> None:
    key = "k" * 255
    r = story.acme.event(purchase("p-bob", "bob", "order-1", 2500), {"HTTP_IDEMPOTENCY_KEY": key})
    assert r.status_code == 201
    assert Event.objects.get().idempotency_key == key


def test_idempotency_key_is_scoped_to_its_workspace(story: Story) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    assert story.acme.event(purchase("p-bob", "bob", "order-1", 2500), headers).status_code == 201
    r = story.globex.event(purchase("p-mallory", "mallory", "order-7", 900), headers)
    assert r.status_code == 201
    assert r.json()["participant"] == "mallory"
    assert Event.objects.for_workspace(story.globex.workspace).get().external_id == "p-mallory"
    assert Event.objects.for_workspace(story.acme.workspace).get().external_id == "p-bob"


def test_event_replayed_weeks_later_returns_the_first_result_and_grants_nothing(
    story: Story,
) -> None:
    """IDEM-3: the business resends an old event id after the hold, approval and spending."""
    acme = story.acme
    body = purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"])
    with time_machine.travel(T0, tick=False):
        first = acme.event(body)
    assert first.status_code == 201
    assert [x["status"] for x in first.json()["rewards"]] == ["pending", "pending"]
    assert approve_due_rewards(now=T0 + timedelta(days=15)) == 2
    with time_machine.travel(T0 + timedelta(days=16), tick=False):
        spent = acme.post(
            "/participants/alice/redemptions", {"order_id": "a-1", "amount": 400, "currency": "USD"}
        )
    assert spent.status_code == 201

    for weeks in (3, 6, 52):
        with time_machine.travel(T0 + timedelta(weeks=weeks), tick=False):
            replay = acme.event(body)
        assert replay.status_code == 200
        assert replay.headers["Idempotent-Replayed"] == "true"
        # The stored first answer, not the state now (the rewards are approved by now).
        assert replay.content == first.content
    # A replay whose body drifted (the business re-exported the order) is still the same event.
    with time_machine.travel(T0 + timedelta(weeks=8), tick=False):
        drifted = acme.event(
            {**body, "order": {"id": "order-1", "amount": 2600, "currency": "USD"}}
        )
    assert (drifted.status_code, drifted.content) == (200, first.content)

    assert Event.objects.count() == 1
    assert Reward.objects.count() == 2
    assert set(Reward.objects.values_list("status", flat=True)) == {"approved"}
    assert LedgerTransaction.objects.filter(kind="reward").count() == 2
    assert DomainEvent.objects.filter(name="referral.converted").count() == 1
    balance = acme.get("/participants/alice/balance").json()["balances"]
    assert balance == [balance_line(available=600)]
    assert_no_drift()
