"""Caps on reward rules, through the API: per advocate, per friend, a program budget; at their
edge under racing events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.factories import Api, enrol, make_api, make_program, purchase, refund
from tests.shared import post_events_at_once

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def capped_program(api: Api, *caps: dict[str, Any]) -> tuple[str, str]:
    program = make_program(
        api,
        rewards=[
            {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
             "caps": list(caps)},
            {"name": "Welcome", "beneficiary": "friend", "kind": "credit", "amount": 500},
        ],
    )  # fmt: skip
    alice = enrol(api, program["id"], "alice")["code"]
    carol = enrol(api, program["id"], "carol")["code"]
    return alice, carol


def convert(api: Api, friend: str, code: str, when: datetime) -> dict[str, Any]:
    body = {**purchase(f"p-{friend}", friend, f"o-{friend}", 2500, referral_code=code)}
    body["occurred_at"] = when.isoformat()
    with time_machine.travel(NOW, tick=False):
        response = api.event(body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def advocate_rewards(who: str) -> int:
    return (
        Reward.objects.filter(beneficiary="advocate", participant__external_id=who)
        .exclude(status="reversed")
        .count()
    )


def stopped(answer: dict[str, Any]) -> list[dict[str, str]]:
    return list(Referral.objects.get(public_id=answer["referrals"][0]["id"]).stopped)


def test_a_monthly_cap_per_advocate_stops_the_third_and_says_so(db: None) -> None:
    acme = make_api("Acme")
    alice, carol = capped_program(acme, {"per": "advocate", "period": "month", "count": 2})
    for n in range(2):
        convert(acme, f"f{n}", alice, MARCH + timedelta(days=n))
    third = convert(acme, "f2", alice, MARCH + timedelta(days=3))
    # The friend still gets their reward; only the capped rule stops.
    assert [(r["beneficiary"], r["amount"]) for r in third["rewards"]] == [("friend", 500)]
    assert stopped(third) == [
        {"rule": "Base", "beneficiary": "advocate", "reason": "cap_advocate_month"}
    ]  # noqa: E501
    # carol has her own count; February's conversions do not count in March.
    assert [r["beneficiary"] for r in convert(acme, "f3", carol, MARCH)["rewards"]] == [
        "advocate",
        "friend",
    ]
    earlier = convert(acme, "f4", alice, MARCH - timedelta(days=2))
    assert [r["beneficiary"] for r in earlier["rewards"]] == ["advocate", "friend"]
    assert advocate_rewards("alice") == 3


def test_a_program_budget_counts_every_advocate_and_a_batch_counts_as_it_goes(db: None) -> None:
    acme = make_api("Acme")
    alice, carol = capped_program(acme, {"per": "program", "period": "lifetime", "amount": 2500})
    events = [
        {**purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500, referral_code=code),
         "occurred_at": (MARCH + timedelta(hours=n)).isoformat()}
        for n, code in enumerate([alice, carol, alice])
    ]  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        answers = acme.post("/events/batch", {"events": events}).json()["data"]
    assert [len(a["result"]["rewards"]) for a in answers] == [2, 2, 1]
    assert stopped(answers[2]["result"]) == [
        {"rule": "Base", "beneficiary": "advocate", "reason": "cap_program_lifetime"}
    ]


def test_a_reversed_reward_frees_its_place_under_the_cap(db: None) -> None:
    acme = make_api("Acme")
    alice, _ = capped_program(acme, {"per": "advocate", "period": "lifetime", "count": 1})
    convert(acme, "f0", alice, MARCH)
    with time_machine.travel(NOW, tick=False):
        assert acme.event(refund("r-f0", "f0", "o-f0")).status_code == 201
    again = convert(acme, "f1", alice, MARCH + timedelta(days=1))
    assert [r["beneficiary"] for r in again["rewards"]] == ["advocate", "friend"]


def test_caps_that_cannot_hold_are_refused(db: None) -> None:
    acme = make_api("Acme")
    for cap, message in [
        ({"per": "advocate", "period": "month", "amount": 500}, "less than the reward's 1000"),
        ({"per": "advocate", "period": "month"}, "exactly one of `count` or `amount`"),
        ({"per": "advocate", "period": "rolling", "count": 1}, "`days` goes with"),
        ({"per": "advocate", "period": "month", "count": 1, "days": 3}, "`days` goes with"),
    ]:
        rule = {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "caps": [cap]}
        r = acme.post("/programs", {**_program(), "rewards": [rule]})
        assert r.status_code == 422, r.content
        assert message in r.json()["error"]["message"]
        assert r.json()["error"]["message"].startswith("rewards[0]")


def _program() -> dict[str, Any]:
    from tests.factories import PROGRAM

    return dict(PROGRAM)


@pytest.mark.django_db(transaction=True)
def test_racing_conversions_at_the_cap_edge_grant_exactly_the_cap() -> None:
    """Ten friends of alice convert at once under a cap of three: three advocate rewards."""
    acme = make_api("Acme")
    alice, _ = capped_program(acme, {"per": "advocate", "period": "lifetime", "count": 3})
    bodies = [purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500, referral_code=alice) for n in range(10)]
    statuses = post_events_at_once(acme.key, bodies)
    assert statuses == [201] * 10
    assert advocate_rewards("alice") == 3
    assert Reward.objects.filter(beneficiary="friend").count() == 10
    capped = [r for r in Referral.objects.all() if r.stopped]
    assert len(capped) == 7
