"""Experiments: sticky, weighted offer variants per advocate, and a holdout."""

from __future__ import annotations

from collections import Counter
from typing import Any

from goodword.decisions.experiments import HOLDOUT, assign, bucket
from goodword.events.models import DomainEvent
from goodword.participants.models import Advocate
from goodword.referrals.models import Referral
from tests.factories import PROGRAM, Api, enrol, make_api, make_program, purchase

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


def test_assignment_is_sticky_and_follows_the_weights() -> None:
    variants = [("A", 70), ("B", 30)]
    subjects = [f"par_{n}" for n in range(20_000)]
    got = Counter(assign("exp", s, variants, 10) for s in subjects)
    # Expected 2,000 / 12,600 / 5,400; a binomial's standard deviation here is at most ~70, so
    # +-2% of 20,000 (400) is more than five of them: this fails only if the split is wrong.
    assert abs(got[HOLDOUT] - 2_000) < 400
    assert abs(got["A"] - 12_600) < 400
    assert abs(got["B"] - 5_400) < 400
    assert [assign("exp", s, variants, 10) for s in subjects[:100]] == [
        assign("exp", s, variants, 10) for s in subjects[:100]
    ]
    # Another experiment shuffles people independently of this one.
    same = sum(bucket("exp", s) == bucket("other", s) for s in subjects)
    assert same < 20


def enrol_until(api: Api, program_id: str, variant: str) -> dict[str, Any]:
    """Enrol made-up advocates until one lands in `variant` (assignment is a hash)."""
    for n in range(200):
        advocate = enrol(api, program_id, f"adv-{variant}-{n}")
        if advocate["variant"] == variant:
            return advocate
    raise AssertionError(f"no advocate landed in {variant}")


def test_each_variant_earns_its_offer_and_the_holdout_gets_no_program(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(acme, rewards=RULES, experiment=EXPERIMENT)
    assert program["experiment"] == EXPERIMENT
    codes = {v: enrol_until(acme, program["id"], v)["code"] for v in ("A", "B", HOLDOUT)}
    amounts = {}
    for variant, code in codes.items():
        answer = acme.event(
            purchase(f"p-{variant}", f"friend-{variant}", f"o-{variant}", 2500, referral_code=code)
        ).json()
        amounts[variant] = [r["amount"] for r in answer["rewards"]]
    assert amounts == {"A": [1000], "B": [1500], HOLDOUT: []}
    held = Referral.objects.get(referee__external_id=f"friend-{HOLDOUT}")
    assert (held.status, held.reject_reason) == ("rejected", "holdout")
    # Every assignment is recorded, on the advocate and as an event; enrolling again keeps it.
    assigned = DomainEvent.objects.filter(name="experiment.assigned")
    assert assigned.count() == Advocate.objects.count()
    again = acme.post(f"/programs/{program['id']}/advocates", {"external_id": "adv-B-0"}).json()
    assert again["variant"] == Advocate.objects.get(participant__external_id="adv-B-0").variant


def test_rules_may_only_name_the_experiments_variants(db: None) -> None:
    acme = make_api("Acme")
    bad = acme.post("/programs", {**PROGRAM, "rewards": RULES})
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == (
        "rewards[0].conditions.variants: 'A' is not one of the program's variants (it has none)"
    )
    named_holdout = {
        **EXPERIMENT,
        "variants": [{"name": "holdout", "weight": 1}, {"name": "B", "weight": 1}],
    }  # noqa: E501
    r = acme.post("/programs", {**PROGRAM, "experiment": named_holdout})
    assert r.status_code == 422
    assert "not `holdout`" in r.json()["error"]["message"]
