"""Rules triggered after the conversion (subscription payments, NPS answers, custom events),
attribution by a coupon code used on an order, and what a reward copies at its grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.decisions.decide import _months_after
from goodword.events.models import DomainEvent
from goodword.rewards.models import Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, enrol, make_api, make_program, purchase, signup

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=400)  # the clock for every request: all business times are before

COMMISSION = {
    "name": "Commission",
    "beneficiary": "advocate",
    "kind": "credit",
    "percent_of_order": 10,
    "trigger": "subscription_payment",
    "recurring_months": 3,
    "max_total": 500,
}
WELCOME = {"name": "Welcome", "beneficiary": "friend", "kind": "credit", "amount": 500}


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def at(event: dict[str, Any], when: datetime) -> dict[str, Any]:
    return {**event, "occurred_at": iso(when)}


def payment(event_id: str, customer: str, invoice: str, amount: int, when: datetime) -> dict:
    body = at(purchase(event_id, customer, invoice, amount), when)
    return {**body, "type": "subscription_payment"}


def send(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    with time_machine.travel(LATER, tick=False):
        response = api.event(body)
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def rewards_of(participant: str, rule: str = "") -> list[tuple[int | None, str, str]]:
    """(amount, status, triggering event's business id) of the participant's rewards."""
    rows = Reward.objects.filter(participant__external_id=participant)
    if rule:
        rows = rows.filter(rule__name=rule)
    external = {e.public_id: e.external_id for e in _events()}
    return sorted(
        (r.amount, r.status, external.get(r.trigger_event, "")) for r in rows.order_by("pk")
    )


def _events() -> Any:
    from goodword.ingest.models import Event

    return Event.objects.all()


def subscription_world(**program: Any) -> tuple[Api, dict[str, Any]]:
    acme = make_api("Acme")
    prg = make_program(
        acme, rewards=[WELCOME, COMMISSION], trigger={"event": "purchase"}, **program
    )
    alice = enrol(acme, prg["id"], "alice")
    return acme, alice


# The decision core: calendar months.


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 1, 31, 12, tzinfo=UTC), 1, datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 1, 31, 12, tzinfo=UTC), 1, datetime(2028, 2, 29, 12, tzinfo=UTC)),
        (datetime(2026, 11, 15, tzinfo=UTC), 3, datetime(2027, 2, 15, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), 12, datetime(2027, 12, 1, tzinfo=UTC)),
    ],
)
def test_recurring_months_are_calendar_months(start: datetime, months: int, end: datetime) -> None:
    assert _months_after(start, months) == end


# Subscription payments.


def test_each_payment_within_the_months_earns_up_to_the_total(db: None) -> None:
    acme, alice = subscription_world()
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))  # converts: no commission
    assert rewards_of("alice") == []
    answers = [
        send(acme, payment(f"pay-{n}", "bob", f"inv-{n}", 2000, T0 + timedelta(days=days)))
        for n, days in ((1, 28), (2, 59), (3, 88), (4, 91))
    ]
    # Three months after Jan 31 is Apr 30 (day 89): the fourth is outside; the third is cut
    # to what max_total leaves.
    assert rewards_of("alice") == [(100, "pending", "pay-3"), (200, "pending", "pay-1"),
                                   (200, "pending", "pay-2")]  # fmt: skip
    assert [len(a["rewards"]) for a in answers] == [1, 1, 1, 0]
    hold_until = (T0 + timedelta(days=28 + 14)).isoformat()
    assert answers[0]["rewards"][0]["hold_until"] == hold_until
    assert answers[3]["referrals"] == []  # nothing it bears on
    # The friend's own first-purchase reward is untouched, and granted once.
    assert rewards_of("bob") == [(500, "pending", "")]
    reward = Reward.objects.get(participant__external_id="alice", amount=100)
    assert reward.earned_at == T0 + timedelta(days=88)


def test_a_payment_sent_before_its_conversion_earns_once_the_conversion_arrives(
    db: None,
) -> None:
    acme, alice = subscription_world()
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    early = send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=10)))
    assert early["rewards"] == []  # not converted yet (in arrival order)
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0 + timedelta(days=1)))
    assert rewards_of("alice") == [(200, "pending", "pay-1")]
    # A payment before the conversion in business time never earns.
    send(acme, payment("pay-0", "bob", "inv-0", 2000, T0 + timedelta(hours=12)))
    assert rewards_of("alice") == [(200, "pending", "pay-1")]
    # A duplicate is a no-op.
    again = send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=10)))
    assert again == early
    assert Reward.objects.filter(participant__external_id="alice").count() == 1


def test_a_settled_referral_still_earns_and_a_refunded_payment_takes_it_back(db: None) -> None:
    acme, alice = subscription_world(hold_days=0)
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))
    send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=28)))
    assert approve_due_rewards(now=LATER) == 2  # bob's welcome, alice's first commission
    assert rewards_of("alice") == [(200, "approved", "pay-1")]

    answer = send(acme, payment("pay-2", "bob", "inv-2", 1500, T0 + timedelta(days=59)))
    assert [(r["amount"], r["status"]) for r in answer["rewards"]] == [(150, "pending")]
    assert answer["referrals"][0]["status"] == "rewarded"

    # A refund of the approved payment claws its commission back; of the pending one,
    # reverses it before it is paid.
    send(
        acme,
        at({**purchase("r-1", "bob", "inv-1", 2000), "type": "refund"}, T0 + timedelta(days=60)),
    )
    send(
        acme,
        at({**purchase("r-2", "bob", "inv-2", 1500), "type": "refund"}, T0 + timedelta(days=61)),
    )
    assert rewards_of("alice") == [(150, "reversed", "pay-2"), (200, "reversed", "pay-1")]
    balance = acme.get("/participants/alice/balance").json()["balances"][0]
    assert (balance["available"], balance["pending"]) == (0, 0)
    clawed = DomainEvent.objects.filter(name="reward.clawed_back").count()
    assert clawed == 1


def test_max_total_holds_for_a_settled_referral_in_arrival_order(db: None) -> None:
    acme, alice = subscription_world(hold_days=0)
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))
    send(acme, payment("pay-2", "bob", "inv-2", 4000, T0 + timedelta(days=59)))
    approve_due_rewards(now=LATER)
    # An earlier payment arriving late gets what the total leaves, not a fresh 10%.
    send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=28)))
    send(acme, payment("pay-3", "bob", "inv-3", 2000, T0 + timedelta(days=80)))
    assert rewards_of("alice") == [(100, "pending", "pay-1"), (400, "approved", "pay-2")]


# NPS answers and custom events.


def test_the_first_nps_answer_and_the_first_named_event_after_the_conversion_earn_once(
    db: None,
) -> None:
    acme = make_api("Acme")
    rules = [
        {"name": "Feedback", "beneficiary": "friend", "kind": "points", "amount": 50,
         "trigger": "nps"},
        {"name": "Review", "beneficiary": "advocate", "kind": "credit", "amount": 300,
         "trigger": "event", "event_name": "review_posted"},
    ]  # fmt: skip
    prg = make_program(acme, rewards=rules, trigger={"event": "signup"})
    alice = enrol(acme, prg["id"], "alice")
    nps = {"type": "nps", "score": 9, "customer": {"external_id": "bob"}}
    review = {"type": "custom", "name": "review_posted", "customer": {"external_id": "bob"}}
    send(acme, at({**nps, "id": "n-0"}, T0 - timedelta(days=1)))  # before: does not count
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    assert rewards_of("bob") == []
    assert rewards_of("alice") == []
    send(acme, at({**review, "name": "photo_posted", "id": "c-0"}, T0 + timedelta(days=1)))
    send(acme, at({**nps, "id": "n-1"}, T0 + timedelta(days=2)))
    send(acme, at({**nps, "id": "n-2", "score": 3}, T0 + timedelta(days=3)))
    send(acme, at({**review, "id": "c-1"}, T0 + timedelta(days=4)))
    send(acme, at({**review, "id": "c-2"}, T0 + timedelta(days=5)))
    assert rewards_of("bob") == [(50, "pending", "n-1")]
    assert rewards_of("alice") == [(300, "pending", "c-1")]
    points = Reward.objects.get(participant__external_id="bob")
    assert (points.kind, points.currency) == ("points", "PTS")


# Attribution by a coupon code used on an order.


def coupon_world() -> tuple[Api, dict[str, Any], str]:
    """Alice's friend Bob got a coupon for his first purchase."""
    acme = make_api("Acme")
    rules = [{"beneficiary": "friend", "kind": "coupon", "amount": 500},
             {"beneficiary": "advocate", "kind": "credit", "amount": 1000}]  # fmt: skip
    prg = make_program(acme, rewards=rules, trigger={"event": "purchase"}, hold_days=0)
    alice = enrol(acme, prg["id"], "alice")
    send(acme, purchase("p-bob", "bob", "order-bob", 3000, referral_code=alice["code"]))
    with time_machine.travel(LATER, tick=False):
        approve_due_rewards(now=LATER)
    code = Reward.objects.get(participant__external_id="bob").coupon_code
    assert code
    return acme, prg, code


def order_with(event_id: str, customer: str, *coupons: str, **extra: Any) -> dict[str, Any]:
    body = purchase(event_id, customer, f"order-{event_id}", 3000, **extra)
    return {**body, "order": {**body["order"], "coupons": list(coupons)}}


def test_a_coupon_issued_to_a_friend_attributes_the_order_to_the_advocate(db: None) -> None:
    acme, _, code = coupon_world()
    answer = send(acme, order_with("p-cat", "cat", "SUMMER10", code.lower()))
    [referral] = answer["referrals"]
    assert (answer["attribution"], referral["status"]) == ("attributed", "converted")
    row = acme.get(f"/referrals/{referral['id']}").json()
    assert (row["advocate"]["external_id"], row["source"]) == ("alice", "coupon")
    used = Reward.objects.get(participant__external_id="bob")
    assert used.coupon_used_at is not None
    # Used once is recorded once.
    send(acme, order_with("p-cat-2", "cat", code))
    assert DomainEvent.objects.filter(name="coupon.used").count() == 1


def test_an_advocates_code_typed_as_a_coupon_attributes(db: None) -> None:
    acme, prg, _ = coupon_world()
    dora = enrol(acme, prg["id"], "dora")
    answer = send(acme, order_with("p-eve", "eve", dora["code"].lower()))
    row = acme.get(f"/referrals/{answer['referrals'][0]['id']}").json()
    assert (row["advocate"]["external_id"], row["source"]) == ("dora", "coupon")


def test_an_explicit_code_comes_before_a_coupon_and_a_coupon_before_an_invite(db: None) -> None:
    acme, prg, code = coupon_world()
    dora = enrol(acme, prg["id"], "dora")
    explicit = send(acme, order_with("p-fay", "fay", code, referral_code=dora["code"]))
    advocate = acme.get(f"/referrals/{explicit['referrals'][0]['id']}").json()["advocate"]
    assert advocate["external_id"] == "dora"
    invite = {"advocate": "dora", "email": "gil@example.net"}
    assert acme.post(f"/programs/{prg['id']}/invites", invite).status_code == 201
    by_coupon = send(acme, order_with("p-gil", "gil", code))
    advocate = acme.get(f"/referrals/{by_coupon['referrals'][0]['id']}").json()["advocate"]
    assert advocate["external_id"] == "alice"


def test_an_unknown_coupon_attributes_nothing_and_is_not_an_error(db: None) -> None:
    acme, _, _ = coupon_world()
    answer = send(acme, order_with("p-hal", "hal", "NOT-OURS"))
    assert (answer["attribution"], answer["referrals"]) == ("none", [])
    assert DomainEvent.objects.filter(name="coupon.used").count() == 0


# What a reward copies when granted.


def test_a_reward_records_the_program_version_what_it_gives_and_its_choices(db: None) -> None:
    acme = make_api("Acme")
    rules = [
        {"name": "Socks", "beneficiary": "friend", "kind": "product", "sku": "SOCK-1",
         "choices": [{"kind": "credit", "amount": 800}], "choice_days": 10},
    ]  # fmt: skip
    prg = make_program(acme, rewards=rules, trigger={"event": "signup"})
    acme.patch(f"/programs/{prg['id']}", {"description": "Free socks"})  # version 2
    alice = enrol(acme, prg["id"], "alice")
    send(acme, signup("s-bob", "bob", referral_code=alice["code"]))
    [reward] = acme.get("/rewards", participant="bob").json()["data"]
    assert reward["program_version"] == 2
    assert (reward["kind"], reward["amount"], reward["details"]) == (
        "product", None, {"sku": "SOCK-1"},
    )  # fmt: skip
    assert reward["choices"] == [{"kind": "credit", "amount": 800, "currency": "USD"}]
    assert reward["choose_by"] == iso(LATER + timedelta(days=10))
    assert reward["earned_at"] == reward["created_at"] == iso(LATER)


# Bad input.


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "custom"}, "a `custom` event needs `name`"),
        ({"type": "signup", "name": "x"}, "a `custom` event needs `name`"),
        ({"type": "custom", "name": "Bad Name"}, "name"),
        ({"type": "subscription_payment"}, "a subscription payment needs `order`"),
        (
            {
                "type": "purchase",
                "order": {"id": "o", "amount": 1, "currency": "USD", "coupons": []},
            },
            "coupons",
        ),  # fmt: skip
    ],
)
def test_bad_events_are_refused_and_write_nothing(
    db: None, body: dict[str, Any], message: str
) -> None:
    acme = make_api("Acme")
    response = acme.post("/events", {"id": "e-1", "customer": {"external_id": "x"}, **body})
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]
    assert _events().count() == 0


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"trigger": "event"}, "`event_name` goes with `trigger: event`"),
        ({"event_name": "x"}, "`event_name` goes with `trigger: event`"),
        ({"recurring_months": 3}, "go with `trigger: subscription_payment`"),
        ({"trigger": "nps", "milestone": {"every": 3}}, "a milestone counts conversions"),
        ({"trigger": "subscription_payment", "max_total": 50}, "the rule could never grant"),
        (
            {"trigger": "subscription_payment", "choices": [{"kind": "points", "amount": 5}]},
            "a recurring reward has no choice",
        ),  # fmt: skip
    ],
)
def test_bad_trigger_rules_are_refused(db: None, rule: dict[str, Any], message: str) -> None:
    acme = make_api("Acme")
    base = {"beneficiary": "advocate", "kind": "credit", "amount": 100}
    response = acme.post("/programs", {**make_program_body(), "rewards": [{**base, **rule}]})
    assert response.status_code == 422, response.content
    assert message in response.json()["error"]["message"]
    assert response.json()["error"]["message"].startswith("rewards[0]")


