"""Points: an integer pseudo-currency (PTS) kept in the ledger like credit: balances, redemptions,
clawbacks on refunds, expiry and grants by hand.

The cast: alice advocates in acme's program, whose advocate rule gives 250 points that expire 30
days after approval (notice 7 days before); her friend bob gets 5.00 of credit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.events import catalogue
from goodword.events.models import DomainEvent
from goodword.rewards import expiry
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, make_story, purchase, refund
from tests.shared import row_counts
from tests.test_ledger import assert_no_drift

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # bob's converting purchase
APPROVED = T0 + timedelta(days=15)  # the sweep after the 14-day hold
LATER = APPROVED + timedelta(days=1)
EXPIRES = APPROVED + timedelta(days=30)
NOTICE = EXPIRES - timedelta(days=7)

POINTS_RULE = {
    "beneficiary": "advocate",
    "kind": "points",
    "amount": 250,
    "expires_days": 30,
    "expiry_notice_days": 7,
}
FRIEND_RULE = {"beneficiary": "friend", "kind": "credit", "amount": 500}


@pytest.fixture(autouse=True)
def _rows_match_the_catalogue(db: None) -> Iterator[None]:
    """After every test here, each domain event written must match its name's schema."""
    yield
    for event in DomainEvent.objects.order_by("pk"):
        catalogue.validate(event.name, event.data, subject_id=event.subject_id)


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


@dataclass
class World:
    acme: Api
    globex: Api
    program: dict[str, Any]
    alice_reward: str

    def post(self, path: str, body: Any, when: datetime = LATER) -> Any:
        with at(when):
            return self.acme.post(path, body)

    def balances(self, who: str) -> dict[str, dict[str, Any]]:
        """Per currency: available, pending, debt and next_expiry (other figures left out)."""
        response = self.acme.get(f"/participants/{who}/balance")
        assert response.status_code == 200
        keep = ("available", "pending", "debt", "next_expiry")
        return {
            line["currency"]: {k: line[k] for k in keep} for line in response.json()["balances"]
        }


def pts(
    available: int = 0, pending: int = 0, debt: int = 0, expiry: tuple[int, str] | None = None
) -> dict[str, Any]:
    next_expiry = {"amount": expiry[0], "at": expiry[1]} if expiry else None
    return {"available": available, "pending": pending, "debt": debt, "next_expiry": next_expiry}


@pytest.fixture
def world(db: None) -> World:
    story = make_story(rewards=[POINTS_RULE, FRIEND_RULE])
    with at(T0):
        body = purchase("p-bob", "bob", "order-1", 2500, referral_code=story.alice["code"])
        converted = story.acme.event(body).json()
    [alice_reward] = [r["id"] for r in converted["rewards"] if r["beneficiary"] == "advocate"]
    return World(story.acme, story.globex, story.program, alice_reward)


def entries(reward_or_key: str) -> list[tuple[str, str, str, int]]:
    """The entries of the ledger transaction with this key: account kind, owner, currency."""
    txn = LedgerTransaction.objects.get(key=reward_or_key)
    rows = LedgerEntry.objects.filter(transaction=txn).select_related("account__participant")
    return sorted(
        (
            e.account.kind,
            e.account.participant.external_id if e.account.participant else "",
            e.account.currency,
            e.amount,
        )
        for e in rows
    )


