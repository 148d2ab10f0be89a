"""The rewards pages of the dashboard: the list, a reward's page, and the review actions
(approve, reject, reverse, fulfil), one at a time and in bulk; rewards and credit granted by
hand; CSV export.

Each action is tried by every role: those without the permission get 403 and nothing changes
(statuses, ledger, audit log); those with it get exactly the service's result and one audit
entry naming them. Another workspace's ids are a 404 for every page and action.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern

from goodword.accounts.roles import Can
from goodword.dashboard.rewards import urls as reward_urls
from goodword.rewards.models import CreditAdjustment, LedgerTransaction, Reward
from tests.dashboard import (
    MANAGERS,
    REVIEWERS,
    ROLES,
    audits,
    counts_but_signing_in,
    owner,
    staff,
)
from tests.dashboard import markup as text
from tests.factories import Api, enrol, make_program, make_story, purchase, signup

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


@dataclass
class World:
    """acme: alice referred bob, who bought: alice's 10.00 and bob's 5.00 (credit) are
    pending. globex has a pending reward of its own, which acme's staff must never reach."""

    acme: Api
    globex: Api
    alice_reward: str
    bob_reward: str
    globex_reward: str

    def client(self, role: str) -> Client:
        return staff(self.acme.workspace, role)

    def stranger(self) -> Client:
        """globex's owner: every acme id is a 404 to them."""
        return owner(self.globex.workspace)


def make_world() -> World:
    story = make_story()
    acme, globex = story.acme, story.globex
    acme.event(signup("s-bob", "bob", referral_code=story.alice["code"]))
    converted = acme.event(purchase("p-bob", "bob", "order-1", 2500)).json()
    rewards = {r["beneficiary"]: r["id"] for r in converted["rewards"]}
    program = make_program(
        globex, name="Globex friends", destination_url="https://shop.globex.test/"
    )
    gina = enrol(globex, program["id"], "gina")
    globex.event(signup("s-gus", "gus", referral_code=gina["code"]))
    theirs = globex.event(purchase("p-gus", "gus", "g-order-1", 2500)).json()
    return World(
        acme=acme,
        globex=globex,
        alice_reward=rewards["advocate"],
        bob_reward=rewards["friend"],
        globex_reward=theirs["rewards"][0]["id"],
    )


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def statuses() -> dict[str, str]:
    return dict(Reward.objects.values_list("public_id", "status"))


def snapshot() -> tuple[dict[str, int], dict[str, str]]:
    """Every row count (but what signing in writes: sessions, users, memberships, the sign-in
    log) and every reward's status."""
    counts = counts_but_signing_in()
    return counts, statuses()


def ledger(reward_id: str) -> list[tuple[str, str, list[tuple[str, str, int]]]]:
    """A reward's transactions: (kind, key's last part, [(account kind, owner, amount)])."""
    out = []
    txns = LedgerTransaction.objects.filter(reward__public_id=reward_id).order_by("pk")
    for txn in txns:
        entries = [
            (
                e.account.kind,
                e.account.participant.external_id if e.account.participant else "",
                e.amount,
            )
            for e in txn.entries.select_related("account__participant").order_by("pk")
        ]
        out.append((txn.kind, txn.key.rpartition(":")[2], entries))
    return out


# Who may do what: every URL of this section names its permission.

PERMISSIONS = {
    "rewards": Can.VIEW,
    "rewards_export": Can.VIEW,
    "rewards_bulk": Can.REVIEW,
    "reward_grant": Can.MANAGE,
    "credit_adjust": Can.MANAGE,
    "reward": Can.VIEW,
    "reward_approve": Can.REVIEW,
    "reward_reject": Can.REVIEW,
    "reward_reverse": Can.REVIEW,
    "reward_fulfil": Can.REVIEW,
    "fulfilments": Can.VIEW,
    "fulfilment_done": Can.REVIEW,
    "payouts": Can.VIEW,
    "payout_batch_create": Can.REVIEW,
    "payout_batch": Can.VIEW,
    "payout_batch_approve": Can.REVIEW,
    "payout_batch_cancel": Can.REVIEW,
    "payout_batch_export": Can.REVIEW,
    "payout_paid": Can.REVIEW,
    "payout_failed": Can.REVIEW,
    "coupon_pools": Can.VIEW,
    "coupon_pool_create": Can.MANAGE,
    "coupon_pool": Can.VIEW,
    "coupon_pool_codes": Can.MANAGE,
}


