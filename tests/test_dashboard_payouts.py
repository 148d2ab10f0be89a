"""The fulfilment queue, payout batches and coupon pools of the dashboard.

Each action is tried by every role: those without the permission get 403 and nothing changes;
those with it get exactly the service's result and one audit entry naming them. Another
workspace's ids are a 404 for every page and action.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from goodword.accounts.models import AuditEntry
from goodword.rewards.models import (
    CouponCode,
    CouponPool,
    Fulfilment,
    LedgerTransaction,
    Payout,
    PayoutBatch,
    Reward,
)
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
from tests.factories import Api, make_story

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


@dataclass
class World:
    """acme owes alice 15.00 and `=evil` 7.00 in cash, and must send alice a mug; globex owes
    gina 9.00 and must send her a hat. acme's staff never reach globex's rows."""

    acme: Api
    globex: Api
    mug: str  # acme's fulfilment
    hat: str  # globex's fulfilment
    globex_batch: str
    globex_payout: str
    globex_pool: str

    def client(self, role: str) -> Client:
        return staff(self.acme.workspace, role)

    def stranger(self) -> Client:
        return owner(self.globex.workspace)


def _grant(api: Api, who: str, body: dict[str, Any]) -> str:
    answer = api.post(f"/participants/{who}/rewards", {"reason": "by hand", **body})
    assert answer.status_code == 201, answer.content
    return str(answer.json()["id"])


def _fulfilment_of(reward_id: str) -> str:
    return Fulfilment.objects.get(reward__public_id=reward_id).public_id


def make_world() -> World:
    story = make_story()
    acme, globex = story.acme, story.globex
    hostile = {"external_id": "=evil", "email": "evil@example.net", "name": "@SUM(1+1)"}
    assert acme.post("/participants", hostile).status_code in (200, 201)
    _grant(acme, "alice", {"kind": "cash", "amount": 1500})
    _grant(acme, "=evil", {"kind": "cash", "amount": 700})
    mug = _grant(acme, "alice", {"kind": "product", "sku": "MUG-1"})
    assert globex.post("/participants", {"external_id": "gina", "email": "g@x.net"}).status_code
    _grant(globex, "gina", {"kind": "cash", "amount": 900})
    hat = _grant(globex, "gina", {"kind": "product", "sku": "HAT-1"})
    batch = globex.post("/payout-batches", {"currency": "USD"}).json()
    pool = globex.post("/coupon-pools", {"name": "Globex codes"}).json()
    return World(
        acme=acme,
        globex=globex,
        mug=_fulfilment_of(mug),
        hat=_fulfilment_of(hat),
        globex_batch=batch["id"],
        globex_payout=batch["payouts"][0]["id"],
        globex_pool=pool["id"],
    )


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def snapshot() -> dict[str, Any]:
    """Every row count (but what signing in writes) and the status of every row that has one."""
    counts = counts_but_signing_in()
    return {
        "counts": counts,
        "rewards": dict(Reward.objects.values_list("public_id", "status")),
        "fulfilments": dict(Fulfilment.objects.values_list("public_id", "status")),
        "batches": dict(PayoutBatch.objects.values_list("public_id", "status")),
        "payouts": dict(Payout.objects.values_list("public_id", "status")),
    }


def email(role: str) -> str:
    return f"{role}@acme.test"


def payout_txns() -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Payout transactions: (key's last part, [(account kind, owner, amount)])."""
    out = []
    for txn in LedgerTransaction.objects.filter(kind="payout").order_by("pk"):
        entries = [
            (
                e.account.kind,
                e.account.participant.external_id if e.account.participant else "",
                e.amount,
            )
            for e in txn.entries.select_related("account__participant").order_by("pk")
        ]
        out.append((txn.key.rpartition(":")[2], entries))
    return out


# The fulfilment queue.


