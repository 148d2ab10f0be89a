"""Credit expiry: dates set on approval, spending takes the credit that expires soonest, the
sweep expires only what is left of a reward, once, and a refund after it takes back only what
was spent.

The cast: alice advocates in acme's program, whose advocate rule gives 10.00 of credit that
expires 30 days after approval (notice 7 days before); her friend bob's 5.00 never expires.
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
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test import Client

from goodword.events.models import DomainEvent
from goodword.ops import scheduler
from goodword.participants.models import Participant
from goodword.rewards import expiry
from goodword.rewards.actions import adjust_credit
from goodword.rewards.expiry import Lot, Movement
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Redemption, Reward
from goodword.rewards.services import approve_due_rewards, redeem_credit
from tests.factories import Api, enrol, make_program, make_story, purchase, refund
from tests.shared import balance_line
from tests.test_ledger import assert_no_drift

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # bob's converting purchase
APPROVED = T0 + timedelta(days=15)  # the sweep after the 14-day hold
EXPIRES = APPROVED + timedelta(days=30)
NOTICE = EXPIRES - timedelta(days=7)
SECOND = timedelta(seconds=1)

EXPIRING_RULE = {
    "name": "Base",
    "beneficiary": "advocate",
    "kind": "credit",
    "amount": 1000,
    "currency": "USD",
    "expires_days": 30,
    "expiry_notice_days": 7,
}
FRIEND_RULE = {"name": "Welcome", "beneficiary": "friend", "kind": "credit", "amount": 500}


# Every domain event written must match its name's schema.
pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


@dataclass
class World:
    acme: Api
    program: dict[str, Any]
    code: str

    def participant(self, who: str) -> Participant:
        return Participant.objects.get(workspace=self.acme.workspace, external_id=who)

    def convert(self, friend: str, order: str, when: datetime, code: str | None = None) -> None:
        with at(when):
            body = purchase(f"p-{order}", friend, order, 2500, referral_code=code or self.code)
            assert self.acme.event(body).status_code == 201

    def refund(self, friend: str, order: str, when: datetime) -> None:
        with at(when):
            assert self.acme.event(refund(f"r-{order}", friend, order)).status_code == 201

    def redeem(self, who: str, amount: int, when: datetime) -> None:
        redeem_credit(
            participant=self.participant(who),
            order_id=f"spend-{Redemption.objects.count()}",
            amount=amount,
            currency="USD",
            now=when,
        )

    def adjust(self, who: str, amount: int, when: datetime) -> None:
        adjust_credit(
            participant=self.participant(who),
            amount=amount,
            currency="USD",
            reason="goodwill",
            actor="user:1",
            now=when,
        )

    def balance(self, who: str) -> dict[str, Any]:
        [line] = self.acme.get(f"/participants/{who}/balance").json()["balances"]
        return dict(line)

    def reward(self, who: str, program: str | None = None) -> dict[str, Any]:
        rows = self.acme.get("/rewards", participant=who).json()["data"]
        [row] = [r for r in rows if program is None or r["program"] == program]
        return dict(row)


def usd(
    available: int,
    *,
    debt: int = 0,
    pending: int = 0,
    expiring: tuple[int, datetime] | None = None,
) -> dict[str, Any]:
    expiry = {"amount": expiring[0], "at": iso(expiring[1])} if expiring is not None else None
    return balance_line(available=available, pending=pending, debt=debt, next_expiry=expiry)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def make_world(*rules: dict[str, Any]) -> World:
    story = make_story(rewards=list(rules or (EXPIRING_RULE, FRIEND_RULE)))
    return World(acme=story.acme, program=story.program, code=story.alice["code"])


@pytest.fixture
def world(db: None) -> World:
    """bob bought at T0 through alice's code; both rewards approved at APPROVED."""
    w = make_world()
    w.convert("bob", "order-1", T0)
    assert approve_due_rewards(now=APPROVED) == 2
    return w


