"""Manual actions: approve early, reject, reverse, fulfil, grant by hand, adjust credit.

Each action changes exactly what it says, records a domain event naming its actor, and a
refused one (409, 422) writes nothing anywhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
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

from goodword.accounts.models import ApiKey
from goodword.events import catalogue
from goodword.events.models import DomainEvent
from goodword.lib.codes import SAFE_ALPHABET
from goodword.lib.money import MAX_AMOUNT
from goodword.participants.models import Participant
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.conftest import postgres
from tests.factories import Api, make_story, purchase
from tests.shared import balance_line, row_counts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # bob's converting purchase
T1 = T0 + timedelta(days=1)  # the first action, well inside the 14-day hold
T2 = T0 + timedelta(days=2)
HOLD_ENDS = T0 + timedelta(days=14)


@pytest.fixture(autouse=True)
def _rows_match_the_catalogue(db: None) -> Iterator[None]:
    """After every test here, each domain event written must match its name's schema."""
    yield
    for event in DomainEvent.objects.order_by("pk"):
        catalogue.validate(event.name, event.data, subject_id=event.subject_id)


@dataclass
class World:
    """alice referred bob, who bought at T0: alice's 10.00 and bob's 5.00 are pending."""

    acme: Api
    globex: Api
    program: str
    referral: str
    alice_reward: str
    bob_reward: str
    actor: str  # acme's API key as an actor

    def at(self, when: datetime) -> Any:
        return time_machine.travel(when, tick=False)

    def post(self, path: str, body: Any = None, when: datetime = T1) -> Any:
        with self.at(when):
            return self.acme.post(path, body if body is not None else {})

    def balance(self, who: str) -> list[dict[str, Any]]:
        response = self.acme.get(f"/participants/{who}/balance")
        assert response.status_code == 200
        return list(response.json()["balances"])

    def reward(self, reward_id: str) -> dict[str, Any]:
        rows = self.acme.get("/rewards").json()["data"]
        return next(r for r in rows if r["id"] == reward_id)


def usd(available: int = 0, pending: int = 0, debt: int = 0) -> list[dict[str, Any]]:
    return [balance_line(available=available, pending=pending, debt=debt)]


