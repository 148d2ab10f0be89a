"""Cash rewards and payouts: owed on approval, clawed back on refunds, gathered in batches,
approved, paid or failed, exported as PayPal, Wise and generic CSV files.

Every ledger movement is compared entry by entry; every refusal is checked to write nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from goodword.accounts.models import ApiKey
from goodword.events import catalogue
from goodword.events.models import DomainEvent
from goodword.lib import money, sheets
from goodword.lib.money import MAX_AMOUNT
from goodword.rewards import payouts
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Payout, PayoutBatch, Reward
from goodword.rewards.services import approve_due_rewards
from tests.conftest import postgres
from tests.factories import Api, enrol, make_api, make_program, purchase, refund
from tests.shared import balance_line, row_counts

LATER = datetime.now(UTC) + timedelta(days=40)  # past every hold

CASH = {"beneficiary": "advocate", "kind": "cash", "amount": 1500}
COMMISSION = {
    "beneficiary": "advocate",
    "kind": "cash",
    "percent_of_order": 10,
    "refund_policy": "proportional",
}


@pytest.fixture(autouse=True)
def _rows_match_the_catalogue(db: None) -> Iterator[None]:
    """After every test here, each domain event written must match its name's schema."""
    yield
    for event in DomainEvent.objects.order_by("pk"):
        catalogue.validate(event.name, event.data, subject_id=event.subject_id)


@dataclass
class World:
    """acme runs a program paying its advocates cash; alice and dave advocate; globex must
    always get 404."""

    acme: Api
    globex: Api
    codes: dict[str, str]
    actor: str
    currency: str
    friends: int = 0

    def buy(self, advocate: str, amount: int, order_id: str | None = None) -> str:
        """A new friend of `advocate` buys for `amount`: the id of the advocate's reward."""
        self.friends += 1
        friend = f"friend-{self.friends}"
        body = purchase(f"p-{friend}", friend, order_id or f"order-{self.friends}", amount)
        body["referral_code"] = self.codes[advocate]
        body["order"]["currency"] = self.currency
        answer = self.acme.event(body)
        assert answer.status_code == 201, answer.content
        [reward] = answer.json()["rewards"]
        return str(reward["id"])

    def earn(self, advocate: str, amount: int) -> str:
        """`buy`, then the hold ends: the reward is approved."""
        reward_id = self.buy(advocate, amount)
        assert approve_due_rewards(now=LATER) == 1
        return reward_id

    def balance(self, who: str) -> list[dict[str, Any]]:
        response = self.acme.get(f"/participants/{who}/balance")
        assert response.status_code == 200, response.content
        return list(response.json()["balances"])

    def create(self, min_amount: int = 0, currency: str | None = None) -> dict[str, Any]:
        body = {"currency": currency or self.currency, "min_amount": min_amount}
        response = self.acme.post("/payout-batches", body)
        assert response.status_code == 201, response.content
        return dict(response.json())

    def approve(self, batch_id: str) -> dict[str, Any]:
        response = self.acme.post(f"/payout-batches/{batch_id}/approve", {})
        assert response.status_code == 200, response.content
        return dict(response.json())

    def export(self, batch_id: str, fmt: str) -> Any:
        return self.acme.get(f"/payout-batches/{batch_id}/export", format=fmt)


def make_world(*rules: dict[str, Any], currency: str = "USD") -> World:
    acme, globex = make_api("Acme"), make_api("Globex")
    program = make_program(
        acme,
        rewards=list(rules or [CASH]),
        currency=currency,
        trigger={"event": "purchase", "min_amount": 1000},
    )
    codes = {
        "alice": enrol(acme, program["id"], "alice", name="Alice")["code"],
        "dave": enrol(acme, program["id"], "dave", name="Dave")["code"],
    }
    key = ApiKey.objects.get(workspace=acme.workspace)
    return World(acme, globex, codes, f"api_key:{key.public_id}", currency)


@pytest.fixture
def world(db: None) -> World:
    return make_world()


Entry = tuple[str, str, int]


def transactions(*kinds: str) -> list[tuple[str, str, list[Entry]]]:
    """Ledger transactions (of `kinds`, or all): kind, key, and sorted entries (account kind,
    owner's external id or "" for the workspace, amount)."""
    rows = LedgerTransaction.objects.order_by("pk")
    if kinds:
        rows = rows.filter(kind__in=kinds)
    out = []
    for txn in rows:
        entries = LedgerEntry.objects.filter(transaction=txn).select_related("account__participant")
        owner = [
            (e.account.kind, e.account.participant.external_id if e.account.participant else "",
             e.amount)
            for e in entries
        ]  # fmt: skip
        out.append((txn.kind, txn.key, sorted(owner)))
    return out


def pk_of(reward_id: str) -> int:
    return int(Reward.objects.get(public_id=reward_id).pk)


def payout_pk(payout_id: str) -> int:
    return int(Payout.objects.get(public_id=payout_id).pk)


