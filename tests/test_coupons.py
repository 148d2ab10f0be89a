"""Coupon rewards: generated codes, coupon pools, waiting rewards, revocation; through the API.

alice advocates in acme; each friend of hers buys and earns a coupon, approved by hand.
"""

from __future__ import annotations

import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from goodword.accounts.models import ApiKey
from goodword.events.models import DomainEvent
from goodword.lib.codes import SAFE_ALPHABET
from goodword.rewards import coupons
from goodword.rewards.models import CouponCode, CouponPool, Fulfilment, Reward
from tests.conftest import postgres
from tests.factories import PROGRAM, Api, enrol, make_api, make_program, purchase, refund
from tests.shared import row_counts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the friends' purchases
T1 = T0 + timedelta(days=1)  # approvals, one minute apart
SAFE = f"[{SAFE_ALPHABET}]"


# Every domain event written must match its name's schema.
pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def coupon_rule(coupon: dict[str, Any] | None) -> dict[str, Any]:
    rule = {"name": "Friend coupon", "beneficiary": "friend", "kind": "coupon", "percent_off": 15}
    return {**rule, "coupon": coupon} if coupon is not None else rule


@dataclass
class Shop:
    """acme with a program whose only rule gives each of alice's friends a coupon."""

    acme: Api
    globex: Api
    program: str
    alice_code: str
    actor: str
    friends: int = 0

    def convert(self) -> str:
        """Another friend of alice buys; the id of their (pending) coupon reward."""
        n = self.friends
        self.friends += 1
        body = purchase(f"p-{n}", f"friend{n}", f"order-{n}", 2500, referral_code=self.alice_code)
        with time_machine.travel(T0 + timedelta(minutes=n), tick=False):
            response = self.acme.event(body)
        assert response.status_code == 201, response.content
        (reward,) = response.json()["rewards"]
        return str(reward["id"])

    def approve(self, reward_id: str, minute: int = 0) -> dict[str, Any]:
        with time_machine.travel(T1 + timedelta(minutes=minute), tick=False):
            response = self.acme.post(f"/rewards/{reward_id}/approve", {})
        assert response.status_code == 200, response.content
        return dict(response.json())

    def earn(self, count: int) -> list[dict[str, Any]]:
        """`count` friends buy and their coupons are approved, a minute apart."""
        return [self.approve(self.convert(), minute=self.friends) for _ in range(count)]

    def reward(self, reward_id: str) -> dict[str, Any]:
        rows = self.acme.get("/rewards", limit=100).json()["data"]
        return dict(next(r for r in rows if r["id"] == reward_id))

    def pool(self, pool_id: str) -> dict[str, Any]:
        response = self.acme.get(f"/coupon-pools/{pool_id}")
        assert response.status_code == 200, response.content
        return dict(response.json())

    def upload(self, pool_id: str, codes: list[str], minute: int = 0) -> dict[str, Any]:
        with time_machine.travel(T1 + timedelta(hours=1, minutes=minute), tick=False):
            response = self.acme.post(f"/coupon-pools/{pool_id}/codes", {"codes": codes})
        assert response.status_code == 200, response.content
        return dict(response.json())


def make_pool(api: Api, codes: list[str], low_threshold: int = 0, name: str = "Spring") -> str:
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        response = api.post("/coupon-pools", {"name": name, "low_threshold": low_threshold})
        assert response.status_code == 201, response.content
        pool_id = str(response.json()["id"])
        if codes:
            answer = api.post(f"/coupon-pools/{pool_id}/codes", {"codes": codes})
            assert answer.status_code == 200, answer.content
    return pool_id


def make_shop(coupon: dict[str, Any] | None, acme: Api | None = None) -> Shop:
    acme = acme or make_api("Acme")
    globex = make_api("Globex")
    program = make_program(acme, rewards=[coupon_rule(coupon)])
    alice = enrol(acme, program["id"], "alice")
    key = ApiKey.objects.get(workspace=acme.workspace)
    return Shop(acme, globex, program["id"], alice["code"], f"api_key:{key.public_id}")