def events_of(subject: str, *names: str) -> list[tuple[str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(subject_id=subject)
    if names:
        rows = rows.filter(name__in=names)
    return [(e.name, e.data) for e in rows.order_by("pk")]


def transactions() -> list[tuple[str, str, list[tuple[str, str, int]]]]:
    """Every ledger transaction: kind, key, and its entries (account kind, owner, amount)."""
    out = []
    for txn in LedgerTransaction.objects.order_by("pk"):
        entries = LedgerEntry.objects.filter(transaction=txn).select_related("account__participant")
        out.append(
            (
                txn.kind,
                txn.key,
                sorted(
                    (
                        e.account.kind,
                        e.account.participant.external_id if e.account.participant else "",
                        e.amount,
                    )
                    for e in entries
                ),
            )
        )
    return out


def pk_of(reward_id: str) -> int:
    return Reward.objects.get(public_id=reward_id).pk


def assert_no_drift() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


def refused(world: World, path: str, body: Any, status: int, code: str, hint: str) -> None:
    """`path` answers `status` with `code` and a message saying `hint`, and writes nothing."""
    before = row_counts()
    before_rewards = world.acme.get("/rewards").json()
    response = world.post(path, body, when=T2)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert hint in error["message"], error["message"]
    assert row_counts() == before
    assert world.acme.get("/rewards").json() == before_rewards


def make_world() -> World:
    story = make_story()
    acme = story.acme
    with time_machine.travel(T0, tick=False):
        body = purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"])
        converted = acme.event(body).json()
    by_who = {r["beneficiary"]: r["id"] for r in converted["rewards"]}
    key = ApiKey.objects.get(workspace=acme.workspace)
    return World(
        acme=acme,
        globex=story.globex,
        program=story.program["id"],
        referral=converted["referrals"][0]["id"],
        alice_reward=by_who["advocate"],
        bob_reward=by_who["friend"],
        actor=f"api_key:{key.public_id}",
    )


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def reward_txn(world: World, reward_id: str) -> tuple[str, str, list[tuple[str, str, int]]]:
    """The approval of a credit reward: the workspace's rewards account pays its owner."""
    reward = Reward.objects.select_related("participant").get(public_id=reward_id)
    assert reward.amount is not None
    who = reward.participant.external_id
    return (
        "reward",
        f"reward:{reward.pk}:approve",
        [("credit", who, reward.amount), ("rewards", "", -reward.amount)],
    )


# Approve early --------------------------------------------------------------------------------


def delivered(world: World, external_id: str, amount: int) -> dict[str, object]:
    """What `reward.approved` says to deliver, for a credit reward in USD."""
    person = Participant.objects.get(workspace=world.acme.workspace, external_id=external_id)
    return {"kind": "credit", "amount": amount, "percent_off": None, "currency": "USD",
            "details": {}, "participant": person.public_id, "external_id": external_id}  # fmt: skip


def test_early_approval_posts_the_credit_now_and_names_the_actor(world: World) -> None:
    response = world.post(f"/rewards/{world.alice_reward}/approve")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["source"]) == (world.alice_reward, "approved", "rule")
    assert body["approved_at"] == "2026-03-03T09:00:00Z"
    assert body["hold_until"] == "2026-03-16T09:00:00Z"
    assert (body["referral"], body["program"], body["beneficiary"]) == (
        world.referral,
        world.program,
        "advocate",
    )
    assert world.balance("alice") == usd(available=1000)
    assert world.balance("bob") == usd(pending=500)  # bob's reward keeps its hold
    assert transactions() == [reward_txn(world, world.alice_reward)]
    assert events_of(world.alice_reward, "reward.approved") == [
        (
            "reward.approved",
            {
                "referral": world.referral,
                **delivered(world, "alice", 1000),
                "actor": world.actor,
                "early": True,
            },  # fmt: skip
        )
    ]
    referral = world.acme.get(f"/referrals/{world.referral}").json()
    assert referral["status"] == "rewarded"
    # The sweeper finds only bob's reward left to approve when the hold ends.
    assert approve_due_rewards(now=HOLD_ENDS) == 1
    assert world.balance("alice") == usd(available=1000)
    assert len(transactions()) == 2
    assert_no_drift()


def test_second_approval_posts_nothing(world: World) -> None:
    assert world.post(f"/rewards/{world.alice_reward}/approve").status_code == 200
    refused(
        world,
        f"/rewards/{world.alice_reward}/approve",
        None,
        409,
        "invalid_state",
        f"reward {world.alice_reward} is already approved",
    )
    assert world.balance("alice") == usd(available=1000)
    assert len(transactions()) == 1
    assert len(events_of(world.alice_reward, "reward.approved")) == 1


def test_approving_after_the_hold_is_not_early(world: World) -> None:
    later = HOLD_ENDS + timedelta(minutes=1)  # the sweeper has not run yet
    assert world.post(f"/rewards/{world.bob_reward}/approve", when=later).status_code == 200
    assert events_of(world.bob_reward, "reward.approved") == [
        (
            "reward.approved",
            {
                "referral": world.referral,
                **delivered(world, "bob", 500),
                "actor": world.actor,
                "early": False,
            },  # fmt: skip
        )
    ]


def test_approving_a_rejected_reward_is_refused(world: World) -> None:
    path = f"/rewards/{world.bob_reward}"
    assert world.post(f"{path}/reject", {"reason": "duplicate account"}).status_code == 200
    refused(
        world,
        f"{path}/approve",
        None,
        409,
        "invalid_state",
        f"reward {world.bob_reward} is rejected: only a pending reward can be approved",
    )
    response = world.post(f"{path}/approve", when=T2)
    assert response.json()["error"]["details"] == {"status": "rejected"}


# Reject ---------------------------------------------------------------------------------------


def test_rejected_reward_is_never_paid(world: World) -> None:
    response = world.post(f"/rewards/{world.bob_reward}/reject", {"reason": " duplicate account "})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rejected_at"], body["status_reason"]) == (
        "rejected",
        "2026-03-03T09:00:00Z",
        "duplicate account",
    )
    assert (body["approved_at"], body["reversed_at"]) == (None, None)
    assert world.balance("bob") == []
    assert events_of(world.bob_reward, "reward.rejected") == [
        (
            "reward.rejected",
            {"referral": world.referral, "reason": "duplicate account", "actor": world.actor},
        )
    ]
    # When the hold ends only alice is paid.
    assert approve_due_rewards(now=HOLD_ENDS) == 1
    assert world.balance("bob") == []
    assert transactions() == [reward_txn(world, world.alice_reward)]


