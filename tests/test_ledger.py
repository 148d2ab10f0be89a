"""The ledger: LEDGER-1 (a stateful model over the real services), LEDGER-2 (concurrent
redemptions), LEDGER-3 (`check_ledger` finds drift, and finds none after real work).

LEDGER-1 has two machines: `LedgerMachine` here (credit, its lots and expiry in depth) and
`KindsMachine` in tests/test_ledger_kinds.py (every reward kind: points, cash and payouts,
partial refunds, products and coupons). Both run `check_ledger` after every step."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import hypothesis
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
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
from goodword.lib.errors import Conflict, Invalid
from goodword.participants.models import Participant
from goodword.rewards import ledger
from goodword.rewards.actions import adjust_credit
from goodword.rewards.expiry import expire_due_credit
from goodword.rewards.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Redemption,
    Reward,
)
from goodword.rewards.services import approve_due_rewards, approve_reward, redeem_credit
from tests.factories import PROGRAM, Story, make_story, purchase, refund
from tests.shared import balance_line

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLD = timedelta(days=14)  # the story program's hold_days
ADVOCATE_REWARD, FRIEND_REWARD = 1000, 500
# LEDGER-1's program: alice's credit expires 30 days after approval, her friends' after 10.
EXPIRES = {"advocate": timedelta(days=30), "friend": timedelta(days=10)}


def check_ledger() -> str:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    return out.getvalue()


def assert_no_drift() -> None:
    output = check_ledger()
    assert "Ledger OK" in output
    assert "problem" not in output


def participant_totals(workspace_id: int) -> dict[tuple[str, str], int]:
    """Sums of entries per (participant, account kind), straight from the entries."""
    rows = (
        LedgerEntry.objects.filter(
            account__workspace_id=workspace_id, account__participant__isnull=False
        )
        .values("account__participant__external_id", "account__kind")
        .annotate(total=Sum("amount"))
    )
    return {
        (row["account__participant__external_id"], row["account__kind"]): int(row["total"])
        for row in rows
    }


def pending_totals(workspace_id: int) -> dict[str, int]:
    rows = (
        Reward.objects.filter(workspace_id=workspace_id, status=Reward.Status.PENDING)
        .values("participant__external_id")
        .annotate(total=Sum("amount"))
    )
    return {row["participant__external_id"]: int(row["total"]) for row in rows}


def unbalanced_transactions(workspace_id: int) -> list[dict[str, Any]]:
    return list(
        LedgerEntry.objects.filter(transaction__workspace_id=workspace_id)
        .values("transaction_id", "account__currency")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
    )


# LEDGER-1 -----------------------------------------------------------------------------------


@dataclass
class ExpectedReward:
    owner: str
    amount: int
    hold_until: datetime
    lasts: timedelta  # from approval to expiry
    status: str = "pending"
    expires_at: datetime | None = None  # set on approval
    expired: int | None = None  # what its expiry took, once settled


@dataclass
class ExpectedLot:
    """Credit that came in at once, and what is left of it (the rule in rewards/expiry.py,
    written again here from its statement)."""

    expires_at: datetime | None
    seq: int
    left: int
    reward: ExpectedReward | None = None


class LedgerMachine(RuleBasedStateMachine):
    """Drive grants, approvals, redemptions, refunds and duplicates through the real services,
    keeping the balances we expect beside them.

    Credit expires (alice's 30 days after approval, her friends' 10): the model keeps each
    participant's credit as lots, spends the soonest-expiring first, lets a clawback take its
    own reward's lot first, and expects the expiry sweep to take exactly what is left of each
    reward, which never takes a balance below zero. Every example starts from the same story
    (acme, alice, globex) and runs in a savepoint rolled back in `teardown`, so no example sees
    another's rows.
    """

    def __init__(self, story: Story) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.story = story
        self.workspace = self.story.acme.workspace
        # The previous example's rows were rolled back with its savepoint.
        assert not Event.objects.for_workspace(self.workspace).exists()
        assert not LedgerTransaction.objects.exists()
        self.now = T0
        self.friends: list[str] = []
        self.rewards: dict[str, list[ExpectedReward]] = {}  # by order id, in grant order
        self.available: dict[str, int] = {"alice": 0}
        self.debt: dict[str, int] = {"alice": 0}
        self.posted: set[str] = set()  # participants with ledger entries
        self.lots: dict[str, list[ExpectedLot]] = {"alice": []}
        self.seq = 0
        self.deliveries: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.redemptions: list[tuple[str, str, int]] = []
        self.refunds = 0
        self.people: dict[str, Participant] = {}
        self.confirmed: dict[str, list[dict[str, Any]]] = {}  # balances the API last showed

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        outcome = record_event(
            workspace=self.workspace, data=EventIn.model_validate(body), now=self.now
        )
        assert outcome.replayed is False
        self.deliveries.append((body, outcome.result))
        return outcome.result

    def pending_rewards(self) -> list[ExpectedReward]:
        return [r for rewards in self.rewards.values() for r in rewards if r.status == "pending"]

    def participant(self, who: str) -> Participant:
        if who not in self.people:
            self.people[who] = Participant.objects.for_workspace(self.workspace).get(
                external_id=who
            )
        return self.people[who]

    # The moves, each checked against the model as it happens.

    def convert(self, amount: int, hours: int) -> None:
        self.now += timedelta(hours=hours)
        friend = f"bob-{len(self.friends)}"
        order = f"order-{friend}"
        body = purchase(
            f"p-{friend}", friend, order, amount, referral_code=self.story.alice["code"]
        )
        result = self.deliver(body)
        assert [(r["beneficiary"], r["amount"], r["status"]) for r in result["rewards"]] == [
            ("advocate", ADVOCATE_REWARD, "pending"),
            ("friend", FRIEND_REWARD, "pending"),
        ]
        self.friends.append(friend)
        self.available[friend], self.debt[friend], self.lots[friend] = 0, 0, []
        self.rewards[order] = [
            ExpectedReward("alice", ADVOCATE_REWARD, self.now + HOLD, EXPIRES["advocate"]),
            ExpectedReward(friend, FRIEND_REWARD, self.now + HOLD, EXPIRES["friend"]),
        ]

    # The lots: credit in, and what each movement out takes from them.

    def credit_in(self, who: str, amount: int, reward: ExpectedReward | None = None) -> None:
        """Outstanding debt takes its share of new credit first; the rest is a lot."""
        settled = min(amount, self.debt[who])
        if settled:
            hypothesis.event("debt netted against new credit")
        self.debt[who] -= settled
        self.available[who] += amount - settled
        self.posted.add(who)
        if amount - settled:
            expires_at = reward.expires_at if reward is not None else None
            self.lots[who].append(ExpectedLot(expires_at, self.seq, amount - settled, reward))
            self.seq += 1

    def take(self, who: str, amount: int, reward: ExpectedReward | None = None) -> None:
        """Take `amount` of `who`'s credit: from `reward`'s own lot first, then the lot that
        expires soonest (never-expiring last, the older first among equals)."""
        lots = sorted(
            self.lots[who], key=lambda lot: (lot.expires_at is None, lot.expires_at or T0, lot.seq)
        )
        own = [lot for lot in lots if reward is not None and lot.reward is reward]
        for lot in own + lots:
            taken = min(amount, lot.left)
            lot.left -= taken
            amount -= taken
        assert amount == 0
        assert sum(lot.left for lot in self.lots[who]) == self.available[who]

    def next_expiry(self, who: str) -> dict[str, Any] | None:
        expiring = [lot for lot in self.lots[who] if lot.expires_at is not None and lot.left]
        if not expiring:
            return None
        at = min(lot.expires_at for lot in expiring if lot.expires_at is not None)
        return {
            "amount": sum(lot.left for lot in expiring if lot.expires_at == at),
            "at": at.isoformat().replace("+00:00", "Z"),
        }

    def sweep(self, days: int) -> None:
        self.now += timedelta(days=days)
        due = [r for r in self.pending_rewards() if r.hold_until <= self.now]
        assert approve_due_rewards(now=self.now) == len(due)
        for reward in due:
            reward.status, reward.expires_at = "approved", self.now + reward.lasts
            self.credit_in(reward.owner, reward.amount, reward)

    def redeem(self, who: str, amount: int) -> None:
        order = f"spend-{len(self.redemptions)}-{who}"
        participant = self.participant(who)
        transactions = LedgerTransaction.objects.count()
        if amount > self.available[who]:
            with pytest.raises(Conflict) as exc:
                redeem_credit(
                    participant=participant,
                    order_id=order,
                    amount=amount,
                    currency="USD",
                    now=self.now,
                )
            hypothesis.event("redemption refused")
            assert exc.value.code == "insufficient_balance"
            assert exc.value.details == {"available": self.available[who], "currency": "USD"}
            assert Redemption.objects.filter(order_id=order).exists() is False
            assert LedgerTransaction.objects.count() == transactions
            return
        redemption, created = redeem_credit(
            participant=participant, order_id=order, amount=amount, currency="USD", now=self.now
        )
        assert (created, redemption.amount, redemption.participant_id) == (
            True,
            amount,
            participant.pk,
        )
        self.available[who] -= amount
        self.take(who, amount)
        self.posted.add(who)
        self.redemptions.append((order, who, amount))

    def refund_order(self, friend: str, hours: int) -> None:
        """Reverse the order's rewards: pending ones are cancelled, approved credit is clawed
        back (what was spent becomes debt). A second refund of the same order changes nothing."""
        self.now += timedelta(hours=hours)
        order = f"order-{friend}"
        self.refunds += 1
        self.deliver(refund(f"r-{self.refunds}", friend, order))
        for reward in self.rewards[order]:
            # After its expiry, only what was spent of it is left to take back.
            left = reward.amount - (reward.expired or 0)
            if reward.status == "approved" and left:
                taken = min(left, self.available[reward.owner])
                self.available[reward.owner] -= taken
                self.take(reward.owner, taken, reward)
                self.debt[reward.owner] += left - taken
                if taken < left:
                    hypothesis.event("clawback left debt")
                if reward.expired is not None:
                    hypothesis.event("refund after the expiry")
            reward.status = "reversed"

    def expire(self, days: int) -> None:
        """The expiry sweep: each reward past its expiry loses what is left of its own lot."""
        self.now += timedelta(days=days)
        due = [
            r
            for rewards in self.rewards.values()
            for r in rewards
            if r.expires_at is not None and r.expires_at <= self.now and r.expired is None
        ]
        posted = LedgerTransaction.objects.filter(kind="expiry").count()
        assert expire_due_credit(now=self.now) == len(due)
        for reward in due:
            left = sum(lot.left for lot in self.lots[reward.owner] if lot.reward is reward)
            self.available[reward.owner] -= left
            self.take(reward.owner, left, reward)
            reward.expired = left
            hypothesis.event(
                "expired: " + ("all" if left == reward.amount else "part" if left else "nothing")
            )
        expired = sum(1 for r in due if r.expired)
        assert LedgerTransaction.objects.filter(kind="expiry").count() == posted + expired

    # The rules.

    @initialize(
        friends=st.integers(0, 3),
        hold_ends=st.booleans(),
        spend=st.integers(0, 100),
        refunds=st.integers(0, 2),
    )
    def history(self, friends: int, hold_ends: bool, spend: int, refunds: int) -> None:
        """Start from a random history made with the same moves (friends converted, the hold
        over, part of alice's credit spent, orders refunded), so that short runs still reach
        deep states such as debt waiting for the next reward."""
        for _ in range(friends):
            self.convert(amount=2500, hours=1)
        if friends and hold_ends:
            self.sweep(days=15)
        if spend and self.available["alice"]:
            self.redeem("alice", max(1, self.available["alice"] * spend // 100))
        for friend in self.friends[:refunds]:
            self.refund_order(friend, hours=1)

    @precondition(lambda self: len(self.friends) < 5)
    @rule(amount=st.integers(2000, 20_000), hours=st.integers(0, 72))
    def friend_converts(self, amount: int, hours: int) -> None:
        self.convert(amount, hours)

    @precondition(lambda self: self.pending_rewards())
    @rule(days=st.integers(0, 20))
    def sweeper_approves_due_rewards(self, days: int) -> None:
        self.sweep(days)

    @rule(data=st.data(), how=st.sampled_from(["some", "all", "one_more"]))
    def participant_redeems(self, data: st.DataObject, how: str) -> None:
        # Mostly spend where there is credit, everything or one more than there is: the paths
        # to a refused redemption and, after a refund, to debt.
        holders = [who for who, available in self.available.items() if available]
        everyone = ["alice", *self.friends]
        who = data.draw(st.sampled_from(holders if holders and how != "one_more" else everyone))
        amount = {
            "some": data.draw(st.integers(1, 3000), label="amount"),
            "all": max(self.available[who], 1),
            "one_more": self.available[who] + 1,
        }[how]
        self.redeem(who, amount)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def redemption_is_retried(self, data: st.DataObject) -> None:
        order, who, amount = data.draw(st.sampled_from(self.redemptions), label="redemption")
        first = Redemption.objects.get(workspace=self.workspace, order_id=order)
        again, created = redeem_credit(
            participant=self.participant(who),
            order_id=order,
            amount=amount,
            currency="USD",
            now=self.now,
        )
        assert (again.pk, created) == (first.pk, False)
        with pytest.raises(Invalid) as exc:
            redeem_credit(
                participant=self.participant(who),
                order_id=order,
                amount=amount + 1,
                currency="USD",
                now=self.now,
            )
        assert exc.value.code == "idempotency_conflict"
        assert Redemption.objects.filter(order_id=order).count() == 1

    @precondition(lambda self: self.friends)
    @rule(data=st.data(), hours=st.integers(0, 72))
    def order_is_refunded(self, data: st.DataObject, hours: int) -> None:
        self.refund_order(data.draw(st.sampled_from(self.friends), label="friend"), hours)

    @precondition(
        lambda self: any(
            r.expires_at and r.expired is None for rs in self.rewards.values() for r in rs
        )
    )
    @rule(days=st.integers(0, 40))
    def credit_expires(self, days: int) -> None:
        self.expire(days)

    @rule(data=st.data(), amount=st.integers(1, 2000))
    def credit_is_added_by_hand(self, data: st.DataObject, amount: int) -> None:
        """Credit that never expires, spent after every lot that does."""
        who = data.draw(st.sampled_from(["alice", *self.friends]), label="who")
        adjust_credit(
            participant=self.participant(who),
            amount=amount,
            currency="USD",
            reason="goodwill",
            actor="user:1",
            now=self.now,
        )
        self.credit_in(who, amount)

    @precondition(lambda self: self.deliveries)
    @rule(data=st.data(), through_api=st.booleans())
    def event_is_delivered_again(self, data: st.DataObject, through_api: bool) -> None:
        body, first = data.draw(st.sampled_from(self.deliveries), label="delivery")
        transactions = LedgerTransaction.objects.count()
        if through_api:
            r = self.story.acme.event(body)
            assert (r.status_code, r.headers["Idempotent-Replayed"]) == (200, "true")
            assert r.json() == first
        else:
            again = record_event(
                workspace=self.workspace, data=EventIn.model_validate(body), now=self.now
            )
            assert (again.replayed, again.result) == (True, first)
        assert LedgerTransaction.objects.count() == transactions

    def expected_balance(self, who: str) -> list[dict[str, Any]]:
        pending = self.pending(who)
        if who not in self.posted and not pending:
            return []
        return [
            {
                "currency": "USD",
                "available": self.available[who],
                "pending": pending,
                "debt": self.debt[who],
                "next_expiry": self.next_expiry(who),
                "payable": 0,
                "paying": 0,
                "paid": 0,
            }
        ]

    def pending(self, who: str) -> int:
        return sum(
            r.amount
            for rewards in self.rewards.values()
            for r in rewards
            if r.owner == who and r.status == "pending"
        )

    @invariant()
    def balances_match_the_model_and_the_entries(self) -> None:
        totals = participant_totals(self.workspace.pk)
        assert {who for who, _ in totals} <= set(self.available)
        for who, available in self.available.items():
            assert totals.get((who, "credit"), 0) == available >= 0
            assert totals.get((who, "debt"), 0) == -self.debt[who] <= 0
        expected_pending = {who: self.pending(who) for who in self.available}
        assert pending_totals(self.workspace.pk) == {
            who: amount for who, amount in expected_pending.items() if amount
        }

    @invariant()
    def api_balance_matches_the_model(self) -> None:
        # Ask the API about every participant whose expected balance changed since it was last
        # confirmed; the others are covered by the sums above, which read the same rows.
        for who in self.available:
            expected = self.expected_balance(who)
            if self.confirmed.get(who) == expected:
                continue
            r = self.story.acme.get(f"/participants/{who}/balance")
            assert r.json() == {"participant": who, "balances": expected}
            self.confirmed[who] = expected

    @invariant()
    def every_transaction_sums_to_zero(self) -> None:
        assert unbalanced_transactions(self.workspace.pk) == []

    @invariant()
    def check_ledger_finds_no_drift(self) -> None:
        assert_no_drift()


def run_ledger_machine(max_examples: int, steps: int) -> None:
    rules = [
        {**rule, "expires_days": EXPIRES[rule["beneficiary"]].days} for rule in PROGRAM["rewards"]
    ]
    story = make_story(rewards=rules)
    run_state_machine_as_test(
        lambda: LedgerMachine(story),
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,  # no example database written into the working tree
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_ledger_state_machine(db: None) -> None:
    """LEDGER-1."""
    run_ledger_machine(max_examples=30, steps=20)


@pytest.mark.long
def test_ledger_state_machine_long(db: None) -> None:
    """LEDGER-1, longer runs (make test-long)."""
    run_ledger_machine(max_examples=300, steps=50)


# LEDGER-2 -----------------------------------------------------------------------------------


def earn(story: Story, referrals: int) -> None:
    """Give alice real credit: friends convert, then the hold ends and the sweeper approves."""
    for n in range(referrals):
        body = purchase(
            f"p-bob-{n}", f"bob-{n}", f"order-{n}", 2500, referral_code=story.alice["code"]
        )
        assert story.acme.event(body).status_code == 201
    assert approve_due_rewards(now=timezone.now() + HOLD + timedelta(days=1)) == 2 * referrals


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_overdraw() -> None:
    """LEDGER-2: 20 redemptions of 1000 at once against 10000."""
    story = make_story()
    earn(story, referrals=10)
    alice = Participant.objects.get(workspace=story.acme.workspace, external_id="alice")
    credit = LedgerAccount.objects.get(participant=alice, kind="credit")
    assert ledger.balance(credit) == 10_000

    callers = 20
    barrier = threading.Barrier(callers + 1, timeout=60)
    done = threading.Event()

    def redeem(n: int) -> tuple[int, dict[str, Any]]:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                "/api/v1/participants/alice/redemptions",
                json.dumps({"order_id": f"spend-{n}", "amount": 1000, "currency": "USD"}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {story.acme.key}",
            )
            return r.status_code, r.json()
        finally:
            connection.close()

    def watch() -> list[int]:
        """Read the balance over and over while the redemptions run."""
        seen = []
        try:
            barrier.wait()
            while not done.is_set():
                seen.append(ledger.balance(credit))
            seen.append(ledger.balance(credit))
            return seen
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=callers + 1) as pool:
        watcher = pool.submit(watch)
        futures = [pool.submit(redeem, n) for n in range(callers)]
        try:
            answers = [f.result() for f in futures]
        finally:
            done.set()
        seen = watcher.result()

    assert sorted(status for status, _ in answers) == [201] * 10 + [409] * 10
    for status, body in answers:
        if status == 409:
            assert body["error"]["code"] == "insufficient_balance"
            assert body["error"]["details"] == {"available": 0, "currency": "USD"}
        else:
            assert (body["participant"], body["amount"], body["currency"]) == ("alice", 1000, "USD")
    won = sorted(body["order_id"] for status, body in answers if status == 201)
    assert sorted(Redemption.objects.values_list("order_id", flat=True)) == won
    assert LedgerTransaction.objects.filter(kind="redemption").count() == 10

    assert ledger.balance(credit) == 0
    assert min(seen) >= 0
    assert seen[-1] == 0
    # Replayed in the order they were written, the entries never take the balance below zero.
    running = 0
    for amount in (
        LedgerEntry.objects.filter(account=credit).order_by("pk").values_list("amount", flat=True)
    ):
        running += amount
        assert running >= 0
    assert running == 0
    balance = story.acme.get("/participants/alice/balance").json()["balances"]
    assert balance == [balance_line()]
    assert_no_drift()


def refund_and_approve_at_once(
    story: Story, orders: list[tuple[str, str]], rewards: list[Reward], now: datetime
) -> tuple[list[int], list[bool]]:
    """Refund `orders` ((friend, order id)) through the API while approving `rewards`, every
    call in its own thread and connection, all released together."""
    barrier = threading.Barrier(len(orders) + len(rewards), timeout=60)

    def refund_order(n: int, friend: str, order: str) -> int:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                "/api/v1/events",
                json.dumps(refund(f"r-{n}", friend, order)),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {story.acme.key}",
            )
            return r.status_code
        finally:
            connection.close()

    def approve(reward: Reward) -> bool:
        try:
            barrier.wait()
            return approve_reward(reward, now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(orders) + len(rewards)) as pool:
        refunds = [pool.submit(refund_order, n, *order) for n, order in enumerate(orders)]
        approvals = [pool.submit(approve, reward) for reward in rewards]
        return [f.result() for f in refunds], [f.result() for f in approvals]


def due_rewards() -> list[Reward]:
    pending = Reward.objects.filter(status=Reward.Status.PENDING)
    return list(pending.select_related("referral", "participant").order_by("pk"))


def balance_of(story: Story, who: str) -> list[dict[str, Any]]:
    r = story.acme.get(f"/participants/{who}/balance")
    assert r.status_code == 200
    return list(r.json()["balances"])


@pytest.mark.django_db(transaction=True)
def test_clawbacks_racing_approvals_for_one_advocate_never_fail() -> None:
    """A clawback (credit locked, debt written) and an approval (debt locked, credit written)
    for the same advocate at once. Both must go through, on PostgreSQL too."""
    story = make_story()
    earn(story, referrals=10)
    spent = story.acme.post(
        "/participants/alice/redemptions", {"order_id": "a-1", "amount": 10_000, "currency": "USD"}
    )
    assert spent.status_code == 201
    for n in range(10):
        body = purchase(
            f"p-carol-{n}", f"carol-{n}", f"order-c{n}", 2500, referral_code=story.alice["code"]
        )
        assert story.acme.event(body).status_code == 201
    orders = [(f"bob-{n}", f"order-{n}") for n in range(10)]
    later = timezone.now() + HOLD + timedelta(days=1)

    refunds, approvals = refund_and_approve_at_once(story, orders, due_rewards(), later)

    assert refunds == [201] * 10
    assert approvals == [True] * 20
    # Alice spent the 10 rewards later clawed back and earned 10 new ones: in whichever order
    # the two landed, debt was netted against credit and nothing is left either way.
    assert balance_of(story, "alice") == [balance_line()]
    assert balance_of(story, "bob-0") == [balance_line()]
    assert balance_of(story, "carol-0") == [balance_line(available=500)]
    assert LedgerTransaction.objects.filter(kind="clawback").count() == 20
    assert LedgerTransaction.objects.filter(kind="reward").count() == 40
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_refund_racing_the_approval_of_its_own_rewards_never_fails() -> None:
    """The refund of an order and the approval of that order's rewards at once: whichever wins,
    the rewards end reversed, approved credit is clawed back exactly once, nothing fails."""
    story = make_story()
    for n in range(10):
        body = purchase(
            f"p-bob-{n}", f"bob-{n}", f"order-{n}", 2500, referral_code=story.alice["code"]
        )
        assert story.acme.event(body).status_code == 201
    orders = [(f"bob-{n}", f"order-{n}") for n in range(10)]
    later = timezone.now() + HOLD + timedelta(days=1)

    rewards = due_rewards()
    refunds, approvals = refund_and_approve_at_once(story, orders, rewards, later)

    assert refunds == [201] * 10
    assert len(approvals) == 20
    assert set(Reward.objects.values_list("status", flat=True)) == {"reversed"}
    assert LedgerTransaction.objects.filter(kind="reward").count() == sum(approvals)
    assert LedgerTransaction.objects.filter(kind="clawback").count() == sum(approvals)
    # Who was paid before the refund landed had it all taken back; the others never had any.
    paid = {
        r.participant.external_id
        for r, approved in zip(rewards, approvals, strict=True)
        if approved
    }
    for who in ("alice", *(f"bob-{n}" for n in range(10))):
        zero = [balance_line()]
        assert balance_of(story, who) == (zero if who in paid else [])
    assert approve_due_rewards(now=later) == 0
    assert_no_drift()


# LEDGER-3 -----------------------------------------------------------------------------------


def post_raw(workspace_id: int, key: str, entries: list[tuple[LedgerAccount, int]]) -> None:
    """Write a transaction with the ORM, bypassing `post_transaction` and its balance check:
    the corruption `check_ledger` exists to find."""
    now = timezone.now()
    txn = LedgerTransaction.objects.create(
        workspace_id=workspace_id, kind="reward", key=key, created_at=now
    )
    for acct, amount in entries:
        LedgerEntry.objects.create(transaction=txn, account=acct, amount=amount, created_at=now)


def corrupt_unbalanced(story: Story) -> str:
    alice = Participant.objects.get(workspace=story.acme.workspace, external_id="alice")
    txn = LedgerTransaction.objects.filter(reward__participant=alice).get()
    credit = LedgerAccount.objects.get(participant=alice, kind="credit")
    LedgerEntry.objects.create(transaction=txn, account=credit, amount=1, created_at=T0)
    return f"transaction '{txn.key}' sums to 1 USD, not 0"


def corrupt_negative_credit(story: Story) -> str:
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob-0")
    credit = LedgerAccount.objects.get(participant=bob, kind="credit")
    sink = LedgerAccount.objects.get(participant=None, kind="rewards")
    post_raw(story.acme.workspace.pk, "forged:1", [(credit, -700), (sink, 700)])
    return "credit account of participant 'bob-0' is below zero: -200 USD"


def corrupt_positive_debt(story: Story) -> str:
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob-0")
    debt = LedgerAccount.objects.get(participant=bob, kind="debt")
    sink = LedgerAccount.objects.get(participant=None, kind="rewards")
    post_raw(story.acme.workspace.pk, "forged:2", [(debt, 300), (sink, -300)])
    return "debt account of participant 'bob-0' is above zero: 300 USD"


@pytest.mark.parametrize(
    "corrupt", [corrupt_unbalanced, corrupt_negative_credit, corrupt_positive_debt]
)
def test_check_ledger_reports_drift(story: Story, corrupt: Callable[[Story], str]) -> None:
    earn(story, referrals=1)
    clean = check_ledger()
    acme, globex = story.acme.workspace, story.globex.workspace
    assert clean.splitlines() == [
        f"Acme ({acme.public_id}): 2 transactions, ok",
        f"Globex ({globex.public_id}): 0 transactions, ok",
        "Ledger OK: 2 workspace(s), 2 transactions",
    ]

    problem = corrupt(story)
    out = StringIO()
    with pytest.raises(CommandError, match=r"^ledger drift: 1 problem\(s\) in 1 workspace\(s\)$"):
        call_command("check_ledger", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"Acme ({acme.public_id}): ")
    assert lines[0].endswith(" transactions, 1 problem(s)")
    assert lines[1:] == [f"  {problem}", f"Globex ({globex.public_id}): 0 transactions, ok"]
