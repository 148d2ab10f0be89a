"""Reward rules with conditions, through the API."""

from __future__ import annotations

from typing import Any

from goodword.rewards.models import Reward
from tests.factories import Api, enrol, make_program, purchase, signup

RULES: list[dict[str, Any]] = [
    {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000},
    {
        "name": "Big order bonus",
        "beneficiary": "advocate",
        "kind": "credit",
        "amount": 500,
        "conditions": {"min_amount": 5000},
    },
    {
        "name": "VIP advocates",
        "beneficiary": "advocate",
        "kind": "credit",
        "amount": 300,
        "conditions": {"advocate": {"segment": ["vip"]}},
        "hold_days": 0,
    },
    {
        "name": "Pro friends",
        "beneficiary": "friend",
        "kind": "coupon",
        "percent_off": 20,
        "conditions": {"friend": {"plan": ["pro"]}, "category_ids": ["boots"]},
    },
]


def program(api: Api) -> tuple[dict[str, Any], str, str]:
    prg = make_program(api, rewards=RULES, trigger={"event": "purchase", "min_amount": 2000})
    alice = enrol(api, prg["id"], "alice")
    vera = enrol(api, prg["id"], "vera")
    api.post("/participants", {"external_id": "vera", "attributes": {"segment": "vip"}})
    return prg, alice["code"], vera["code"]


def granted(answer: dict[str, Any]) -> list[tuple[str, str, int | None, int | None]]:
    return sorted(
        (r["beneficiary"], r["kind"], r["amount"], r["percent_off"]) for r in answer["rewards"]
    )


def test_each_rule_grants_only_when_its_conditions_hold(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import make_api

    acme = make_api("Acme")
    prg, alice, vera = program(acme)
    assert [r["name"] for r in prg["rewards"]] == [r["name"] for r in RULES]
    assert prg["rewards"][1]["conditions"] == {"min_amount": 5000}

    # bob: a plain first purchase through alice.
    acme.event(signup("s-bob", "bob", referral_code=alice))
    bob = acme.event(purchase("p-bob", "bob", "order-1", 2500)).json()
    assert granted(bob) == [("advocate", "credit", 1000, None)]
    stopped = acme.get(f"/referrals/{bob['referrals'][0]['id']}").json()["stopped"]
    assert stopped == [
        {"rule": "Big order bonus", "beneficiary": "advocate", "reason": "min_amount"},
        {"rule": "VIP advocates", "beneficiary": "advocate", "reason": "advocate_attributes"},
        {"rule": "Pro friends", "beneficiary": "friend", "reason": "friend_attributes"},
    ]

    # dan: a pro customer buying boots for 60.00 through vera, a VIP advocate.
    acme.event(
        {
            **signup("s-dan", "dan", referral_code=vera),
            "customer": {"external_id": "dan", "attributes": {"plan": "pro"}},
        }
    )
    order = {
        "id": "order-2",
        "amount": 6000,
        "currency": "USD",
        "items": [{"product_id": "sku-7", "category_id": "boots", "amount": 6000}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        dan = acme.event({**purchase("p-dan", "dan", "order-2", 6000), "order": order}).json()
    assert granted(dan) == [
        ("advocate", "credit", 300, None),
        ("advocate", "credit", 500, None),
        ("advocate", "credit", 1000, None),
        ("friend", "coupon", None, 20),
    ]
    assert acme.get(f"/referrals/{dan['referrals'][0]['id']}").json()["stopped"] == []
    # The VIP rule's own hold of 0 days: approved by the kick after the commit.
    vip = Reward.objects.get(amount=300)
    assert (vip.status, vip.hold_until) == ("approved", vip.referral.converted_at)
    assert acme.get("/participants/vera/balance").json()["balances"][0]["available"] == 300


def test_changing_the_rules_applies_to_later_conversions_only(db: None) -> None:
    from tests.factories import make_api

    acme = make_api("Acme")
    prg, alice, _ = program(acme)
    acme.event(signup("s-bob", "bob", referral_code=alice))
    acme.event(purchase("p-bob", "bob", "order-1", 2500))
    r = acme.patch(f"/programs/{prg['id']}", {"rewards": [{**RULES[0], "amount": 2000}]})
    assert r.status_code == 200
    assert [(x["name"], x["amount"]) for x in r.json()["rewards"]] == [("Base", 2000)]
    acme.event(signup("s-cat", "cat", referral_code=alice))
    cat = acme.event(purchase("p-cat", "cat", "order-3", 2500)).json()
    assert granted(cat) == [("advocate", "credit", 2000, None)]
    assert sorted(Reward.objects.values_list("amount", flat=True)) == [1000, 2000]


def test_a_changed_program_is_decided_with_its_new_rules_at_once(db: None) -> None:
    """Programs' rules are cached per process by version: the next event after a change must
    see the change (a stale cache would grant the old amount)."""
    from tests.factories import make_api

    acme = make_api("Acme")
    prg = make_program(
        acme, rewards=[{"beneficiary": "advocate", "kind": "credit", "amount": 1000}]
    )
    code = enrol(acme, prg["id"], "alice")["code"]
    first = acme.event(purchase("p-bob", "bob", "order-1", 2500, referral_code=code)).json()
    assert granted(first) == [("advocate", "credit", 1000, None)]
    new_rules = [{"beneficiary": "advocate", "kind": "credit", "amount": 700}]
    assert acme.patch(f"/programs/{prg['id']}", {"rewards": new_rules}).status_code == 200
    second = acme.event(purchase("p-cat", "cat", "order-2", 2500, referral_code=code)).json()
    assert granted(second) == [("advocate", "credit", 700, None)]
    assert acme.patch(f"/programs/{prg['id']}", {"status": "paused"}).status_code == 200
    paused = acme.event(purchase("p-dan", "dan", "order-3", 2500, referral_code=code)).json()
    assert (paused["attribution"], paused["rewards"]) == ("program_inactive", [])