def make_program_body() -> dict[str, Any]:
    from tests.factories import PROGRAM

    return dict(PROGRAM)


# Found in review: a settled referral's later rewards are changed only by what changed.


def balance(api: Api, who: str) -> int:
    lines = api.get(f"/participants/{who}/balance").json()["balances"]
    return sum(line["available"] for line in lines if line["currency"] == "USD")


def test_a_partial_refund_of_a_payment_is_taken_back_once(db: None) -> None:
    acme, alice = subscription_world(hold_days=0)
    rule = {**COMMISSION, "refund_policy": "proportional", "max_total": 5000}
    acme.patch(f"/programs/{acme.get('/programs').json()['data'][0]['id']}",
               {"rewards": [WELCOME, rule]})  # fmt: skip
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))
    send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=10)))
    approve_due_rewards(now=LATER)
    half = {**purchase("r-1", "bob", "inv-1", 1000), "type": "refund"}
    send(acme, at(half, T0 + timedelta(days=12)))
    assert balance(acme, "alice") == 100
    for n, days in ((2, 40), (3, 50)):
        send(acme, payment(f"pay-{n}", "bob", f"inv-{n}", 2000, T0 + timedelta(days=days)))
    assert balance(acme, "alice") == 100  # the later payments take nothing back
    approve_due_rewards(now=LATER)
    assert balance(acme, "alice") == 500
    assert DomainEvent.objects.filter(name="reward.clawed_back").count() == 1


