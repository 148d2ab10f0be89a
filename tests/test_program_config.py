"""A program's configuration as one document: export, import, new versions."""

from __future__ import annotations

from typing import Any

from goodword.programs.models import Program, ProgramVersion
from tests.factories import PROGRAM, enrol, make_api, make_program, purchase

FULL: dict[str, Any] = {
    **PROGRAM,
    "name": "Everything",
    "rewards": [
        {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
         "conditions": {"tiers": ["Member"], "min_amount": 2500},
         "caps": [{"per": "advocate", "period": "month", "count": 10}],
         "starts_at": "2026-01-01T00:00:00Z", "expires_days": 90, "expiry_notice_days": 7},
        {"name": "Gold", "beneficiary": "advocate", "kind": "credit", "percent_of_order": 10,
         "refund_policy": "proportional", "conditions": {"tiers": ["Gold"], "variants": ["B"]}},
        {"name": "Friend", "beneficiary": "friend", "kind": "coupon", "percent_off": 15,
         "hold_days": 0},
        {"name": "Tenth", "beneficiary": "advocate", "kind": "credit", "amount": 5000,
         "milestone": {"at": [10]}},
    ],
    "tiers": {"basis": "referrals", "period": "year",
              "levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 5}]},
    "experiment": {"name": "Test", "holdout_percent": 5,
                   "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 2}]},
    "eligibility": {"who": "customers", "min_days_as_customer": 7},
}  # fmt: skip


def test_export_then_import_gives_the_same_program(db: None) -> None:
    acme = make_api("Acme")
    original = make_program(acme, **FULL)
    exported = acme.get(f"/programs/{original['id']}/config").json()
    assert exported["version"] == 1
    copy = acme.post("/programs", exported["config"])
    assert copy.status_code == 201, copy.content
    again = acme.get(f"/programs/{copy.json()['id']}/config").json()
    assert again["config"] == exported["config"]
    assert exported["config"]["rewards"][0]["caps"] == FULL["rewards"][0]["caps"]
    # The copy lives in another workspace too, validated the same way.
    globex = make_api("Globex")
    assert globex.post("/programs", exported["config"]).status_code == 201


def test_every_reward_kind_and_trigger_survives_export_and_import(db: None) -> None:
    acme = make_api("Acme")
    pool = acme.post("/coupon-pools", {"name": "Welcome", "low_threshold": 5}).json()["id"]
    rewards = [
        {"name": "Pool", "beneficiary": "friend", "kind": "coupon", "amount": 500,
         "coupon": {"pool": pool, "min_order": 3000}},
        {"name": "Pattern", "beneficiary": "friend", "kind": "coupon", "percent_off": 10,
         "coupon": {"pattern": "REF-XXXX-XXXX", "expires_days": 30}},
        {"name": "Commission", "beneficiary": "advocate", "kind": "cash", "percent_of_order": 10,
         "trigger": "subscription_payment", "recurring_months": 12, "max_total": 10000},
        {"name": "Socks", "beneficiary": "advocate", "kind": "product", "sku": "SOCK-1",
         "choices": [{"kind": "coupon", "amount": 800, "coupon": {"pool": pool}},
                     {"kind": "points", "amount": 200}], "choice_days": 10},
        {"name": "Review", "beneficiary": "friend", "kind": "charity", "amount": 300,
         "cause": "Trees", "trigger": "event", "event_name": "review_posted"},
        {"name": "Feedback", "beneficiary": "friend", "kind": "gift_card", "amount": 1000,
         "trigger": "nps"},
        {"name": "Thanks", "beneficiary": "advocate", "kind": "custom",
         "description": "A handwritten card"},
    ]  # fmt: skip
    original = make_program(acme, rewards=rewards)
    exported = acme.get(f"/programs/{original['id']}/config").json()["config"]
    assert exported["rewards"][0]["coupon"] == {"pool": pool, "min_order": 3000}
    assert exported["rewards"][3]["choices"][1] == {"kind": "points", "amount": 200,
                                                    "currency": "PTS"}  # fmt: skip
    replaced = acme.put(f"/programs/{original['id']}/config", exported)
    assert replaced.status_code == 200, replaced.content
    copy = acme.post("/programs", exported)
    assert copy.status_code == 201, copy.content
    assert acme.get(f"/programs/{copy.json()['id']}/config").json()["config"] == exported


def test_each_change_is_a_new_version_and_old_ones_are_kept(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(acme)
    path = f"/programs/{program['id']}"
    assert acme.patch(path, {"hold_days": 3}).status_code == 200
    replaced = acme.put(f"{path}/config", {**PROGRAM, "name": "Renamed", "hold_days": 7})
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["version"], replaced.json()["config"]["name"]) == (3, "Renamed")
    versions = acme.get(f"{path}/versions").json()["data"]
    assert [(v["version"], v["config"]["hold_days"]) for v in versions] == [(3, 7), (2, 3), (1, 14)]
    assert ProgramVersion.objects.filter(program__public_id=program["id"]).count() == 3


def test_putting_a_bad_configuration_changes_nothing(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(acme, **FULL)
    before = acme.get(f"/programs/{program['id']}/config").json()
    bad = {**FULL, "tiers": {"levels": [{"name": "Member", "min": 0}]}}  # drops "Gold"
    r = acme.put(f"/programs/{program['id']}/config", bad)
    assert r.status_code == 422
    assert "'Gold' is not one of the program's tiers" in r.json()["error"]["message"]
    assert acme.get(f"/programs/{program['id']}/config").json() == before
    assert Program.objects.get(public_id=program["id"]).version == 1


def test_another_workspace_cannot_read_or_replace_a_configuration(db: None) -> None:
    acme, globex = make_api("Acme"), make_api("Globex")
    program = make_program(acme)
    for method, path in (("get", "config"), ("get", "versions"), ("put", "config")):
        call = getattr(globex, method)
        r = call(f"/programs/{program['id']}/{path}", *([PROGRAM] if method == "put" else []))
        assert r.status_code == 404
    assert acme.get(f"/programs/{program['id']}/config").json()["config"]["name"] == PROGRAM["name"]


def test_the_loop_still_runs_on_an_imported_program(db: None) -> None:
    acme = make_api("Acme")
    program = acme.post("/programs", {**PROGRAM, "name": "Imported"}).json()
    code = enrol(acme, program["id"], "alice")["code"]
    answer = acme.event(purchase("p-1", "bob", "o-1", 2500, referral_code=code)).json()
    assert len(answer["rewards"]) == 2
