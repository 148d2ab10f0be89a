"""WH-3: arrival order does not change the outcome.

A generated history of referral events (signups with or without an advocate's code, purchases
above and below the minimum, some carrying a code, refunds, customers who bought before anyone
referred them, subscription payments and NPS answers that earn after the conversion) is sent
once in business-time order, one event at a time, and once in a random order, with duplicates,
split into random batches. The final states (referrals, rewards, and after approval the
balances and the ledger) must be equal.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goodword.referrals.models import Referral
from goodword.rewards.models import LedgerEntry, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import PROGRAM, Api, enrol, make_api, make_program

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
FRIENDS = ("bob", "dan", "erin")
ADVOCATES = ("alice", "carol")
_names = itertools.count()
KINDS = [
    "signup",
    "purchase",
    "purchase",
    "refund",
    "subscription_payment",
    "subscription_payment",
    "nps",
]
# Besides the program's two first-purchase rewards: a commission on each subscription payment in
# the month after the conversion, and points for the friend's first NPS answer after it.
LATER_RULES = [
    {"beneficiary": "advocate", "kind": "credit", "percent_of_order": 10,
     "trigger": "subscription_payment", "recurring_months": 1},
    {"beneficiary": "friend", "kind": "points", "amount": 25, "trigger": "nps"},
]  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Events of three friends over four days, in business-time order (distinct minutes)."""
    minutes = iter(sorted(draw(st.sets(st.integers(0, 4 * 24 * 60), min_size=40, max_size=40))))
    events: list[dict[str, Any]] = []
    for friend in FRIENDS:
        customer = {"external_id": friend, "email": f"{friend}@example.net"}
        orders: list[str] = []
        for step in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(KINDS))
            event: dict[str, Any] = {"id": f"{friend}-{step}", "type": kind, "customer": customer}
            at = BASE + timedelta(minutes=next(minutes))
            event["occurred_at"] = at.isoformat()
            code = draw(st.sampled_from([None, None, *ADVOCATES]))
            if kind == "refund":
                if not orders:
                    continue
                event["order"] = {"id": draw(st.sampled_from(orders))}
            else:
                if code:
                    event["referral_code"] = code  # replaced by the advocate's real code
                if kind in ("purchase", "subscription_payment"):
                    orders.append(f"{friend}-order-{step}")
                    amount = draw(st.sampled_from([1500, 2500, 4000]))
                    event["order"] = {"id": orders[-1], "amount": amount, "currency": "USD"}
                if kind == "nps":
                    event["score"] = draw(st.integers(0, 10))
                    event.pop("referral_code", None)
            events.append(event)
    return sorted(events, key=lambda e: e["occurred_at"])


def workspace(first_purchase_only: bool) -> tuple[Api, dict[str, str]]:
    api = make_api(f"Shop{next(_names)}")
    program = make_program(
        api,
        trigger={
            "event": "purchase",
            "min_amount": 2000,
            "first_purchase_only": first_purchase_only,
        },
        attribution_days=2,
        hold_days=14,
        rewards=[*PROGRAM["rewards"], *LATER_RULES],
    )
    codes = {name: enrol(api, program["id"], name)["code"] for name in ADVOCATES}
    return api, codes


def with_codes(event: dict[str, Any], codes: dict[str, str]) -> dict[str, Any]:
    if "referral_code" not in event:
        return event
    return {**event, "referral_code": codes[event["referral_code"]]}


def state(api: Api) -> dict[str, Any]:
    ws = api.workspace
    referrals = sorted(
        (
            r.advocate.participant.external_id,
            r.referee.external_id,
            r.status,
            r.reject_reason,
            r.source,
            r.created_at,
            r.signed_up_at,
            r.converted_at,
            r.order_id,
            r.order_amount,
            r.rejected_at,
            r.reversed_at,
        )
        for r in Referral.objects.for_workspace(ws).select_related(
            "advocate__participant", "referee"
        )
    )
    rewards = sorted(
        (
            r.referral.referee.external_id,
            r.beneficiary,
            r.participant.external_id,
            r.amount,
            r.status,
            r.hold_until,
            r.earned_at,
        )
        for r in Reward.objects.for_workspace(ws).select_related("referral__referee", "participant")
    )
    ledger = sorted(
        (
            e.transaction.kind,
            e.account.kind,
            getattr(e.account.participant, "external_id", ""),
            e.amount,
        )
        for e in LedgerEntry.objects.filter(transaction__workspace=ws).select_related(
            "transaction", "account__participant"
        )
    )
    balances = {
        name: api.get(f"/participants/{name}/balance").json().get("balances")
        for name in (*FRIENDS, *ADVOCATES)
    }
    return {"referrals": referrals, "rewards": rewards, "ledger": ledger, "balances": balances}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories(),
    first_purchase_only=st.booleans(),
    data=st.data(),
)
def test_arrival_order_does_not_change_the_outcome(
    db: None, history: list[dict[str, Any]], first_purchase_only: bool, data: st.DataObject
) -> None:
    in_order, codes_a = workspace(first_purchase_only)
    for event in history:
        response = in_order.event(with_codes(event, codes_a))
        assert response.status_code == 201, response.content

    shuffled, codes_b = workspace(first_purchase_only)
    arrivals = data.draw(st.permutations(history))
    if history:
        arrivals += data.draw(st.lists(st.sampled_from(history), max_size=4))  # duplicates
    sizes = data.draw(st.lists(st.integers(1, 6), min_size=len(arrivals), max_size=len(arrivals)))
    start = 0
    for size in sizes:
        chunk = [with_codes(e, codes_b) for e in arrivals[start : start + size]]
        start += size
        if not chunk:
            break
        if len(chunk) == 1:
            assert shuffled.event(chunk[0]).status_code in (200, 201)
        else:
            answers = shuffled.post("/events/batch", {"events": chunk}).json()["data"]
            assert {a["status"] for a in answers} <= {200, 201}, answers

    assert state(shuffled) == state(in_order)
    approve_due_rewards(now=BASE + timedelta(days=40))
    assert state(shuffled) == state(in_order)