def events_named(*names: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(name__in=names).order_by("pk")
    return [(e.name, e.subject_id, e.data) for e in rows]


def assert_no_drift() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


def refused(response: Any, status: int, code: str, hint: str) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert hint in error["message"], error["message"]


def par(external_id: str) -> str:
    from goodword.participants.models import Participant

    return Participant.objects.get(external_id=external_id).public_id


# Cash rewards: owed on approval ------------------------------------------------------------


def test_an_approved_cash_reward_is_payable_exactly(world: World) -> None:
    reward_id = world.buy("alice", 2500)
    assert world.balance("alice") == []  # held: nothing owed yet
    assert approve_due_rewards(now=LATER) == 1

    assert world.balance("alice") == [balance_line(payable=1500)]
    assert transactions() == [
        ("reward", f"reward:{pk_of(reward_id)}:approve",
         [("payable", "alice", 1500), ("rewards", "", -1500)]),
    ]  # fmt: skip
    [(_, subject, data)] = events_named("reward.approved")
    assert (subject, data["referral"]) == (reward_id, _referral(reward_id))
    assert_no_drift()


def _referral(reward_id: str) -> str:
    return str(Reward.objects.select_related("referral").get(public_id=reward_id).referral)


def test_a_percent_of_order_cash_reward_is_its_share_of_the_order(db: None) -> None:
    world = make_world(COMMISSION)
    reward_id = world.earn("alice", 4250)
    assert Reward.objects.get(public_id=reward_id).amount == 425
    assert world.balance("alice") == [balance_line(payable=425)]
    assert transactions() == [
        ("reward", f"reward:{pk_of(reward_id)}:approve",
         [("payable", "alice", 425), ("rewards", "", -425)]),
    ]  # fmt: skip


def test_a_manual_approval_owes_the_cash_at_once(world: World) -> None:
    reward_id = world.buy("alice", 2500)
    response = world.acme.post(f"/rewards/{reward_id}/approve", {})
    assert response.status_code == 200, response.content
    assert world.balance("alice") == [balance_line(payable=1500)]


# Clawbacks ---------------------------------------------------------------------------------


def test_a_refund_after_approval_claws_back_from_payable(world: World) -> None:
    reward_id = world.earn("alice", 2500)
    world.earn("alice", 3000)  # another 15.00 stays owed
    answer = world.acme.event(refund("r-1", "friend-1", "order-1"))
    assert answer.status_code == 201, answer.content

    assert Reward.objects.get(public_id=reward_id).status == "reversed"
    assert world.balance("alice") == [balance_line(payable=1500)]
    assert transactions("clawback") == [
        ("clawback", f"reward:{pk_of(reward_id)}:clawback",
         [("payable", "alice", -1500), ("rewards", "", 1500)]),
    ]  # fmt: skip
    assert events_named("reward.clawed_back") == [
        ("reward.clawed_back", reward_id, {"referral": _referral(reward_id), "debt": 0})
    ]
    assert_no_drift()


def test_partial_refunds_claw_back_their_share_each_in_its_own_transaction(db: None) -> None:
    world = make_world(COMMISSION)
    reward_id = world.earn("alice", 4000)  # 40.00: 4.00 owed
    partial = {**refund("r-1", "friend-1", "order-1"), "order": {"id": "order-1", "amount": 1000}}
    assert world.acme.event(partial).status_code == 201
    assert world.balance("alice") == [balance_line(payable=300)]
    [(kind, key, entries)] = transactions("clawback")
    assert key.startswith(f"reward:{pk_of(reward_id)}:clawback:ev_")
    assert entries == [("payable", "alice", -100), ("rewards", "", 100)]
    # The rest of the order: what is left of the reward goes.
    assert world.acme.event(refund("r-2", "friend-1", "order-1")).status_code == 201
    assert world.balance("alice") == [balance_line(payable=0)]
    assert [t[2] for t in transactions("clawback")] == [
        [("payable", "alice", -100), ("rewards", "", 100)],
        [("payable", "alice", -300), ("rewards", "", 300)],
    ]
    assert_no_drift()


def test_a_refund_after_payment_becomes_debt_that_the_next_reward_settles(world: World) -> None:
    first = world.earn("alice", 2500)
    batch = world.create()
    approved = world.approve(batch["id"])
    [payout] = approved["payouts"]
    assert (
        world.acme.post(f"/payouts/{payout['id']}/paid", {"reference": "PP-1"}).status_code == 200
    )
    assert world.balance("alice") == [balance_line(paid=1500)]

    assert world.acme.event(refund("r-1", "friend-1", "order-1")).status_code == 201
    # Paid out already: nothing payable to take, all of it is owed back.
    assert world.balance("alice") == [balance_line(debt=1500, paid=1500)]
    assert transactions("clawback") == [
        ("clawback", f"reward:{pk_of(first)}:clawback",
         [("debt", "alice", -1500), ("rewards", "", 1500)]),
    ]  # fmt: skip
    assert events_named("reward.clawed_back")[0][2] == {"referral": _referral(first), "debt": 1500}

    second = world.earn("alice", 2500)  # settles the debt, nothing left to pay
    assert world.balance("alice") == [balance_line(paid=1500)]
    third = world.earn("alice", 2500)
    assert world.balance("alice") == [balance_line(payable=1500, paid=1500)]
    assert transactions("reward")[1:] == [
        ("reward", f"reward:{pk_of(second)}:approve",
         [("debt", "alice", 1500), ("rewards", "", -1500)]),
        ("reward", f"reward:{pk_of(third)}:approve",
         [("payable", "alice", 1500), ("rewards", "", -1500)]),
    ]  # fmt: skip
    refused(
        world.acme.post("/payout-batches", {"currency": "USD", "min_amount": 2000}),
        409,
        "nothing_to_pay",
        "no participant is owed at least 2000 USD",
    )
    assert_no_drift()


def test_a_refund_while_paying_becomes_debt_and_a_failed_payout_settles_it(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("alice", 2500)  # 30.00 owed
    batch = world.approve(world.create()["id"])
    assert world.balance("alice") == [balance_line(paying=3000)]
    assert world.acme.event(refund("r-1", "friend-1", "order-1")).status_code == 201
    assert world.balance("alice") == [balance_line(debt=1500, paying=3000)]

    [payout] = batch["payouts"]
    response = world.acme.post(f"/payouts/{payout['id']}/failed", {"reason": "no PayPal account"})
    assert response.status_code == 200, response.content
    # The cash is owed again, less what alice owes back.
    assert world.balance("alice") == [balance_line(payable=1500)]
    assert transactions("payout")[-1] == (
        "payout",
        f"payout:{payout_pk(payout['id'])}:failed",
        [("debt", "alice", 1500), ("payable", "alice", 1500), ("paying", "alice", -3000)],
    )
    assert_no_drift()


# Batches -----------------------------------------------------------------------------------


def test_a_batch_pays_those_owed_at_least_its_minimum_and_moves_nothing_yet(
    world: World,
) -> None:
    world.earn("alice", 2500)
    world.earn("alice", 2500)
    world.earn("dave", 2500)  # 15.00: under the minimum
    before = transactions()

    batch = world.create(min_amount=2000)

    assert (batch["status"], batch["currency"], batch["min_amount"]) == ("draft", "USD", 2000)
    assert (batch["payout_count"], batch["amount"], batch["created_by"]) == (1, 3000, world.actor)
    assert [(p["participant"], p["amount"], p["status"]) for p in batch["payouts"]] == [
        ("alice", 3000, "draft")
    ]
    assert transactions() == before
    assert world.balance("alice") == [balance_line(payable=3000)]
    assert events_named("payout_batch.created") == [
        ("payout_batch.created", batch["id"],
         {"currency": "USD", "min_amount": 2000, "payouts": 1, "amount": 3000,
          "actor": world.actor}),
    ]  # fmt: skip
    assert world.acme.get(f"/payout-batches/{batch['id']}").json() == batch
    # A minimum of 0 takes everyone owed anything.
    everyone = world.create(min_amount=0)
    assert [(p["participant"], p["amount"]) for p in everyone["payouts"]] == [
        ("alice", 3000),
        ("dave", 1500),
    ]


def test_nobody_owed_enough_is_409_nothing_to_pay_and_writes_nothing(world: World) -> None:
    world.earn("alice", 2500)
    before = row_counts()
    for body, hint in [
        ({"currency": "USD", "min_amount": 1501}, "no participant is owed at least 1501 USD"),
        ({"currency": "EUR", "min_amount": 0}, "no participant is owed at least 1 EUR"),
    ]:
        response = world.acme.post("/payout-batches", body)
        refused(response, 409, "nothing_to_pay", hint)
        assert response.json()["error"]["details"] == body
    assert row_counts() == before


def test_approval_moves_each_payout_from_payable_to_paying(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("dave", 2500)
    world.earn("dave", 2500)
    draft = world.create()

    batch = world.approve(draft["id"])

    assert (batch["status"], batch["approved_by"], batch["amount"]) == (
        "approved",
        world.actor,
        4500,
    )
    assert [(p["participant"], p["amount"], p["status"]) for p in batch["payouts"]] == [
        ("alice", 1500, "approved"),
        ("dave", 3000, "approved"),
    ]
    alice, dave = (payout_pk(p["id"]) for p in batch["payouts"])
    assert transactions("payout") == [
        ("payout", f"payout:{alice}:approve",
         [("payable", "alice", -1500), ("paying", "alice", 1500)]),
        ("payout", f"payout:{dave}:approve",
         [("payable", "dave", -3000), ("paying", "dave", 3000)]),
    ]  # fmt: skip
    assert world.balance("alice") == [balance_line(paying=1500)]
    assert world.balance("dave") == [balance_line(paying=3000)]
    assert events_named("payout_batch.approved") == [
        ("payout_batch.approved", draft["id"],
         {"payouts": 2, "amount": 4500, "dropped": [], "lowered": [], "actor": world.actor}),
    ]  # fmt: skip
    assert_no_drift()


def test_a_second_approval_is_409_and_pays_nothing(world: World) -> None:
    world.earn("alice", 2500)
    batch = world.approve(world.create()["id"])
    before, events_before = row_counts(), DomainEvent.objects.count()

    response = world.acme.post(f"/payout-batches/{batch['id']}/approve", {})

    refused(response, 409, "invalid_state", f"payout batch {batch['id']} is already approved")
    assert response.json()["error"]["details"] == {"status": "approved"}
    assert (row_counts(), DomainEvent.objects.count()) == (before, events_before)
    assert world.balance("alice") == [balance_line(paying=1500)]


def test_approval_pays_what_a_clawback_left_and_drops_a_payout_left_with_nothing(
    world: World,
) -> None:
    world.earn("alice", 2500)  # friend-1's order
    world.earn("alice", 2500)
    world.earn("dave", 2500)  # friend-3's order
    draft = world.create()
    alice_payout, dave_payout = draft["payouts"]
    # Refunds after the draft: alice is owed 15.00 less, dave nothing.
    assert world.acme.event(refund("r-1", "friend-1", "order-1")).status_code == 201
    assert world.acme.event(refund("r-3", "friend-3", "order-3")).status_code == 201

    batch = world.approve(draft["id"])

    assert [(p["id"], p["amount"]) for p in batch["payouts"]] == [(alice_payout["id"], 1500)]
    assert (batch["payout_count"], batch["amount"]) == (1, 1500)
    assert not Payout.objects.filter(public_id=dave_payout["id"]).exists()
    assert events_named("payout_batch.approved")[0][2] == {
        "payouts": 1,
        "amount": 1500,
        "dropped": [par("dave")],
        "lowered": [alice_payout["id"]],
        "actor": world.actor,
    }
    assert world.balance("alice") == [balance_line(paying=1500)]
    assert world.balance("dave") == [balance_line()]
    assert_no_drift()


def test_two_drafts_over_the_same_balance_pay_it_once(world: World) -> None:
    world.earn("alice", 2500)
    first, second = world.create(), world.create()
    assert world.approve(first["id"])["amount"] == 1500

    later = world.approve(second["id"])

    assert (later["status"], later["payouts"]) == ("closed", [])
    assert events_named("payout_batch.approved")[1][2]["dropped"] == [par("alice")]
    assert world.balance("alice") == [balance_line(paying=1500)]
    assert len(transactions("payout")) == 1


def test_a_batch_whose_payouts_were_all_dropped_closes_at_once(world: World) -> None:
    world.earn("alice", 2500)
    draft = world.create()
    assert world.acme.event(refund("r-1", "friend-1", "order-1")).status_code == 201

    batch = world.approve(draft["id"])

    assert (batch["status"], batch["payouts"], batch["amount"]) == ("closed", [], 0)
    assert [
        name for name, _, _ in events_named("payout_batch.approved", "payout_batch.closed")
    ] == [
        "payout_batch.approved",
        "payout_batch.closed",
    ]
    assert transactions("payout") == []


def test_paid_and_failed_payouts_move_the_cash_and_close_the_batch(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("dave", 2500)
    batch = world.approve(world.create()["id"])
    alice, dave = batch["payouts"]

    paid = world.acme.post(f"/payouts/{alice['id']}/paid", {"reference": " PP-5TY0R2 "})
    assert paid.status_code == 200, paid.content
    assert (paid.json()["status"], paid.json()["reference"]) == ("paid", "PP-5TY0R2")
    assert world.acme.get(f"/payout-batches/{batch['id']}").json()["status"] == "approved"
    failed = world.acme.post(f"/payouts/{dave['id']}/failed", {"reason": "account closed"})
    assert failed.status_code == 200, failed.content
    assert (failed.json()["status"], failed.json()["failure_reason"]) == (
        "failed",
        "account closed",
    )

    assert transactions("payout")[2:] == [
        ("payout", f"payout:{payout_pk(alice['id'])}:paid",
         [("paid", "", 1500), ("paying", "alice", -1500)]),
        ("payout", f"payout:{payout_pk(dave['id'])}:failed",
         [("payable", "dave", 1500), ("paying", "dave", -1500)]),
    ]  # fmt: skip
    assert world.balance("alice") == [balance_line(paid=1500)]
    assert world.balance("dave") == [balance_line(payable=1500)]
    closed = world.acme.get(f"/payout-batches/{batch['id']}").json()
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    common = {"batch": batch["id"], "amount": 1500, "currency": "USD", "actor": world.actor}
    assert events_named("payout.paid", "payout.failed", "payout_batch.closed") == [
        ("payout.paid", alice["id"],
         {**common, "participant": par("alice"), "reference": "PP-5TY0R2"}),
        ("payout.failed", dave["id"],
         {**common, "participant": par("dave"), "reason": "account closed"}),
        ("payout_batch.closed", batch["id"],
         {"paid": 1, "failed": 1, "amount": 1500, "actor": world.actor}),
    ]  # fmt: skip
    # dave's failed cash goes in the next batch.
    assert [(p["participant"], p["amount"]) for p in world.create()["payouts"]] == [("dave", 1500)]
    assert_no_drift()


def test_every_double_action_is_409_in_plain_words_and_writes_nothing(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("dave", 2500)
    batch = world.approve(world.create()["id"])
    alice, dave = (p["id"] for p in batch["payouts"])
    assert world.acme.post(f"/payouts/{alice}/paid", {"reference": "PP-1"}).status_code == 200
    assert world.acme.post(f"/payouts/{dave}/failed", {"reason": "bounced"}).status_code == 200
    draft = world.create()  # dave's cash again
    cancelled = world.create()
    assert world.acme.post(f"/payout-batches/{cancelled['id']}/cancel", {}).status_code == 200
    draft_payout = draft["payouts"][0]["id"]
    b, c = batch["id"], cancelled["id"]
    before, events_before = row_counts(), DomainEvent.objects.count()
    for path, body, hint, status in [
        (f"/payouts/{alice}/paid", {"reference": "PP-1"}, f"payout {alice} is already paid",
         "paid"),
        (f"/payouts/{alice}/failed", {"reason": "x"},
         f"payout {alice} is paid: only an approved payout can be marked failed", "paid"),
        (f"/payouts/{dave}/failed", {"reason": "x"}, f"payout {dave} is already failed", "failed"),
        (f"/payouts/{dave}/paid", {"reference": "PP-2"},
         f"payout {dave} is failed: only an approved payout can be marked paid", "failed"),
        (f"/payouts/{draft_payout}/paid", {"reference": "PP-3"},
         f"payout {draft_payout} is in a draft batch: only a payout of an approved batch can "
         "be marked paid", "draft"),
        (f"/payout-batches/{b}/approve", {}, f"payout batch {b} is already approved (now closed)",
         "closed"),
        (f"/payout-batches/{b}/cancel", {},
         f"payout batch {b} is closed: only a draft batch can be cancelled", "closed"),
        (f"/payout-batches/{c}/cancel", {}, f"payout batch {c} is already cancelled", "cancelled"),
        (f"/payout-batches/{c}/approve", {},
         f"payout batch {c} is cancelled: only a draft batch can be approved", "cancelled"),
    ]:  # fmt: skip
        response = world.acme.post(path, body)
        refused(response, 409, "invalid_state", hint)
        assert response.json()["error"]["details"] == {"status": status}
    assert (row_counts(), DomainEvent.objects.count()) == (before, events_before)


def test_a_cancelled_draft_moves_nothing_and_frees_no_one(world: World) -> None:
    world.earn("alice", 2500)
    draft = world.create()
    response = world.acme.post(f"/payout-batches/{draft['id']}/cancel", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert events_named("payout_batch.cancelled") == [
        ("payout_batch.cancelled", draft["id"], {"actor": world.actor})
    ]
    assert transactions("payout") == []
    assert world.balance("alice") == [balance_line(payable=1500)]
    assert world.create()["amount"] == 1500


def test_batches_list_newest_first_by_status_and_page(world: World) -> None:
    world.earn("alice", 2500)
    first = world.create()
    second = world.approve(world.create()["id"])
    listed = world.acme.get("/payout-batches").json()
    assert [(b["id"], b["status"], b["payout_count"], b["amount"]) for b in listed["data"]] == [
        (second["id"], "approved", 1, 1500),
        (first["id"], "draft", 1, 1500),
    ]
    assert "payouts" not in listed["data"][0]
    assert [b["id"] for b in world.acme.get("/payout-batches", status="draft").json()["data"]] == [
        first["id"]
    ]
    page = world.acme.get("/payout-batches", limit=1).json()
    assert ([b["id"] for b in page["data"]], page["next_cursor"]) == ([second["id"]], second["id"])
    rest = world.acme.get("/payout-batches", limit=1, cursor=second["id"]).json()
    assert ([b["id"] for b in rest["data"]], rest["next_cursor"]) == ([first["id"]], None)


# Exports -----------------------------------------------------------------------------------


def test_exports_are_byte_exact(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("dave", 2500)
    world.earn("dave", 2550)
    batch = world.approve(world.create()["id"])
    a, d = (p["id"] for p in batch["payouts"])

    paypal = world.export(batch["id"], "paypal")
    assert paypal.status_code == 200
    assert paypal["Content-Type"] == "text/csv; charset=utf-8"
    assert paypal["Content-Disposition"] == (
        f'attachment; filename="goodword-{batch["id"]}-paypal.csv"'
    )
    assert (
        paypal.content
        == (
            f"alice@example.com,15.00,USD,{a},Referral rewards from Acme,PAYPAL\r\n"
            f"dave@example.com,30.00,USD,{d},Referral rewards from Acme,PAYPAL\r\n"
        ).encode()
    )
    assert (
        world.export(batch["id"], "wise").content
        == (
            "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,"
            "sourceCurrency,targetCurrency\r\n"
            f"Alice,alice@example.com,{a},PRIVATE,target,15.00,USD,USD\r\n"
            f"Dave,dave@example.com,{d},PRIVATE,target,30.00,USD,USD\r\n"
        ).encode()
    )
    assert world.acme.post(f"/payouts/{a}/paid", {"reference": "PP-1"}).status_code == 200
    generic = world.export(batch["id"], "csv")
    assert (
        generic["Content-Disposition"] == f'attachment; filename="goodword-{batch["id"]}-csv.csv"'
    )
    assert (
        generic.content
        == (
            "payout_id,participant_external_id,email,name,amount_minor,amount,currency,status,"
            "reference\r\n"
            f"{a},alice,alice@example.com,Alice,1500,15.00,USD,paid,PP-1\r\n"
            f"{d},dave,dave@example.com,Dave,3000,30.00,USD,approved,\r\n"
        ).encode()
    )
    # PayPal and Wise list only what is still to pay.
    assert (
        world.export(batch["id"], "paypal").content
        == (f"dave@example.com,30.00,USD,{d},Referral rewards from Acme,PAYPAL\r\n").encode()
    )
    assert world.acme.get(f"/payout-batches/{batch['id']}/export").content == generic.content


def test_exports_in_a_currency_without_decimals(db: None) -> None:
    world = make_world({"beneficiary": "advocate", "kind": "cash", "amount": 1500}, currency="JPY")
    world.earn("alice", 5000)
    batch = world.approve(world.create()["id"])
    [payout] = batch["payouts"]
    assert world.balance("alice") == [balance_line("JPY", paying=1500)]
    p = payout["id"]
    assert (
        world.export(batch["id"], "paypal").content
        == (f"alice@example.com,1500,JPY,{p},Referral rewards from Acme,PAYPAL\r\n").encode()
    )
    assert world.export(batch["id"], "wise").content.splitlines()[1] == (
        f"Alice,alice@example.com,{p},PRIVATE,target,1500,JPY,JPY".encode()
    )
    assert world.export(batch["id"], "csv").content.splitlines()[1] == (
        f"{p},alice,alice@example.com,Alice,1500,1500,JPY,approved,".encode()
    )


def test_major_units_follow_each_currencys_decimals() -> None:
    assert [money.major(n, "USD") for n in (1, 10, 105, 100000)] == [
        "0.01",
        "0.10",
        "1.05",
        "1000.00",
    ]
    assert [money.major(n, "JPY") for n in (1, 1500)] == ["1", "1500"]
    assert [money.major(n, "KWD") for n in (5, 1050)] == ["0.005", "1.050"]
    assert money.major(MAX_AMOUNT, "EUR") == "10000000000.00"


def test_hostile_cells_are_neutralised_in_every_export(world: World) -> None:
    hostile = '=HYPERLINK("http://evil.test","x")'
    response = world.acme.post(
        "/participants", {"external_id": "dave", "name": hostile, "email": "dave@example.com"}
    )
    assert response.status_code == 200, response.content
    world.earn("dave", 2500)
    batch = world.approve(world.create()["id"])
    [payout] = batch["payouts"]
    quoted = '"\'=HYPERLINK(""http://evil.test"",""x"")"'
    assert world.export(batch["id"], "wise").content.splitlines()[1] == (
        f"{quoted},dave@example.com,{payout['id']},PRIVATE,target,15.00,USD,USD".encode()
    )
    assert world.export(batch["id"], "csv").content.splitlines()[1] == (
        f"{payout['id']},dave,dave@example.com,{quoted},1500,15.00,USD,approved,".encode()
    )
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert sheets.cell(value) == "'" + value
    assert sheets.cell("a=1") == "a=1"


def test_a_payout_without_email_is_refused_for_paypal_and_wise_until_fixed(world: World) -> None:
    assert world.acme.post(
        "/participants", {"external_id": "erin", "name": "Erin"}
    ).status_code == (201)
    program = world.acme.get("/programs").json()["data"][0]["id"]
    erin = world.acme.post(f"/programs/{program}/advocates", {"external_id": "erin"}).json()
    world.codes["erin"] = erin["code"]
    world.earn("alice", 2500)
    world.earn("erin", 2500)
    batch = world.approve(world.create()["id"])
    alice, erin_payout = batch["payouts"]
    assert erin_payout["email"] is None

    for fmt in ("paypal", "wise"):
        response = world.export(batch["id"], fmt)
        refused(response, 409, "missing_email", "1 payout(s) to pay have no recipient email")
        assert response.json()["error"]["details"] == {
            "payouts": [{"id": erin_payout["id"], "participant": "erin"}]
        }
    # The generic file lists everyone.
    assert world.export(batch["id"], "csv").content.splitlines()[2] == (
        f"{erin_payout['id']},erin,,Erin,1500,15.00,USD,approved,".encode()
    )
    # Failed, erin's payout is no longer to pay: the files export.
    failed = world.acme.post(f"/payouts/{erin_payout['id']}/failed", {"reason": "no email"})
    assert failed.status_code == 200
    assert (
        world.export(batch["id"], "paypal").content
        == (
            f"alice@example.com,15.00,USD,{alice['id']},Referral rewards from Acme,PAYPAL\r\n"
        ).encode()
    )


def test_exports_wait_for_approval(world: World) -> None:
    world.earn("alice", 2500)
    draft = world.create()
    for fmt in ("paypal", "wise", "csv"):
        refused(
            world.export(draft["id"], fmt),
            409,
            "invalid_state",
            f"payout batch {draft['id']} is draft: only an approved",
        )
    batch = world.approve(draft["id"])
    paid = world.acme.post(f"/payouts/{batch['payouts'][0]['id']}/paid", {"reference": "r"})
    assert paid.status_code == 200
    # Closed: nothing to pay; the generic file stays as the record.
    refused(world.export(draft["id"], "paypal"), 409, "invalid_state", "is closed")
    assert world.export(draft["id"], "csv").status_code == 200


# Bad input and other workspaces ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"currency": "usd", "min_amount": 0}, "currency"),
        ({"currency": "XXX", "min_amount": 0}, "currency"),
        ({"min_amount": 0}, "currency"),
        ({"currency": "USD", "min_amount": -1}, "min_amount"),
        ({"currency": "USD", "min_amount": "100"}, "min_amount"),
        ({"currency": "USD", "min_amount": 10.5}, "min_amount"),
        ({"currency": "USD", "min_amount": MAX_AMOUNT + 1}, "min_amount"),
        ({"currency": "USD", "min_amount": None}, "min_amount"),
        ({"currency": "USD", "status": "approved"}, "status"),
    ],
)
def test_bad_batch_input_is_422_and_writes_nothing(
    world: World, body: dict[str, Any], hint: str
) -> None:
    world.earn("alice", 2500)
    before = row_counts()
    refused(world.acme.post("/payout-batches", body), 422, "validation_error", hint)
    assert row_counts() == before


def test_bad_payout_input_is_refused_and_writes_nothing(world: World) -> None:
    world.earn("alice", 2500)
    batch = world.approve(world.create()["id"])
    p, b = batch["payouts"][0]["id"], batch["id"]
    before = row_counts()
    for path, body, hint in [
        (f"/payouts/{p}/paid", {}, "reference"),
        (f"/payouts/{p}/paid", {"reference": "   "}, "reference"),
        (f"/payouts/{p}/paid", {"reference": "x" * 256}, "reference"),
        (f"/payouts/{p}/paid", {"reference": 7}, "reference"),
        (f"/payouts/{p}/paid", {"reference": "r", "amount": 1}, "amount"),
        (f"/payouts/{p}/failed", {}, "reason"),
        (f"/payouts/{p}/failed", {"reason": ""}, "reason"),
        (f"/payouts/{p}/failed", {"reason": "x" * 501}, "reason"),
    ]:
        refused(world.acme.post(path, body), 422, "validation_error", hint)
    refused(world.export(b, "pdf"), 422, "validation_error", "format")
    refused(world.acme.get("/payout-batches", status="paid"), 422, "validation_error", "status")
    refused(world.acme.get("/payout-batches", cursor=p), 400, "invalid_cursor", "cursor")
    refused(world.acme.post(f"/payouts/{b}/paid", {"reference": "r"}), 404, "not_found", "no such")
    refused(world.acme.post(f"/payout-batches/{p}/approve", {}), 404, "not_found", "no such")
    assert row_counts() == before


def test_other_workspace_gets_404_for_every_operation(world: World) -> None:
    world.earn("alice", 2500)
    world.earn("dave", 2500)
    batch = world.approve(world.create()["id"])
    p = batch["payouts"][0]["id"]
    before = row_counts(world.acme.workspace)
    acme_batch = world.acme.get(f"/payout-batches/{batch['id']}").json()
    globex = world.globex
    for response in [
        globex.get(f"/payout-batches/{batch['id']}"),
        globex.get(f"/payout-batches/{p}"),
        globex.post(f"/payout-batches/{batch['id']}/approve", {}),
        globex.post(f"/payout-batches/{batch['id']}/cancel", {}),
        globex.get(f"/payout-batches/{batch['id']}/export", format="paypal"),
        globex.get(f"/payout-batches/{batch['id']}/export", format="csv"),
        globex.post(f"/payouts/{p}/paid", {"reference": "Pwned"}),
        globex.post(f"/payouts/{p}/failed", {"reason": "Pwned"}),
    ]:
        refused(response, 404, "not_found", "no such object in this workspace")
    # Lists and new batches see globex's own (empty) ledger.
    assert globex.get("/payout-batches").json() == {"data": [], "next_cursor": None}
    refused(globex.post("/payout-batches", {"currency": "USD"}), 409, "nothing_to_pay", "USD")
    assert row_counts(world.acme.workspace) == before
    assert world.acme.get(f"/payout-batches/{batch['id']}").json() == acme_batch


# check_ledger ------------------------------------------------------------------------------


def test_check_ledger_reports_negative_cash_and_closed_batches_that_do_not_add_up(
    world: World,
) -> None:
    world.earn("alice", 2500)
    batch = world.approve(world.create()["id"])
    payout = batch["payouts"][0]["id"]
    assert world.acme.post(f"/payouts/{payout}/paid", {"reference": "PP-1"}).status_code == 200
    assert_no_drift()
    # Drift, written behind the ledger's back: a payout whose amount changed after it was
    # paid, and a payable account below zero (balanced, so only the sign check sees it).
    Payout.objects.filter(public_id=payout).update(amount=1400)
    alice_payable = LedgerEntry.objects.filter(
        account__kind="payable", account__participant__external_id="alice"
    ).first()
    assert alice_payable is not None
    txn = LedgerTransaction.objects.create(
        workspace=world.acme.workspace, kind="adjustment", key="drift", created_at=LATER
    )
    LedgerEntry.objects.create(
        transaction=txn, account=alice_payable.account, amount=-100, created_at=LATER
    )
    rewards = LedgerEntry.objects.filter(account__kind="rewards").first()
    assert rewards is not None
    LedgerEntry.objects.create(
        transaction=txn, account=rewards.account, amount=100, created_at=LATER
    )
    out = StringIO()
    with pytest.raises(CommandError, match="ledger drift: 4 problem"):
        call_command("check_ledger", stdout=out)
    closed = f"  closed payout batch {batch['id']}: its payouts add up to 1400, the ledger"
    assert out.getvalue().splitlines()[1:5] == [
        "  payable account of participant 'alice' is below zero: -100 USD",
        f"{closed} moved into paying 1500",
        f"{closed} moved out of paying 1500",
        f"{closed} paid out 1500",
    ]


# Concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_one_batch_pay_once() -> None:
    """Two approvals of the same batch at once, for five batches: each batch is approved and
    its payouts moved once; the loser of each pair gets the 409 and moves nothing."""
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    world = make_world()

    def approve(batch_id: str, barrier: threading.Barrier) -> tuple[int, str]:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                f"/api/v1/payout-batches/{batch_id}/approve",
                "{}",
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {world.acme.key}",
            )
            body = r.json()
            return r.status_code, body.get("status") or body["error"]["code"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(1, 6):
            world.earn("alice", 2500)
            world.earn("dave", 2500)
            batch_id = world.create()["id"]
            barrier = threading.Barrier(2, timeout=60)
            answers = [pool.submit(approve, batch_id, barrier) for _ in range(2)]
            assert sorted(f.result() for f in answers) == [
                (200, "approved"),
                (409, "invalid_state"),
            ]
            assert LedgerTransaction.objects.filter(kind="payout").count() == 2 * round_
            assert world.balance("alice") == [balance_line(paying=1500 * round_)]
    assert PayoutBatch.objects.filter(status="approved").count() == 5
    assert DomainEvent.objects.filter(name="payout_batch.approved").count() == 5
    assert_no_drift()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_payouts_marked_at_once_close_the_batch_once() -> None:
    """Both payouts of a batch marked at once (one paid, one failed), five times: each batch
    closes, once, whichever lands last."""
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    world = make_world()

    def mark(path: str, body: str, barrier: threading.Barrier) -> int:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                f"/api/v1{path}",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {world.acme.key}",
            )
            return int(r.status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(5):
            world.earn("alice", 2500)
            world.earn("dave", 2500)
            batch = world.approve(world.create()["id"])
            alice, dave = (p["id"] for p in batch["payouts"])
            barrier = threading.Barrier(2, timeout=60)
            answers = [
                pool.submit(mark, f"/payouts/{alice}/paid", '{"reference": "r"}', barrier),
                pool.submit(mark, f"/payouts/{dave}/failed", '{"reason": "r"}', barrier),
            ]
            assert [f.result() for f in answers] == [200, 200]
            assert world.acme.get(f"/payout-batches/{batch['id']}").json()["status"] == "closed"
    assert DomainEvent.objects.filter(name="payout_batch.closed").count() == 5
    # dave's failed cash was owed again each time, taken into the next batch, failed again.
    assert world.balance("alice") == [balance_line(paid=7500)]
    assert world.balance("dave") == [balance_line(payable=7500)]
    assert_no_drift()


# Found in review: stale amounts and cash marked by hand.


def test_a_payout_marked_paid_uses_what_its_approval_made_of_it(db: None) -> None:
    w = make_world(COMMISSION)
    w.earn("alice", 10000)
    batch = w.create()
    loaded = Payout.objects.select_related("batch", "participant").get()  # read while a draft
    refund = {"id": "r1", "type": "refund", "customer": {"external_id": "friend-1"},
              "order": {"id": "order-1", "amount": 5000, "currency": "USD"}}  # fmt: skip
    assert w.acme.event(refund).status_code == 201
    w.approve(batch["id"])
    assert (Payout.objects.get().amount, loaded.amount) == (500, 1000)
    payouts.mark_paid(payout=loaded, reference="x", actor="api_key:key_x", now=LATER)
    [line] = w.balance("alice")
    assert (line["payable"], line["paying"], line["paid"]) == (0, 0, 500)


def test_cash_is_not_marked_fulfilled_by_hand(db: None) -> None:
    w = make_world()
    reward = w.earn("alice", 5000)
    answer = w.acme.post(f"/rewards/{reward}/fulfil", {"reference": "paid-by-bank-123"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "paid_through_payouts")
    assert Reward.objects.get(public_id=reward).status == "approved"
    assert [p["amount"] for p in w.create()["payouts"]] == [1500]
