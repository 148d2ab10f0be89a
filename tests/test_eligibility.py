"""Who may advocate: everyone, customers (after N days), promoters by NPS, or a list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.participants.models import Advocate
from tests.factories import PROGRAM, Api, make_api, make_program, purchase

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def enrol(api: Api, program_id: str, who: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return api.post(f"/programs/{program_id}/advocates", {"external_id": who})


def nps(api: Api, who: str, score: int, when: datetime) -> None:
    body = {"id": f"nps-{who}-{when:%j}", "type": "nps", "customer": {"external_id": who},
            "score": score, "occurred_at": when.isoformat()}  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        assert api.event(body).status_code == 201


@pytest.mark.parametrize(
    ("eligibility", "allowed", "refused"),
    [
        ({"who": "everyone"}, ["new", "buyer", "old_buyer", "fan"], []),
        ({"who": "customers"}, ["buyer", "old_buyer"], ["new", "fan"]),
        ({"who": "customers", "min_days_as_customer": 30}, ["old_buyer"], ["buyer", "new"]),
        ({"who": "promoters"}, ["fan"], ["new", "buyer", "critic"]),
        ({"who": "listed", "external_ids": ["new", "fan"]}, ["new", "fan"], ["buyer"]),
    ],
)
def test_only_eligible_customers_are_enrolled(
    db: None, eligibility: dict[str, Any], allowed: list[str], refused: list[str]
) -> None:
    acme = make_api("Acme")
    program = make_program(acme, eligibility=eligibility)
    with time_machine.travel(NOW, tick=False):
        for who, days_ago in (("buyer", 2), ("old_buyer", 40)):
            body = {**purchase(f"p-{who}", who, f"o-{who}", 2500),
                    "occurred_at": (NOW - timedelta(days=days_ago)).isoformat()}  # fmt: skip
            assert acme.event(body).status_code == 201
        for who in ("new", "fan", "critic"):
            acme.post("/participants", {"external_id": who})
    # The fan said 3, then 10; the critic 10, then 6: the latest answer counts.
    nps(acme, "fan", 3, NOW - timedelta(days=5))
    nps(acme, "fan", 10, NOW - timedelta(days=1))
    nps(acme, "critic", 6, NOW - timedelta(days=1))
    nps(acme, "critic", 10, NOW - timedelta(days=5))  # older, though it arrived later
    for who in allowed:
        assert enrol(acme, program["id"], who).status_code == 201, who
    for who in refused:
        r = enrol(acme, program["id"], who)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_eligible"), who
        assert r.json()["error"]["message"].startswith(f"'{who}' may not advocate")
    enrolled = set(Advocate.objects.values_list("participant__external_id", flat=True))
    assert enrolled == set(allowed)


def test_eligibility_that_does_not_fit_is_refused(db: None) -> None:
    acme = make_api("Acme")
    for eligibility, message in [
        ({"who": "listed"}, "`external_ids` goes with"),
        ({"who": "everyone", "min_days_as_customer": 3}, "`min_days_as_customer` goes with"),
        ({"who": "friends"}, "eligibility.who"),
    ]:
        r = acme.post("/programs", {**PROGRAM, "eligibility": eligibility})
        assert r.status_code == 422
        assert message in r.json()["error"]["message"]


def test_an_nps_event_needs_a_score_and_only_it_takes_one(db: None) -> None:
    acme = make_api("Acme")
    no_score = {"id": "n-1", "type": "nps", "customer": {"external_id": "bob"}}
    assert acme.event(no_score).status_code == 422
    scored_signup = {"id": "s-1", "type": "signup", "customer": {"external_id": "bob"}, "score": 9}
    assert acme.event(scored_signup).status_code == 422
    assert acme.event({**no_score, "score": 11}).status_code == 422
