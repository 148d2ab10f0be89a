"""Recipient's choice: a reward that offers `choices` waits for the beneficiary's pick until
`choose_by`, even past its hold; choosing makes it that offer; a deadline passed, or an approval
by hand, keeps the default.

The cast: alice advocates in acme's program, whose advocate rule gives 10.00 of credit or, if
she prefers within 20 days, a 20.00 gift card or 500 points; her friend bob gets 5.00 of credit
(no choice). bob buys at T0; the hold is 14 days.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from goodword.accounts.models import ApiKey
from goodword.events.models import DomainEvent
from goodword.rewards.models import Fulfilment, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.conftest import postgres
from tests.factories import Api, make_story, purchase
from tests.shared import row_counts
from tests.test_ledger import assert_no_drift

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # bob's converting purchase
T1 = T0 + timedelta(days=1)
HOLD_ENDS = T0 + timedelta(days=14)
CHOOSE_BY = T0 + timedelta(days=20)
SECOND = timedelta(seconds=1)
OFFERS = [
    {"kind": "gift_card", "amount": 2000, "currency": "USD"},
    {"kind": "points", "amount": 500, "currency": "PTS"},
]
RULE = {
    "beneficiary": "advocate",
    "kind": "credit",
    "amount": 1000,
    "choices": [{"kind": "gift_card", "amount": 2000}, {"kind": "points", "amount": 500}],
    "choice_days": 20,
}
FRIEND_RULE = {"beneficiary": "friend", "kind": "credit", "amount": 500}


# Every domain event written must match its name's schema.
pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


@dataclass
class World:
    acme: Api
    globex: Api
    referral: str
    alice: str  # alice's reward: it offers a choice
    bob: str  # bob's: no choice
    actor: str

    def choose(self, reward_id: str, kind: Any, when: datetime = T1) -> Any:
        with at(when):
            return self.acme.post(f"/rewards/{reward_id}/choose", {"kind": kind})

    def reward(self, reward_id: str) -> dict[str, Any]:
        response = self.acme.get("/rewards", participant="alice")
        return next(r for r in response.json()["data"] if r["id"] == reward_id)


def open_choices_as_the_engine_will() -> None:
    """The ingestion engine does not copy a rule's `choices` to its rewards yet (another
    change): until it does, set what it will: the offers, and `choose_by` the rule's
    `choice_days` after the grant."""
    for reward in Reward.objects.filter(rule__choices__isnull=False).select_related("rule"):
        assert reward.rule is not None
        assert reward.rule.choice_days is not None
        reward.choices = reward.rule.choices
        reward.choose_by = reward.created_at + timedelta(days=reward.rule.choice_days)
        reward.save(update_fields=["choices", "choose_by"])


def make_world() -> World:
    story = make_story(rewards=[RULE, FRIEND_RULE])
    with at(T0):
        body = purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"])
        converted = story.acme.event(body).json()
    open_choices_as_the_engine_will()
    by_who = {r["beneficiary"]: r["id"] for r in converted["rewards"]}
    key = ApiKey.objects.get(workspace=story.acme.workspace)
    return World(
        acme=story.acme,
        globex=story.globex,
        referral=converted["referrals"][0]["id"],
        alice=by_who["advocate"],
        bob=by_who["friend"],
        actor=f"api_key:{key.public_id}",
    )


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def events_of(subject: str, *names: str) -> list[tuple[str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(subject_id=subject)
    if names:
        rows = rows.filter(name__in=names)
    return [(e.name, e.data) for e in rows.order_by("pk")]


def offer(reward_id: str) -> tuple[Any, ...]:
    r = Reward.objects.get(public_id=reward_id)
    return (
        r.status,
        r.kind,
        r.amount,
        r.percent_off,
        r.currency,
        r.details,
        r.choices,
        r.choose_by,
    )


def refused(world: World, kind: Any, when: datetime, status: int, code: str, hint: str) -> None:
    """Choosing answers `status` with `code` and a message saying `hint`, and writes nothing."""
    before, was = row_counts(), offer(world.alice)
    response = world.choose(world.alice, kind, when)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert hint in error["message"], error["message"]
    assert row_counts() == before
    assert offer(world.alice) == was


def test_the_reward_shows_its_offers_until_its_deadline(world: World) -> None:
    reward = world.reward(world.alice)
    assert (reward["kind"], reward["amount"], reward["currency"]) == ("credit", 1000, "USD")
    assert reward["choices"] == OFFERS
    assert reward["choose_by"] == "2026-03-22T09:00:00Z"
    assert offer(world.bob)[-2:] == (None, None)


def test_choosing_an_offer_makes_the_reward_that_offer(world: World) -> None:
    response = world.choose(world.alice, "gift_card")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["amount"], body["currency"], body["status"]) == (
        "gift_card",
        2000,
        "USD",
        "pending",
    )
    assert (body["choices"], body["choose_by"], body["details"]) == (None, None, {})
    assert offer(world.alice) == ("pending", "gift_card", 2000, None, "USD", {}, None, None)
    assert events_of(world.alice) == [
        ("reward.created", {"referral": world.referral, "beneficiary": "advocate"}),
        (
            "reward.chosen",
            {
                "referral": world.referral,
                "by": "beneficiary",
                "kind": "gift_card",
                "amount": 2000,
                "percent_off": None,
                "currency": "USD",
                "details": {},
                "actor": world.actor,
            },
        ),
    ]
    # Chosen, the reward no longer waits for the deadline: the hold's end approves it, as a
    # gift card to deliver.
    assert approve_due_rewards(now=HOLD_ENDS) == 2
    assert offer(world.alice)[0] == "pending_fulfilment"
    assert Fulfilment.objects.get(reward__public_id=world.alice).status == "pending"
    [(_, approved)] = events_of(world.alice, "reward.approved")
    assert (approved["kind"], approved["amount"], approved["currency"]) == (
        "gift_card",
        2000,
        "USD",
    )
    assert LedgerTransaction.objects.filter(reward__public_id=world.alice).count() == 0


def test_a_coupon_offer_keeps_its_code_options(db: None) -> None:
    """A chosen coupon gets its code as its offer says (the rule's `choices`), and its minimum
    order in `details`."""
    coupon = {"pattern": "PICK-XXXXXX", "min_order": 3000}
    rule = {**RULE, "choices": [{"kind": "coupon", "percent_off": 15, "coupon": coupon}]}
    story = make_story(rewards=[rule, FRIEND_RULE])
    with at(T0):
        body = purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"])
        converted = story.acme.event(body).json()
    open_choices_as_the_engine_will()
    [alice] = [r["id"] for r in converted["rewards"] if r["beneficiary"] == "advocate"]
    with at(T1):
        response = story.acme.post(f"/rewards/{alice}/choose", {"kind": "coupon"})

    assert response.status_code == 200, response.content
    assert offer(alice) == ("pending", "coupon", None, 15, "USD", {"min_order": 3000}, None, None)
    approve_due_rewards(now=HOLD_ENDS)
    reward = Reward.objects.get(public_id=alice)
    assert (reward.status, reward.details["min_order"]) == ("fulfilled", 3000)
    assert reward.coupon_code.startswith("PICK-")
    assert len(reward.coupon_code) == len("PICK-XXXXXX")


def test_choosing_points_moves_the_pending_value_to_pts(world: World) -> None:
    balance = world.acme.get("/participants/alice/balance").json()["balances"]
    assert [(b["currency"], b["pending"]) for b in balance] == [("USD", 1000)]

    assert world.choose(world.alice, "points").status_code == 200

    assert offer(world.alice) == ("pending", "points", 500, None, "PTS", {}, None, None)
    balance = world.acme.get("/participants/alice/balance").json()["balances"]
    assert [(b["currency"], b["pending"]) for b in balance] == [("PTS", 500)]
    approve_due_rewards(now=HOLD_ENDS)
    balance = world.acme.get("/participants/alice/balance").json()["balances"]
    assert [(b["currency"], b["available"]) for b in balance] == [("PTS", 500)]
    assert_no_drift()


def test_choosing_the_default_keeps_it_and_closes_the_choice(world: World) -> None:
    assert world.choose(world.alice, "credit").status_code == 200

    assert offer(world.alice) == ("pending", "credit", 1000, None, "USD", {}, None, None)
    assert [d["by"] for _, d in events_of(world.alice, "reward.chosen")] == ["beneficiary"]
    assert approve_due_rewards(now=HOLD_ENDS) == 2
    balance = world.acme.get("/participants/alice/balance").json()["balances"]
    assert [(b["currency"], b["available"]) for b in balance] == [("USD", 1000)]


def test_an_open_choice_holds_the_reward_past_its_hold_then_keeps_the_default(
    world: World,
) -> None:
    # The hold ends: bob's reward is approved, alice's waits for her choice.
    assert approve_due_rewards(now=HOLD_ENDS) == 1
    assert offer(world.alice)[0] == "pending"
    assert approve_due_rewards(now=CHOOSE_BY - SECOND) == 0
    # She may still choose after the hold, before the deadline; here she does not.

    assert approve_due_rewards(now=CHOOSE_BY) == 1

    assert offer(world.alice) == ("approved", "credit", 1000, None, "USD", {}, None, None)
    par = Reward.objects.select_related("participant").get(public_id=world.alice).participant
    what = {"kind": "credit", "amount": 1000, "percent_off": None, "currency": "USD"}
    assert events_of(world.alice, "reward.chosen", "reward.approved") == [
        ("reward.chosen", {"referral": world.referral, "by": "default", **what, "details": {}}),
        (
            "reward.approved",
            {
                "referral": world.referral,
                **what,
                "details": {},
                "participant": par.public_id,
                "external_id": "alice",
            },
        ),
    ]
    balance = world.acme.get("/participants/alice/balance").json()["balances"]
    assert [(b["currency"], b["available"]) for b in balance] == [("USD", 1000)]
    # Closed: too late to choose now.
    refused(world, "points", CHOOSE_BY + SECOND, 409, "choice_closed", "it kept its default")
    assert_no_drift()


def test_choosing_at_or_after_the_deadline_is_refused(world: World) -> None:
    refused(
        world,
        "gift_card",
        CHOOSE_BY,
        409,
        "choice_closed",
        f"the choice of reward {world.alice} closed at 2026-03-22T09:00:00Z",
    )
    assert events_of(world.alice, "reward.chosen") == []


def test_choosing_twice_is_refused(world: World) -> None:
    assert world.choose(world.alice, "gift_card").status_code == 200
    refused(
        world,
        "points",
        T1 + SECOND,
        409,
        "already_chosen",
        f"reward {world.alice} was already chosen: gift_card",
    )
    assert len(events_of(world.alice, "reward.chosen")) == 1


def test_a_kind_not_offered_is_refused(world: World) -> None:
    before = row_counts()
    response = world.choose(world.alice, "cash")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "kind_not_offered",
        "message": f"kind 'cash' is not offered by reward {world.alice}: choose one of "
        "credit, gift_card, points",
        "details": {"offered": ["credit", "gift_card", "points"]},
    }
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({}, "kind: is required"),
        ({"kind": "cheque"}, "kind: must be one of"),
        ({"kind": 3}, "kind"),
        ({"kind": "points", "amount": 10}, "amount: is not a known field"),
    ],
)
def test_a_bad_body_is_a_422(world: World, body: dict[str, Any], hint: str) -> None:
    before = row_counts()
    with at(T1):
        response = world.acme.post(f"/rewards/{world.alice}/choose", body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], hint in error["message"]) == ("validation_error", True), error
    assert row_counts() == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"kind": ', 400, "malformed_body"),
        (b"[]", 422, "validation_error"),
        (b"", 422, "validation_error"),
    ],
)
def test_a_bad_document_is_refused(world: World, raw: bytes, status: int, code: str) -> None:
    before = row_counts()
    with at(T1):
        response = world.acme.post(f"/rewards/{world.alice}/choose", raw)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert row_counts() == before


def test_a_reward_without_choices_offers_none(world: World) -> None:
    before = row_counts()
    response = world.choose(world.bob, "credit")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_choice"
    assert response.json()["error"]["message"] == f"reward {world.bob} offers no choice"
    assert row_counts() == before


def test_a_rejected_reward_cannot_be_chosen(world: World) -> None:
    with at(T1):
        assert (
            world.acme.post(f"/rewards/{world.alice}/reject", {"reason": "dup"}).status_code == 200
        )
    refused(
        world,
        "gift_card",
        T1 + SECOND,
        409,
        "invalid_state",
        "is rejected: only a pending reward's choice can be made",
    )


def test_an_early_approval_by_hand_closes_the_choice_with_the_default(world: World) -> None:
    with at(T1):
        response = world.acme.post(f"/rewards/{world.alice}/approve", {})

    assert response.status_code == 200, response.content
    assert offer(world.alice) == ("approved", "credit", 1000, None, "USD", {}, None, None)
    chosen, approved = events_of(world.alice, "reward.chosen", "reward.approved")
    assert chosen == (
        "reward.chosen",
        {
            "referral": world.referral,
            "by": "default",
            "kind": "credit",
            "amount": 1000,
            "percent_off": None,
            "currency": "USD",
            "details": {},
            "actor": world.actor,
        },
    )
    assert (approved[1]["actor"], approved[1]["early"], approved[1]["kind"]) == (
        world.actor,
        True,
        "credit",
    )
    refused(world, "gift_card", T1 + SECOND, 409, "choice_closed", "it kept its default")


def test_other_workspace_gets_404(world: World) -> None:
    before = row_counts(world.acme.workspace)
    with at(T1):
        response = world.globex.post(f"/rewards/{world.alice}/choose", {"kind": "gift_card"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert row_counts(world.acme.workspace) == before
    assert offer(world.alice)[1] == "credit"
    with at(T1):
        unknown = world.acme.post("/rewards/rwd_nothing/choose", {"kind": "gift_card"})
    assert unknown.status_code == 404


# Concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_choice_racing_an_early_approval_is_one_or_the_other() -> None:
    """The beneficiary chooses the gift card while staff approve the reward: either the choice
    lands first and the gift card is approved, or the approval keeps the credit and the choice
    is refused. Never credit posted for a reward that says gift card."""
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    for _ in range(5):
        world = make_world()

        def call(path: str, body: dict[str, str], barrier: threading.Barrier) -> int:
            try:
                barrier.wait()
                response = Client().post(
                    f"/api/v1{path}",
                    json.dumps(body),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {world.acme.key}",  # noqa: B023
                )
                return int(response.status_code)
            finally:
                connection.close()

        barrier = threading.Barrier(2, timeout=60)
        with ThreadPoolExecutor(max_workers=2) as pool:
            chose = pool.submit(
                call, f"/rewards/{world.alice}/choose", {"kind": "gift_card"}, barrier
            )
            approved = pool.submit(call, f"/rewards/{world.alice}/approve", {}, barrier)
            statuses = (chose.result(), approved.result())
        reward = Reward.objects.get(public_id=world.alice)
        chosen = [d["by"] for _, d in events_of(world.alice, "reward.chosen")]
        posted = LedgerTransaction.objects.filter(reward=reward).count()
        fulfilments = Fulfilment.objects.filter(reward=reward).count()
        outcome = (statuses, reward.status, reward.kind, chosen, posted, fulfilments)
        assert outcome in (
            ((200, 200), "pending_fulfilment", "gift_card", ["beneficiary"], 0, 1),
            ((409, 200), "approved", "credit", ["default"], 1, 0),
        ), outcome
        assert (reward.choices, reward.choose_by) == (None, None)


def test_a_choice_made_survives_a_later_event_about_the_friend(db: None) -> None:
    """Found in review: deciding the referral again (the friend's next purchase, a partial
    refund) kept the hold and status in line, but put back the rule's default offer."""
    w = make_world()
    assert w.choose(w.alice, "gift_card").status_code == 200
    with at(T1 + timedelta(hours=1)):
        assert w.acme.event(purchase("p-bob-2", "bob", "order-2", 1000)).status_code == 201
    with at(T1 + timedelta(hours=2)):
        partial = {"id": "r-x", "type": "refund", "customer": {"external_id": "bob"},
                   "order": {"id": "order-1", "amount": 100, "currency": "USD"}}  # fmt: skip
        assert w.acme.event(partial).status_code == 201
    assert offer(w.alice)[:5] == ("pending", "gift_card", 2000, None, "USD")