def test_rejecting_an_approved_reward_is_refused(world: World) -> None:
    assert world.post(f"/rewards/{world.alice_reward}/approve").status_code == 200
    refused(
        world,
        f"/rewards/{world.alice_reward}/reject",
        {"reason": "too late"},
        409,
        "invalid_state",
        "is approved: only a pending reward can be rejected; reverse an approved one",
    )
    assert world.balance("alice") == usd(available=1000)


def test_rejecting_twice_is_refused(world: World) -> None:
    path = f"/rewards/{world.bob_reward}/reject"
    assert world.post(path, {"reason": "duplicate account"}).status_code == 200
    refused(world, path, {"reason": "again"}, 409, "invalid_state", "is already rejected")


# Reverse --------------------------------------------------------------------------------------


def test_reversing_a_pending_reward_cancels_it_before_issue(world: World) -> None:
    response = world.post(f"/rewards/{world.bob_reward}/reverse", {"reason": "fraud review"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reversed_at"], body["status_reason"]) == (
        "reversed",
        "2026-03-03T09:00:00Z",
        "fraud review",
    )
    assert world.balance("bob") == []
    assert transactions() == []
    assert events_of(world.bob_reward) == [
        ("reward.created", {"referral": world.referral, "beneficiary": "friend"}),
        (
            "reward.reversed",
            {
                "referral": world.referral,
                "was": "pending",
                "reason": "fraud review",
                "actor": world.actor,
            },
        ),
    ]
    assert approve_due_rewards(now=HOLD_ENDS) == 1  # alice's only


def test_reversing_approved_credit_claws_it_back_and_keeps_the_shortfall_as_debt(
    world: World,
) -> None:
    assert world.post(f"/rewards/{world.alice_reward}/approve").status_code == 200
    spend = {"order_id": "o-9", "amount": 400, "currency": "USD"}
    assert world.post("/participants/alice/redemptions", spend).status_code == 201

    response = world.post(
        f"/rewards/{world.alice_reward}/reverse", {"reason": "friend's order was fake"}, when=T2
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["reversed_at"]) == (
        "reversed",
        "2026-03-04T09:00:00Z",
    )
    assert world.balance("alice") == usd(available=0, debt=400)
    pk = pk_of(world.alice_reward)
    assert transactions()[1:] == [
        ("redemption", "redemption:o-9", [("credit", "alice", -400), ("redemptions", "", 400)]),
        (
            "clawback",
            f"reward:{pk}:clawback",
            [("credit", "alice", -600), ("debt", "alice", -400), ("rewards", "", 1000)],
        ),
    ]
    assert events_of(world.alice_reward, "reward.clawed_back", "reward.reversed") == [
        ("reward.clawed_back", {"referral": world.referral, "debt": 400}),
        (
            "reward.reversed",
            {
                "referral": world.referral,
                "was": "approved",
                "reason": "friend's order was fake",
                "actor": world.actor,
            },
        ),
    ]
    assert_no_drift()


def test_reversing_fulfilled_credit_claws_it_back(world: World) -> None:
    path = f"/rewards/{world.alice_reward}"
    assert world.post(f"{path}/approve").status_code == 200
    assert world.post(f"{path}/fulfil", {"reference": "payout-118"}).status_code == 200

    response = world.post(f"{path}/reverse", {"reason": "chargeback"}, when=T2)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["fulfilment_reference"], body["status_reason"]) == (
        "reversed",
        "payout-118",
        "chargeback",
    )
    assert world.balance("alice") == usd(available=0)
    assert [(kind, key) for kind, key, _ in transactions()] == [
        ("reward", f"reward:{pk_of(world.alice_reward)}:approve"),
        ("clawback", f"reward:{pk_of(world.alice_reward)}:clawback"),
    ]
    assert events_of(world.alice_reward, "reward.reversed") == [
        (
            "reward.reversed",
            {
                "referral": world.referral,
                "was": "fulfilled",
                "reason": "chargeback",
                "actor": world.actor,
            },
        )
    ]
    assert_no_drift()


