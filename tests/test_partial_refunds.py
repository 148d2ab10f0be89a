"""Partial refunds through the API: each rule's policy, during the hold and after approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management import call_command

from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, enrol, make_api, make_program, purchase, signup

LATER = datetime.now(UTC) + timedelta(days=40)


def setup(**friend_rule: Any) -> tuple[Api, str]:
    acme = make_api("Acme")
    program = make_program(
        acme,
        rewards=[
            {
                "name": "Commission",
                "beneficiary": "advocate",
                "kind": "credit",
                "percent_of_order": 10,
                "refund_policy": "proportional",
            },
            {
                "name": "Welcome",
                "beneficiary": "friend",
                "kind": "credit",
                "amount": 500,
                **friend_rule,
            },
        ],
        trigger={"event": "purchase", "min_amount": 2000},
    )
    code = enrol(acme, program["id"], "alice")["code"]
    acme.event(signup("s-bob", "bob", referral_code=code))
    return acme, code


def refund(api: Api, event_id: str, amount: int | None) -> dict[str, Any]:
    order: dict[str, Any] = {"id": "order-1"}
    if amount is not None:
        order["amount"] = amount
    body = {"id": event_id, "type": "refund", "customer": {"external_id": "bob"}, "order": order}
    response = api.event(body)
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def rewards() -> list[tuple[str, int | None, str]]:
    return sorted(Reward.objects.values_list("beneficiary", "amount", "status"))


def available(api: Api, who: str) -> int:
    lines = api.get(f"/participants/{who}/balance").json()["balances"]
    return int(lines[0]["available"]) if lines else 0


def test_partial_refund_in_the_hold_shrinks_a_commission_and_keeps_a_fixed_reward(
    db: None,
) -> None:
    acme, _ = setup()
    converted = acme.event(purchase("p-bob", "bob", "order-1", 4000)).json()
    assert sorted((r["beneficiary"], r["amount"]) for r in converted["rewards"]) == [
        ("advocate", 400),
        ("friend", 500),
    ]
    answer = refund(acme, "r-1", 1000)
    assert [(r["status"], r["note"]) for r in answer["referrals"]] == [("converted", None)]
    assert rewards() == [("advocate", 300, "pending"), ("friend", 500, "pending")]
    approve_due_rewards(now=LATER)
    assert (available(acme, "alice"), available(acme, "bob")) == (300, 500)
    assert LedgerTransaction.objects.filter(kind="clawback").count() == 0


def test_partial_refunds_after_approval_claw_back_their_share_each_in_its_own_transaction(
    db: None,
) -> None:
    acme, _ = setup()
    acme.event(purchase("p-bob", "bob", "order-1", 4000))
    assert approve_due_rewards(now=LATER) == 2
    refund(acme, "r-1", 1000)  # 30.00 left: the commission is 3.00, was 4.00
    assert available(acme, "alice") == 300
    refund(acme, "r-2", 1000)  # 20.00 left: still the minimum, the friend keeps 5.00
    assert (available(acme, "alice"), available(acme, "bob")) == (200, 500)
    refund(acme, "r-1", 1000)  # a replay changes nothing
    assert available(acme, "alice") == 200
    refund(acme, "r-3", 2000)  # the rest of the order: everything goes
    assert (available(acme, "alice"), available(acme, "bob")) == (0, 0)
    clawbacks = LedgerTransaction.objects.filter(kind="clawback").order_by("pk")
    # Each partial refund is its own transaction, keyed by the refund; the last one, the
    # rest of the order, takes what is left of each reward.
    assert [t.key.count(":ev_") for t in clawbacks] == [1, 1, 0, 0]
    taken = [
        sum(e.amount for e in LedgerEntry.objects.filter(transaction=t, amount__gt=0))
        for t in clawbacks
    ]
    assert taken == [100, 100, 200, 500]
    assert set(Reward.objects.values_list("status", flat=True)) == {"reversed"}
    call_command("check_ledger")


def test_threshold_reverses_a_reward_when_what_is_left_falls_below_the_minimum(db: None) -> None:
    acme, _ = setup(refund_policy="threshold")
    acme.event(purchase("p-bob", "bob", "order-1", 2500))
    approve_due_rewards(now=LATER)
    refund(acme, "r-1", 400)  # 21.00 left: above the 20.00 minimum
    assert available(acme, "bob") == 500
    refund(acme, "r-2", 200)  # 19.00 left
    assert available(acme, "bob") == 0
    assert {b: s for b, _, s in rewards()} == {"advocate": "approved", "friend": "reversed"}
    assert available(acme, "alice") == 190  # the commission shrank with the order


def test_a_partial_refund_that_arrives_before_its_purchase_applies_when_it_arrives(
    db: None,
) -> None:
    acme, _ = setup(refund_policy="full")
    refund(acme, "r-1", 500)
    acme.event(purchase("p-bob", "bob", "order-1", 4000))
    assert rewards() == [("advocate", 350, "pending"), ("friend", 500, "reversed")]
