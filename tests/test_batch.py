"""POST /api/v1/events/batch, business time and arrival order, through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, Story, purchase, refund, signup

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=10)


def at(event: dict[str, Any], when: datetime) -> dict[str, Any]:
    return {**event, "occurred_at": when.isoformat()}


def batch(api: Api, *events: dict[str, Any]) -> list[dict[str, Any]]:
    with time_machine.travel(NOW, tick=False):
        response = api.post("/events/batch", {"events": list(events)})
    assert response.status_code == 200, response.content
    return list(response.json()["data"])


def send(api: Api, event: dict[str, Any]) -> dict[str, Any]:
    with time_machine.travel(NOW, tick=False):
        response = api.event(event)
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def referral_of(friend: str) -> Referral:
    return Referral.objects.get(referee__external_id=friend)


def test_batch_answers_each_event_in_input_order(story: Story) -> None:
    code = story.alice["code"]
    answers = batch(
        story.acme,
        signup("s-bob", "bob", referral_code=code),
        purchase("p-bob", "bob", "order-1", 2500),
        signup("s-bob", "bob", referral_code=code),  # a duplicate within the batch
        {"id": "bad", "type": "purchase", "customer": {"external_id": "zed"}},
        signup("s-zoe", "zoe", referral_code="NOBODY-1"),
    )
    assert [a["status"] for a in answers] == [201, 201, 200, 422, 422]
    assert answers[2]["result"] == answers[0]["result"]
    assert answers[1]["result"]["referrals"][0]["status"] == "converted"
    assert [(r["beneficiary"], r["amount"]) for r in answers[1]["result"]["rewards"]] == [
        ("advocate", 1000),
        ("friend", 500),
    ]
    assert answers[3]["error"]["code"] == "validation_error"
    assert answers[3]["error"]["message"] == (
        "events[3]: a purchase needs `order` with `id`, `amount` and `currency`"
    )
    assert answers[4]["error"] == {
        "code": "unknown_referral_code",
        "message": "referral_code 'NOBODY-1' matches no advocate in this workspace",
        "details": None,
    }
    # The refused events wrote nothing: no zed, no zoe, two events recorded.
    assert sorted(Participant.objects.values_list("external_id", flat=True)) == ["alice", "bob"]
    assert sorted(Event.objects.values_list("external_id", flat=True)) == ["p-bob", "s-bob"]
    # The whole batch again: every event a replay, nothing new.
    again = batch(story.acme, signup("s-bob", "bob", referral_code=code))
    assert (again[0]["status"], again[0]["result"]) == (200, answers[0]["result"])
    assert Reward.objects.count() == 2


def test_batch_request_must_be_a_list_of_1_to_1000_events(story: Story) -> None:
    acme = story.acme
    for body, message in [
        ({"events": []}, "events: must not be empty"),
        ({"events": [signup(f"s-{i}", f"f{i}") for i in range(1001)]},
         "events: must have at most 1000 items"),
        ({}, "events: is required"),
        ({"events": [], "extra": 1}, "events: must not be empty"),
    ]:  # fmt: skip
        response = acme.post("/events/batch", body)
        assert response.status_code == 422
        assert response.json()["error"]["message"] == message
    assert Event.objects.count() == 0
    assert Participant.objects.count() == 1  # alice


def test_a_batch_is_applied_in_business_time_order(story: Story) -> None:
    answers = batch(
        story.acme,
        at(purchase("p-bob", "bob", "order-1", 2500), T0 + timedelta(days=1)),
        at(signup("s-bob", "bob", referral_code=story.alice["code"]), T0),
    )
    assert [a["result"]["referrals"][0]["status"] for a in answers] == ["converted", "signed_up"]
    referral = referral_of("bob")
    assert (referral.status, referral.signed_up_at, referral.converted_at) == (
        "converted",
        T0,
        T0 + timedelta(days=1),
    )
    # Holds count from when the purchase happened, not from when it arrived.
    assert set(Reward.objects.values_list("hold_until", flat=True)) == {T0 + timedelta(days=15)}


def test_refund_that_arrives_before_its_purchase_reverses_the_conversion(story: Story) -> None:
    acme = story.acme
    send(acme, at(signup("s-bob", "bob", referral_code=story.alice["code"]), T0))
    early = send(acme, at(refund("r-bob", "bob", "order-1"), T0 + timedelta(days=2)))
    assert early["referrals"] == []
    late = send(acme, at(purchase("p-bob", "bob", "order-1", 2500), T0 + timedelta(days=1)))
    assert late["referrals"][0]["status"] == "reversed"
    assert [r["status"] for r in late["rewards"]] == ["reversed", "reversed"]
    assert approve_due_rewards(now=NOW + timedelta(days=30)) == 0
    assert LedgerTransaction.objects.count() == 0
    assert referral_of("bob").reversed_at == T0 + timedelta(days=2)


def test_purchase_that_arrives_before_its_signup_converts_when_the_signup_arrives(
    story: Story,
) -> None:
    acme = story.acme
    first = send(acme, at(purchase("p-bob", "bob", "order-1", 2500), T0 + timedelta(days=1)))
    assert (first["attribution"], first["referrals"], first["rewards"]) == ("none", [], [])
    then = send(acme, at(signup("s-bob", "bob", referral_code=story.alice["code"]), T0))
    assert then["referrals"][0]["status"] == "converted"
    assert len(then["rewards"]) == 2
    referral = referral_of("bob")
    assert (referral.reject_reason, referral.order_id) == ("", "order-1")


def test_an_older_purchase_arriving_late_withdraws_a_provisional_conversion(story: Story) -> None:
    acme = story.acme
    send(acme, at(signup("s-bob", "bob", referral_code=story.alice["code"]), T0))
    converted = send(acme, at(purchase("p-bob", "bob", "order-1", 2500), T0 + timedelta(days=1)))
    reward_ids = sorted(r["id"] for r in converted["rewards"])
    # bob had bought before alice referred him: he was an existing customer all along.
    send(acme, at(purchase("p-old", "bob", "order-0", 900), T0 - timedelta(days=3)))
    referral = referral_of("bob")
    assert (referral.status, referral.reject_reason, referral.converted_at) == (
        "rejected",
        "existing_customer",
        None,
    )
    assert Reward.objects.count() == 0
    withdrawn = DomainEvent.objects.filter(name="reward.withdrawn")
    assert sorted(withdrawn.values_list("subject_id", flat=True)) == reward_ids
    revised = DomainEvent.objects.get(name="referral.revised")
    assert revised.data == {
        "program": story.program["id"],
        "status": "rejected",
        "was": "converted",
    }


def test_a_settled_referral_is_not_redecided_but_a_refund_still_claws_back(story: Story) -> None:
    acme = story.acme
    send(acme, at(signup("s-bob", "bob", referral_code=story.alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 2500), T0 + timedelta(days=1)))
    assert approve_due_rewards(now=T0 + timedelta(days=16)) == 2
    late = send(acme, at(purchase("p-old", "bob", "order-0", 900), T0 - timedelta(days=3)))
    assert late["referrals"] == []
    assert referral_of("bob").status == "rewarded"
    refunded = send(acme, at(refund("r-bob", "bob", "order-1"), T0 + timedelta(days=9)))
    assert [r["status"] for r in refunded["referrals"]] == ["reversed"]
    assert sorted(LedgerTransaction.objects.values_list("kind", flat=True)) == [
        "clawback",
        "clawback",
        "reward",
        "reward",
    ]


def test_occurred_at_more_than_five_minutes_ahead_is_refused(story: Story) -> None:
    acme = story.acme
    ahead = at(signup("s-bob", "bob"), NOW + timedelta(minutes=6))
    with time_machine.travel(NOW, tick=False):
        response = acme.event(ahead)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "occurred_in_future"
    [answer] = batch(acme, ahead)
    assert (answer["status"], answer["error"]["code"]) == (422, "occurred_in_future")
    # A sender's clock a little fast is fine.
    [answer] = batch(acme, at(signup("s-bob", "bob"), NOW + timedelta(minutes=4)))
    assert answer["status"] == 201
    assert Event.objects.count() == 1


def test_an_idempotency_key_first_seen_on_a_replay_is_bound_to_it(story: Story) -> None:
    acme = story.acme
    body = signup("s-bob", "bob", referral_code=story.alice["code"])
    assert acme.event(body).status_code == 201
    replay = acme.event(body, {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert replay.status_code == 200
    other = acme.event(signup("s-dan", "dan"), {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert not Participant.objects.filter(external_id="dan").exists()
    same = acme.event(body, {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    assert (same.status_code, same.json()) == (200, replay.json())


def loop_batch(code: str, start: int, size: int) -> list[dict[str, Any]]:
    """New friends' signups with the code, and first purchases of the previous batch's."""
    events = []
    for i in range(start, start + size):
        events.append(signup(f"s-{i}", f"friend-{i}", referral_code=code))
        if i >= size:
            events.append(purchase(f"p-{i}", f"friend-{i - size}", f"order-{i}", 2500))
    return events


def test_queries_per_batch_do_not_grow_with_its_size(story: Story) -> None:
    code = story.alice["code"]
    counts = []
    for start, size in [(0, 10), (10, 10), (20, 40), (60, 40)]:
        with CaptureQueriesContext(connection) as queries:
            answers = batch(story.acme, *loop_batch(code, start, size))
        assert {a["status"] for a in answers} == {201}
        counts.append(len(queries))
    # The second and fourth batches both convert the previous batch's friends: 4x the events,
    # the same statements, but for the inserts going 100 rows to a statement (200 domain events
    # in the fourth batch, 50 in the second).
    assert counts[1] <= counts[3] <= counts[1] + 1
    assert Reward.objects.count() == 2 * (10 + 10 + 40)