def test_every_page_and_action_names_its_permission() -> None:
    patterns = [p for p in reward_urls.urlpatterns if isinstance(p, URLPattern)]
    found = {p.name: p.callback.permission for p in patterns}  # type: ignore[attr-defined]
    assert found == PERMISSIONS


# The list.


def test_list_shows_money_in_major_units_and_never_another_workspace(world: World) -> None:
    page = world.client("analyst").get("/dashboard/rewards/")
    assert page.status_code == 200
    body = text(page)
    assert "<h1>Rewards</h1>" in body
    assert world.alice_reward in body
    assert world.bob_reward in body
    assert ">$10.00<" in body
    assert ">$5.00<" in body
    assert ">1000<" not in body
    assert ">500<" not in body
    assert world.globex_reward not in body
    # An analyst sees no action.
    assert "Approve selected" not in body
    assert 'name="approve"' not in body


def test_list_filters_searches_and_sorts(world: World) -> None:
    client = world.client("analyst")

    def ids(query: str) -> list[str]:
        body = text(client.get("/dashboard/rewards/" + query))
        shown = [world.alice_reward, world.bob_reward]
        return sorted((i for i in shown if i in body), key=body.index)

    assert ids("?beneficiary=advocate") == [world.alice_reward]
    assert ids("?beneficiary=friend") == [world.bob_reward]
    assert ids("?q=bob") == [world.bob_reward]
    assert ids("?q=BOB%40example.net") == [world.bob_reward]
    assert ids("?status=approved") == []
    assert set(ids("?status=pending&kind=credit")) == {world.alice_reward, world.bob_reward}
    assert ids("?kind=cash") == []
    assert ids("?sort=amount") == [world.bob_reward, world.alice_reward]
    assert ids("?sort=-amount") == [world.alice_reward, world.bob_reward]
    assert ids("?source=manual") == []
    assert ids("?status=nonsense&sort=nonsense") != []  # unknown values are ignored


def test_points_coupons_and_percent_off_read_as_people_say_them(world: World) -> None:
    for body in (
        {"kind": "points", "amount": 120, "reason": "birthday"},
        {"kind": "coupon", "percent_off": 20, "reason": "sorry"},
        {"kind": "coupon", "amount": 550, "currency": "EUR", "reason": "sorry"},
    ):
        assert world.acme.post("/participants/alice/rewards", body).status_code == 201
    body = text(world.client("analyst").get("/dashboard/rewards/?source=manual"))
    assert ">120 points<" in body
    assert ">20% off<" in body
    assert ">€5.50 off<" in body


def test_csv_export_of_the_filtered_list_neutralises_formulas(world: World) -> None:
    hostile = '=HYPERLINK("http://evil.test","click")'
    grant = {"kind": "credit", "amount": 1234, "reason": hostile}
    granted = world.acme.post("/participants/alice/rewards", grant).json()["id"]
    answer = world.client("analyst").get("/dashboard/rewards/export.csv?source=manual")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="goodword-rewards.csv"'
    rows = list(csv.DictReader(io.StringIO(text(answer))))
    assert len(rows) == 1
    [row] = rows
    assert row["reward_id"] == granted
    assert row["reason"] == "'" + hostile
    assert row["amount"] == "12.34"
    assert row["value"] == "$12.34"
    assert row["status"] == "approved"
    assert world.globex_reward not in text(answer)
    # Unfiltered: every reward of acme, none of globex.
    everything = world.client("analyst").get("/dashboard/rewards/export.csv")
    ids = {r["reward_id"] for r in csv.DictReader(io.StringIO(text(everything)))}
    assert ids == {world.alice_reward, world.bob_reward, granted}


# Bulk approve and reject.


