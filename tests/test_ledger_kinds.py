"""LEDGER-1 for every reward kind: a stateful model of credit, points, cash and the kinds that
never touch the ledger, with expiry, payouts, partial refunds, clawbacks and manual actions.

`tests/test_ledger.py` holds the first machine (credit only, its lots and expiry in depth); this
one drives a program whose every conversion grants one reward of each kind, and predicts to the
minor unit each participant's `available`, `pending`, `debt`, `next_expiry`, `payable`, `paying`
and `paid` per currency, every reward's status and amount, every workspace account and the
number of ledger transactions of each kind. Events go through `record_event`, as in the first
machine; everything staff do (approve, reject, reverse, fulfil, grant, adjust, redeem, payout
batches) goes through the HTTP API, at the machine's clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import time_machine
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from goodword.ingest.models import Event
from goodword.ingest.schemas import EventIn
from goodword.ingest.services import record_event
from goodword.rewards.expiry import expire_due_credit
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Story, enrol, make_api, make_program, make_story, purchase
from tests.test_ledger import assert_no_drift, unbalanced_transactions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLD = timedelta(days=14)  # the program's hold_days
MIN_ORDER = 2000  # the program's trigger.min_amount: what `threshold` keeps by default
USD, PTS = "USD", "PTS"
LEDGER_KINDS = ("credit", "points")  # kept in the credit account (points in PTS)
REVERSIBLE = ("pending", "approved", "pending_fulfilment", "fulfilled")


@dataclass(frozen=True)
class Rule:
    """One reward rule of the program, and what a partial refund does to its rewards."""

    name: str
    beneficiary: str
    kind: str
    amount: int | None = None
    percent: int | None = None  # percent_of_order
    policy: str = "threshold"
    minimum: int | None = None  # conditions.min_amount
    lasts: timedelta | None = None  # expires_days

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "beneficiary": self.beneficiary,
            "kind": self.kind,
            "refund_policy": self.policy,
        }
        if self.amount is not None:
            spec["amount"] = self.amount
        if self.percent is not None:
            spec["percent_of_order"] = self.percent
        if self.kind in ("credit", "cash"):
            spec["currency"] = USD
        if self.kind == "product":
            spec["sku"] = "MUG-BLUE"
        if self.kind == "coupon":
            spec["percent_off"] = 15
        if self.minimum is not None:
            spec["conditions"] = {"min_amount": self.minimum}
        if self.lasts is not None:
            spec["expires_days"] = self.lasts.days
        return spec

    def grants(self, order: int) -> bool:
        return order >= (self.minimum or MIN_ORDER)

    def value(self, order: int) -> int | None:
        return order * self.percent // 100 if self.percent is not None else self.amount

    def after_partial_refund(self, left: int) -> tuple[bool, int | None]:
        """(kept, value) of a reward of this rule once `left` of its order remains."""
        if self.policy == "full":
            return False, None
        if self.policy == "proportional":
            if self.percent is None:
                return True, self.amount  # a fixed reward stands
            share = left * self.percent // 100
            return share > 0, share
        return left >= (self.minimum or MIN_ORDER), self.amount


# Every conversion of at least 30.00 grants all seven; below, all but the bonus cash.
RULES = (
    Rule(
        "Commission", "advocate", "credit", percent=10, policy="proportional", lasts=timedelta(30)
    ),
    Rule("Points", "advocate", "points", amount=250, policy="full", lasts=timedelta(20)),
    Rule("Bonus cash", "advocate", "cash", amount=700, minimum=3000),  # threshold at 30.00
    Rule("Cash commission", "advocate", "cash", percent=5, policy="proportional"),
    Rule("Mug", "advocate", "product", policy="full"),
    Rule("Welcome", "friend", "credit", amount=500, lasts=timedelta(10)),  # threshold at 20.00
    Rule("Friend coupon", "friend", "coupon", policy="proportional"),  # stands until all goes
)
BY_NAME = {r.name: r for r in RULES}


@dataclass(eq=False)
class ExpectedReward:
    id: str
    pk: int
    owner: str
    kind: str
    amount: int | None  # the row's amount: shrinks while pending, stays once approved
    rule: Rule | None = None  # None: granted by hand
    hold_until: datetime | None = None
    status: str = "pending"
    value: int | None = None  # what the decision grants now (partial refunds lower it)
    clawed: int = 0  # what clawbacks took back
    expires_at: datetime | None = None
    expired: int | None = None  # what its expiry took, once settled
    friend: str | None = None  # whose order earned it

    @property
    def currency(self) -> str | None:
        return PTS if self.kind == "points" else USD if self.kind in ("credit", "cash") else None

    @property
    def in_ledger(self) -> bool:
        return self.kind in (*LEDGER_KINDS, "cash")


@dataclass(eq=False)
class ExpectedOrder:
    friend: str
    id: str
    amount: int
    rewards: list[ExpectedReward]
    refunded: int = 0
    closed: bool = False  # refunded in full
    settled: bool = False  # a reward of it approved: later events no longer re-decide it
    refunded_at: datetime | None = None  # its last refund's business time


@dataclass(eq=False)
class ExpectedLot:
    expires_at: datetime | None
    seq: int
    left: int
    reward: ExpectedReward | None = None


@dataclass(eq=False)
class ExpectedPayout:
    id: str
    who: str
    amount: int
    status: str = "draft"


@dataclass(eq=False)
class ExpectedBatch:
    id: str
    payouts: list[ExpectedPayout]
    status: str = "draft"


@dataclass
class Books:
    """Per (participant, currency): credit lots and debt; per participant: cash in USD."""

    available: Counter[tuple[str, str]] = field(default_factory=Counter)
    debt: Counter[tuple[str, str]] = field(default_factory=Counter)
    lots: dict[tuple[str, str], list[ExpectedLot]] = field(default_factory=dict)
    payable: Counter[str] = field(default_factory=Counter)
    paying: Counter[str] = field(default_factory=Counter)
    paid: Counter[str] = field(default_factory=Counter)
    redeemed: Counter[str] = field(default_factory=Counter)  # the workspace's, per currency
    adjusted: Counter[str] = field(default_factory=Counter)  # net credit adjusted in
    posted: set[tuple[str, str]] = field(default_factory=set)  # lines with ledger entries


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def partial_refund(
    event_id: str, customer: str, order_id: str, amount: int | None
) -> dict[str, Any]:
    """A refund of `amount` of the order, or of all of it (None)."""
    order: dict[str, Any] = (
        {"id": order_id} if amount is None else {"id": order_id, "amount": amount}
    )
    return {"id": event_id, "type": "refund", "customer": {"external_id": customer}, "order": order}


class KindsMachine(RuleBasedStateMachine):
    """Every reward kind through the real services and the API, beside a model of the books.

    One program: alice's friends (bob-0, bob-1, ...) convert with orders of 20.00 to 200.00, and
    each conversion grants alice a 10% credit commission (expires in 30 days, proportional),
    250 points (expire in 20 days, any partial refund reverses them), a 7.00 cash bonus (orders
    of 30.00 or more; reversed when less than 30.00 is left), a 5% cash commission
    (proportional) and a mug (product), and the friend 5.00 of credit (expires in 10 days,
    reversed when less than 20.00 is left) and a coupon (stands until the whole order goes).

    The model keeps, per participant and currency, credit as lots (spent soonest-expiring
    first, a clawback taking its own reward's lot first) and debt (shared by credit and cash in
    USD: whatever money comes in next pays it off first); and per participant, cash owed
    (`payable`), in approved batches (`paying`) and paid out. Each example runs in a savepoint
    rolled back in `teardown`.
    """

    def __init__(self, story: Story) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.story = story
        self.workspace = story.acme.workspace
        assert not Event.objects.for_workspace(self.workspace).exists()
        assert not LedgerTransaction.objects.exists()
        self.now = T0
        self.friends: list[str] = []
        self.orders: dict[str, ExpectedOrder] = {}  # by friend
        self.rewards: dict[str, ExpectedReward] = {}  # by public id, in grant order
        self.books = Books()
        self.batches: list[ExpectedBatch] = []
        self.txns: Counter[str] = Counter()  # ledger transactions by kind
        self.seq = 0
        self.moves = 0  # numbers the redemptions, refunds, grants and adjustments
        self.deliveries: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.redemptions: dict[str, tuple[str, dict[str, Any], str]] = {}  # by order id
        self.confirmed: dict[str, list[dict[str, Any]]] = {}
        # What happened, in words, for the failure message: a failure that does not replay
        # (Hypothesis then reports a flaky test without its steps) still says what led to it.
        self.journal: list[str] = []

    def teardown(self) -> None:
        try:
            assert_no_drift()
        finally:
            transaction.set_rollback(True)
            self._savepoint.__exit__(None, None, None)

    # Talking to Goodword.

    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        outcome = record_event(
            workspace=self.workspace, data=EventIn.model_validate(body), now=self.now
        )
        assert outcome.replayed is False
        self.deliveries.append((body, outcome.result))
        return outcome.result

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST to the API at the machine's clock."""
        with time_machine.travel(self.now, tick=False):
            r = self.story.acme.post(path, body)
        return r.status_code, r.json()

    def refused(self, answer: tuple[int, Any], code: str, **details: Any) -> None:
        status, body = answer
        assert status == 409, body
        assert body["error"]["code"] == code, body
        for name, value in details.items():
            assert body["error"]["details"][name] == value, body

    def note(self, text: str) -> None:
        self.journal.append(f"{self.now:%Y-%m-%d %H:%M} {text}")

    def story_so_far(self) -> str:
        return "what happened:\n  " + "\n  ".join(self.journal)

    def people(self) -> list[str]:
        return ["alice", *self.friends]

    def next_id(self, what: str) -> str:
        # Zero-padded: refunds of one order at the same business time apply in the order of
        # their event ids, which is then the order they were sent in.
        self.moves += 1
        return f"{what}-{self.moves:04d}"

    # The books: money in, credit taken, clawbacks.

    def money_in(
        self, who: str, currency: str, amount: int, reward: ExpectedReward | None = None
    ) -> None:
        """Credit, points or cash coming to `who`: debt in that currency takes its share first;
        the rest is a lot of credit or, for cash, owed in payable."""
        books, key = self.books, (who, currency)
        settled = min(amount, books.debt[key])
        if settled:
            cash = reward is not None and reward.kind == "cash"
            hypothesis.event(f"debt paid off by {'cash' if cash else currency}")
        books.debt[key] -= settled
        books.posted.add(key)
        rest = amount - settled
        if reward is not None and reward.kind == "cash":
            books.payable[who] += rest
            return
        books.available[key] += rest
        if rest:
            expires_at = reward.expires_at if reward is not None else None
            books.lots.setdefault(key, []).append(ExpectedLot(expires_at, self.seq, rest, reward))
            self.seq += 1

    def cash_in(self, who: str, amount: int) -> None:
        """A failed payout's cash, owed again: debt first."""
        books, key = self.books, (who, USD)
        settled = min(amount, books.debt[key])
        if settled:
            hypothesis.event("debt paid off by a failed payout")
        books.debt[key] -= settled
        books.payable[who] += amount - settled

    def take(
        self, who: str, currency: str, amount: int, reward: ExpectedReward | None = None
    ) -> None:
        """Take `amount` of credit: `reward`'s own lot first, then the soonest to expire (never
        expiring last, the older first among equals)."""
        key = (who, currency)
        self.books.available[key] -= amount
        lots = sorted(
            self.books.lots.get(key, []),
            key=lambda lot: (lot.expires_at is None, lot.expires_at or T0, lot.seq),
        )
        own = [lot for lot in lots if reward is not None and lot.reward is reward]
        for lot in own + lots:
            taken = min(amount, lot.left)
            lot.left -= taken
            amount -= taken
        assert amount == 0
        assert sum(lot.left for lot in lots) == self.books.available[key] >= 0

    def claw_back(self, reward: ExpectedReward, amount: int | None = None) -> None:
        """Take back an approved reward, what is left of it or `amount` (a partial refund's
        share): from the credit (own lot first) or the payable cash there is, the rest as debt.
        What its expiry took is not taken again."""
        assert reward.amount is not None
        assert reward.currency is not None
        left = reward.amount - reward.clawed - (reward.expired or 0)
        claim = left if amount is None else min(amount, left)
        if claim <= 0:
            return
        books, key = self.books, (reward.owner, reward.currency)
        if reward.kind == "cash":
            taken = min(claim, books.payable[reward.owner])
            books.payable[reward.owner] -= taken
            if books.paid[reward.owner] or books.paying[reward.owner]:
                hypothesis.event("cash clawback after a payout")
        else:
            taken = min(claim, books.available[key])
            self.take(reward.owner, reward.currency, taken, reward)
        books.debt[key] += claim - taken
        books.posted.add(key)
        reward.clawed += claim
        self.txns["clawback"] += 1
        if claim > taken:
            hypothesis.event(f"{reward.kind} clawback left debt")
        if reward.expired is not None:
            hypothesis.event("clawback after the expiry")

    # What happens to a reward.

    def approve(self, reward: ExpectedReward) -> None:
        if reward.friend is not None:
            self.orders[reward.friend].settled = True
        if reward.kind == "coupon":
            reward.status = "fulfilled"  # issued its code
            return
        if not reward.in_ledger:
            reward.status = "pending_fulfilment"  # a product, a gift card: in the queue
            return
        assert reward.amount is not None
        assert reward.currency is not None
        reward.status = "approved"
        if reward.rule is not None and reward.rule.lasts is not None:
            reward.expires_at = self.now + reward.rule.lasts
        self.money_in(reward.owner, reward.currency, reward.amount, reward)
        self.txns["reward"] += 1

    def reverse(self, reward: ExpectedReward) -> bool:
        if reward.status not in REVERSIBLE:
            return False
        was, reward.status = reward.status, "reversed"
        if was != "pending" and reward.in_ledger:
            self.claw_back(reward)
        return True

    # The moves.

    def convert(self, amount: int, hours: int) -> None:
        self.now += timedelta(hours=hours)
        friend = f"bob-{len(self.friends)}"
        order = f"order-{friend}"
        body = purchase(
            f"p-{friend}", friend, order, amount, referral_code=self.story.alice["code"]
        )
        result = self.deliver(body)
        self.note(f"{friend} buys {order} for {amount}")
        granted = [r for r in RULES if r.grants(amount)]
        assert sorted(
            (r["beneficiary"], r["kind"], r["amount"] or 0, r["status"]) for r in result["rewards"]
        ) == sorted((r.beneficiary, r.kind, r.value(amount) or 0, "pending") for r in granted)
        rows = Reward.objects.filter(
            public_id__in=[r["id"] for r in result["rewards"]]
        ).values_list("public_id", "pk", "rule__name")
        self.friends.append(friend)
        rewards = []
        for public_id, pk, name in sorted(rows, key=lambda row: row[1]):
            rule_ = BY_NAME[name]
            value = rule_.value(amount)
            owner = "alice" if rule_.beneficiary == "advocate" else friend
            reward = ExpectedReward(
                public_id,
                pk,
                owner,
                rule_.kind,
                value,
                rule_,
                self.now + HOLD,
                value=value,
                friend=friend,
            )
            self.rewards[public_id] = reward
            rewards.append(reward)
        self.orders[friend] = ExpectedOrder(friend, order, amount, rewards)

    def sweep(self, days: int) -> None:
        self.now += timedelta(days=days)
        due = sorted(
            (
                r
                for r in self.rewards.values()
                if r.status == "pending" and r.hold_until is not None and r.hold_until <= self.now
            ),
            key=lambda r: (r.hold_until, r.pk),
        )
        assert approve_due_rewards(now=self.now) == len(due)
        self.note(f"the sweep approves {[r.id for r in due]}")
        for reward in due:
            self.approve(reward)

    def expire(self, days: int) -> None:
        """Each reward past its expiry loses what is left of its own lot, nothing else."""
        self.now += timedelta(days=days)
        due = [
            r
            for r in self.rewards.values()
            if r.expires_at is not None and r.expires_at <= self.now and r.expired is None
        ]
        assert expire_due_credit(now=self.now) == len(due)
        self.note(f"the expiry sweep settles {[r.id for r in due]}")
        for reward in due:
            assert reward.currency is not None
            key = (reward.owner, reward.currency)
            left = sum(lot.left for lot in self.books.lots.get(key, []) if lot.reward is reward)
            if left:
                self.take(reward.owner, reward.currency, left, reward)
                self.txns["expiry"] += 1
            reward.expired = left
            hypothesis.event(
                "expired: " + ("all" if left == reward.amount else "part" if left else "nothing")
            )

    def refund(self, friend: str, amount: int | None, hours: int) -> None:
        """A refund of the friend's order, all of it (`amount` None) or part. All of it (or
        parts adding up to it) reverses every reward; a part applies each rule's policy to what
        is left: a reward in its hold changes, an approved one gives back its share."""
        self.now += timedelta(hours=hours)
        order = self.orders[friend]
        body = partial_refund(self.next_id("r"), friend, order.id, amount)
        self.deliver(body)
        self.note(f"{friend} gets {amount or 'all'} of {order.id} refunded ({body['id']})")
        if order.refunded_at == self.now:
            hypothesis.event("two refunds of an order at the same instant")
        order.refunded_at = self.now
        if not order.settled and any(r.status == "rejected" for r in order.rewards):
            hypothesis.event("refund re-decides a referral with a reward rejected by hand")
        if order.closed:
            hypothesis.event("refund of an order already refunded")
            return
        order.refunded = min(order.amount, order.refunded + (amount or order.amount))
        if order.refunded >= order.amount:
            order.closed = True
            for reward in order.rewards:
                self.reverse(reward)
            return
        left = order.amount - order.refunded
        for reward in order.rewards:
            if reward.status not in REVERSIBLE:
                continue
            assert reward.rule is not None
            kept, value = reward.rule.after_partial_refund(left)
            if not kept:
                hypothesis.event(f"partial refund reversed a {reward.status} {reward.kind}")
                self.reverse(reward)
            elif value is not None and reward.value is not None and value < reward.value:
                if reward.status == "pending":
                    reward.amount = value
                    hypothesis.event("partial refund shrank a pending reward")
                else:
                    self.claw_back(reward, reward.value - value)
                    hypothesis.event(f"partial refund took back part of a {reward.kind}")
                reward.value = value

    # The rules.

    @initialize(
        orders=st.lists(st.integers(2000, 12_000), min_size=1, max_size=3),
        hold_ends=st.sampled_from([True, True, False]),
        spend=st.integers(0, 100),
        payout=st.sampled_from(["paid", "failed", "approved", "draft", "none"]),
        refunds=st.lists(st.sampled_from(["half", "most", "all", "little"]), max_size=3),
    )
    def history(
        self, orders: list[int], hold_ends: bool, spend: int, payout: str, refunds: list[str]
    ) -> None:
        """Start from a random history made with the same moves (friends converted, the hold
        over, part of alice's credit and points spent, her cash in a batch left a draft,
        approved, paid or failed, orders refunded), so that short runs reach deep states:
        refunds after a payout or a redemption, debt waiting for the next money, a draft that
        owes more than is left."""
        for amount in orders:
            self.convert(amount, hours=1)
        if hold_ends:
            self.sweep(days=15)
        for currency in (USD, PTS):
            if available := self.books.available[("alice", currency)] * spend // 100:
                self.redeem("alice", currency, available)
        if payout != "none" and self.books.payable["alice"]:
            self.create_batch(0)
            if payout != "draft":
                batch = self.batches[-1]
                self.approve_batch(batch)
                for p in batch.payouts if payout != "approved" else []:
                    self.mark(p, payout)
        for friend, how in zip(self.friends, refunds, strict=False):
            amount = self.orders[friend].amount
            part = {"all": None, "half": amount // 2, "most": amount - 1, "little": 100}[how]
            self.refund(friend, part, hours=1)

    @precondition(lambda self: len(self.friends) < 5)
    @rule(amount=st.integers(2000, 20_000), hours=st.integers(0, 72))
    def friend_converts(self, amount: int, hours: int) -> None:
        self.convert(amount, hours)

    @precondition(lambda self: any(r.status == "pending" for r in self.rewards.values()))
    @rule(days=st.integers(0, 20))
    def sweeper_approves_due_rewards(self, days: int) -> None:
        self.sweep(days)

    @precondition(
        lambda self: any(r.expires_at and r.expired is None for r in self.rewards.values())
    )
    @rule(days=st.integers(0, 40))
    def credit_expires(self, days: int) -> None:
        self.expire(days)

    @precondition(lambda self: any(not o.closed for o in self.orders.values()))
    @rule(data=st.data(), how=st.sampled_from(["all", "part", "part", "most"]))
    def order_is_refunded(self, data: st.DataObject, how: str) -> None:
        open_ = [o.friend for o in self.orders.values() if not o.closed]
        order = self.orders[data.draw(st.sampled_from(open_), label="friend")]
        left = order.amount - order.refunded
        amount = {
            "all": None,
            "part": data.draw(st.integers(1, max(1, left)), label="amount"),
            "most": max(1, left - data.draw(st.integers(1, 30), label="kept")),
        }[how]
        # Often at the same business time as the last move, another refund of the order maybe.
        hours = data.draw(st.sampled_from([0, 0, 1, 24, 72]), label="hours")
        self.refund(order.friend, amount, hours)

    @rule(
        data=st.data(),
        currency=st.sampled_from([USD, PTS]),
        how=st.sampled_from(["some", "all", "one_more"]),
    )
    def participant_redeems(self, data: st.DataObject, currency: str, how: str) -> None:
        holders = [w for w in self.people() if self.books.available[(w, currency)]]
        pick = holders if holders and how != "one_more" else self.people()
        who = data.draw(st.sampled_from(pick), label="who")
        available = self.books.available[(who, currency)]
        amount = {
            "some": data.draw(st.integers(1, max(1, available)), label="amount"),
            "all": max(available, 1),
            "one_more": available + 1,
        }[how]
        self.redeem(who, currency, amount)

    def redeem(self, who: str, currency: str, amount: int) -> None:
        available = self.books.available[(who, currency)]
        body = {"order_id": self.next_id("spend"), "amount": amount, "currency": currency}
        answer = self.post(f"/participants/{who}/redemptions", body)
        self.note(f"{who} redeems {amount} {currency}")
        if amount > available:
            self.refused(answer, "insufficient_balance", available=available, currency=currency)
            hypothesis.event("redemption refused")
            return
        assert answer[0] == 201, answer
        self.redemptions[body["order_id"]] = (who, body, answer[1]["id"])
        hypothesis.event(f"redeemed {currency}")
        self.take(who, currency, amount)
        self.books.redeemed[currency] += amount
        self.txns["redemption"] += 1

    @rule(
        data=st.data(),
        currency=st.sampled_from([USD, USD, USD, PTS]),
        amount=st.integers(-1500, 1500).filter(bool),
    )
    def credit_is_adjusted_by_hand(self, data: st.DataObject, currency: str, amount: int) -> None:
        who = data.draw(st.sampled_from(self.people()), label="who")
        available = self.books.available[(who, currency)]
        answer = self.post(
            f"/participants/{who}/credit-adjustments",
            {"amount": amount, "currency": currency, "reason": "goodwill"},
        )
        self.note(f"{who}'s credit adjusted by {amount} {currency}")
        if currency == PTS:
            # Points are granted (POST /participants/{id}/rewards) or redeemed, not adjusted:
            # an adjustment is in minor units of an ISO 4217 currency.
            assert answer[0] == 422, answer
            assert answer[1]["error"]["code"] == "validation_error", answer
            return
        if -amount > available:
            self.refused(answer, "insufficient_balance", available=available, currency=currency)
            return
        assert answer[0] == 201, answer
        if amount > 0:
            self.money_in(who, currency, amount)
        else:
            self.take(who, currency, -amount)
        self.books.adjusted[currency] += amount
        self.txns["adjustment"] += 1

    @rule(
        data=st.data(),
        kind=st.sampled_from(
            ["credit", "points", "cash", "cash", "product", "gift_card", "coupon"]
        ),
        amount=st.integers(1, 3000),
    )
    def reward_is_granted_by_hand(self, data: st.DataObject, kind: str, amount: int) -> None:
        who = data.draw(st.sampled_from(self.people()), label="who")
        body: dict[str, Any] = {"kind": kind, "reason": "thank you"}
        if kind == "product":
            body["sku"] = "MUG-RED"
        elif kind == "coupon":
            body["percent_off"] = 20
        else:
            body["amount"] = amount
        if kind in ("credit", "cash", "gift_card"):
            body["currency"] = USD
        status, answer = self.post(f"/participants/{who}/rewards", body)
        assert status == 201, answer
        self.note(f"{who} granted {amount} {kind} by hand: {answer['id']}")
        value = body.get("amount")
        reward = ExpectedReward(answer["id"], 0, who, kind, value, value=value, status="pending")
        self.rewards[reward.id] = reward
        self.approve(reward)  # at once
        assert answer["status"] == reward.status

    @precondition(lambda self: self.rewards)
    @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "reverse", "fulfil"]))
    def staff_act_on_a_reward(self, data: st.DataObject, action: str) -> None:
        """Staff approve early, reject, reverse or mark fulfilled any reward, in any status:
        the ones not in a status the action takes are refused and change nothing."""
        reward = self.rewards[data.draw(st.sampled_from(list(self.rewards)), label="reward")]
        allowed = {
            "approve": ("pending",),
            "reject": ("pending",),
            "reverse": REVERSIBLE,
            "fulfil": ("approved", "pending_fulfilment"),
        }[action]
        body = {"reference": "SHOP-1"} if action == "fulfil" else {"reason": "by hand"}
        answer = self.post(f"/rewards/{reward.id}/{action}", body if action != "approve" else {})
        self.note(f"{action} {reward.id} ({reward.status} {reward.kind} of {reward.owner})")
        if action == "fulfil" and reward.kind == "cash":
            # Cash is paid by payout batches, never marked fulfilled by hand.
            self.refused(answer, "paid_through_payouts")
            return
        if reward.status not in allowed:
            self.refused(answer, "invalid_state", status=reward.status)
            hypothesis.event(f"{action} refused")
            return
        assert answer[0] == 200, answer
        hypothesis.event(f"{action} a {reward.status} {reward.kind}")
        if action == "approve":
            self.approve(reward)
        elif action == "reject":
            reward.status = "rejected"
        elif action == "reverse":
            self.reverse(reward)
        else:
            reward.status = "fulfilled"
        assert answer[1]["status"] == reward.status

    # Payouts.

    def create_batch(self, min_amount: int) -> None:
        owed = {w: a for w, a in self.books.payable.items() if a >= max(min_amount, 1)}
        answer = self.post("/payout-batches", {"currency": USD, "min_amount": min_amount})
        self.note(f"a payout batch, at least {min_amount}: {answer[1].get('id')}")
        if not owed:
            self.refused(answer, "nothing_to_pay", currency=USD, min_amount=min_amount)
            hypothesis.event("nothing to pay")
            return
        hypothesis.event(f"batch of {min(len(owed), 2)}+ payouts")
        status, body = answer
        assert status == 201, body
        assert (body["status"], body["amount"], body["payout_count"]) == (
            "draft",
            sum(owed.values()),
            len(owed),
        )
        assert {p["participant"]: p["amount"] for p in body["payouts"]} == owed
        payouts = [ExpectedPayout(p["id"], p["participant"], p["amount"]) for p in body["payouts"]]
        self.batches.append(ExpectedBatch(body["id"], payouts))

    def approve_batch(self, batch: ExpectedBatch) -> None:
        """Each payout pays what is still owed, at most its amount; one owed nothing drops."""
        answer = self.post(f"/payout-batches/{batch.id}/approve", {})
        self.note(f"approve {batch.id} ({batch.status})")
        if batch.status != "draft":
            self.refused(answer, "invalid_state", status=batch.status)
            return
        kept = []
        for payout in batch.payouts:
            amount = min(self.books.payable[payout.who], payout.amount)
            if amount <= 0:
                hypothesis.event("payout dropped at approval")
                continue
            if amount < payout.amount:
                hypothesis.event("payout lowered at approval")
            self.books.payable[payout.who] -= amount
            self.books.paying[payout.who] += amount
            payout.amount, payout.status = amount, "approved"
            hypothesis.event("payout approved")
            self.txns["payout"] += 1
            kept.append(payout)
        batch.payouts = kept
        batch.status = "approved" if kept else "closed"
        status, body = answer
        assert status == 200, body
        assert body["status"] == batch.status
        assert {p["id"]: (p["amount"], p["status"]) for p in body["payouts"]} == {
            p.id: (p.amount, p.status) for p in kept
        }

    def mark(self, payout: ExpectedPayout, outcome: str) -> None:
        body = {"reference": "PAYPAL-1"} if outcome == "paid" else {"reason": "unconfirmed"}
        answer = self.post(f"/payouts/{payout.id}/{outcome}", body)
        self.note(f"{payout.id} of {payout.who} ({payout.status}) marked {outcome}")
        if payout.status != "approved":
            self.refused(answer, "invalid_state", status=payout.status)
            return
        assert answer[0] == 200, answer
        self.books.paying[payout.who] -= payout.amount
        if outcome == "paid":
            self.books.paid[payout.who] += payout.amount
        else:
            self.cash_in(payout.who, payout.amount)
        payout.status = outcome
        hypothesis.event(f"payout {outcome}")
        self.txns["payout"] += 1
        batch = next(b for b in self.batches if payout in b.payouts)
        if all(p.status != "approved" for p in batch.payouts):
            batch.status = "closed"
            hypothesis.event("batch closed")

    @precondition(lambda self: any(self.books.payable.values()))
    @rule(min_amount=st.sampled_from([0, 1, 300, 1000, 3000, 100_000]))
    def payout_batch_is_created(self, min_amount: int) -> None:
        self.create_batch(min_amount)

    @precondition(lambda self: any(b.status == "draft" for b in self.batches))
    @rule(data=st.data(), action=st.sampled_from(["approve", "approve", "approve", "cancel"]))
    def payout_batch_is_approved_or_cancelled(self, data: st.DataObject, action: str) -> None:
        # Mostly a draft; any other batch is out of turn (409, nothing written).
        drafts = [b.id for b in self.batches if b.status == "draft"]
        batch_id = data.draw(
            st.sampled_from(drafts * 3 + [b.id for b in self.batches]), label="batch"
        )
        batch = next(b for b in self.batches if b.id == batch_id)
        if action == "approve":
            self.approve_batch(batch)
            return
        answer = self.post(f"/payout-batches/{batch.id}/cancel", {})
        self.note(f"cancel {batch.id} ({batch.status})")
        if batch.status != "draft":
            self.refused(answer, "invalid_state", status=batch.status)
            return
        assert answer[0] == 200, answer
        batch.status = "cancelled"

    @precondition(lambda self: any(p.status == "approved" for b in self.batches for p in b.payouts))
    @rule(data=st.data(), outcome=st.sampled_from(["paid", "failed"]))
    def payout_is_marked(self, data: st.DataObject, outcome: str) -> None:
        # Mostly one still to pay; any other is out of turn (409, nothing written).
        payouts = {p.id: p for b in self.batches for p in b.payouts}
        waiting = [p.id for p in payouts.values() if p.status == "approved"]
        payout_id = data.draw(st.sampled_from(waiting * 3 + list(payouts)), label="payout")
        self.mark(payouts[payout_id], outcome)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def redemption_is_retried(self, data: st.DataObject) -> None:
        """The same order again answers the first redemption; with another amount, 422."""
        order = data.draw(st.sampled_from(list(self.redemptions)), label="order")
        who, body, first = self.redemptions[order]
        status, again = self.post(f"/participants/{who}/redemptions", body)
        assert (status, again["id"]) == (200, first)
        status, other = self.post(
            f"/participants/{who}/redemptions", {**body, "amount": body["amount"] + 1}
        )
        assert (status, other["error"]["code"]) == (422, "idempotency_conflict")

    @precondition(lambda self: self.deliveries)
    @rule(data=st.data())
    def event_is_delivered_again(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(0, len(self.deliveries) - 1), label="delivery")
        body, first = self.deliveries[n]
        again = record_event(
            workspace=self.workspace, data=EventIn.model_validate(body), now=self.now
        )
        assert (again.replayed, again.result) == (True, first)

    # What must hold after every step.

    def expected_balance(self, who: str) -> list[dict[str, Any]]:
        books, lines = self.books, []
        for currency, kind in ((PTS, "points"), (USD, "credit")):
            key = (who, currency)
            pending = sum(
                r.amount or 0
                for r in self.rewards.values()
                if r.owner == who and r.kind == kind and r.status == "pending"
            )
            if key not in books.posted and not pending:
                continue
            expiring = [
                lot for lot in books.lots.get(key, []) if lot.expires_at is not None and lot.left
            ]
            soonest = min((lot.expires_at for lot in expiring if lot.expires_at), default=None)
            cash = currency == USD
            lines.append(
                {
                    "currency": currency,
                    "available": books.available[key],
                    "pending": pending,
                    "debt": books.debt[key],
                    "next_expiry": None
                    if soonest is None
                    else {
                        "amount": sum(lot.left for lot in expiring if lot.expires_at == soonest),
                        "at": iso(soonest),
                    },
                    "payable": books.payable[who] if cash else 0,
                    "paying": books.paying[who] if cash else 0,
                    "paid": books.paid[who] if cash else 0,
                }
            )
        return lines

    def expected_accounts(self) -> dict[tuple[str | None, str, str], int]:
        """The sum of entries of every account that should have any: the participants', and
        the workspace's (the `rewards` account balances all the others, currency by currency)."""
        books = self.books
        out: dict[tuple[str | None, str, str], int] = {}
        for (who, currency), amount in books.available.items():
            out[(who, "credit", currency)] = amount
        for (who, currency), amount in books.debt.items():
            out[(who, "debt", currency)] = -amount
        for kind, cash in (("payable", books.payable), ("paying", books.paying)):
            for who, amount in cash.items():
                out[(who, kind, USD)] = amount
        for currency, amount in books.redeemed.items():
            out[(None, "redemptions", currency)] = amount
        for currency, amount in books.adjusted.items():
            out[(None, "adjustments", currency)] = -amount
        out[(None, "paid", USD)] = sum(books.paid.values())
        for currency in (USD, PTS):
            rest = sum(v for (_, _, cur), v in out.items() if cur == currency)
            out[(None, "rewards", currency)] = -rest
        return {k: v for k, v in out.items() if v}

    @invariant()
    def never_negative(self) -> None:
        books = self.books
        for counter in (books.available, books.debt, books.payable, books.paying, books.paid):
            assert min(counter.values(), default=0) >= 0

    @invariant()
    def accounts_match_the_model(self) -> None:
        rows = (
            LedgerEntry.objects.filter(account__workspace_id=self.workspace.pk)
            .values("account__participant__external_id", "account__kind", "account__currency")
            .annotate(total=Sum("amount"))
        )
        found = {
            (
                row["account__participant__external_id"],
                row["account__kind"],
                row["account__currency"],
            ): int(row["total"])
            for row in rows
            if row["total"]
        }
        assert found == self.expected_accounts(), self.story_so_far()

    @invariant()
    def transactions_match_the_model(self) -> None:
        counts = (
            LedgerTransaction.objects.filter(workspace_id=self.workspace.pk)
            .values("kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
        assert {row["kind"]: row["n"] for row in counts} == +self.txns, self.story_so_far()
        assert unbalanced_transactions(self.workspace.pk) == [], self.story_so_far()

    @invariant()
    def rewards_match_the_model(self) -> None:
        rows = Reward.objects.filter(workspace_id=self.workspace.pk).values_list(
            "public_id", "status", "amount"
        )
        assert {pk: (status, amount) for pk, status, amount in rows} == {
            r.id: (r.status, r.amount) for r in self.rewards.values()
        }, self.story_so_far()

    @invariant()
    def api_balance_matches_the_model(self) -> None:
        for who in self.people():
            expected = self.expected_balance(who)
            if self.confirmed.get(who) == expected:
                continue
            r = self.story.acme.get(f"/participants/{who}/balance")
            assert r.json() == {"participant": who, "balances": expected}, self.story_so_far()
            self.confirmed[who] = expected

    @invariant()
    def check_ledger_finds_no_drift(self) -> None:
        assert_no_drift()


def run_kinds_machine(max_examples: int, steps: int) -> None:
    story = make_story(
        rewards=[r.spec() for r in RULES], trigger={"event": "purchase", "min_amount": MIN_ORDER}
    )
    run_state_machine_as_test(
        lambda: KindsMachine(story),
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,  # no example database written into the working tree
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_ledger_state_machine_every_kind(db: None) -> None:
    """LEDGER-1, every reward kind (longer runs: make test-long)."""
    run_kinds_machine(max_examples=40, steps=25)


@pytest.mark.long
def test_ledger_state_machine_every_kind_long(db: None) -> None:
    """LEDGER-1, every reward kind, longer runs (make test-long)."""
    run_kinds_machine(max_examples=300, steps=50)


# What the machine found -----------------------------------------------------------------------


def held_commission(action: str) -> tuple[Story, str]:
    """bob buys for 23.65 through alice: her 5% cash commission (1.18) is in its hold; staff
    `action` it (reject or reverse) by hand."""
    rule_ = BY_NAME["Cash commission"]
    story = make_story(rewards=[rule_.spec()])
    body = purchase("p-bob", "bob", "order-1", 2365, referral_code=story.alice["code"])
    [reward] = story.acme.event(body).json()["rewards"]
    assert (reward["amount"], reward["status"]) == (118, "pending")
    answer = story.acme.post(f"/rewards/{reward['id']}/{action}", {"reason": "duplicate account"})
    assert answer.status_code == 200, answer.content
    return story, reward["id"]


LATER_EVENTS = {
    "partial refund": partial_refund("r-1", "bob", "order-1", 1000),
    "full refund": partial_refund("r-1", "bob", "order-1", None),
    "purchase": purchase("p-bob-2", "bob", "order-2", 5000),
    "signup": {"id": "s-bob", "type": "signup", "customer": {"external_id": "bob"}},
}


@pytest.mark.parametrize(
    ("action", "status", "later"),
    [
        (action, status, later)
        for action, status in (("reject", "rejected"), ("reverse", "reversed"))
        for later in LATER_EVENTS
        # A reward reversed by hand and then by the full refund is reversed either way.
        if (action, later) != ("reverse", "full refund")
    ],
)
def test_a_later_event_leaves_a_reward_rejected_or_reversed_by_hand_alone(
    db: None, action: str, status: str, later: str
) -> None:
    """Found by KindsMachine. While no reward of a referral was approved, any later event of
    the friend decided the referral again and set every reward of it back to what the rules
    grant: a reward staff had rejected or reversed in its hold was `pending` again, and the
    sweeper paid it (a full refund turned a rejected reward into a reversed one)."""
    story, reward_id = held_commission(action)
    assert story.acme.event(LATER_EVENTS[later]).status_code == 201
    [reward] = story.acme.get("/rewards", participant="alice").json()["data"]
    assert (reward["id"], reward["status"], reward["amount"]) == (reward_id, status, 118)
    assert approve_due_rewards(now=datetime.now(UTC) + HOLD + timedelta(days=1)) == 0
    assert story.acme.get("/participants/alice/balance").json()["balances"] == []
    assert LedgerTransaction.objects.count() == 0


@pytest.mark.parametrize(
    ("first", "then", "left"),
    [
        ("r-1", "r-2", 99),  # 0.01 back, then all: the commission had become 0.99
        ("r-2", "r-1", 100),  # by their ids, all of it went first: the commission was 1.00
    ],
)
def test_refunds_at_the_same_instant_apply_in_the_order_of_their_ids(
    db: None, first: str, then: str, left: int
) -> None:
    """Found by KindsMachine: refunds of one order at the same business time were applied in
    the order of their random public ids; they apply in the order of their event ids (`id`),
    however they arrive (docs/api.md, "Business time and arrival order").

    alice's 5% cash commission on bob's 20.00 is in its hold; `first` refunds 0.01 of the order,
    then `then`, at the same business time, all of it. Twenty workspaces: one alone passed half
    the time when random ids broke the tie."""
    found = []
    for n in range(20):
        api = make_api(f"Shop {n}")
        program = make_program(api, rewards=[BY_NAME["Cash commission"].spec()])
        code = enrol(api, program["id"], "alice")["code"]
        events = [
            (T0, purchase("p-bob", "bob", "order-1", 2000, referral_code=code)),
            (T0 + timedelta(hours=1), partial_refund(first, "bob", "order-1", 1)),
            (T0 + timedelta(hours=1), partial_refund(then, "bob", "order-1", None)),
        ]
        for at, body in events:
            outcome = record_event(
                workspace=api.workspace, data=EventIn.model_validate(body), now=at
            )
            assert not outcome.replayed
        found += Reward.objects.filter(workspace=api.workspace).values_list("status", "amount")
    assert found == [("reversed", left)] * 20
