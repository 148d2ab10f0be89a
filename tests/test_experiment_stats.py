"""Experiments read as experiments: the interval arithmetic against textbook values, each
variant's conversion and cost, the comparison's verdict, the holdout's lift, and the API and
dashboard pages that show them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.analytics import experiments as xp
from goodword.analytics.experiments import Comparison, RevenueLift, Variant
from goodword.analytics.intervals import (
    Interval,
    Sample,
    difference_of_means,
    mean,
    newcombe,
    wilson,
)
from goodword.analytics.scope import Money, Scope
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests.dashboard import member
from tests.factories import Api, enrol, make_api, make_program, purchase, signup
from tests.shared import kept_for_module

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def close(got: Interval | None, value: float, low: float | None, high: float | None) -> None:
    """`got` equals the expected figures to the four decimals the textbooks print."""
    assert got is not None
    assert round(got.value, 4) == value
    assert (None if got.low is None else round(got.low, 4)) == low
    assert (None if got.high is None else round(got.high, 4)) == high


# The arithmetic. Expected values: Newcombe (1998), "Two-sided confidence intervals for the
# single proportion" (method 3, Wilson's score) and "Interval estimation for the difference
# between independent proportions" (method 10, the hybrid score interval), Stat Med 17.


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
        (8, 10, 0.4902, 0.9433),  # by hand: centre 0.7167, half-width 0.2266
    ],
)
def test_wilson_interval_matches_the_textbook(k: int, n: int, low: float, high: float) -> None:
    close(wilson(k, n), round(k / n, 4), low, high)


def test_wilson_has_no_interval_without_data_and_refuses_impossible_counts() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="need 0 <= k <= n"):
        wilson(11, 10)


@pytest.mark.parametrize(
    ("counts", "value", "low", "high"),
    [
        ((56, 70, 48, 80), 0.2, 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.6, 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.5714, 0.0582, 0.8062),
        ((5, 56, 0, 29), 0.0893, -0.0381, 0.1926),
        ((0, 10, 0, 20), 0.0, -0.1611, 0.2775),
        ((0, 10, 0, 10), 0.0, -0.2775, 0.2775),
        ((10, 10, 0, 20), 1.0, 0.6791, 1.0),
        ((10, 10, 0, 10), 1.0, 0.6075, 1.0),
    ],
)
def test_newcombe_difference_matches_the_textbook(
    counts: tuple[int, int, int, int], value: float, low: float, high: float
) -> None:
    close(newcombe(*counts), value, low, high)
    assert newcombe(1, 0, 1, 10) is None


def test_means_and_their_difference_by_the_normal_approximation() -> None:
    # Values 2, 0, 2 (mean 4/3, variance 4/3) against 2, 0 (mean 1, variance 2):
    # 1/3 ± 1.95996 · √(4/9 + 1) = 0.3333 ± 2.3556.
    treated, holdout = Sample.of([2, 2], 3), Sample.of([2], 2)
    assert (treated.n, treated.total, treated.squares) == (3, 4, 8)
    assert treated.variance == pytest.approx(4 / 3)
    close(difference_of_means(treated, holdout), 0.3333, -2.0223, 2.6889)
    # 1 ± 1.95996 · √(2/2), the low end clipped at 0 for counts.
    close(mean(holdout, floor=0.0), 1.0, 0.0, 2.96)
    close(mean(holdout), 1.0, -0.96, 2.96)
    # One value has a mean, and no interval; no values, not even a mean.
    close(mean(Sample.of([3], 1)), 3.0, None, None)
    assert mean(Sample(0, 0, 0)) is None
    assert difference_of_means(Sample(0, 0, 0), holdout) is None
    close(difference_of_means(Sample.of([3], 1), holdout), 2.0, None, None)
    with pytest.raises(ValueError, match="3 values for a group of 2"):
        Sample.of([1, 1, 1], 2)


# The verdict of one comparison, on made-up counts.


def variant(name: str, friends: int, converted: int) -> Variant:
    return Variant(
        name=name,
        weight=1,
        advocates=10,
        friends=friends,
        converted=converted,
        conversion=wilson(converted, friends),
        per_advocate=None,
        revenue=(),
        cost=(),
        cost_per_converted=(),
        comparison=None,
    )


def test_a_variant_that_converts_better_or_worse_says_so_with_its_interval() -> None:
    a = variant("A", 1000, 80)
    assert xp.compare(variant("B", 1000, 121), a) == Comparison(
        "A",
        newcombe(121, 1000, 80, 1000),
        "better",
        "B converts better than A: 12.1 % vs 8.0 %, difference 4.1 points (95 % CI 1.5 to 6.8).",
    )
    worse = xp.compare(variant("C", 1000, 40), a)
    assert (worse.verdict, worse.text) == (
        "worse",
        "C converts worse than A: 4.0 % vs 8.0 %, difference -4.0 points (95 % CI -6.1 to -1.9).",
    )


def test_an_overlapping_interval_is_no_difference_and_few_friends_not_enough() -> None:
    a = variant("A", 1000, 80)
    same = xp.compare(variant("B", 1000, 60), a)
    assert (same.verdict, same.text) == (
        "no_difference",
        "No difference between B and A can be told apart from chance yet: 6.0 % vs 8.0 %, "
        "difference -2.0 points (95 % CI -4.3 to 0.2).",
    )
    # 29 friends is one short of a verdict, however far apart the rates are.
    few = xp.compare(variant("B", 29, 29), variant("A", 1000, 0))
    assert (few.verdict, few.text) == (
        "not_enough_data",
        "Not enough data yet to compare B with A: 29 friends came through B and 1,000 friends "
        "through A; a verdict needs at least 30 in each.",
    )
    assert few.difference is not None
    assert few.difference.excludes_zero  # far apart, but too few to say


# A program's experiment, built through the API.

EXPERIMENT = {
    "name": "Spring offers",
    "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
    "holdout_percent": 20,
}
RULES: list[dict[str, Any]] = [
    {"name": "Offer A", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
     "conditions": {"variants": ["A"]}},
    {"name": "Offer B", "beneficiary": "advocate", "kind": "credit", "amount": 1500,
     "conditions": {"variants": ["B"]}},
]  # fmt: skip


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def send(api: Api, body: dict[str, Any]) -> None:
    response = api.event(body)
    assert response.status_code in (200, 201), response.content


@dataclass
class Lab:
    acme: Api
    globex: Api
    program: Program
    plain: Program  # acme's program without an experiment


def build_lab() -> Lab:
    """Spring offers, min. order $20.00, a 30-day window. A: amy brings fay (buys $30.00 a day
    later), gil (never buys) and hub (buys $25.00 with amy's code); ann brings ida (never
    buys). B: ben brings jo (buys $25.00 with ben's code), kim (never buys) and lee (buys
    $15.00, under the minimum: no conversion, but a purchase). Holdout: hal brings max (buys
    $40.00, $5.00 refunded), ned (buys $20.00 a day later), oz (buys 45 days later, after the
    window) and pat (a customer before hal's code reached her); hol brings no one."""
    acme, globex = make_api("Acme"), make_api("Globex")
    with at(T0 - timedelta(days=1)):
        made = make_program(acme, name="Spring", rewards=RULES, experiment=EXPERIMENT)
        plain = make_program(acme, name="Plain")
        codes = {}
        for name, variant in (("amy", "A"), ("ann", "A"), ("ben", "B"), ("hal", "holdout"),
                              ("hol", "holdout")):  # fmt: skip
            codes[name] = enrol(acme, made["id"], name)["code"]
            # Assigned by a hash of the id; fixed here so the story reads plainly.
            Advocate.objects.filter(code=codes[name]).update(variant=variant)
        send(acme, purchase("p-pat-0", "pat", "order-pat-0", 2500))
    with at(T0 + timedelta(hours=1)):
        for friend, advocate in (("fay", "amy"), ("gil", "amy"), ("ida", "ann"), ("kim", "ben"),
                                 ("ned", "hal"), ("oz", "hal"), ("pat", "hal")):  # fmt: skip
            send(acme, signup(f"s-{friend}", friend, referral_code=codes[advocate]))
    with at(T0 + timedelta(hours=2)):
        for friend, advocate, amount in (("hub", "amy", 2500), ("jo", "ben", 2500),
                                         ("lee", "ben", 1500), ("max", "hal", 4000)):  # fmt: skip
            body = purchase(f"p-{friend}", friend, f"order-{friend}", amount)
            send(acme, {**body, "referral_code": codes[advocate]})
    with at(T0 + timedelta(days=1)):
        send(acme, purchase("p-fay", "fay", "order-fay", 3000))
        send(acme, purchase("p-ned", "ned", "order-ned", 2000))
        refund = {"id": "r-max", "type": "refund", "customer": {"external_id": "max"},
                  "order": {"id": "order-max", "amount": 500}}  # fmt: skip
        send(acme, refund)
    with at(T0 + timedelta(days=2)):
        send(acme, purchase("p-pat", "pat", "order-pat", 3000))
    with at(T0 + timedelta(days=45)):
        send(acme, purchase("p-oz", "oz", "order-oz", 2000))
    return Lab(
        acme,
        globex,
        Program.objects.get(public_id=made["id"]),
        Program.objects.get(public_id=plain["id"]),
    )


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[Lab]:
    with kept_for_module(django_db_blocker):
        yield build_lab()


@pytest.fixture
def lab(built: Lab, db: None) -> Lab:
    return built


def scope_of(lab: Lab, program: Program | None = None, **period: Any) -> Scope:
    chosen = program or lab.program
    return Scope(lab.acme.workspace.pk, chosen.pk, period.get("start"), period.get("end"))


def usd(amount: int) -> Money:
    return Money("USD", amount)


def test_the_story_is_what_the_numbers_say_it_is(lab: Lab) -> None:
    held = Referral.objects.filter(program=lab.program, advocate__variant="holdout")
    assert sorted(held.values_list("referee__external_id", "reject_reason")) == [
        ("max", "holdout"), ("ned", "holdout"), ("oz", "holdout"), ("pat", "holdout"),
    ]  # fmt: skip
    lee = Referral.objects.get(referee__external_id="lee")
    assert lee.status == "signed_up"  # $15.00 is under the program's minimum


def test_each_variant_has_its_conversion_and_cost_with_intervals(lab: Lab) -> None:
    found = xp.experiment(scope_of(lab), lab.program)
    assert (found.name, found.control) == ("Spring offers", "A")
    a, b = found.variants
    assert (a.name, a.weight, a.advocates, a.friends, a.converted) == ("A", 1, 2, 4, 2)
    close(a.conversion, 0.5, 0.15, 0.85)
    # amy 2, ann 0: a mean of 1 ± 1.95996 · √(2/2), clipped at 0.
    close(a.per_advocate, 1.0, 0.0, 2.96)
    assert (a.revenue, a.cost, a.cost_per_converted) == ((usd(5500),), (usd(2000),), (usd(1000),))
    assert a.comparison is None
    assert (b.name, b.advocates, b.friends, b.converted) == ("B", 1, 3, 1)
    close(b.conversion, 0.3333, 0.0615, 0.7923)
    close(b.per_advocate, 1.0, None, None)  # one advocate: no interval
    assert (b.revenue, b.cost, b.cost_per_converted) == ((usd(2500),), (usd(1500),), (usd(1500),))
    assert b.comparison is not None
    assert b.comparison.verdict == "not_enough_data"
    close(b.comparison.difference, -0.1667, -0.6098, 0.4105)


def test_the_holdout_lift_counts_friends_who_bought_in_their_window(lab: Lab) -> None:
    lift = xp.experiment(scope_of(lab), lab.program).holdout
    assert lift is not None
    # Holdout: max and ned bought (oz after the window; pat was a customer already); treated:
    # fay and hub (amy), jo and lee (ben, lee under the minimum still bought), ann nobody.
    assert (lift.holdout_advocates, lift.holdout_customers) == (2, 2)
    assert (lift.treated_advocates, lift.treated_customers) == (3, 4)
    assert (lift.holdout_per_advocate, lift.treated_per_advocate) == (1.0, 1.3333)
    close(lift.customers, 0.3333, -2.0223, 2.6889)
    # Net revenue per advocate: (5500 + 0 + 4000) / 3 against (3500 + 2000 + 0) / 2.
    assert lift.revenue == (RevenueLift("USD", 2750, 3167, 417, -5860, 6694),)
    assert (lift.verdict, lift.text) == (
        "not_enough_data",
        "Not enough data yet to measure the lift: 2 advocates in the holdout and 3 advocates "
        "in the program; a verdict needs at least 30 in each.",
    )


def test_the_verdicts_in_words_once_there_is_enough(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xp, "MIN_FRIENDS", 3)
    monkeypatch.setattr(xp, "MIN_ADVOCATES", 2)
    found = xp.experiment(scope_of(lab), lab.program)
    assert found.verdict == "no_difference"
    assert found.text == (
        "No difference between B and A can be told apart from chance yet: 33.3 % vs 50.0 %, "
        "difference -16.7 points (95 % CI -61.0 to 41.1). "
        "No lift can be told apart from chance yet: 1.33 friends who bought per advocate in the "
        "program against 1.00 in the holdout, 0.33 more per advocate (95 % CI -2.02 to 2.69). "
        "Net revenue of friends per advocate, USD: $4.17 more (95 % CI -$58.60 to $66.94)."
    )


def test_a_period_counts_friends_who_came_and_purchases_made_in_it(lab: Lab) -> None:
    day = T0.date()
    found = xp.experiment(scope_of(lab, start=day, end=day), lab.program)
    a, b = found.variants
    # Everyone came on the first day; conversions are counted by now, whenever they came.
    assert (a.friends, a.converted, b.friends, b.converted) == (4, 2, 3, 1)
    lift = found.holdout
    assert lift is not None
    # Only the first day's purchases: hub (amy), jo and lee (ben); max in the holdout.
    assert (lift.treated_customers, lift.holdout_customers) == (3, 1)
    assert lift.revenue == (RevenueLift("USD", 1750, 2167, 417, -3706, 4539),)


def test_a_program_without_an_experiment_says_so(lab: Lab) -> None:
    found = xp.experiment(scope_of(lab, lab.plain), lab.plain)
    assert (found.variants, found.holdout, found.verdict) == ((), None, "no_experiment")
    assert found.text == (
        "This program has no experiment: set one on the program to compare offers."
    )


# The API


def test_api_answers_the_experiment(lab: Lab) -> None:
    r = lab.acme.get(f"/programs/{lab.program.public_id}/experiment")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["program"] == lab.program.public_id
    assert (body["experiment"], body["control"], body["verdict"]) == (
        "Spring offers", "A", "not_enough_data",
    )  # fmt: skip
    assert (body["minimum_friends"], body["minimum_advocates"]) == (30, 30)
    assert body["period"] == {"start": None, "end": None}
    a, b = body["variants"]
    assert a == {
        "name": "A",
        "weight": 1,
        "advocates": 2,
        "friends": 4,
        "converted": 2,
        "conversion_rate": {"value": 0.5, "low": 0.15, "high": 0.85},
        "converted_per_advocate": {"value": 1.0, "low": 0.0, "high": 2.96},
        "revenue": [{"currency": "USD", "amount": 5500}],
        "reward_cost": [{"currency": "USD", "amount": 2000}],
        "cost_per_converted": [{"currency": "USD", "amount": 1000}],
        "comparison": None,
    }
    assert b["comparison"]["against"] == "A"
    assert b["comparison"]["difference"] == {"value": -0.1667, "low": -0.6098, "high": 0.4105}
    assert b["comparison"]["verdict"] == "not_enough_data"
    assert b["converted_per_advocate"] == {"value": 1.0, "low": None, "high": None}
    holdout = body["holdout"]
    assert holdout["customers"] == {"value": 0.3333, "low": -2.0223, "high": 2.6889}
    assert holdout["revenue"] == [
        {"currency": "USD", "holdout": 2750, "treated": 3167, "lift": 417, "low": -5860,
         "high": 6694},
    ]  # fmt: skip
    assert holdout["verdict"] == "not_enough_data"


def test_api_period_and_a_program_without_an_experiment(lab: Lab) -> None:
    day = {"from": "2026-03-02", "to": "2026-03-02"}
    r = lab.acme.get(f"/programs/{lab.program.public_id}/experiment", **day)
    assert r.json()["period"] == {"start": "2026-03-02", "end": "2026-03-02"}
    assert r.json()["holdout"]["treated_customers"] == 3
    r = lab.acme.get(f"/programs/{lab.plain.public_id}/experiment")
    assert r.status_code == 200
    body = r.json()
    assert (body["experiment"], body["variants"], body["holdout"]) == (None, [], None)
    assert body["verdict"] == "no_experiment"


def test_api_another_workspaces_program_is_404(lab: Lab) -> None:
    r = lab.globex.get(f"/programs/{lab.program.public_id}/experiment")
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "code": "not_found",
            "message": "no such object in this workspace",
            "details": None,
        }
    }
    assert "Spring" not in r.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "March"}, "from"), ({"from": "2026-03-05", "to": "2026-03-01"}, "from")],
)
def test_api_bad_period_is_422_naming_the_field(
    lab: Lab, query: dict[str, str], field: str
) -> None:
    r = lab.acme.get(f"/programs/{lab.program.public_id}/experiment", **query)
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["query", field]