@pytest.mark.parametrize("first", ["reverse", "reject"])
def test_reversing_a_reversed_or_rejected_reward_is_refused(world: World, first: str) -> None:
    path = f"/rewards/{world.bob_reward}"
    assert world.post(f"{path}/{first}", {"reason": "first"}).status_code == 200
    status = {"reverse": "reversed", "reject": "rejected"}[first]
    hint = (
        "is already reversed"
        if first == "reverse"
        else "is rejected: only a pending, approved or fulfilled reward can be reversed"
    )
    refused(world, f"{path}/reverse", {"reason": "second"}, 409, "invalid_state", hint)
    assert Reward.objects.get(public_id=world.bob_reward).status == status


def test_reversing_an_approved_reward_twice_claws_back_once(world: World) -> None:
    path = f"/rewards/{world.alice_reward}"
    assert world.post(f"{path}/approve").status_code == 200
    assert world.post(f"{path}/reverse", {"reason": "first"}).status_code == 200
    refused(world, f"{path}/reverse", {"reason": "second"}, 409, "invalid_state", "already")
    assert [kind for kind, _, _ in transactions()] == ["reward", "clawback"]
    assert world.balance("alice") == usd(available=0)


# Fulfil ---------------------------------------------------------------------------------------


def test_fulfilling_an_approved_reward_keeps_the_reference(world: World) -> None:
    path = f"/rewards/{world.alice_reward}"
    assert world.post(f"{path}/approve").status_code == 200

    response = world.post(f"{path}/fulfil", {"reference": "payout-2026-03-118"}, when=T2)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["fulfilled_at"], body["fulfilment_reference"]) == (
        "fulfilled",
        "2026-03-04T09:00:00Z",
        "payout-2026-03-118",
    )
    assert body["approved_at"] == "2026-03-03T09:00:00Z"
    assert world.balance("alice") == usd(available=1000)  # fulfilling posts nothing
    assert transactions() == [reward_txn(world, world.alice_reward)]
    assert events_of(world.alice_reward, "reward.fulfilled") == [
        (
            "reward.fulfilled",
            {
                "referral": world.referral,
                "reference": "payout-2026-03-118",
                "actor": world.actor,
            },
        )
    ]


def test_fulfilling_a_pending_reward_is_refused(world: World) -> None:
    refused(
        world,
        f"/rewards/{world.bob_reward}/fulfil",
        {"reference": "payout-1"},
        409,
        "invalid_state",
        "is pending: only an approved reward can be fulfilled",
    )


def test_fulfilling_twice_is_refused(world: World) -> None:
    path = f"/rewards/{world.alice_reward}"
    assert world.post(f"{path}/approve").status_code == 200
    assert world.post(f"{path}/fulfil", {"reference": "payout-1"}).status_code == 200
    refused(world, f"{path}/fulfil", {"reference": "payout-2"}, 409, "invalid_state", "already")
    assert Reward.objects.get(public_id=world.alice_reward).fulfilment_reference == "payout-1"


# Grant by hand --------------------------------------------------------------------------------