@pytest.mark.parametrize("role", REVIEWERS)
def test_bulk_approve_approves_each_with_its_ledger_and_audit(world: World, role: str) -> None:
    client = world.client(role)
    email = "owner@acme.test" if role == "owner" else f"{role}@acme.test"
    answer = client.post(
        "/dashboard/rewards/bulk/",
        {
            "action": "approve",
            "ids": [world.alice_reward, world.bob_reward],
            "next": "/dashboard/rewards/?status=pending",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/rewards/?status=pending"
    now = statuses()
    assert now[world.alice_reward] == now[world.bob_reward] == "approved"
    assert now[world.globex_reward] == "pending"
    assert ledger(world.alice_reward) == [
        ("reward", "approve", [("rewards", "", -1000), ("credit", "alice", 1000)])
    ]
    assert ledger(world.bob_reward) == [
        ("reward", "approve", [("rewards", "", -500), ("credit", "bob", 500)])
    ]
    assert audits() == [
        (email, "reward.approve", world.alice_reward, {}, "127.0.0.1"),
        (email, "reward.approve", world.bob_reward, {}, "127.0.0.1"),
    ]
    assert "Approved 2 rewards." in text(client.get(answer["Location"]))


def test_bulk_actions_are_forbidden_to_analysts(world: World) -> None:
    before = snapshot()
    client = world.client("analyst")
    for body in (
        {"action": "approve", "ids": [world.alice_reward]},
        {"action": "reject", "ids": [world.alice_reward], "reason": "no"},
        {"approve": world.bob_reward},
        {"reject": world.bob_reward, "reason": "no"},
    ):
        answer = client.post("/dashboard/rewards/bulk/", body)
        assert answer.status_code == 403
        assert "Not allowed" in text(answer)
    assert snapshot() == before
    assert audits() == []


def test_bulk_approve_with_own_other_and_already_approved_ids(world: World) -> None:
    assert world.acme.post(f"/rewards/{world.alice_reward}/approve", {}).status_code == 200
    before_alice = ledger(world.alice_reward)
    client = world.client("reviewer")
    answer = client.post(
        "/dashboard/rewards/bulk/",
        {
            "action": "approve",
            "ids": [world.alice_reward, world.globex_reward, world.bob_reward, "rwd_nope"],
        },
        follow=True,
    )
    assert answer.status_code == 200
    body = text(answer)
    assert "Approved 1 reward." in body
    assert f"1 not changed: reward {world.alice_reward} is already approved." in body
    assert "2 selected rewards were not found." in body
    assert world.globex_reward not in body
    now = statuses()
    assert (now[world.alice_reward], now[world.bob_reward]) == ("approved", "approved")
    assert now[world.globex_reward] == "pending"
    assert ledger(world.alice_reward) == before_alice  # nothing posted twice
    assert ledger(world.globex_reward) == []
    assert audits() == [("reviewer@acme.test", "reward.approve", world.bob_reward, {}, "127.0.0.1")]


def test_bulk_with_only_another_workspaces_ids_is_404(world: World) -> None:
    before = snapshot()
    client = world.client("owner")
    for body in (
        {"action": "approve", "ids": [world.globex_reward]},
        {"action": "reject", "ids": [world.globex_reward], "reason": "x"},
        {"approve": world.globex_reward},
        {"reject": world.globex_reward, "reason": "x"},
    ):
        assert client.post("/dashboard/rewards/bulk/", body).status_code == 404
    assert snapshot() == before
    assert audits() == []


def test_bulk_reject_needs_a_reason_next_to_its_field(world: World) -> None:
    before = snapshot()
    client = world.client("reviewer")
    answer = client.post(
        "/dashboard/rewards/bulk/",
        {
            "action": "reject",
            "ids": [world.bob_reward],
            "reason": "  ",
            "next": "/dashboard/rewards/?q=bob",
        },
    )
    assert answer.status_code == 400
    body = text(answer)
    assert 'id="bulk-reason-error">Give a reason: it goes in the audit log.</span>' in body
    assert f'value="{world.bob_reward}" checked' in body  # the selection is kept
    assert world.alice_reward not in body  # the list as it was: searched for bob
    assert snapshot() == before
    assert audits() == []


def test_row_reject_with_reason_rejects_that_one(world: World) -> None:
    client = world.client("admin")
    answer = client.post(
        "/dashboard/rewards/bulk/",
        {"reject": world.bob_reward, "ids": [world.alice_reward], "reason": "self-referral"},
    )
    assert answer.status_code == 302
    rejected = Reward.objects.get(public_id=world.bob_reward)
    assert (rejected.status, rejected.status_reason) == ("rejected", "self-referral")
    assert statuses()[world.alice_reward] == "pending"  # the row's button acts on its row only
    assert ledger(world.bob_reward) == []
    assert audits() == [
        (
            "admin@acme.test",
            "reward.reject",
            world.bob_reward,
            {"reason": "self-referral"},
            "127.0.0.1",
        )
    ]


def test_row_approve_button_approves_that_one(world: World) -> None:
    answer = world.client("reviewer").post(
        "/dashboard/rewards/bulk/", {"approve": world.alice_reward}, follow=True
    )
    assert "Approved 1 reward." in text(answer)
    assert statuses()[world.alice_reward] == "approved"
    assert statuses()[world.bob_reward] == "pending"


# A reward's page and its actions.


def test_reward_page_shows_details_ledger_and_actions_by_role(world: World) -> None:
    world.acme.post(f"/rewards/{world.alice_reward}/approve", {})
    page = world.client("reviewer").get(f"/dashboard/rewards/{world.alice_reward}/")
    assert page.status_code == 200
    body = text(page)
    assert f"Reward {world.alice_reward}" in body
    assert "<strong>$10.00</strong>" in body
    assert "Give $10, get $10" in body  # the program
    assert "Workspace · rewards" in body
    assert "-$10.00" in body
    assert "alice · credit" in body
    assert "Reason for reversing" in body
    assert "Reason for rejecting" not in body  # approved: only reversing is left
    analyst = text(world.client("analyst").get(f"/dashboard/rewards/{world.alice_reward}/"))
    assert "Reason for reversing" not in analyst
    assert "-$10.00" in analyst


def _act(world: World, role: str, action: str, body: dict[str, str] | None = None) -> Any:
    path = f"/dashboard/rewards/{world.alice_reward}/{action}/"
    return world.client(role).post(path, body or {})


@pytest.mark.parametrize("role", ROLES)
def test_approve_on_the_reward_page(world: World, role: str) -> None:
    before = snapshot()
    answer = _act(world, role, "approve")
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    assert answer["Location"] == f"/dashboard/rewards/{world.alice_reward}/"
    assert statuses()[world.alice_reward] == "approved"
    assert ledger(world.alice_reward) == [
        ("reward", "approve", [("rewards", "", -1000), ("credit", "alice", 1000)])
    ]
    [entry] = audits()
    assert entry[1:] == ("reward.approve", world.alice_reward, {}, "127.0.0.1")


@pytest.mark.parametrize("role", ROLES)
def test_reject_on_the_reward_page(world: World, role: str) -> None:
    before = snapshot()
    answer = _act(world, role, "reject", {"reject-reason": "existing customer"})
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    reward = Reward.objects.get(public_id=world.alice_reward)
    assert (reward.status, reward.status_reason) == ("rejected", "existing customer")
    assert ledger(world.alice_reward) == []
    [entry] = audits()
    assert entry[1:] == (
        "reward.reject",
        world.alice_reward,
        {"reason": "existing customer"},
        "127.0.0.1",
    )


@pytest.mark.parametrize("role", ROLES)
def test_reverse_on_the_reward_page_claws_back(world: World, role: str) -> None:
    world.acme.post(f"/rewards/{world.alice_reward}/approve", {})
    before = snapshot()
    answer = _act(world, role, "reverse", {"reverse-reason": "refunded by phone"})
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    reward = Reward.objects.get(public_id=world.alice_reward)
    assert (reward.status, reward.status_reason) == ("reversed", "refunded by phone")
    assert ledger(world.alice_reward) == [
        ("reward", "approve", [("rewards", "", -1000), ("credit", "alice", 1000)]),
        ("clawback", "clawback", [("credit", "alice", -1000), ("rewards", "", 1000)]),
    ]
    [entry] = audits()
    assert entry[1:] == (
        "reward.reverse",
        world.alice_reward,
        {"reason": "refunded by phone"},
        "127.0.0.1",
    )


def test_reject_and_reverse_need_a_reason(world: World) -> None:
    before = snapshot()
    client = world.client("owner")
    answer = client.post(f"/dashboard/rewards/{world.alice_reward}/reject/", {"reject-reason": ""})
    assert answer.status_code == 400
    assert "Give a reason: it goes in the audit log." in text(answer)
    answer = client.post(f"/dashboard/rewards/{world.alice_reward}/reverse/", {})
    assert answer.status_code == 400
    assert 'id="id_reverse-reason-error"' in text(answer)
    assert snapshot() == before
    assert audits() == []


def test_second_approval_is_409_and_posts_nothing(world: World) -> None:
    client = world.client("reviewer")
    assert _act(world, "reviewer", "approve").status_code == 302
    after_first = snapshot()
    again = client.post(f"/dashboard/rewards/{world.alice_reward}/approve/")
    assert again.status_code == 409
    assert f"reward {world.alice_reward} is already approved" in text(again)
    rejected = client.post(
        f"/dashboard/rewards/{world.alice_reward}/reject/", {"reject-reason": "late"}
    )
    assert rejected.status_code == 409
    assert "only a pending reward can be rejected" in text(rejected)
    assert snapshot() == after_first
    assert len(audits()) == 1


def test_fulfil_refuses_cash_with_409(world: World) -> None:
    cash = {"kind": "cash", "amount": 700, "reason": "commission"}
    reward_id = world.acme.post("/participants/alice/rewards", cash).json()["id"]
    before = snapshot()
    answer = world.client("owner").post(
        f"/dashboard/rewards/{reward_id}/fulfil/", {"reference": "paid by hand"}
    )
    assert answer.status_code == 409
    assert "is cash: it is paid through payout batches" in text(answer)
    assert snapshot() == before
    assert audits() == []


def test_another_workspaces_reward_is_404_everywhere(world: World) -> None:
    before = snapshot()
    stranger = world.stranger()
    base = f"/dashboard/rewards/{world.alice_reward}/"
    assert stranger.get(base).status_code == 404
    for action, body in (
        ("approve", {}),
        ("reject", {"reject-reason": "x"}),
        ("reverse", {"reverse-reason": "x"}),
        ("fulfil", {"reference": "x"}),
    ):
        assert stranger.post(base + action + "/", body).status_code == 404
    assert snapshot() == before
    assert audits() == []
    # And acme's list and export show nothing of globex, nor globex's of acme.
    assert world.alice_reward not in text(stranger.get("/dashboard/rewards/"))
    assert world.alice_reward not in text(stranger.get("/dashboard/rewards/export.csv"))


def test_actions_need_post(world: World) -> None:
    client = world.client("owner")
    for action in ("approve", "reject", "reverse", "fulfil"):
        assert client.get(f"/dashboard/rewards/{world.alice_reward}/{action}/").status_code == 405
    assert client.get("/dashboard/rewards/bulk/").status_code == 405
    assert statuses()[world.alice_reward] == "pending"


# Rewards and credit by hand.


GRANT = {
    "participant": "alice",
    "kind": "credit",
    "amount": "12.50",
    "currency": "usd",
    "program": "",
    "reason": "made up for a late parcel",
}


@pytest.mark.parametrize("role", ROLES)
def test_grant_a_reward_by_hand(world: World, role: str) -> None:
    before = snapshot()
    client = world.client(role)
    answer = client.post("/dashboard/rewards/new/", GRANT)
    if role not in MANAGERS:
        assert answer.status_code == 403
        assert client.get("/dashboard/rewards/new/").status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    granted = Reward.objects.get(source="manual")
    assert answer["Location"] == f"/dashboard/rewards/{granted.public_id}/"
    assert (granted.kind, granted.amount, granted.currency, granted.status) == (
        "credit",
        1250,
        "USD",
        "approved",
    )
    assert granted.reason == "made up for a late parcel"
    assert granted.participant.external_id == "alice"
    assert ledger(granted.public_id) == [
        ("reward", "approve", [("rewards", "", -1250), ("credit", "alice", 1250)])
    ]
    [entry] = audits()
    assert entry[1:] == (
        "reward.grant",
        granted.public_id,
        {
            "participant": "alice",
            "kind": "credit",
            "amount": 1250,
            "percent_off": None,
            "currency": "USD",
            "reason": "made up for a late parcel",
        },
        "127.0.0.1",
    )
    page = text(client.get(answer["Location"]))
    assert "Granted $12.50 (credit) to alice." in page


def test_grant_points_coupon_and_product(world: World) -> None:
    client = world.client("admin")
    program = world.acme.get("/programs").json()["data"][0]["id"]
    cases = [
        (
            {"kind": "points", "amount": "120", "currency": ""},
            ("points", 120, None, "PTS", "approved"),
        ),
        (
            {"kind": "coupon", "amount": "", "percent_off": "20"},
            ("coupon", None, 20, "USD", "fulfilled"),
        ),
        (
            {"kind": "product", "amount": "", "sku": "MUG-1", "program": program},
            ("product", None, None, "USD", "pending_fulfilment"),
        ),
    ]
    for fields, expected in cases:
        answer = client.post("/dashboard/rewards/new/", {**GRANT, **fields})
        assert answer.status_code == 302, text(answer)
        reward = Reward.objects.get(public_id=answer["Location"].split("/")[-2])
        got = (reward.kind, reward.amount, reward.percent_off, reward.currency, reward.status)
        assert got == expected
    coupon = Reward.objects.get(kind="coupon")
    assert len(coupon.coupon_code) > 0
    product = Reward.objects.get(kind="product")
    assert product.details == {"sku": "MUG-1"}
    assert product.program is not None
    assert product.program.public_id == program


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"participant": "nobody"}, "participant", "No participant has this external id"),
        ({"participant": "gina"}, "participant", "No participant has this external id"),
        ({"amount": "12.505"}, "amount", "USD amounts have at most 2 decimal places"),
        ({"amount": "ten"}, "amount", "enter an amount such as 10.50"),
        ({"amount": "0"}, "amount", "enter an amount above 0"),
        ({"amount": ""}, "amount", "a credit reward needs amount or percent_of_order"),
        ({"currency": "XYZ"}, "currency", "&#x27;XYZ&#x27; is not a currency code"),
        ({"kind": "product", "amount": ""}, "sku", "a product reward needs sku"),
        ({"kind": "credit", "percent_off": "10"}, "percent_off", "a credit reward takes"),
        ({"kind": "points", "amount": "1.5"}, "amount", "points are whole"),
        ({"reason": " "}, "reason", "Give a reason"),
        ({"kind": "shares"}, "kind", "Select a valid choice"),
    ],
)
def test_grant_errors_show_next_to_their_field(
    world: World, fields: dict[str, str], field: str, message: str
) -> None:
    before = snapshot()
    answer = world.client("owner").post("/dashboard/rewards/new/", {**GRANT, **fields})
    assert answer.status_code == 400
    body = text(answer)
    start = body.index(f'id="id_{field}-error"')
    assert message in body[start : start + 300]
    assert snapshot() == before
    assert audits() == []