def test_queue_lists_pending_first_and_never_another_workspace(world: World) -> None:
    first = _grant(world.acme, "alice", {"kind": "custom", "description": "A thank-you call"})
    world.acme.post(f"/fulfilments/{_fulfilment_of(first)}/done", {"reference": "called"})
    page = world.client("analyst").get("/dashboard/fulfilments/")
    assert page.status_code == 200
    body = text(page)
    assert "<h1>Fulfilment queue</h1>" in body
    assert body.index(world.acme.get(f"/fulfilments/{world.mug}").json()["reward"]["id"]) < (
        body.index(first)
    )
    assert "MUG-1" in body
    assert "A thank-you call" in body
    assert "called" in body
    assert "HAT-1" not in body
    assert "Mark done" not in body  # an analyst sees no action
    pending = text(world.client("analyst").get("/dashboard/fulfilments/?status=pending"))
    assert "MUG-1" in pending
    assert "A thank-you call" not in pending


@pytest.mark.parametrize("role", ROLES)
def test_mark_done(world: World, role: str) -> None:
    client = world.client(role)
    before = snapshot()
    answer = client.post(
        f"/dashboard/fulfilments/{world.mug}/done/",
        {"reference": "UPS 1Z999", "next": "/dashboard/fulfilments/?status=pending"},
    )
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    assert answer["Location"] == "/dashboard/fulfilments/?status=pending"
    done = Fulfilment.objects.select_related("reward").get(public_id=world.mug)
    assert (done.status, done.reference, done.actor) == ("done", "UPS 1Z999", done.actor)
    assert done.actor.startswith("user:")
    assert (done.reward.status, done.reward.fulfilment_reference) == ("fulfilled", "UPS 1Z999")
    assert audits() == [
        (
            "owner@acme.test" if role == "owner" else email(role),
            "fulfilment.done",
            world.mug,
            {"reward": done.reward.public_id, "reference": "UPS 1Z999"},
            "127.0.0.1",
        )
    ]
    page = text(client.get("/dashboard/fulfilments/"))
    assert "Marked done: alice&#x27;s product." in page
    assert "UPS 1Z999" in page


def test_mark_done_needs_a_reference_and_twice_is_409(world: World) -> None:
    client = world.client("reviewer")
    before = snapshot()
    answer = client.post(f"/dashboard/fulfilments/{world.mug}/done/", {"reference": " "})
    assert answer.status_code == 400
    body = text(answer)
    start = body.index(f'id="ref-{world.mug}-error"')
    assert "Give your reference" in body[start : start + 200]
    assert snapshot() == before
    assert client.post(
        f"/dashboard/fulfilments/{world.mug}/done/", {"reference": "first"}
    ).status_code == (302)
    after = snapshot()
    again = client.post(f"/dashboard/fulfilments/{world.mug}/done/", {"reference": "second"})
    assert again.status_code == 409
    assert f"fulfilment {world.mug} is already done" in text(again)
    assert snapshot() == after
    assert len(audits()) == 1


def test_another_workspaces_fulfilment_is_404(world: World) -> None:
    client = world.client("owner")
    before = snapshot()
    answer = client.post(f"/dashboard/fulfilments/{world.hat}/done/", {"reference": "x"})
    assert answer.status_code == 404
    assert world.hat not in text(client.get("/dashboard/fulfilments/"))
    assert snapshot() == before
    assert audits() == []


# Payout batches.


def test_payouts_page_shows_what_is_owed_in_major_units(world: World) -> None:
    page = world.client("analyst").get("/dashboard/payouts/")
    assert page.status_code == 200
    body = text(page)
    assert "<strong>$22.00</strong> to 2 participants (USD)" in body
    assert world.globex_batch not in body
    assert "Propose batch" not in body  # analysts only look


@pytest.mark.parametrize("role", ROLES)
def test_create_a_batch(world: World, role: str) -> None:
    client = world.client(role)
    before = snapshot()
    answer = client.post("/dashboard/payouts/new/", {"currency": "usd", "minimum": "10"})
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    batch = PayoutBatch.objects.get(workspace=world.acme.workspace)
    assert answer["Location"] == f"/dashboard/payouts/{batch.public_id}/"
    assert (batch.status, batch.currency, batch.min_amount) == ("draft", "USD", 1000)
    assert [(p.participant.external_id, p.amount) for p in batch.payouts.all()] == [("alice", 1500)]
    assert payout_txns() == []  # nothing moves before approval
    [entry] = audits()
    assert entry[1:] == (
        "payout_batch.create",
        batch.public_id,
        {"currency": "USD", "min_amount": 1000},
        "127.0.0.1",
    )
    page = text(client.get(answer["Location"]))
    assert "<strong>$15.00</strong> in 1 payout" in page
    assert "$10.00 per participant" in page