def events_of(subject: str, *names: str) -> list[tuple[str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(subject_id=subject, name__in=names).order_by("pk")
    return [(e.name, e.data) for e in rows]


def test_a_points_rule_is_in_pts_whatever_the_programs_currency(world: World) -> None:
    [rule, _] = world.program["rewards"]
    assert (rule["kind"], rule["amount"], rule["currency"]) == ("points", 250, "PTS")
    reward = Reward.objects.get(public_id=world.alice_reward)
    assert (reward.kind, reward.amount, reward.currency, reward.status) == (
        "points",
        250,
        "PTS",
        "pending",
    )


def test_points_are_pending_then_available_on_their_own_line(world: World) -> None:
    assert world.balances("alice") == {"PTS": pts(pending=250)}

    assert approve_due_rewards(now=APPROVED) == 2

    expires_at = "2026-04-16T09:00:00Z"  # 30 days after the approval on 17 March
    assert world.balances("alice") == {"PTS": pts(available=250, expiry=(250, expires_at))}
    assert world.balances("bob") == {
        "USD": {"available": 500, "pending": 0, "debt": 0, "next_expiry": None}
    }
    reward = Reward.objects.select_related("participant").get(public_id=world.alice_reward)
    assert (reward.status, reward.expires_at, reward.expiry_notice_at) == (
        "approved",
        EXPIRES,
        NOTICE,
    )
    assert entries(f"reward:{reward.pk}:approve") == [
        ("credit", "alice", "PTS", 250),
        ("rewards", "", "PTS", -250),
    ]
    [(_, approved)] = events_of(world.alice_reward, "reward.approved")
    assert approved == {
        "referral": reward.referral.public_id if reward.referral else None,
        "kind": "points",
        "amount": 250,
        "percent_off": None,
        "currency": "PTS",
        "details": {},
        "participant": reward.participant.public_id,
        "external_id": "alice",
    }
    assert_no_drift()


def test_points_are_redeemed_like_credit(world: World) -> None:
    approve_due_rewards(now=APPROVED)
    body = {"order_id": "order-pts-1", "amount": 100, "currency": "PTS"}

    response = world.post("/participants/alice/redemptions", body)

    assert response.status_code == 201, response.content
    out = response.json()
    assert (out["amount"], out["currency"], out["order_id"]) == (100, "PTS", "order-pts-1")
    assert world.balances("alice")["PTS"] == pts(
        available=150, expiry=(150, "2026-04-16T09:00:00Z")
    )
    assert entries("redemption:order-pts-1") == [
        ("credit", "alice", "PTS", -100),
        ("redemptions", "", "PTS", 100),
    ]
    redeemed = DomainEvent.objects.get(name="credit.redeemed", subject_id=out["id"])
    assert redeemed.data["currency"] == "PTS"
    assert redeemed.data["amount"] == 100
    # A retry answers the first redemption and spends nothing more.
    again = world.post("/participants/alice/redemptions", body)
    assert (again.status_code, again.json()["id"]) == (200, out["id"])
    assert world.balances("alice")["PTS"]["available"] == 150
    assert_no_drift()


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        (
            {"order_id": "o-9", "amount": 251, "currency": "PTS"},
            409,
            "insufficient_balance",
            "the available balance is 250 PTS, less than 251",
        ),
        # Points are not money: alice has no USD to spend.
        (
            {"order_id": "o-9", "amount": 100, "currency": "USD"},
            409,
            "insufficient_balance",
            "the available balance is 0 USD",
        ),
        ({"order_id": "o-9", "amount": 1, "currency": "pts"}, 422, "validation_error", "PTS"),
        ({"order_id": "o-9", "amount": 1, "currency": "XPT"}, 422, "validation_error", "currency"),
        ({"order_id": "o-9", "amount": 1.5, "currency": "PTS"}, 422, "validation_error", "amount"),
    ],
)
def test_a_bad_points_redemption_is_refused_and_writes_nothing(
    world: World, body: dict[str, Any], status: int, code: str, hint: str
) -> None:
    approve_due_rewards(now=APPROVED)
    before = row_counts()

    response = world.post("/participants/alice/redemptions", body)

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], hint in error["message"]) == (code, True), error
    assert row_counts() == before
    assert world.balances("alice")["PTS"]["available"] == 250


def test_a_refund_claws_points_back_and_what_was_spent_becomes_debt(world: World) -> None:
    approve_due_rewards(now=APPROVED)
    body = {"order_id": "order-pts-1", "amount": 100, "currency": "PTS"}
    assert world.post("/participants/alice/redemptions", body).status_code == 201

    with at(LATER + timedelta(hours=1)):
        assert world.acme.event(refund("r-bob", "bob", "order-1")).status_code == 201

    reward = Reward.objects.get(public_id=world.alice_reward)
    assert reward.status == "reversed"
    assert world.balances("alice") == {"PTS": pts(debt=100)}
    assert world.balances("bob")["USD"]["available"] == 0
    assert entries(f"reward:{reward.pk}:clawback") == [
        ("credit", "alice", "PTS", -150),
        ("debt", "alice", "PTS", -100),
        ("rewards", "", "PTS", 250),
    ]
    assert [data["debt"] for _, data in events_of(world.alice_reward, "reward.clawed_back")] == [
        100
    ]
    # The debt is paid off first by the next points, as credit debt is.
    grant = {"kind": "points", "amount": 40, "reason": "survey answered"}
    assert world.post("/participants/alice/rewards", grant).status_code == 201
    assert world.balances("alice") == {"PTS": pts(debt=60)}
    assert_no_drift()