def test_a_late_earlier_payment_gets_what_max_total_leaves_and_nothing_is_taken_back(
    db: None,
) -> None:
    acme, alice = subscription_world(hold_days=0)
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))
    send(acme, payment("pay-2", "bob", "inv-2", 4000, T0 + timedelta(days=59)))
    approve_due_rewards(now=LATER)
    send(acme, payment("pay-1", "bob", "inv-1", 2000, T0 + timedelta(days=28)))
    approve_due_rewards(now=LATER)
    assert balance(acme, "alice") == 500
    assert DomainEvent.objects.filter(name="reward.clawed_back").count() == 0


def test_a_once_only_rule_pays_once_when_an_earlier_answer_arrives_late(db: None) -> None:
    acme = make_api("Acme")
    rules = [WELCOME, {"name": "Feedback", "beneficiary": "friend", "kind": "points",
                       "amount": 50, "trigger": "nps"}]  # fmt: skip
    prg = make_program(acme, rewards=rules, trigger={"event": "signup"}, hold_days=0)
    alice = enrol(acme, prg["id"], "alice")
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    approve_due_rewards(now=LATER)  # settled
    nps = {"type": "nps", "score": 9, "customer": {"external_id": "bob"}}
    send(acme, at({**nps, "id": "n-2"}, T0 + timedelta(days=3)))
    send(acme, at({**nps, "id": "n-1"}, T0 + timedelta(days=2)))
    assert rewards_of("bob", "Feedback") == [(50, "pending", "n-2")]