@pytest.mark.parametrize(
    ("body", "field", "message", "status"),
    [
        ({"currency": "XYZ"}, "currency", "is not a currency code", 400),
        ({"currency": "USD", "minimum": "1.234"}, "minimum", "at most 2 decimal places", 400),
        ({"currency": "USD", "minimum": "100"}, "minimum", "Nobody is owed at least $100.00", 409),
        ({"currency": "EUR"}, "minimum", "Nobody is owed at least €0.01 in EUR.", 409),
    ],
)
def test_create_batch_errors_show_next_to_the_field(
    world: World, body: dict[str, str], field: str, message: str, status: int
) -> None:
    client = world.client("reviewer")
    before = snapshot()
    answer = client.post("/dashboard/payouts/new/", body)
    assert answer.status_code == status
    page = text(answer)
    start = page.index(f'id="id_{field}-error"')
    assert message in page[start : start + 200]
    assert snapshot() == before
    assert audits() == []


def _batch(world: World) -> PayoutBatch:
    client = world.client("owner")
    answer = client.post("/dashboard/payouts/new/", {"currency": "USD"})
    assert answer.status_code == 302
    AuditEntry.objects.all().delete()  # each test counts its own action's entries
    return PayoutBatch.objects.get(workspace=world.acme.workspace)


@pytest.mark.parametrize("role", ROLES)
def test_approve_a_batch(world: World, role: str) -> None:
    batch = _batch(world)
    client = world.client(role)
    before = snapshot()
    answer = client.post(f"/dashboard/payouts/{batch.public_id}/approve/")
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "approved"
    assert sorted(batch.payouts.values_list("status", flat=True)) == ["approved", "approved"]
    assert sorted(payout_txns()) == [
        ("approve", [("payable", "=evil", -700), ("paying", "=evil", 700)]),
        ("approve", [("payable", "alice", -1500), ("paying", "alice", 1500)]),
    ]
    [entry] = audits()
    assert entry[1:] == ("payout_batch.approve", batch.public_id, {}, "127.0.0.1")
    again = client.post(f"/dashboard/payouts/{batch.public_id}/approve/")
    assert again.status_code == 409
    assert f"payout batch {batch.public_id} is already approved" in text(again)
    assert len(payout_txns()) == 2
    assert len(audits()) == 1


@pytest.mark.parametrize("role", ROLES)
def test_cancel_a_draft(world: World, role: str) -> None:
    batch = _batch(world)
    client = world.client(role)
    before = snapshot()
    answer = client.post(f"/dashboard/payouts/{batch.public_id}/cancel/")
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert payout_txns() == []
    [entry] = audits()
    assert entry[1:] == ("payout_batch.cancel", batch.public_id, {}, "127.0.0.1")


def test_export_before_approval_says_why(world: World) -> None:
    batch = _batch(world)
    answer = world.client("reviewer").get(
        f"/dashboard/payouts/{batch.public_id}/export/csv/", follow=True
    )
    assert answer.redirect_chain == [(f"/dashboard/payouts/{batch.public_id}/", 302)]
    assert "only an approved or closed batch can be exported as csv" in text(answer)
    assert audits() == []