def events_named(*names: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(name__in=names).order_by("pk")
    return [(e.name, e.subject_id, e.data) for e in rows]


# Generated codes ------------------------------------------------------------------------------


def test_pattern_codes_follow_the_pattern_in_the_safe_alphabet(db: None) -> None:
    shop = make_shop({"pattern": "REF-XXXX-XXXX"})
    rewards = shop.earn(8)
    for reward in rewards:
        assert re.fullmatch(f"REF-{SAFE}{{4}}-{SAFE}{{4}}", reward["coupon_code"]), reward
        assert (reward["status"], reward["fulfilled_at"]) == ("fulfilled", reward["approved_at"])
        assert (reward["details"], reward["coupon_expires_at"]) == ({}, None)
    assert len({r["coupon_code"] for r in rewards}) == 8
    fulfilled = events_named("reward.fulfilled")
    assert [(s, d) for _, s, d in fulfilled] == [
        (r["id"], {"referral": r["referral"], "actor": shop.actor}) for r in rewards
    ]
    assert CouponCode.objects.count() == 0  # generated codes are not pool codes


def test_prefix_and_length_codes(db: None) -> None:
    shop = make_shop({"prefix": "FRIEND-", "length": 6})
    for reward in shop.earn(5):
        assert re.fullmatch(f"FRIEND-{SAFE}{{6}}", reward["coupon_code"]), reward


def test_a_rule_without_coupon_options_and_a_manual_coupon_get_ten_characters(db: None) -> None:
    shop = make_shop(None)
    (earned,) = shop.earn(1)
    with time_machine.travel(T1, tick=False):
        grant = {"kind": "coupon", "percent_off": 10, "reason": "birthday"}
        manual = shop.acme.post("/participants/alice/rewards", grant).json()
    for reward in (earned, manual):
        assert re.fullmatch(f"{SAFE}{{10}}", reward["coupon_code"]), reward
        assert reward["status"] == "fulfilled"


def _codes(seed: int, pattern: str, n: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - the same draws as the seeded module
    return [
        "".join(rng.choice(SAFE_ALPHABET) if c == "X" else c for c in pattern) for _ in range(n)
    ]


def test_a_code_already_given_is_drawn_again(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = make_shop({"pattern": "XXXXXX"})
    first, second, third = _codes(7, "XXXXXX", 3)
    monkeypatch.setattr(coupons, "_rng", random.Random(7))  # noqa: S311
    assert shop.earn(1)[0]["coupon_code"] == first
    # The same seed again: its first draw is taken, so the second is given.
    monkeypatch.setattr(coupons, "_rng", random.Random(7))  # noqa: S311
    assert shop.earn(1)[0]["coupon_code"] == second
    # A code uploaded to a pool counts as taken too, given out or not.
    make_pool(shop.acme, [third.lower(), third])
    monkeypatch.setattr(coupons, "_rng", random.Random(7))  # noqa: S311
    fourth = _codes(7, "XXXXXX", 4)[3]
    assert shop.earn(1)[0]["coupon_code"] == fourth


def test_when_every_try_collides_the_approval_is_refused_and_writes_nothing(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stuck(random.Random):
        def choice(self, seq: Any) -> Any:
            return seq[0]

    shop = make_shop({"pattern": "XXXXXX"})
    monkeypatch.setattr(coupons, "_rng", Stuck())
    assert shop.earn(1)[0]["coupon_code"] == "222222"
    reward_id = shop.convert()
    before = row_counts()
    with time_machine.travel(T1, tick=False):
        response = shop.acme.post(f"/rewards/{reward_id}/approve", {})
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "coupon_codes_exhausted"
    assert row_counts() == before
    assert shop.reward(reward_id)["status"] == "pending"


def test_min_order_and_expiry_are_on_the_coupon(db: None) -> None:
    shop = make_shop({"prefix": "F-", "min_order": 5000, "expires_days": 30})
    (reward,) = shop.earn(1)
    assert reward["details"] == {"min_order": 5000}
    approved = T1 + timedelta(minutes=1)
    assert reward["approved_at"] == iso(approved)
    assert reward["coupon_expires_at"] == iso(approved + timedelta(days=30))


# Pools ----------------------------------------------------------------------------------------


def test_pool_codes_are_given_oldest_first_and_counted(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["SPRING-C", "SPRING-A", "SPRING-B"])
    shop = make_shop({"pool": pool_id, "min_order": 3000, "expires_days": 7}, acme=acme)
    assert shop.upload(pool_id, ["SPRING-D"]) == {"added": 1, "duplicates": 0, "filled": 0}

    rewards = shop.earn(3)

    assert [r["coupon_code"] for r in rewards] == ["SPRING-C", "SPRING-A", "SPRING-B"]
    for n, reward in enumerate(rewards):
        approved = T1 + timedelta(minutes=n + 1)
        assert (reward["status"], reward["fulfilled_at"]) == ("fulfilled", iso(approved))
        assert reward["details"] == {"min_order": 3000, "pool": pool_id}
        assert reward["coupon_expires_at"] == iso(approved + timedelta(days=7))
    pool = shop.pool(pool_id)
    assert {k: pool[k] for k in ("codes", "issued", "left", "waiting")} == {
        "codes": 4,
        "issued": 3,
        "left": 1,
        "waiting": 0,
    }
    issued = shop.acme.get(f"/coupon-pools/{pool_id}/codes", status="issued").json()
    assert [(c["code"], c["status"], c["reward"]) for c in issued["data"]] == [
        ("SPRING-B", "issued", rewards[2]["id"]),
        ("SPRING-A", "issued", rewards[1]["id"]),
        ("SPRING-C", "issued", rewards[0]["id"]),
    ]
    free = shop.acme.get(f"/coupon-pools/{pool_id}/codes", status="free").json()
    assert [(c["code"], c["reward"], c["issued_at"]) for c in free["data"]] == [
        ("SPRING-D", None, None)
    ]
    page = shop.acme.get(f"/coupon-pools/{pool_id}/codes", limit=3).json()
    assert [c["code"] for c in page["data"]] == ["SPRING-D", "SPRING-B", "SPRING-A"]
    rest = shop.acme.get(f"/coupon-pools/{pool_id}/codes", limit=3, cursor=page["next_cursor"])
    assert [c["code"] for c in rest.json()["data"]] == ["SPRING-C"]
    assert rest.json()["next_cursor"] is None


def test_the_low_event_is_sent_once_at_the_threshold_until_codes_are_added_above_it(
    db: None,
) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, [f"C{n}" for n in range(4)], low_threshold=2)
    shop = make_shop({"pool": pool_id}, acme=acme)

    shop.earn(1)  # 3 left
    assert events_named("coupon_pool.low") == []
    shop.earn(1)  # 2 left: low
    low = ("coupon_pool.low", pool_id, {"left": 2, "low_threshold": 2})
    assert events_named("coupon_pool.low") == [low]
    assert shop.pool(pool_id)["low_notified_at"] == iso(T1 + timedelta(minutes=2))
    shop.earn(1)  # 1 left: still low, not sent again
    shop.upload(pool_id, ["C4"])  # 2 left: not above the threshold, so not armed again
    shop.earn(1)
    assert events_named("coupon_pool.low") == [low]

    shop.upload(pool_id, ["C5", "C6", "C7"])  # 4 left: armed again
    assert shop.pool(pool_id)["low_notified_at"] is None
    shop.earn(1)  # 3 left
    assert len(events_named("coupon_pool.low")) == 1
    shop.earn(1)  # 2 left: low again
    assert events_named("coupon_pool.low") == [low, low]


def test_raising_the_threshold_above_what_is_left_warns_at_the_next_draw(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, [f"C{n}" for n in range(6)], low_threshold=1)
    shop = make_shop({"pool": pool_id}, acme=acme)
    with time_machine.travel(T0, tick=False):
        changed = shop.acme.patch(f"/coupon-pools/{pool_id}", {"low_threshold": 5}).json()
    assert (changed["low_threshold"], changed["left"]) == (5, 6)
    shop.earn(1)
    assert events_named("coupon_pool.low") == [
        ("coupon_pool.low", pool_id, {"left": 5, "low_threshold": 5})
    ]
    assert events_named("coupon_pool.updated") == [
        ("coupon_pool.updated", pool_id, {"fields": ["low_threshold"]})
    ]


def test_an_empty_pool_leaves_rewards_waiting_and_uploads_fill_them_oldest_first(
    db: None,
) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["ONLY-1"])
    shop = make_shop({"pool": pool_id, "min_order": 3000, "expires_days": 10}, acme=acme)

    first, second, third = shop.earn(3)

    assert (first["status"], first["coupon_code"]) == ("fulfilled", "ONLY-1")
    for reward in (second, third):
        assert (reward["status"], reward["coupon_code"], reward["fulfilled_at"]) == (
            "pending_fulfilment",
            None,
            None,
        )
        assert reward["coupon_expires_at"] is None  # counted from when the code is given
        assert reward["details"] == {"min_order": 3000, "pool": pool_id}
    waiting = Fulfilment.objects.order_by("pk")
    assert [(f.reward.public_id, f.status, f.waiting_for) for f in waiting] == [
        (second["id"], "pending", "pool_codes"),
        (third["id"], "pending", "pool_codes"),
    ]
    assert events_named("coupon_pool.low", "coupon_pool.empty") == [
        ("coupon_pool.low", pool_id, {"left": 0, "low_threshold": 0}),
        ("coupon_pool.empty", pool_id, {"reward": second["id"], "waiting": 1}),
        ("coupon_pool.empty", pool_id, {"reward": third["id"], "waiting": 2}),
    ]
    assert shop.pool(pool_id)["waiting"] == 2
    # Its code arrives with the pool's codes, not as a reference given by hand.
    by_hand = shop.acme.post(f"/rewards/{second['id']}/fulfil", {"reference": "x"})
    assert (by_hand.status_code, by_hand.json()["error"]["code"]) == (409, "invalid_state")

    assert shop.upload(pool_id, ["NEW-1"], minute=0) == {"added": 1, "duplicates": 0, "filled": 1}
    filled_at = T1 + timedelta(hours=1)
    now = shop.reward(second["id"])
    assert (now["status"], now["coupon_code"], now["fulfilled_at"]) == (
        "fulfilled",
        "NEW-1",
        iso(filled_at),
    )
    assert now["coupon_expires_at"] == iso(filled_at + timedelta(days=10))
    assert shop.reward(third["id"])["status"] == "pending_fulfilment"

    answer = shop.upload(pool_id, ["NEW-1", "NEW-2", "NEW-2", "NEW-3"], minute=5)
    assert answer == {"added": 2, "duplicates": 2, "filled": 1}
    assert shop.reward(third["id"])["coupon_code"] == "NEW-2"
    assert [(f.status, f.done_at) for f in Fulfilment.objects.order_by("pk")] == [
        ("done", filled_at),
        ("done", filled_at + timedelta(minutes=5)),
    ]
    pool = shop.pool(pool_id)
    assert {k: pool[k] for k in ("codes", "issued", "left", "waiting")} == {
        "codes": 4,
        "issued": 3,
        "left": 1,
        "waiting": 0,
    }
    assert [(s, d) for _, s, d in events_named("reward.fulfilled")][1:] == [
        (second["id"], {"referral": second["referral"]}),
        (third["id"], {"referral": third["referral"]}),
    ]
    assert events_named("coupon_pool.codes_added")[1:] == [
        ("coupon_pool.codes_added", pool_id, {"added": 1, "duplicates": 0}),
        ("coupon_pool.codes_added", pool_id, {"added": 2, "duplicates": 2}),
    ]
    # The fulfilment queue tells the same story as for every kind it holds.
    rows = {f.public_id: f.reward.public_id for f in Fulfilment.objects.all()}
    queue = [(rows[s], d) for _, s, d in events_named("fulfilment.queued", "fulfilment.done")]
    assert [(r, {k: v for k, v in d.items() if k != "participant"}) for r, d in queue] == [
        (second["id"], {"reward": second["id"], "kind": "coupon"}),
        (third["id"], {"reward": third["id"], "kind": "coupon"}),
        (second["id"], {"reward": second["id"], "reference": "NEW-1", "actor": None}),
        (third["id"], {"reward": third["id"], "reference": "NEW-2", "actor": None}),
    ]


def test_a_rule_naming_a_pool_that_vanished_waits_and_says_so(db: None) -> None:
    """Pools are not deleted; were one gone, its rewards would wait, loudly, not fail."""
    acme = make_api("Acme")
    pool_id = make_pool(acme, [])
    shop = make_shop({"pool": pool_id}, acme=acme)
    reward_id = shop.convert()
    CouponPool.objects.filter(public_id=pool_id).delete()
    assert shop.approve(reward_id)["status"] == "pending_fulfilment"
    assert events_named("coupon_pool.empty") == [
        ("coupon_pool.empty", pool_id, {"reward": reward_id, "waiting": 1})
    ]


# Reversal -------------------------------------------------------------------------------------


def test_a_refund_revokes_a_generated_code(db: None) -> None:
    shop = make_shop({"prefix": "F-"})
    (reward,) = shop.earn(1)
    with time_machine.travel(T1 + timedelta(days=1), tick=False):
        assert shop.acme.event(refund("r-0", "friend0", "order-0")).status_code == 201
    assert shop.reward(reward["id"])["status"] == "reversed"
    assert events_named("coupon.revoked", "reward.reversed") == [
        (
            "coupon.revoked",
            reward["id"],
            {"referral": reward["referral"], "code": reward["coupon_code"], "pool": None},
        ),
        ("reward.reversed", reward["id"], {"referral": reward["referral"], "was": "fulfilled"}),
    ]


def test_a_reversed_pool_code_is_revoked_and_never_given_again(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["P1", "P2"])
    shop = make_shop({"pool": pool_id}, acme=acme)
    (first,) = shop.earn(1)
    with time_machine.travel(T1 + timedelta(hours=2), tick=False):
        body = {"reason": "fake order"}
        reversed_ = shop.acme.post(f"/rewards/{first['id']}/reverse", body).json()
    assert (reversed_["status"], reversed_["coupon_code"]) == ("reversed", "P1")
    assert events_named("coupon.revoked") == [
        ("coupon.revoked", first["id"], {"referral": first["referral"], "code": "P1",
                                         "pool": pool_id}),
    ]  # fmt: skip
    code = CouponCode.objects.get(code="P1")
    reward_pk = Reward.objects.get(public_id=first["id"]).pk
    assert (code.reward_id, code.issued_at) == (reward_pk, T1 + timedelta(minutes=1))
    assert [r["coupon_code"] for r in shop.earn(2)] == ["P2", None]
    assert shop.pool(pool_id)["left"] == 0


def test_a_waiting_coupon_that_is_reversed_stops_waiting(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, [])
    shop = make_shop({"pool": pool_id}, acme=acme)
    waiting, later = shop.earn(2)
    assert waiting["status"] == later["status"] == "pending_fulfilment"
    with time_machine.travel(T1 + timedelta(hours=2), tick=False):
        body = {"reason": "fraud review"}
        assert shop.acme.post(f"/rewards/{waiting['id']}/reverse", body).status_code == 200
    assert Fulfilment.objects.get(reward__public_id=waiting["id"]).status == "cancelled"
    assert events_named("coupon.revoked") == []  # it had no code to revoke
    assert events_named("reward.reversed") == [
        (
            "reward.reversed",
            waiting["id"],
            {
                "referral": waiting["referral"],
                "was": "pending_fulfilment",
                "reason": "fraud review",
                "actor": shop.actor,
            },
        )
    ]
    # The next codes go to the reward still waiting only.
    assert shop.upload(pool_id, ["Z1", "Z2"]) == {"added": 2, "duplicates": 0, "filled": 1}
    assert shop.reward(waiting["id"])["coupon_code"] is None
    assert shop.reward(later["id"])["coupon_code"] == "Z1"
    assert shop.pool(pool_id)["left"] == 1


# Programs naming pools ------------------------------------------------------------------------


def test_a_rule_naming_a_pool_of_another_workspace_is_refused_and_nothing_is_written(
    db: None,
) -> None:
    acme = make_api("Acme")
    globex = make_api("Globex")
    foreign = make_pool(globex, ["G1"])
    own = make_pool(acme, ["A1"])
    program = make_program(acme, rewards=[coupon_rule({"pool": own})])
    path = f"/programs/{program['id']}"
    before, program_before = row_counts(), acme.get(path).json()
    credit = PROGRAM["rewards"][0]
    choice = {
        **credit,
        "choices": [{"kind": "coupon", "percent_off": 5, "coupon": {"pool": foreign}}],
    }
    for pool, rewards, where in [
        (foreign, [coupon_rule({"pool": foreign})], "rewards[0].coupon.pool"),
        ("cpl_nope", [credit, coupon_rule({"pool": "cpl_nope"})], "rewards[1].coupon.pool"),
        (foreign, [choice], "rewards[0].choices[0].coupon.pool"),
    ]:
        for method, url, body in [
            ("post", "/programs", {**PROGRAM, "rewards": rewards}),
            ("patch", path, {"rewards": rewards}),
            ("put", f"{path}/config", {**PROGRAM, "rewards": rewards}),
        ]:
            response = getattr(acme, method)(url, body)
            assert response.status_code == 422, (method, response.content)
            error = response.json()["error"]
            message = f"no coupon pool {pool!r} in this workspace"
            assert (error["code"], error["message"]) == ("validation_error", f"{where}: {message}")
            loc = [
                "body",
                "body",
                *(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", where) if p),
            ]
            assert error["details"] == [{"loc": loc, "msg": message, "type": "unknown_pool"}]
    assert row_counts() == before
    assert acme.get(path).json() == program_before


def test_a_rule_naming_its_own_pool_is_kept(db: None) -> None:
    acme = make_api("Acme")
    own = make_pool(acme, ["A1"])
    program = make_program(acme, rewards=[coupon_rule({"pool": own, "min_order": 100})])
    assert program["rewards"][0]["coupon"]["pool"] == own
    patched = acme.patch(f"/programs/{program['id']}", {"rewards": [coupon_rule({"pool": own})]})
    assert patched.status_code == 200, patched.content
    put = acme.put(
        f"/programs/{program['id']}/config", {**PROGRAM, "rewards": [coupon_rule({"pool": own})]}
    )
    assert put.status_code == 200, put.content


# The API: lists, workspaces, bad input ---------------------------------------------------------


def test_pools_are_listed_newest_first_with_their_counts(db: None) -> None:
    acme = make_api("Acme")
    with time_machine.travel(T0, tick=False):
        created = acme.post("/coupon-pools", {"name": "  Spring  ", "low_threshold": 3})
    assert created.status_code == 201, created.content
    spring = created.json()
    assert spring == {
        "id": spring["id"],
        "name": "Spring",
        "low_threshold": 3,
        "codes": 0,
        "issued": 0,
        "left": 0,
        "waiting": 0,
        "low_notified_at": None,
        "created_at": iso(T0),
    }
    summer = make_pool(acme, ["S1", "S2"], name="Summer")
    page = acme.get("/coupon-pools", limit=1).json()
    assert [(p["id"], p["codes"], p["left"]) for p in page["data"]] == [(summer, 2, 2)]
    rest = acme.get("/coupon-pools", limit=1, cursor=page["next_cursor"]).json()
    assert rest == {"data": [spring], "next_cursor": None}
    renamed = acme.patch(f"/coupon-pools/{spring['id']}", {"name": "Spring 2026"})
    assert renamed.json()["name"] == "Spring 2026"
    assert acme.patch(f"/coupon-pools/{spring['id']}", {"name": "Spring 2026"}).status_code == 200
    assert events_named("coupon_pool.created", "coupon_pool.updated") == [
        ("coupon_pool.created", spring["id"], {"name": "Spring", "low_threshold": 3}),
        ("coupon_pool.created", summer, {"name": "Summer", "low_threshold": 0}),
        ("coupon_pool.updated", spring["id"], {"fields": ["name"]}),
    ]


def test_another_workspace_gets_404_and_acme_is_unchanged(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["A1", "A2"])
    globex = make_api("Globex")
    before, pool_before = row_counts(), acme.get(f"/coupon-pools/{pool_id}").json()
    for method, path, body in [
        ("get", f"/coupon-pools/{pool_id}", None),
        ("patch", f"/coupon-pools/{pool_id}", {"name": "Pwned"}),
        ("post", f"/coupon-pools/{pool_id}/codes", {"codes": ["A1", "G1"]}),
        ("get", f"/coupon-pools/{pool_id}/codes", None),
    ]:
        response = getattr(globex, method)(path, **({} if body is None else {"body": body}))
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert globex.get("/coupon-pools").json() == {"data": [], "next_cursor": None}
    cursor = globex.get("/coupon-pools", cursor=pool_id)
    assert (cursor.status_code, cursor.json()["error"]["code"]) == (400, "invalid_cursor")
    assert row_counts() == before
    assert acme.get(f"/coupon-pools/{pool_id}").json() == pool_before


MANY = [f"C{n}" for n in range(10_001)]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/coupon-pools", {"low_threshold": 1}, 422, "name: is required"),
        ("post", "/coupon-pools", {"name": "  "}, 422, "name: must not be empty"),
        ("post", "/coupon-pools", {"name": "x" * 101}, 422, "name: must have at most 100"),
        (
            "post",
            "/coupon-pools",
            {"name": "P", "low_threshold": -1},
            422,
            "low_threshold: must be at least 0",
        ),
        (
            "post",
            "/coupon-pools",
            {"name": "P", "low_threshold": "5"},
            422,
            "low_threshold: must be an integer",
        ),
        ("post", "/coupon-pools", {"name": "P", "colour": 1}, 422, "colour: is not a known field"),
        ("patch", "{pool}", {"name": None}, 422, "name cannot be null"),
        (
            "patch",
            "{pool}",
            {"low_threshold": 1_000_001},
            422,
            "low_threshold: must be at most 1000000",
        ),
        ("post", "{pool}/codes", {}, 422, "codes: is required"),
        ("post", "{pool}/codes", {"codes": []}, 422, "codes: must not be empty"),
        ("post", "{pool}/codes", {"codes": "A1"}, 422, "codes: must be a JSON array"),
        ("post", "{pool}/codes", {"codes": ["A1", 7]}, 422, "codes[1]: must be a string"),
        ("post", "{pool}/codes", {"codes": [""]}, 422, "codes[0]: a code is 1 to 40 letters"),
        ("post", "{pool}/codes", {"codes": ["A B"]}, 422, "codes[0]: a code is 1 to 40 letters"),
        ("post", "{pool}/codes", {"codes": ["A1", "x" * 41]}, 422, "codes[1]: a code is 1 to 40"),
        ("post", "{pool}/codes", {"codes": ["ÄPFEL"]}, 422, "codes[0]: a code is 1 to 40"),
        ("post", "{pool}/codes", {"codes": MANY}, 422, "codes: must have at most 10000 items"),
        ("get", "{pool}/codes?status=used", None, 422, "status"),
        ("get", "{pool}/codes?limit=0", None, 400, "limit must be between 1 and 100"),
        ("get", "/coupon-pools?cursor=cpl_nope", None, 400, "cursor is not valid"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    db: None, method: str, path: str, body: Any, status: int, message: str
) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["A1"])
    url = path.replace("{pool}", f"/coupon-pools/{pool_id}")
    before, pool_before = row_counts(), acme.get(f"/coupon-pools/{pool_id}").json()
    if method == "get":
        response = acme.client.get(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {acme.key}")
    else:
        response = getattr(acme, method)(url, body)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"], response.json()
    assert row_counts() == before
    assert acme.get(f"/coupon-pools/{pool_id}").json() == pool_before


def test_ten_thousand_codes_in_one_upload(db: None) -> None:
    acme = make_api("Acme")
    pool_id = make_pool(acme, ["C0"])
    answer = acme.post(f"/coupon-pools/{pool_id}/codes", {"codes": MANY[:10_000]}).json()
    assert answer == {"added": 9_999, "duplicates": 1, "filled": 0}
    assert CouponCode.objects.filter(pool__public_id=pool_id).count() == 10_000


# Concurrency (PostgreSQL) ---------------------------------------------------------------------


def _approve_at_once(key: str, reward_ids: list[str], uploads: list[tuple[str, list[str]]]) -> None:
    """Approve each reward and make each upload from its own thread, all released together."""
    calls = [(f"/api/v1/rewards/{r}/approve", {}) for r in reward_ids]
    calls += [(f"/api/v1/coupon-pools/{p}/codes", {"codes": c}) for p, c in uploads]
    barrier = threading.Barrier(len(calls), timeout=60)

    def call(path: str, body: dict[str, Any]) -> int:
        import json

        try:
            client = Client()
            barrier.wait()
            response = client.post(
                path, json.dumps(body), content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )  # fmt: skip
            return int(response.status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = list(pool.map(lambda c: call(*c), calls))
    assert statuses == [200] * len(calls)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_draws_give_distinct_codes_and_the_rest_wait() -> None:
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    acme = make_api("Acme")
    codes = [f"RACE-{n}" for n in range(8)]
    pool_id = make_pool(acme, codes, low_threshold=2)
    shop = make_shop({"pool": pool_id}, acme=acme)
    rewards = [shop.convert() for _ in range(12)]

    _approve_at_once(acme.key, rewards, [])

    given = list(Reward.objects.exclude(coupon_code="").values_list("coupon_code", flat=True))
    assert sorted(given) == sorted(codes)
    assert Reward.objects.filter(status="fulfilled").count() == 8
    assert Reward.objects.filter(status="pending_fulfilment").count() == 4
    assert Fulfilment.objects.filter(status="pending", waiting_for="pool_codes").count() == 4
    assert CouponCode.objects.filter(reward__isnull=True).count() == 0
    assert len(events_named("coupon_pool.low")) == 1
    assert len(events_named("coupon_pool.empty")) == 4
    # Each code went to the reward its row names.
    for code in CouponCode.objects.select_related("reward"):
        assert code.reward is not None
        assert code.reward.coupon_code == code.code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_upload_racing_draws_on_an_empty_pool_leaves_no_reward_waiting() -> None:
    if not postgres():
        pytest.skip("row locks under real concurrency: PostgreSQL only")
    acme = make_api("Acme")
    pool_id = make_pool(acme, [])
    shop = make_shop({"pool": pool_id}, acme=acme)
    for round_ in range(3):
        rewards = [shop.convert() for _ in range(5)]
        _approve_at_once(acme.key, rewards, [(pool_id, [f"R{round_}-{n}" for n in range(5)])])
        assert Reward.objects.filter(status="pending_fulfilment").count() == 0, round_
        assert CouponCode.objects.filter(reward__isnull=True).count() == 0
    assert Reward.objects.filter(status="fulfilled").count() == 15
    assert not Fulfilment.objects.filter(status="pending").exists()