def test_unspent_points_expire_like_credit(world: World) -> None:
    approve_due_rewards(now=APPROVED)
    body = {"order_id": "order-pts-1", "amount": 50, "currency": "PTS"}
    assert world.post("/participants/alice/redemptions", body).status_code == 201

    assert expiry.announce_expiring_credit(now=NOTICE - timedelta(seconds=1)) == 0
    assert expiry.announce_expiring_credit(now=NOTICE) == 1
    assert expiry.expire_due_credit(now=EXPIRES - timedelta(seconds=1)) == 0
    assert expiry.expire_due_credit(now=EXPIRES) == 1
    assert expiry.expire_due_credit(now=EXPIRES + timedelta(days=1)) == 0

    reward = Reward.objects.select_related("participant").get(public_id=world.alice_reward)
    par = reward.participant.public_id
    assert events_of(world.alice_reward, "credit.expiring", "credit.expired") == [
        (
            "credit.expiring",
            {
                "reward": world.alice_reward,
                "participant": par,
                "currency": "PTS",
                "amount": 200,
                "expires_at": "2026-04-16T09:00:00Z",
            },
        ),
        (
            "credit.expired",
            {"reward": world.alice_reward, "participant": par, "currency": "PTS", "amount": 200},
        ),
    ]
    assert entries(f"reward:{reward.pk}:expire") == [
        ("credit", "alice", "PTS", -200),
        ("rewards", "", "PTS", 200),
    ]
    assert world.balances("alice") == {"PTS": pts()}
    # bob's credit does not expire and is untouched.
    assert world.balances("bob")["USD"]["available"] == 500
    assert_no_drift()


def test_points_granted_by_hand_are_posted_at_once(world: World) -> None:
    grant = {"kind": "points", "amount": 40, "reason": "survey answered"}

    response = world.post("/participants/bob/rewards", grant)

    assert response.status_code == 201, response.content
    reward = response.json()
    assert (reward["kind"], reward["amount"], reward["currency"], reward["status"]) == (
        "points",
        40,
        "PTS",
        "approved",
    )
    assert reward["expires_at"] is None  # manual points never expire
    assert world.balances("bob") == {"PTS": pts(available=40), "USD": pts(pending=500)}
    # PTS may be named, and a program in another currency does not change it.
    named = {**grant, "currency": "PTS", "program": world.program["id"]}
    assert world.post("/participants/bob/rewards", named).json()["currency"] == "PTS"
    assert world.balances("bob")["PTS"]["available"] == 80
    assert_no_drift()


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"kind": "points", "amount": 40, "currency": "USD"}, "points have no currency"),
        ({"kind": "points"}, "a points reward needs `amount`"),
        ({"kind": "points", "amount": 40, "percent_off": 10}, "not `percent_off`"),
        ({"kind": "points", "amount": 0}, "amount"),
        ({"kind": "credit", "amount": 40, "currency": "PTS"}, "currency PTS is for points only"),
    ],
)
def test_bad_points_grants_are_refused(world: World, body: dict[str, Any], hint: str) -> None:
    before = row_counts()
    response = world.post("/participants/bob/rewards", {**body, "reason": "x"})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert hint in error["message"], error["message"]
    assert row_counts() == before


def test_other_workspace_cannot_spend_or_grant_acmes_points(world: World) -> None:
    approve_due_rewards(now=APPROVED)
    before = row_counts(world.acme.workspace)
    with at(LATER):
        spend = {"order_id": "g-1", "amount": 100, "currency": "PTS"}
        assert world.globex.post("/participants/alice/redemptions", spend).status_code == 404
        grant = {"kind": "points", "amount": 40, "reason": "x"}
        assert world.globex.post("/participants/alice/rewards", grant).status_code == 404
    assert row_counts(world.acme.workspace) == before
    assert world.balances("alice")["PTS"]["available"] == 250