def test_manual_credit_is_approved_and_posted_at_once(world: World) -> None:
    body = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "late delivery"}

    response = world.post("/participants/bob/rewards", body)

    assert response.status_code == 201, response.content
    reward = response.json()
    assert reward == {
        "id": reward["id"],
        "source": "manual",
        "program": None,
        "referral": None,
        "beneficiary": None,
        "participant": "bob",
        "kind": "credit",
        "amount": 500,
        "percent_off": None,
        "currency": "USD",
        "coupon_code": None,
        "status": "approved",
        "reason": "late delivery",
        "status_reason": None,
        "fulfilment_reference": None,
        "hold_until": "2026-03-03T09:00:00Z",
        "created_at": "2026-03-03T09:00:00Z",
        "approved_at": "2026-03-03T09:00:00Z",
        "fulfilled_at": None,
        "rejected_at": None,
        "reversed_at": None,
        "expires_at": None,
        "expired_at": None,
        "details": {},
        "coupon_expires_at": None,
        "coupon_used_at": None,
        "choices": None,
        "choose_by": None,
        "trigger_event": None,
        "earned_at": None,
        "program_version": None,
    }
    assert reward["id"].startswith("rwd_")
    assert world.balance("bob") == usd(available=500, pending=500)
    assert transactions() == [reward_txn(world, reward["id"])]
    bob = Participant.objects.get(workspace=world.acme.workspace, external_id="bob")
    assert events_of(reward["id"]) == [
        (
            "reward.granted_manually",
            {
                "participant": bob.public_id,
                "program": None,
                "kind": "credit",
                "amount": 500,
                "percent_off": None,
                "currency": "USD",
                "reason": "late delivery",
                "actor": world.actor,
                "details": {},
            },
        ),
        (
            "reward.approved",
            {"referral": None, **delivered(world, "bob", 500), "actor": world.actor},
        ),
    ]
    listed = world.acme.get("/rewards", participant="bob").json()["data"]
    assert [r["id"] for r in listed] == [reward["id"], world.bob_reward]
    assert_no_drift()


def test_manual_coupon_is_issued_at_once_in_its_program(world: World) -> None:
    body = {"kind": "coupon", "percent_off": 20, "reason": "birthday", "program": world.program}

    response = world.post("/participants/alice/rewards", body)

    assert response.status_code == 201, response.content
    reward = response.json()
    assert (reward["status"], reward["program"], reward["currency"], reward["percent_off"]) == (
        "fulfilled",
        world.program,
        "USD",
        20,
    )
    assert (reward["approved_at"], reward["fulfilled_at"]) == (
        "2026-03-03T09:00:00Z",
        "2026-03-03T09:00:00Z",
    )
    code = reward["coupon_code"]
    assert len(code) == 10
    assert set(code) <= set(SAFE_ALPHABET)
    assert transactions() == []
    assert [name for name, _ in events_of(reward["id"])] == [
        "reward.granted_manually",
        "reward.approved",
        "reward.fulfilled",
    ]
    assert events_of(reward["id"], "reward.fulfilled") == [
        ("reward.fulfilled", {"referral": None, "actor": world.actor})
    ]


def test_manual_credit_pays_off_debt_first(world: World) -> None:
    debt_of_400(world)
    body = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "loyalty"}

    reward = world.post("/participants/alice/rewards", body, when=T2).json()

    assert world.balance("alice") == usd(available=100, debt=0)
    assert transactions()[-1] == (
        "reward",
        f"reward:{pk_of(reward['id'])}:approve",
        [("credit", "alice", 100), ("debt", "alice", 400), ("rewards", "", -500)],
    )
    assert_no_drift()


def debt_of_400(world: World) -> None:
    """alice is paid early, spends 4.00 of it, and the reward is reversed: she owes 4.00."""
    path = f"/rewards/{world.alice_reward}"
    assert world.post(f"{path}/approve").status_code == 200
    spend = {"order_id": "o-9", "amount": 400, "currency": "USD"}
    assert world.post("/participants/alice/redemptions", spend).status_code == 201
    assert world.post(f"{path}/reverse", {"reason": "fake order"}).status_code == 200
    assert world.balance("alice") == usd(available=0, debt=400)