def transactions(kind: str) -> list[tuple[str, str, int]]:
    """The entries of every `kind` transaction: (account kind, participant, amount)."""
    rows = (
        LedgerEntry.objects.filter(transaction__kind=kind)
        .order_by("transaction_id", "pk")
        .values_list("account__kind", "account__participant__external_id", "amount")
    )
    return [(kind, who or "", amount) for kind, who, amount in rows]


def expired_events() -> list[tuple[str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(name__in=["credit.expired", "credit.expiring"])
    return [(e.name, e.data) for e in rows.order_by("pk")]


def public_ids(who: str) -> tuple[str, str]:
    reward = Reward.objects.get(participant__external_id=who, expires_at__isnull=False)
    return reward.public_id, reward.participant.public_id


# The rule, pure --------------------------------------------------------------------------


D10, D20 = T0 + timedelta(days=10), T0 + timedelta(days=20)


def lots(*moves: Movement) -> list[tuple[int | None, int]]:
    return [(lot.reward_id, lot.left) for lot in expiry.replay(moves)]


def test_spending_takes_the_credit_that_expires_soonest_then_the_oldest_then_the_rest() -> None:
    assert lots(
        Movement(400),  # an adjustment: never expires, spent last
        Movement(1000, 1, D20),
        Movement(500, 2, D10),
        Movement(300, 3, D10),
        Movement(-900),  # a redemption: 2's 500, then 3's 300 (same expiry, younger), then 1
    ) == [(2, 0), (3, 0), (1, 900), (None, 400)]


def test_a_clawback_or_an_expiry_takes_its_own_reward_first_then_like_spending() -> None:
    assert lots(
        Movement(1000, 1, D20),
        Movement(500, 2),  # a reward that never expires
        Movement(-200, 2),  # a partial refund of 2 takes from 2
        Movement(-500),  # a redemption: 1 expires, so from 1
        Movement(-400, 2),  # the rest of 2's refund: 300 left of 2, then 100 from 1
        Movement(-400, 1),  # 1's expiry: what is left of 1
    ) == [(1, 0), (2, 0)]


def test_what_is_left_and_what_expires_next() -> None:
    replayed = expiry.replay([Movement(1000, 1, D20), Movement(500, 2, D10), Movement(-200)])
    assert (expiry.left_of(replayed, 1), expiry.left_of(replayed, 2)) == (1000, 300)
    assert expiry.soonest(replayed) == (300, D10)
    assert expiry.soonest([Lot(1, D10, 0, 0), Lot(2, D20, 1, 5), Lot(3, D20, 2, 7)]) == (12, D20)
    assert expiry.soonest([Lot(None, None, 0, 100)]) is None


# Approval --------------------------------------------------------------------------------


def test_approval_dates_the_expiry_and_the_api_shows_it(world: World) -> None:
    alice = world.reward("alice")
    assert (alice["approved_at"], alice["expires_at"], alice["expired_at"]) == (
        iso(APPROVED),
        iso(EXPIRES),
        None,
    )
    assert Reward.objects.get(public_id=alice["id"]).expiry_notice_at == NOTICE
    bob = world.reward("bob")
    assert (bob["expires_at"], bob["expired_at"]) == (None, None)
    assert Reward.objects.get(public_id=bob["id"]).expiry_notice_at is None
    assert world.balance("alice") == usd(1000, expiring=(1000, EXPIRES))
    assert world.balance("bob") == usd(500)


def test_a_rule_without_notice_days_sets_no_notice_and_coupons_never_expire(db: None) -> None:
    coupon = {"beneficiary": "friend", "kind": "coupon", "percent_off": 10}
    w = make_world({**EXPIRING_RULE, "expiry_notice_days": None}, coupon)
    w.convert("bob", "order-1", T0)
    assert approve_due_rewards(now=APPROVED) == 2
    assert sorted(Reward.objects.values_list("kind", "expires_at", "expiry_notice_at")) == [
        ("coupon", None, None),
        ("credit", EXPIRES, None),
    ]
    assert expiry.announce_expiring_credit(now=EXPIRES) == 0


def test_the_database_refuses_expiry_dates_that_make_no_sense(world: World) -> None:
    coupon = {"kind": "coupon", "amount": None, "percent_off": 10}
    wrong = [
        {"expiry_notice_at": NOTICE, "expires_at": None},  # a notice without an expiry
        {"expiry_notice_at": EXPIRES, "expires_at": EXPIRES},  # a notice not before it
        {**coupon, "expires_at": EXPIRES, "expiry_notice_at": None},  # only credit expires
    ]
    reward = Reward.objects.get(participant__external_id="alice")
    for fields in wrong:
        with pytest.raises(IntegrityError), transaction.atomic():
            Reward.objects.filter(pk=reward.pk).update(**fields)
    reward.refresh_from_db()
    assert (reward.expires_at, reward.expiry_notice_at) == (EXPIRES, NOTICE)


# The sweep -------------------------------------------------------------------------------


def test_unspent_credit_expires_at_its_date_and_not_before(world: World) -> None:
    assert expiry.expire_due_credit(now=EXPIRES - SECOND) == 0
    assert transactions("expiry") == []
    assert world.balance("alice") == usd(1000, expiring=(1000, EXPIRES))

    assert expiry.expire_due_credit(now=EXPIRES) == 1

    assert transactions("expiry") == [("credit", "alice", -1000), ("rewards", "", 1000)]
    txn = LedgerTransaction.objects.get(kind="expiry")
    reward = Reward.objects.get(pk=txn.reward_id)
    assert (txn.key, reward.public_id, txn.created_at) == (
        f"reward:{reward.pk}:expire",
        world.reward("alice")["id"],
        EXPIRES,
    )
    assert world.balance("alice") == usd(0)
    assert world.balance("bob") == usd(500)  # never expires
    assert world.reward("alice")["expired_at"] == iso(EXPIRES)
    rwd, par = public_ids("alice")
    assert expired_events() == [
        ("credit.expired", {"reward": rwd, "participant": par, "amount": 1000, "currency": "USD"})
    ]
    assert DomainEvent.objects.get(name="credit.expired").subject_id == rwd
    assert_no_drift()


def test_partly_spent_credit_expires_only_the_unspent_part(world: World) -> None:
    world.redeem("alice", 300, APPROVED + timedelta(days=3))
    assert world.balance("alice") == usd(700, expiring=(700, EXPIRES))

    assert expiry.expire_due_credit(now=EXPIRES + timedelta(hours=1)) == 1

    assert transactions("expiry") == [("credit", "alice", -700), ("rewards", "", 700)]
    assert world.balance("alice") == usd(0)
    assert [data["amount"] for _, data in expired_events()] == [700]
    assert_no_drift()


def test_credit_that_does_not_expire_is_spent_last_and_survives_the_expiry(world: World) -> None:
    world.adjust("alice", 400, APPROVED + timedelta(days=1))  # never expires
    world.redeem("alice", 300, APPROVED + timedelta(days=2))  # from the expiring 1000
    assert world.balance("alice") == usd(1100, expiring=(700, EXPIRES))

    assert expiry.expire_due_credit(now=EXPIRES) == 1

    assert transactions("expiry") == [("credit", "alice", -700), ("rewards", "", 700)]
    assert world.balance("alice") == usd(400)
    assert_no_drift()


def test_fully_spent_credit_expires_nothing(world: World) -> None:
    world.redeem("alice", 1000, APPROVED + timedelta(days=3))
    before = LedgerTransaction.objects.count()

    assert expiry.expire_due_credit(now=EXPIRES) == 1  # settled: nothing was left

    assert LedgerTransaction.objects.count() == before
    assert transactions("expiry") == []
    assert expired_events() == []
    assert world.balance("alice") == usd(0)
    assert world.reward("alice")["expired_at"] == iso(EXPIRES)
    assert expiry.expire_due_credit(now=EXPIRES + timedelta(days=1)) == 0
    assert_no_drift()


def test_two_rewards_expiring_at_different_dates_and_spending_between_them(db: None) -> None:
    """A 10.00 that expires in 30 days, a 5.00 from a second program that expires in 10 days
    (so first, although granted later), 2.00 that never expires, and spending between."""
    w = make_world(EXPIRING_RULE, FRIEND_RULE)
    short = make_program(
        w.acme, name="Short", rewards=[{**EXPIRING_RULE, "amount": 500, "expires_days": 10}]
    )
    short_code = enrol(w.acme, short["id"], "alice")["code"]
    w.convert("bob", "order-1", T0)
    assert approve_due_rewards(now=APPROVED) == 2  # alice's 1000 expires on EXPIRES (day 45)
    w.redeem("alice", 300, APPROVED + timedelta(days=1))  # from the 1000: 700 left of it
    w.convert("carol", "order-2", APPROVED + timedelta(days=2), code=short_code)
    later = APPROVED + timedelta(days=17)
    assert approve_due_rewards(now=later) == 1  # alice's 500 expires on day 42, before EXPIRES
    short_expires = later + timedelta(days=10)
    w.adjust("alice", 200, later)
    assert w.balance("alice") == usd(1400, expiring=(500, short_expires))
    w.redeem("alice", 600, later + timedelta(days=1))  # all of the 500, then 100 of the 700
    assert w.balance("alice") == usd(800, expiring=(600, EXPIRES))

    assert expiry.expire_due_credit(now=short_expires) == 1  # the 500: nothing left of it
    assert transactions("expiry") == []
    assert expiry.expire_due_credit(now=EXPIRES) == 1
    assert transactions("expiry") == [("credit", "alice", -600), ("rewards", "", 600)]
    assert w.balance("alice") == usd(200)
    assert_no_drift()


def test_a_second_sweep_expires_nothing_more(world: World) -> None:
    assert expiry.expire_due_credit(now=EXPIRES) == 1
    assert expiry.expire_due_credit(now=EXPIRES + timedelta(days=1)) == 0
    assert expiry.expire_due_credit(now=EXPIRES + timedelta(days=400)) == 0
    assert LedgerTransaction.objects.filter(kind="expiry").count() == 1
    assert len(expired_events()) == 1
    assert world.balance("alice") == usd(0)


def test_expiring_one_reward_again_posts_nothing(world: World) -> None:
    reward = Reward.objects.select_related("participant").get(expires_at__isnull=False)
    assert expiry.expire_reward(reward, now=EXPIRES - SECOND) is None  # not due
    assert expiry.expire_reward(reward, now=EXPIRES) == 1000
    assert expiry.expire_reward(reward, now=EXPIRES) is None
    assert LedgerTransaction.objects.filter(kind="expiry").count() == 1


@pytest.mark.django_db(transaction=True)
def test_sweeps_racing_expire_each_reward_once() -> None:
    """Two sweeps at once (threads, each its own connection), 10 friends' worth of credit."""
    w = make_world()
    for n in range(10):
        w.convert(f"bob-{n}", f"order-{n}", T0)
    assert approve_due_rewards(now=APPROVED) == 20
    w.redeem("alice", 2500, APPROVED + timedelta(days=1))
    barrier = threading.Barrier(2, timeout=60)

    def sweep() -> int:
        try:
            barrier.wait()
            return expiry.expire_due_credit(now=EXPIRES)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        settled = [f.result() for f in [pool.submit(sweep), pool.submit(sweep)]]

    # Each reward settled once, by one sweep or the other; another sweep finds nothing left.
    assert sum(settled) == 10
    assert expiry.expire_due_credit(now=EXPIRES) == 0
    amounts = sorted(
        LedgerEntry.objects.filter(transaction__kind="expiry", account__kind="credit").values_list(
            "amount", flat=True
        )
    )
    # Spending took the oldest first among credit expiring together: two rewards and a half.
    assert amounts == [-1000] * 7 + [-500]
    assert LedgerTransaction.objects.filter(kind="expiry").values("key").distinct().count() == 8
    assert w.balance("alice") == usd(0)
    assert w.balance("bob-0") == usd(500)
    assert Reward.objects.filter(expires_at__isnull=False, expired_at__isnull=True).count() == 0
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_refunds_racing_the_expiry_sweep_never_fail_and_end_the_same() -> None:
    """Ten refunds of alice's friends' orders (each locks a reward, then her credit) and two
    expiry sweeps (each locks her credit, then a reward) at once. Whatever the order, every
    reward ends reversed, the 25.00 she spent of them is debt, and nothing else is left."""
    w = make_world()
    for n in range(10):
        w.convert(f"bob-{n}", f"order-{n}", T0)
    assert approve_due_rewards(now=APPROVED) == 20
    w.redeem("alice", 2500, APPROVED + timedelta(days=1))
    barrier = threading.Barrier(12, timeout=60)

    def refund_order(n: int) -> int:
        try:
            client = Client()
            barrier.wait()
            r = client.post(
                "/api/v1/events",
                json.dumps(refund(f"r-{n}", f"bob-{n}", f"order-{n}")),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {w.acme.key}",
            )
            return int(r.status_code)
        finally:
            connection.close()

    def sweep() -> int:
        try:
            barrier.wait()
            return expiry.expire_due_credit(now=EXPIRES)
        finally:
            connection.close()

    with time_machine.travel(EXPIRES + timedelta(hours=1)), ThreadPoolExecutor(12) as pool:
        refunds = [pool.submit(refund_order, n) for n in range(10)]
        sweeps = [pool.submit(sweep) for _ in range(2)]
        assert [f.result() for f in refunds] == [201] * 10
        settled = sum(f.result() for f in sweeps)
    # A reward a refund held was skipped, not waited for: the next sweep settles it.
    assert settled + expiry.expire_due_credit(now=EXPIRES) == 10
    assert set(Reward.objects.values_list("status", flat=True)) == {"reversed"}
    assert w.balance("alice") == usd(0, debt=2500)
    assert w.balance("bob-0") == usd(0)
    # What expired and what was clawed back add up to what was issued, less the spent 25.00
    # now owed: nothing was taken twice.
    taken = LedgerEntry.objects.filter(
        account__participant__external_id="alice", transaction__kind__in=["expiry", "clawback"]
    ).aggregate(total=Sum("amount"))["total"]
    assert taken == -10_000
    assert_no_drift()


# Refunds and expiry ----------------------------------------------------------------------


def test_a_refund_after_the_expiry_claws_back_only_what_was_spent(world: World) -> None:
    world.redeem("alice", 300, APPROVED + timedelta(days=3))
    assert expiry.expire_due_credit(now=EXPIRES) == 1  # 700 expires

    world.refund("bob", "order-1", EXPIRES + timedelta(days=1))

    # The 300 alice spent of a refunded reward becomes debt, as it would have before the
    # expiry; the 700 that expired is not taken a second time.
    assert transactions("clawback") == [
        ("debt", "alice", -300),
        ("rewards", "", 300),
        ("credit", "bob", -500),
        ("rewards", "", 500),
    ]
    assert world.balance("alice") == usd(0, debt=300)
    assert world.balance("bob") == usd(0)
    assert_no_drift()


def test_a_refund_after_the_expiry_of_unspent_credit_takes_nothing_more(world: World) -> None:
    world.adjust("alice", 400, APPROVED)  # never expires; must survive both
    assert expiry.expire_due_credit(now=EXPIRES) == 1  # the whole 1000

    world.refund("bob", "order-1", EXPIRES + timedelta(days=1))

    assert transactions("clawback") == [("credit", "bob", -500), ("rewards", "", 500)]
    assert Reward.objects.get(participant__external_id="alice").status == "reversed"
    assert world.balance("alice") == usd(400)
    assert_no_drift()


def test_a_refund_before_the_expiry_takes_the_refunded_reward_not_other_credit(
    db: None,
) -> None:
    """alice has 10.00 that expires and 10.00 from a program whose credit never expires. The
    refund of the second takes the second back; the first still expires in full. (Taking the
    soonest-expiring credit first would have left her 10.00 for good.)"""
    w = make_world(EXPIRING_RULE, FRIEND_RULE)
    lasting = make_program(w.acme, name="Lasting")
    lasting_code = enrol(w.acme, lasting["id"], "alice")["code"]
    w.convert("bob", "order-1", T0)
    w.convert("carol", "order-2", T0, code=lasting_code)
    assert approve_due_rewards(now=APPROVED) == 4
    assert w.balance("alice") == usd(2000, expiring=(1000, EXPIRES))

    w.refund("carol", "order-2", APPROVED + timedelta(days=1))
    assert w.balance("alice") == usd(1000, expiring=(1000, EXPIRES))
    assert expiry.expire_due_credit(now=EXPIRES) == 1

    assert transactions("expiry") == [("credit", "alice", -1000), ("rewards", "", 1000)]
    assert w.balance("alice") == usd(0)
    assert_no_drift()


def test_a_reward_reversed_before_its_expiry_is_settled_with_nothing(world: World) -> None:
    world.redeem("alice", 400, APPROVED + timedelta(days=1))
    world.refund("bob", "order-1", APPROVED + timedelta(days=2))  # 600 back, 400 as debt
    assert world.balance("alice") == usd(0, debt=400)

    assert expiry.expire_due_credit(now=EXPIRES) == 1

    assert transactions("expiry") == []
    assert world.balance("alice") == usd(0, debt=400)
    assert expired_events() == []
    assert_no_drift()


def test_a_partial_refund_after_the_expiry_takes_its_share_from_what_was_spent(
    db: None,
) -> None:
    """The known limit: a partial refund after the expiry takes its share (here 50% of 10.00)
    from what is left of the reward, the 3.00 spent; before the expiry the same refund would
    have taken it from the unspent credit instead, with no debt."""
    commission = {
        "name": "Commission",
        "beneficiary": "advocate",
        "kind": "credit",
        "percent_of_order": 40,
        "refund_policy": "proportional",
        "expires_days": 30,
    }
    w = make_world(commission)
    w.convert("bob", "order-1", T0)  # 40% of 25.00
    assert approve_due_rewards(now=APPROVED) == 1
    w.redeem("alice", 300, APPROVED + timedelta(days=1))
    assert expiry.expire_due_credit(now=EXPIRES) == 1
    assert transactions("expiry") == [("credit", "alice", -700), ("rewards", "", 700)]

    with at(EXPIRES + timedelta(days=1)):
        body = {**refund("r-half", "bob", "order-1"), "order": {"id": "order-1", "amount": 1250}}
        assert w.acme.event(body).status_code == 201

    assert transactions("clawback") == [("debt", "alice", -300), ("rewards", "", 300)]
    assert w.balance("alice") == usd(0, debt=300)
    assert_no_drift()


# Notices ---------------------------------------------------------------------------------


def test_the_notice_goes_once_at_its_date_with_what_would_expire(world: World) -> None:
    world.redeem("alice", 250, APPROVED + timedelta(days=1))
    assert expiry.announce_expiring_credit(now=NOTICE - SECOND) == 0

    assert expiry.announce_expiring_credit(now=NOTICE) == 1
    assert expiry.announce_expiring_credit(now=NOTICE + timedelta(days=1)) == 0

    reward, participant = public_ids("alice")
    data = {"reward": reward, "participant": participant, "amount": 750, "currency": "USD"}
    assert expired_events() == [("credit.expiring", {**data, "expires_at": iso(EXPIRES)})]
    assert Reward.objects.get(public_id=reward).expiry_notified_at == NOTICE
    assert expiry.expire_due_credit(now=EXPIRES) == 1
    assert expired_events()[1:] == [("credit.expired", data)]


def test_no_notice_for_credit_already_spent(world: World) -> None:
    world.redeem("alice", 1000, APPROVED + timedelta(days=1))
    assert expiry.announce_expiring_credit(now=NOTICE) == 1  # claimed, nothing to say
    assert expired_events() == []
    assert expiry.announce_expiring_credit(now=NOTICE) == 0


def test_no_notice_once_the_expiry_has_passed(world: World) -> None:
    # The scheduler was down through the notice date: the expiry comes without a notice.
    assert expiry.announce_expiring_credit(now=EXPIRES) == 1
    assert expired_events() == []
    assert Reward.objects.filter(expiry_notified_at=EXPIRES).count() == 1


def without_rollups(swept: dict[str, int]) -> dict[str, int]:
    """The sweep's counts but the rollups' (tests/test_analytics.py checks what they hold)."""
    assert isinstance(swept.pop("rolled_up"), int)
    return swept


def test_the_scheduler_sweeps_notices_and_expiry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It would drop the test's connection, whose transaction is not in autocommit.
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)
    with at(NOTICE):
        assert without_rollups(scheduler.sweep_once()) == {
            "approved": 0,
            "expiry_notices": 1,
            "expired": 0,
            "clicks": 0,
            "inbox_processed": 0,
        }
    with at(EXPIRES):
        assert without_rollups(scheduler.sweep_once()) == {
            "approved": 0,
            "expiry_notices": 0,
            "expired": 1,
            "clicks": 0,
            "inbox_processed": 0,
        }
    assert [name for name, _ in expired_events()] == ["credit.expiring", "credit.expired"]
    assert world.balance("alice") == usd(0)


def test_the_worked_example_in_docs_api_md(db: None) -> None:
    """docs/api.md, "Credit expiry": every row of the table."""
    w = make_world(EXPIRING_RULE)
    short_rule = {**EXPIRING_RULE, "amount": 500, "expires_days": 10, "expiry_notice_days": None}
    short = make_program(w.acme, name="Short", rewards=[short_rule])
    short_code = enrol(w.acme, short["id"], "alice")["code"]
    mar = {day: datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in (2, 11, 16, 20, 25, 28)}
    apr = {day: datetime(2026, 4, day, 9, 0, tzinfo=UTC) for day in (4, 8, 15)}
    w.convert("bob", "order-1", mar[2])
    w.convert("carol", "order-2", mar[11], code=short_code)

    assert approve_due_rewards(now=mar[16]) == 1
    assert w.balance("alice") == usd(1000, pending=500, expiring=(1000, apr[15]))
    w.adjust("alice", 200, mar[20])
    assert w.balance("alice") == usd(1200, pending=500, expiring=(1000, apr[15]))
    assert approve_due_rewards(now=mar[25]) == 1
    assert w.balance("alice") == usd(1700, expiring=(500, apr[4]))
    w.redeem("alice", 700, mar[28])
    assert w.balance("alice") == usd(1000, expiring=(800, apr[15]))
    assert expiry.expire_due_credit(now=apr[4]) == 1
    assert transactions("expiry") == []
    assert w.balance("alice") == usd(1000, expiring=(800, apr[15]))
    assert expiry.announce_expiring_credit(now=apr[8]) == 1
    assert [(name, data["amount"]) for name, data in expired_events()] == [("credit.expiring", 800)]
    assert expiry.expire_due_credit(now=apr[15]) == 1
    assert transactions("expiry") == [("credit", "alice", -800), ("rewards", "", 800)]
    assert w.balance("alice") == usd(200)

    w.refund("bob", "order-1", apr[15] + timedelta(days=2))
    assert transactions("clawback") == [("credit", "alice", -200), ("rewards", "", 200)]
    assert w.balance("alice") == usd(0)
    assert_no_drift()