@pytest.mark.parametrize("role", ROLES)
def test_export_files_neutralise_formulas(world: World, role: str) -> None:
    batch = _batch(world)
    world.client("owner").post(f"/dashboard/payouts/{batch.public_id}/approve/")
    AuditEntry.objects.all().delete()
    client = world.client(role)
    answers = {
        fmt: client.get(f"/dashboard/payouts/{batch.public_id}/export/{fmt}/")
        for fmt in ("csv", "paypal", "wise")
    }
    if role not in REVIEWERS:
        assert {a.status_code for a in answers.values()} == {403}
        assert audits() == []
        return
    for fmt, answer in answers.items():
        assert answer.status_code == 200
        assert answer["Content-Disposition"] == (
            f'attachment; filename="goodword-{batch.public_id}-{fmt}.csv"'
        )
    generic = list(csv.DictReader(io.StringIO(text(answers["csv"]))))
    evil = next(r for r in generic if r["email"] == "evil@example.net")
    assert (evil["participant_external_id"], evil["name"]) == ("'=evil", "'@SUM(1+1)")
    assert (evil["amount_minor"], evil["amount"], evil["currency"]) == ("700", "7.00", "USD")
    wise = list(csv.DictReader(io.StringIO(text(answers["wise"]))))
    assert sorted((r["name"], r["amount"]) for r in wise) == [
        ("'@SUM(1+1)", "7.00"),
        ("Alice", "15.00"),
    ]
    paypal = list(csv.reader(io.StringIO(text(answers["paypal"]))))
    assert sorted((r[0], r[1], r[2]) for r in paypal) == [
        ("alice@example.com", "15.00", "USD"),
        ("evil@example.net", "7.00", "USD"),
    ]
    assert [a[1:] for a in audits()] == [
        ("payout_batch.export", batch.public_id, {"format": fmt}, "127.0.0.1")
        for fmt in ("csv", "paypal", "wise")
    ]
    assert client.get(f"/dashboard/payouts/{batch.public_id}/export/xlsx/").status_code == 404


def _approved(world: World) -> tuple[PayoutBatch, Payout]:
    batch = _batch(world)
    world.client("owner").post(f"/dashboard/payouts/{batch.public_id}/approve/")
    AuditEntry.objects.all().delete()
    return batch, batch.payouts.get(participant__external_id="alice")


@pytest.mark.parametrize("role", ROLES)
def test_mark_a_payout_paid(world: World, role: str) -> None:
    batch, payout = _approved(world)
    client = world.client(role)
    before = snapshot()
    path = f"/dashboard/payouts/{batch.public_id}/payouts/{payout.public_id}/paid/"
    answer = client.post(path, {"paid-reference": "PP-123"})
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.reference) == ("paid", "PP-123")
    assert payout_txns()[-1] == ("paid", [("paying", "alice", -1500), ("paid", "", 1500)])
    [entry] = audits()
    assert entry[1:] == ("payout.paid", payout.public_id, {"reference": "PP-123"}, "127.0.0.1")
    page = text(client.get(answer["Location"]))
    assert "Marked paid: $15.00 to alice." in page


@pytest.mark.parametrize("role", ROLES)
def test_mark_a_payout_failed_owes_it_again(world: World, role: str) -> None:
    batch, payout = _approved(world)
    client = world.client(role)
    before = snapshot()
    path = f"/dashboard/payouts/{batch.public_id}/payouts/{payout.public_id}/failed/"
    answer = client.post(path, {"failed-reason": "account closed"})
    if role not in REVIEWERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.failure_reason) == ("failed", "account closed")
    assert payout_txns()[-1] == (
        "failed",
        [("paying", "alice", -1500), ("payable", "alice", 1500)],
    )
    [entry] = audits()
    assert entry[1:] == (
        "payout.failed",
        payout.public_id,
        {"reason": "account closed"},
        "127.0.0.1",
    )


def test_marking_needs_a_reference_or_reason_and_an_approved_payout(world: World) -> None:
    batch, payout = _approved(world)
    client = world.client("reviewer")
    before = snapshot()
    base = f"/dashboard/payouts/{batch.public_id}/payouts/{payout.public_id}/"
    answer = client.post(base + "paid/", {"paid-reference": ""})
    assert answer.status_code == 400
    body = text(answer)
    assert "Give your reference" in body[body.index(f'id="paid-{payout.public_id}-error"') :]
    answer = client.post(base + "failed/", {"failed-reason": ""})
    assert answer.status_code == 400
    assert f'id="failed-{payout.public_id}-error"' in text(answer)
    assert snapshot() == before
    assert client.post(base + "paid/", {"paid-reference": "PP-1"}).status_code == 302
    after = snapshot()
    again = client.post(base + "failed/", {"failed-reason": "oops"})
    assert again.status_code == 409
    assert f"payout {payout.public_id} is paid: only an approved payout" in text(again)
    assert snapshot() == after
    # A payout of another batch of this workspace, named under this batch: 404.
    other = PayoutBatch.objects.create(
        workspace=world.acme.workspace, currency="USD", created_at=batch.created_at
    )
    wrong = f"/dashboard/payouts/{other.public_id}/payouts/{payout.public_id}/paid/"
    assert client.post(wrong, {"paid-reference": "x"}).status_code == 404


