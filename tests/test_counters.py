"""The maintained counters (caps, tiers, milestones) always equal a count from the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goodword.programs import counters
from goodword.programs.models import Counter
from goodword.rewards.models import Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import enrol, make_api, make_program, purchase, refund, signup


def snapshot(workspace_id: int) -> dict[tuple[object, ...], tuple[int, int]]:
    rows = Counter.objects.filter(workspace_id=workspace_id)
    return {
        (c.program_id, c.rule_id, c.scope, c.scope_id, c.day): (c.count, c.amount)
        for c in rows
        if c.count or c.amount
    }


def test_counters_follow_grants_refunds_rejections_and_late_events(db: None) -> None:
    acme = make_api("Acme")
    capped = {"per": "advocate", "period": "month", "count": 50}
    budget = {"per": "program", "period": "lifetime", "amount": 10_000_000}
    program = make_program(
        acme,
        rewards=[
            {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "caps": [capped, budget]},
            {"beneficiary": "friend", "kind": "credit", "amount": 500,
             "caps": [{"per": "friend", "period": "lifetime", "count": 3}]},
        ],
        tiers={"levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 3}]},
    )  # fmt: skip
    alice = enrol(acme, program["id"], "alice")["code"]
    carol = enrol(acme, program["id"], "carol")["code"]
    now = datetime.now(UTC)
    for n, code in enumerate([alice, carol, alice, alice]):
        acme.event(signup(f"s-{n}", f"f{n}", referral_code=code))
        acme.event(purchase(f"p-{n}", f"f{n}", f"o-{n}", 2500))
    acme.event(refund("r-1", "f1", "o-1"))  # in the hold
    approve_due_rewards(now=now + timedelta(days=20))
    acme.event(refund("r-2", "f2", "o-2"))  # settled: clawed back
    # A late, older purchase makes f3 an existing customer: its rewards are withdrawn.
    old = {
        **purchase("p-old", "f3", "o-old", 900),
        "occurred_at": (now - timedelta(days=9)).isoformat(),
    }  # noqa: E501
    acme.event(signup("s-4", "f4", referral_code=carol))
    acme.event(purchase("p-4", "f4", "o-4", 2500))
    pending = Reward.objects.filter(status="pending").first()
    assert pending is not None
    r = acme.post(f"/rewards/{pending.public_id}/reject", {"reason": "duplicate"})
    assert r.status_code == 200, r.content
    acme.event(old)
    ws = acme.workspace.pk
    kept = snapshot(ws)
    counters.rebuild(ws)
    assert snapshot(ws) == kept
    assert kept  # something was counted