# The dashboard


def test_analyst_sees_the_list_and_the_experiment(lab: Lab) -> None:
    analyst = member(lab.acme.workspace, "analyst@acme.test", "analyst")
    listing = analyst.get("/dashboard/experiments/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert f"/dashboard/experiments/{lab.program.public_id}/" in text
    assert "A (1), B (1)" in text
    assert "Plain" not in text  # no experiment, not listed
    page = analyst.get(f"/dashboard/experiments/{lab.program.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Not enough data yet to compare B with A" in html
    assert "50.0 % (15.0 % to 85.0 %)" in html
    assert "-16.7 (-61.0 to +41.1)" in html
    assert "Incremental customers per advocate" in html
    assert '<svg class="xp-bar"' in html
    assert 'aria-current="page">Experiments' in html.replace("\n", "")
    plain = analyst.get(f"/dashboard/experiments/{lab.plain.public_id}/")
    assert plain.status_code == 200
    assert "This program has no experiment" in plain.content.decode()


def test_dashboard_bad_period_is_400_and_globex_gets_404(lab: Lab) -> None:
    analyst = member(lab.acme.workspace, "analyst@acme.test", "analyst")
    page = analyst.get(f"/dashboard/experiments/{lab.program.public_id}/", {"from": "soon"})
    assert page.status_code == 400
    assert "Must be a date such as 2026-03-01" in page.content.decode()
    export = analyst.get(
        f"/dashboard/experiments/{lab.program.public_id}/export.csv", {"from": "soon"}
    )
    assert export.status_code == 400
    stranger = member(lab.globex.workspace, "analyst@globex.test", "analyst")
    for path in ("/", "/export.csv"):
        assert (
            stranger.get(f"/dashboard/experiments/{lab.program.public_id}{path}").status_code == 404
        )
    assert "Spring" not in stranger.get("/dashboard/experiments/").content.decode()


def test_export_has_every_variant_and_the_lift(lab: Lab) -> None:
    analyst = member(lab.acme.workspace, "analyst@acme.test", "analyst")
    r = analyst.get(f"/dashboard/experiments/{lab.program.public_id}/export.csv")
    assert r.status_code == 200
    assert r["Content-Disposition"] == (
        f'attachment; filename="experiment-{lab.program.public_id}-start-now.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["variant"] for row in rows] == ["A", "B", "holdout", "program"]
    a, b, holdout, program = rows
    assert (a["friends"], a["converted"], a["conversion_rate"], a["conversion_rate_low"]) == (
        "4", "2", "0.5", "0.15",
    )  # fmt: skip
    assert (a["revenue_net"], a["reward_cost"], a["cost_per_converted"]) == (
        "55.00 USD", "20.00 USD", "10.00 USD",
    )  # fmt: skip
    assert (b["compared_with"], b["difference"], b["verdict"]) == (
        "A", "'-0.1667", "not_enough_data",
    )  # fmt: skip
    assert (holdout["advocates"], holdout["converted"], holdout["converted_per_advocate"]) == (
        "2", "2", "1.0",
    )  # fmt: skip
    assert (program["compared_with"], program["difference"], program["difference_low"]) == (
        "holdout", "0.3333", "'-2.0223",
    )  # fmt: skip
    # A hostile cell cannot run as a formula: the minus of a negative number is quoted too.
    assert b["difference_low"] == "'-0.6098"