def test_closing_the_last_payout_closes_the_batch(world: World) -> None:
    batch, payout = _approved(world)
    client = world.client("reviewer")
    for p in batch.payouts.order_by("pk"):
        path = f"/dashboard/payouts/{batch.public_id}/payouts/{p.public_id}/paid/"
        assert client.post(path, {"paid-reference": f"ref-{p.pk}"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "closed"
    page = text(client.get(f"/dashboard/payouts/{batch.public_id}/"))
    assert "Download CSV file" in page
    assert "Download PayPal file" not in page


def test_another_workspaces_batch_and_payout_are_404(world: World) -> None:
    client = world.client("owner")
    before = snapshot()
    batch, payout = world.globex_batch, world.globex_payout
    assert client.get(f"/dashboard/payouts/{batch}/").status_code == 404
    for action in ("approve", "cancel"):
        assert client.post(f"/dashboard/payouts/{batch}/{action}/").status_code == 404
    for fmt in ("csv", "paypal", "wise"):
        assert client.get(f"/dashboard/payouts/{batch}/export/{fmt}/").status_code == 404
    base = f"/dashboard/payouts/{batch}/payouts/{payout}/"
    assert client.post(base + "paid/", {"paid-reference": "x"}).status_code == 404
    assert client.post(base + "failed/", {"failed-reason": "x"}).status_code == 404
    assert batch not in text(client.get("/dashboard/payouts/"))
    assert snapshot() == before
    assert audits() == []


# Coupon pools.


@pytest.mark.parametrize("role", ROLES)
def test_create_a_pool(world: World, role: str) -> None:
    client = world.client(role)
    before = snapshot()
    answer = client.post(
        "/dashboard/coupon-pools/new/", {"name": "Spring codes", "low_threshold": "5"}
    )
    if role not in MANAGERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    pool = CouponPool.objects.get(workspace=world.acme.workspace)
    assert answer["Location"] == f"/dashboard/coupon-pools/{pool.public_id}/"
    assert (pool.name, pool.low_threshold) == ("Spring codes", 5)
    [entry] = audits()
    assert entry[1:] == (
        "coupon_pool.create",
        pool.public_id,
        {"name": "Spring codes", "low_threshold": 5},
        "127.0.0.1",
    )


def test_create_pool_errors_show_next_to_the_field(world: World) -> None:
    client = world.client("admin")
    before = snapshot()
    answer = client.post("/dashboard/coupon-pools/new/", {"name": " ", "low_threshold": "-1"})
    assert answer.status_code == 400
    body = text(answer)
    assert "This field is required." in body[body.index('id="id_name-error"') :]
    assert "greater than or equal to 0" in body[body.index('id="id_low_threshold-error"') :]
    assert snapshot() == before


def _pool(world: World, threshold: int = 1) -> CouponPool:
    answer = world.client("owner").post(
        "/dashboard/coupon-pools/new/", {"name": "Spring", "low_threshold": str(threshold)}
    )
    assert answer.status_code == 302
    AuditEntry.objects.all().delete()
    return CouponPool.objects.get(workspace=world.acme.workspace)


@pytest.mark.parametrize("role", ROLES)
def test_upload_codes(world: World, role: str) -> None:
    pool = _pool(world)
    client = world.client(role)
    before = snapshot()
    answer = client.post(
        f"/dashboard/coupon-pools/{pool.public_id}/codes/", {"codes": "A-1\r\n\r\n B_2 \nA-1\n"}
    )
    if role not in MANAGERS:
        assert answer.status_code == 403
        assert snapshot() == before
        assert audits() == []
        return
    assert answer.status_code == 302
    assert sorted(CouponCode.objects.filter(pool=pool).values_list("code", flat=True)) == [
        "A-1",
        "B_2",
    ]
    [entry] = audits()
    assert entry[1:] == (
        "coupon_pool.add_codes",
        pool.public_id,
        {"added": 2, "duplicates": 1, "filled": 0},
        "127.0.0.1",
    )
    page = text(client.get(answer["Location"]))
    assert "Added 2 codes (1 already in the pool or repeated)." in page


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("", "Paste at least one code"),
        ("\n \n", "Paste at least one code"),
        ("GOOD-1\nbad code!\nx" + "y" * 40, "line 2: &#x27;bad code!&#x27;; line 3:"),
        ("\n".join(f"C{i}" for i in range(10_001)), "10,001 codes: upload at most 10,000"),
    ],
)
def test_upload_errors_change_nothing(world: World, codes: str, message: str) -> None:
    pool = _pool(world)
    client = world.client("admin")
    before = snapshot()
    answer = client.post(f"/dashboard/coupon-pools/{pool.public_id}/codes/", {"codes": codes})
    assert answer.status_code == 400
    body = text(answer)
    assert message in body[body.index('id="codes-error"') :]
    assert snapshot() == before
    assert audits() == []