@pytest.mark.parametrize(
    ("api", "page", "field"),
    [
        ({"kind": "product"}, {"kind": "product", "amount": ""}, "sku"),
        (
            {"kind": "credit", "amount": 500, "percent_off": 10},
            {"percent_off": "10"},
            "percent_off",
        ),
        ({"kind": "coupon"}, {"kind": "coupon", "amount": ""}, "percent_off"),
    ],
)
def test_grant_is_refused_as_the_api_refuses_it(
    world: World, api: dict[str, Any], page: dict[str, str], field: str
) -> None:
    """One schema (`ManualRewardIn`) checks both: the same refusal in the same words (the
    page drops the backticks)."""
    before = snapshot()
    refused = world.acme.post(
        "/participants/alice/rewards", {"currency": "USD", "reason": "thanks", **api}
    )
    assert refused.status_code == 422
    said = refused.json()["error"]["message"].replace("`", "")
    answer = world.client("owner").post("/dashboard/rewards/new/", {**GRANT, **page})
    assert answer.status_code == 400
    body = text(answer)
    start = body.index(f'id="id_{field}-error"')
    shown = body[start : start + 300]
    assert said.split(": ", 1)[-1] in shown.replace("&#x27;", "'")
    assert snapshot() == before
    assert audits() == []


