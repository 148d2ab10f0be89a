"""Ambassador tiers and milestone bonuses, through the API and under racing conversions."""

from __future__ import annotations

from typing import Any

import pytest

from goodword.events.models import DomainEvent
from goodword.rewards.models import Reward
from tests.factories import PROGRAM, Api, enrol, make_api, make_program, purchase
from tests.shared import post_events_at_once

TIERS = {
    "basis": "referrals",
    "period": "lifetime",
    "levels": [
        {"name": "Member", "min": 0},
        {"name": "Silver", "min": 2},
        {"name": "Gold", "min": 4},
    ],
}
RULES: list[dict[str, Any]] = [
    {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
     "conditions": {"tiers": ["Member", "Silver"]}},
    {"name": "Gold rate", "beneficiary": "advocate", "kind": "credit", "amount": 1500,
     "conditions": {"tiers": ["Gold"]}},
    {"name": "Third friend", "beneficiary": "advocate", "kind": "credit", "amount": 5000,
     "milestone": {"at": [3]}},
    {"name": "Gold friends", "beneficiary": "friend", "kind": "coupon", "percent_off": 25,
     "conditions": {"tiers": ["Gold"]}},
]  # fmt: skip


def tiered(api: Api, rules: list[dict[str, Any]] = RULES) -> str:
    program = make_program(api, rewards=rules, tiers=TIERS)
    assert program["tiers"] == TIERS
    return str(enrol(api, program["id"], "alice")["code"])


def granted(answer: dict[str, Any]) -> list[tuple[str, int | None, int | None]]:
    return sorted((r["beneficiary"], r["amount"], r["percent_off"]) for r in answer["rewards"])


def test_tiers_raise_later_rewards_and_a_milestone_pays_once(db: None) -> None:
    acme = make_api("Acme")
    code = tiered(acme)
    answers = [
        acme.event(purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500, referral_code=code)).json()
        for n in range(5)
    ]
    assert [granted(a) for a in answers] == [
        [("advocate", 1000, None)],  # Member
        [("advocate", 1000, None)],  # Member; this one lifts alice to Silver
        [("advocate", 1000, None), ("advocate", 5000, None)],  # Silver; the third friend
        [("advocate", 1000, None)],  # Silver; lifts her to Gold
        [("advocate", 1500, None), ("friend", None, 25)],  # Gold
    ]
    promoted = DomainEvent.objects.filter(name="advocate.promoted").order_by("pk")
    assert [(e.data["was"], e.data["tier"]) for e in promoted] == [
        ("Member", "Silver"),
        ("Silver", "Gold"),
    ]
    assert [e.data["referral"] for e in promoted] == [
        answers[1]["referrals"][0]["id"],
        answers[3]["referrals"][0]["id"],
    ]


def test_every_nth_referral_earns_the_bonus(db: None) -> None:
    acme = make_api("Acme")
    every = [{"name": "Every second", "beneficiary": "advocate", "kind": "credit",
              "amount": 300, "milestone": {"every": 2}}]  # fmt: skip
    code = str(enrol(acme, make_program(acme, rewards=every)["id"], "alice")["code"])
    events = [purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500, referral_code=code) for n in range(5)]
    answers = acme.post("/events/batch", {"events": events}).json()["data"]
    assert [len(a["result"]["rewards"]) for a in answers] == [0, 1, 0, 1, 0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tiers": {"levels": [{"name": "A", "min": 3}, {"name": "B", "min": 1}]}}, "increasing"),
        ({"tiers": {"levels": [{"name": "A", "min": 0}, {"name": "A", "min": 1}]}}, "unique"),
        (
            {"rewards": [{**RULES[1], "conditions": {"tiers": ["Platinum"]}}]},
            "'Platinum' is not one of",
        ),
        ({"rewards": [{**RULES[3], "milestone": {"every": 2}}]}, "rewards the advocate"),
        ({"rewards": [{**RULES[2], "milestone": {"at": [5, 3]}}]}, "increasing"),
    ],
)
def test_a_bad_ladder_or_rule_is_refused_and_nothing_changes(
    db: None, change: dict[str, Any], message: str
) -> None:
    acme = make_api("Acme")
    program = make_program(acme, rewards=RULES, tiers=TIERS)
    created = acme.post("/programs", {**PROGRAM, **change})
    assert created.status_code == 422
    patched = acme.patch(f"/programs/{program['id']}", change)
    assert patched.status_code == 422
    for r in (created, patched):
        assert message in r.json()["error"]["message"], r.json()
    assert acme.get(f"/programs/{program['id']}").json() == program


def test_dropping_a_tier_that_rules_use_is_refused(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(acme, rewards=RULES, tiers=TIERS)
    bronze = {"levels": [{"name": "Member", "min": 0}, {"name": "Silver", "min": 2}]}
    r = acme.patch(f"/programs/{program['id']}", {"tiers": bronze})
    assert r.status_code == 422
    assert "'Gold' is not one of the program's tiers" in r.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_racing_conversions_pay_a_milestone_exactly_once() -> None:
    acme = make_api("Acme")
    milestone = [{"name": "Third", "beneficiary": "advocate", "kind": "credit", "amount": 5000,
                  "milestone": {"at": [3]}},
                 {"name": "Welcome", "beneficiary": "friend", "kind": "credit", "amount": 500}]  # fmt: skip  # noqa: E501
    code = tiered(acme, milestone)
    bodies = [purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500, referral_code=code) for n in range(8)]
    assert post_events_at_once(acme.key, bodies) == [201] * 8
    assert Reward.objects.filter(amount=5000).count() == 1
    assert Reward.objects.filter(beneficiary="friend").count() == 8