def test_reversing_a_manual_credit_claws_it_back(world: World) -> None:
    body = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "late delivery"}
    reward = world.post("/participants/bob/rewards", body).json()
    spend = {"order_id": "o-7", "amount": 200, "currency": "USD"}
    assert world.post("/participants/bob/redemptions", spend).status_code == 201

    response = world.post(f"/rewards/{reward['id']}/reverse", {"reason": "granted twice"}, T2)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "reversed"
    assert world.balance("bob") == usd(available=0, pending=500, debt=200)
    assert transactions()[-1] == (
        "clawback",
        f"reward:{pk_of(reward['id'])}:clawback",
        [("credit", "bob", -300), ("debt", "bob", -200), ("rewards", "", 500)],
    )
    assert events_of(reward["id"], "reward.clawed_back", "reward.reversed") == [
        ("reward.clawed_back", {"referral": None, "debt": 200}),
        (
            "reward.reversed",
            {"referral": None, "was": "approved", "reason": "granted twice", "actor": world.actor},
        ),
    ]
    refused(
        world,
        f"/rewards/{reward['id']}/reverse",
        {"reason": "again"},
        409,
        "invalid_state",
        "already",
    )
    assert_no_drift()


def test_reversing_a_manual_coupon_posts_nothing(world: World) -> None:
    body = {"kind": "coupon", "amount": 1000, "currency": "EUR", "reason": "apology"}
    reward = world.post("/participants/bob/rewards", body).json()
    assert (reward["status"], reward["currency"]) == ("fulfilled", "EUR")

    response = world.post(
        f"/rewards/{reward['id']}/reverse", {"reason": "sent to the wrong person"}
    )

    assert response.json()["status"] == "reversed"
    assert transactions() == []
    assert events_of(reward["id"], "reward.reversed") == [
        (
            "reward.reversed",
            {
                "referral": None,
                "was": "fulfilled",
                "reason": "sent to the wrong person",
                "actor": world.actor,
            },
        )
    ]


def test_approving_a_manual_reward_is_refused(world: World) -> None:
    body = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "late delivery"}
    reward = world.post("/participants/bob/rewards", body).json()
    refused(
        world, f"/rewards/{reward['id']}/approve", None, 409, "invalid_state", "already approved"
    )


# Credit adjustments ---------------------------------------------------------------------------


def test_credit_adjustments_add_and_take_credit(world: World) -> None:
    bob = Participant.objects.get(workspace=world.acme.workspace, external_id="bob")
    give = {"amount": 300, "currency": "USD", "reason": "goodwill"}

    response = world.post("/participants/bob/credit-adjustments", give)

    assert response.status_code == 201, response.content
    added = response.json()
    assert added == {
        "id": added["id"],
        "participant": "bob",
        "amount": 300,
        "currency": "USD",
        "reason": "goodwill",
        "key": None,
        "transaction": added["transaction"],
        "created_at": "2026-03-03T09:00:00Z",
    }
    assert added["id"].startswith("adj_")
    assert added["transaction"].startswith("txn_")
    assert world.balance("bob") == usd(available=300, pending=500)

    take = {"amount": -300, "currency": "USD", "reason": "goodwill given twice", "key": "k-1"}
    response = world.post("/participants/bob/credit-adjustments", take, when=T2)

    assert response.status_code == 201, response.content
    taken = response.json()
    assert (taken["amount"], taken["key"]) == (-300, "k-1")
    assert world.balance("bob") == usd(available=0, pending=500)
    assert transactions() == [
        (
            "adjustment",
            f"adjustment:{added['id']}",
            [("adjustments", "", -300), ("credit", "bob", 300)],
        ),
        ("adjustment", "adjustment:k-1", [("adjustments", "", 300), ("credit", "bob", -300)]),
    ]
    assert events_of(added["id"]) == [
        (
            "credit.adjusted",
            {
                "participant": bob.public_id,
                "amount": 300,
                "currency": "USD",
                "reason": "goodwill",
                "actor": world.actor,
            },
        )
    ]
    assert events_of(taken["id"])[0][1]["amount"] == -300
    assert_no_drift()