@pytest.mark.parametrize("role", ROLES)
def test_adjust_credit_by_hand(world: World, role: str) -> None:
    before = snapshot()
    client = world.client(role)
    body = {
        "participant": "alice",
        "direction": "add",
        "amount": "5",
        "currency": "USD",
        "reason": "goodwill",
    }
    answer = client.post("/dashboard/rewards/credit/", body)
    if role not in MANAGERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    adjustment = CreditAdjustment.objects.get()
    assert (adjustment.amount, adjustment.currency, adjustment.reason) == (500, "USD", "goodwill")
    assert adjustment.actor.startswith("user:")
    [entry] = audits()
    assert entry[1:] == (
        "credit.adjust",
        adjustment.public_id,
        {"participant": "alice", "amount": 500, "currency": "USD", "reason": "goodwill"},
        "127.0.0.1",
    )
    assert "Added $5.00 of credit to alice." in text(client.get(answer["Location"]))
    # Taking more than is there: 409, next to the amount, nothing written.
    after = snapshot()
    too_much = client.post(
        "/dashboard/rewards/credit/", {**body, "direction": "take", "amount": "5.01"}
    )
    assert too_much.status_code == 409
    start = text(too_much).index('id="id_amount-error"')
    assert "Only $5.00 is available to take." in text(too_much)[start : start + 200]
    assert snapshot() == after
    assert len(audits()) == 1