def test_upload_fills_rewards_waiting_for_codes(world: World) -> None:
    pool = _pool(world, threshold=0)
    program = {
        "name": "Pool coupons",
        "destination_url": "https://shop.acme.test/welcome",
        "rewards": [
            {
                "beneficiary": "advocate",
                "kind": "coupon",
                "percent_off": 10,
                "coupon": {"pool": pool.public_id},
            }
        ],
        "trigger": {"event": "purchase"},
        "hold_days": 0,
    }
    created = world.acme.post("/programs", program)
    assert created.status_code == 201, created.content
    advocate = world.acme.post(
        f"/programs/{created.json()['id']}/advocates", {"external_id": "zoe"}
    ).json()
    event = {
        "id": "p-yan",
        "type": "purchase",
        "customer": {"external_id": "yan"},
        "order": {"id": "o-yan", "amount": 1000, "currency": "USD"},
        "referral_code": advocate["code"],
    }
    assert world.acme.event(event).status_code == 201
    from datetime import UTC, datetime, timedelta

    from goodword.rewards.services import approve_due_rewards

    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=1))
    waiting = Reward.objects.get(kind="coupon", participant__external_id="zoe")
    assert waiting.status == "pending_fulfilment"
    queue = text(world.client("owner").get("/dashboard/fulfilments/"))
    assert "waits for its coupon pool's codes" in queue
    listing = text(world.client("analyst").get("/dashboard/coupon-pools/"))
    assert '<span class="badge bad">1</span>' in listing  # one reward waiting
    answer = world.client("owner").post(
        f"/dashboard/coupon-pools/{pool.public_id}/codes/", {"codes": "Z1\nZ2"}, follow=True
    )
    assert "Added 2 codes; 1 waiting reward got one." in text(answer)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.coupon_code) == ("fulfilled", "Z1")
    page = text(world.client("analyst").get(f"/dashboard/coupon-pools/{pool.public_id}/"))
    assert f'href="/dashboard/rewards/{waiting.public_id}/"' in page
    free = text(
        world.client("analyst").get(f"/dashboard/coupon-pools/{pool.public_id}/?state=free")
    )
    assert "<code>Z2</code>" in free
    assert "<code>Z1</code>" not in free


def test_pools_list_counts_and_low_warning(world: World) -> None:
    pool = _pool(world, threshold=2)
    world.acme.post(f"/coupon-pools/{pool.public_id}/codes", {"codes": ["K1", "K2"]})
    body = text(world.client("analyst").get("/dashboard/coupon-pools/"))
    assert "Spring" in body
    assert '2 <span class="badge warn">low</span>' in body
    assert "Globex codes" not in body
    assert "Create pool" not in body  # analysts only look


def test_another_workspaces_pool_is_404(world: World) -> None:
    client = world.client("owner")
    before = snapshot()
    pool = world.globex_pool
    assert client.get(f"/dashboard/coupon-pools/{pool}/").status_code == 404
    answer = client.post(f"/dashboard/coupon-pools/{pool}/codes/", {"codes": "X1"})
    assert answer.status_code == 404
    assert snapshot() == before
    assert audits() == []