def test_a_refunded_payment_is_taken_back_when_its_rule_is_at_its_cap(db: None) -> None:
    acme = make_api("Acme")
    capped = {**COMMISSION, "max_total": None,
              "caps": [{"per": "advocate", "period": "lifetime", "count": 2}]}  # fmt: skip
    prg = make_program(acme, rewards=[WELCOME, capped], hold_days=0)
    alice = enrol(acme, prg["id"], "alice")
    send(acme, at(signup("s-bob", "bob", referral_code=alice["code"]), T0))
    send(acme, at(purchase("p-bob", "bob", "order-1", 3000), T0))
    for n in (1, 2):
        send(acme, payment(f"pay-{n}", "bob", f"inv-{n}", 2000, T0 + timedelta(days=10 * n)))
    approve_due_rewards(now=LATER)
    assert balance(acme, "alice") == 400
    send(acme, at({**purchase("r-1", "bob", "inv-1", 2000), "type": "refund"},
                  T0 + timedelta(days=30)))  # fmt: skip
    assert rewards_of("alice") == [(200, "approved", "pay-2"), (200, "reversed", "pay-1")]
    assert balance(acme, "alice") == 200


def test_a_reversed_coupons_code_no_longer_attributes(db: None) -> None:
    acme, _, code = coupon_world()
    bob = Reward.objects.get(participant__external_id="bob").public_id
    assert acme.post(f"/rewards/{bob}/reverse", {"reason": "fraud"}).status_code == 200
    answer = send(acme, order_with("p-cat", "cat", code))
    assert (answer["attribution"], answer["referrals"], answer["rewards"]) == ("none", [], [])


def test_another_workspaces_coupon_code_attributes_nothing(db: None) -> None:
    acme, _, code = coupon_world()
    globex = make_api("Globex")
    make_program(globex, trigger={"event": "purchase"})
    answer = send(globex, order_with("p-cat", "cat", code))
    assert (answer["attribution"], answer["referrals"], answer["rewards"]) == ("none", [], [])
    assert Reward.objects.get(participant__external_id="bob").coupon_used_at is None