def test_taking_more_credit_than_is_available_is_refused(world: World) -> None:
    give = {"amount": 300, "currency": "USD", "reason": "goodwill"}
    assert world.post("/participants/bob/credit-adjustments", give).status_code == 201
    take = {"amount": -301, "currency": "USD", "reason": "too much"}
    refused(
        world,
        "/participants/bob/credit-adjustments",
        take,
        409,
        "insufficient_balance",
        "the available balance is 300 USD, less than 301",
    )
    response = world.post("/participants/bob/credit-adjustments", take, when=T2)
    assert response.json()["error"]["details"] == {"available": 300, "currency": "USD"}
    assert world.balance("bob") == usd(available=300, pending=500)
    # Pending credit is not available: alice has 10.00 in her hold and nothing to take.
    refused(
        world,
        "/participants/alice/credit-adjustments",
        {"amount": -1, "currency": "USD", "reason": "x"},
        409,
        "insufficient_balance",
        "the available balance is 0 USD",
    )


def test_credit_adjustment_is_idempotent_on_its_key(world: World) -> None:
    give = {"amount": 300, "currency": "USD", "reason": "goodwill", "key": "crm-ticket-7"}
    first = world.post("/participants/bob/credit-adjustments", give)
    again = world.post("/participants/bob/credit-adjustments", give, when=T2)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert world.balance("bob") == usd(available=300, pending=500)
    assert len(transactions()) == 1
    assert len(events_of(first.json()["id"])) == 1
    # The same key with other values is a mistake, not a retry.
    for other in ({**give, "amount": 301}, {**give, "currency": "EUR"}):
        refused(
            world,
            "/participants/bob/credit-adjustments",
            other,
            422,
            "idempotency_conflict",
            "key 'crm-ticket-7' was already used",
        )
    refused(
        world,
        "/participants/alice/credit-adjustments",
        give,
        422,
        "idempotency_conflict",
        "already used",
    )


def test_positive_adjustment_pays_off_debt_first(world: World) -> None:
    debt_of_400(world)
    give = {"amount": 300, "currency": "USD", "reason": "goodwill"}
    assert world.post("/participants/alice/credit-adjustments", give, when=T2).status_code == 201
    assert world.balance("alice") == usd(available=0, debt=100)
    assert transactions()[-1][2] == [("adjustments", "", -300), ("debt", "alice", 300)]
    assert_no_drift()


# Bad input ------------------------------------------------------------------------------------

GRANT = {"kind": "credit", "amount": 500, "currency": "USD", "reason": "late delivery"}
ADJUST = {"amount": 300, "currency": "USD", "reason": "goodwill"}
BAD = [
    ("reject", {"reason": ""}, "reason"),
    ("reject", {"reason": "   "}, "reason"),
    ("reject", {"reason": "x" * 501}, "reason"),
    ("reject", {}, "reason"),
    ("reject", {"reason": 7}, "reason"),
    ("reject", {"reason": "ok", "actor": "user:1"}, "actor"),
    ("reverse", {"reason": ""}, "reason"),
    ("reverse", {"reason": None}, "reason"),
    ("fulfil", {"reference": ""}, "reference"),
    ("fulfil", {"reference": "x" * 256}, "reference"),
    ("fulfil", {"reason": "no reference"}, "reference"),
    ("grant", {**GRANT, "reason": " "}, "reason"),
    ("grant", {**GRANT, "kind": "cheque"}, "kind"),
    ("grant", {**GRANT, "amount": 0}, "amount"),
    ("grant", {**GRANT, "amount": "500"}, "amount"),
    ("grant", {**GRANT, "amount": MAX_AMOUNT + 1}, "amount"),
    ("grant", {**GRANT, "currency": "usd"}, "currency"),
    ("grant", {**GRANT, "amount": None}, "a credit reward needs `amount`"),
    ("grant", {**GRANT, "percent_off": 10}, "not `percent_off`"),
    (
        "grant",
        {**GRANT, "kind": "coupon", "percent_off": 10},
        "only one of `amount` and `percent_off`",
    ),
    ("grant", {"kind": "coupon", "percent_off": 101, "reason": "x"}, "percent_off"),
    ("grant", {"kind": "coupon", "reason": "x"}, "a coupon reward needs `amount` or `percent_off`"),
    ("adjust", {**ADJUST, "amount": 0}, "amount: must not be 0"),
    ("adjust", {**ADJUST, "amount": 1.5}, "amount"),
    ("adjust", {**ADJUST, "amount": -MAX_AMOUNT - 1}, "amount"),
    ("adjust", {**ADJUST, "currency": "XXX"}, "currency"),
    ("adjust", {**ADJUST, "reason": ""}, "reason"),
    ("adjust", {**ADJUST, "key": ""}, "key"),
    ("adjust", {**ADJUST, "key": "k" * 256}, "key"),
    ("adjust", {"amount": 300, "reason": "x"}, "currency"),
]


def bad_path(world: World, action: str) -> str:
    return {
        "reject": f"/rewards/{world.bob_reward}/reject",
        "reverse": f"/rewards/{world.bob_reward}/reverse",
        "fulfil": f"/rewards/{world.alice_reward}/fulfil",
        "grant": "/participants/bob/rewards",
        "adjust": "/participants/bob/credit-adjustments",
    }[action]


@pytest.mark.parametrize(
    ("action", "body", "hint"), BAD, ids=[f"{a}-{json.dumps(b)[:40]}" for a, b, _ in BAD]
)
def test_bad_input_is_a_422_naming_the_field(
    world: World, action: str, body: dict[str, Any], hint: str
) -> None:
    refused(world, bad_path(world, action), body, 422, "validation_error", hint)


def test_unknown_ids_are_404_and_write_nothing(world: World) -> None:
    for path, body in [
        ("/rewards/rwd_nothing/approve", None),
        ("/rewards/rwd_nothing/reverse", {"reason": "x"}),
        ("/participants/nobody/rewards", GRANT),
        ("/participants/nobody/credit-adjustments", ADJUST),
        ("/participants/bob/rewards", {**GRANT, "program": "prg_nothing"}),
    ]:
        refused(world, path, body, 404, "not_found", "no such object")


def test_other_workspace_gets_404_for_every_action(world: World) -> None:
    before = row_counts(world.acme.workspace)
    rewards_before = world.acme.get("/rewards").json()
    for path, body in [
        (f"/rewards/{world.alice_reward}/approve", None),
        (f"/rewards/{world.bob_reward}/reject", {"reason": "x"}),
        (f"/rewards/{world.bob_reward}/reverse", {"reason": "x"}),
        (f"/rewards/{world.alice_reward}/fulfil", {"reference": "x"}),
        ("/participants/bob/rewards", GRANT),
        ("/participants/alice/credit-adjustments", ADJUST),
    ]:
        response = world.globex.post(path, body if body is not None else {})
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert row_counts(world.acme.workspace) == before
    assert world.acme.get("/rewards").json() == rewards_before


# Concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_early_approvals_post_one_transaction() -> None:
    """Two early approvals of the same reward at once, for ten rewards: each is approved and
    posted once; the loser of each pair gets the 409."""
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    story = make_story()
    for n in range(5):
        body = purchase(f"p-{n}", f"bob-{n}", f"order-{n}", 2500, referral_code=story.alice["code"])
        assert story.acme.event(body).status_code == 201
    rewards = list(Reward.objects.order_by("pk").values_list("public_id", flat=True))
    assert len(rewards) == 10

    def approve(reward_id: str, barrier: threading.Barrier) -> tuple[int, str]:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                f"/api/v1/rewards/{reward_id}/approve",
                "{}",
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {story.acme.key}",
            )
            body = r.json()
            return r.status_code, body.get("status") or body["error"]["code"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for reward_id in rewards:
            barrier = threading.Barrier(2, timeout=60)
            answers = [pool.submit(approve, reward_id, barrier) for _ in range(2)]
            assert sorted(f.result() for f in answers) == [
                (200, "approved"),
                (409, "invalid_state"),
            ]

    assert LedgerTransaction.objects.filter(kind="reward").count() == 10
    for reward in Reward.objects.all():
        assert reward.status == Reward.Status.APPROVED
        assert LedgerTransaction.objects.filter(reward=reward).count() == 1
        assert (
            DomainEvent.objects.filter(subject_id=reward.public_id, name="reward.approved").count()
            == 1
        )
    balance = story.acme.get("/participants/alice/balance").json()["balances"]
    assert balance == usd(available=5000)
    assert_no_drift()
