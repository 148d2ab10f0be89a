"""The referral loop through the API: click, signup, purchase, hold, approval, refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import time_machine
from django.test import Client

from goodword.events.models import DomainEvent
from goodword.referrals.clicklog import ingest_clicks
from goodword.referrals.models import Click
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Story, purchase, refund, signup
from tests.shared import balance_line

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def click(code: str, query: str = "") -> str:
    response = Client().get(f"/r/{code}{query}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://shop.acme.test/welcome?gw_ref=")
    return parse_qs(urlsplit(location).query)["gw_ref"][0]


def balance(story: Story, who: str) -> dict[str, int]:
    response = story.acme.get(f"/participants/{who}/balance")
    assert response.status_code == 200
    lines = response.json()["balances"]
    return lines[0] if lines else {}


def test_alice_refers_bob_both_rewarded_after_hold_then_refund_claws_back(story: Story) -> None:
    acme = story.acme
    with time_machine.travel(T0, tick=False):
        token = click(story.alice["code"], "?via=whatsapp&utm_source=flyer")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        r = acme.event(signup("s-bob", "bob", ref_token=token))
        assert r.status_code == 201
        assert r.json()["attribution"] == "attributed"
        [referral] = r.json()["referrals"]
        assert referral["status"] == "signed_up"
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        r = acme.event(purchase("p-bob", "bob", "order-1", 2500))
        assert r.status_code == 201
        rewards = r.json()["rewards"]
        assert sorted((x["beneficiary"], x["amount"], x["status"]) for x in rewards) == [
            ("advocate", 1000, "pending"),
            ("friend", 500, "pending"),
        ]
    assert balance(story, "alice") == balance_line(pending=1000)

    # One day before the hold ends nothing is approved; after it, both rewards are.
    assert approve_due_rewards(now=T0 + timedelta(days=15)) == 0
    assert approve_due_rewards(now=T0 + timedelta(days=16, minutes=1)) == 2
    assert approve_due_rewards(now=T0 + timedelta(days=17)) == 0
    assert balance(story, "alice")["available"] == 1000
    assert balance(story, "bob")["available"] == 500

    ref = acme.get(f"/referrals/{referral['id']}").json()
    assert ref["status"] == "rewarded"
    assert ref["clicked_at"] == "2026-03-02T09:00:00Z"
    assert ref["signed_up_at"] == "2026-03-02T10:00:00Z"
    assert ref["converted_at"] == "2026-03-04T09:00:00Z"
    assert ref["source"] == "token"
    assert ref["order"] == {"id": "order-1", "amount": 2500, "currency": "USD"}

    # Bob spends 300 of his 500; then the order is refunded: the 200 left is taken back and
    # the 300 already spent becomes debt. The available balance never goes below zero.
    r = acme.post(
        "/participants/bob/redemptions", {"order_id": "o-2", "amount": 300, "currency": "USD"}
    )
    assert r.status_code == 201
    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        r = acme.event(refund("r-bob", "bob", "order-1"))
    assert r.status_code == 201
    assert r.json()["referrals"][0]["status"] == "reversed"
    assert balance(story, "alice") == balance_line()
    assert balance(story, "bob") == balance_line(debt=300)
    assert set(Reward.objects.values_list("status", flat=True)) == {"reversed"}
    assert LedgerTransaction.objects.filter(kind="clawback").count() == 2

    # Every transaction balances; debt is netted against bob's next reward.
    for txn in LedgerTransaction.objects.all():
        assert sum(e.amount for e in LedgerEntry.objects.filter(transaction=txn)) == 0

    # The click was counted, with its channel and UTM source, once ingested from the log.
    assert Click.objects.count() == 0
    assert ingest_clicks() == 1
    c = Click.objects.get()
    assert (c.channel, c.utm_source, c.ua_class) == ("whatsapp", "flyer", "mobile")
    assert ingest_clicks() == 0
    names = list(DomainEvent.objects.order_by("pk").values_list("name", flat=True))
    assert names.count("referral.converted") == 1
    assert names.count("reward.approved") == 2
    assert names.count("reward.clawed_back") == 2


def test_refund_during_hold_reverses_before_issue_and_posts_nothing(story: Story) -> None:
    acme = story.acme
    acme.event(signup("s-bob", "bob", referral_code=story.alice["code"].lower()))
    r = acme.event(purchase("p-bob", "bob", "order-1", 2500))
    assert len(r.json()["rewards"]) == 2
    refunded = acme.event(refund("r-bob", "bob", "order-1")).json()
    assert [r["status"] for r in refunded["referrals"]] == ["reversed"]
    # A second refund of the order finds nothing left to reverse.
    again = acme.event(refund("r-bob-2", "bob", "order-1")).json()
    assert again["referrals"] == []
    assert approve_due_rewards(now=datetime.now(UTC) + timedelta(days=30)) == 0
    assert set(Reward.objects.values_list("status", flat=True)) == {"reversed"}
    assert LedgerTransaction.objects.count() == 0
    assert balance(story, "alice") == {}


def test_debt_is_netted_against_the_next_reward(story: Story) -> None:
    acme = story.acme
    acme.event(signup("s-bob", "bob", referral_code=story.alice["code"]))
    acme.event(purchase("p-bob", "bob", "order-1", 2500))
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    acme.post(
        "/participants/alice/redemptions", {"order_id": "a-1", "amount": 800, "currency": "USD"}
    )
    acme.event(refund("r-bob", "bob", "order-1"))
    assert balance(story, "alice") == balance_line(debt=800)
    acme.event(signup("s-carol", "carol", referral_code=story.alice["code"]))
    acme.event(purchase("p-carol", "carol", "order-2", 3000))
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    assert balance(story, "alice") == balance_line(available=200)


def test_self_referral_and_existing_customer_do_not_qualify_and_say_why(story: Story) -> None:
    acme = story.acme
    code = story.alice["code"]
    # alice's second account, same mailbox spelled differently
    r = acme.event(
        {
            **signup("s-a2", "alice-2"),
            "customer": {"external_id": "alice-2", "email": "Alice+promo@Example.com"},
            "referral_code": code,
        }
    )
    assert r.json()["referrals"][0]["reject_reason"] == "self_referral"
    acme.event(purchase("p-old", "olga", "order-0", 5000))
    r = acme.event(purchase("p-olga", "olga", "order-9", 5000, referral_code=code))
    assert r.json()["referrals"][0] == {
        "id": r.json()["referrals"][0]["id"],
        "status": "rejected",
        "reject_reason": "existing_customer",
        "note": None,
    }
    assert Reward.objects.count() == 0


def test_first_touch_locks_the_friend_to_one_advocate(story: Story) -> None:
    acme = story.acme
    from tests.factories import enrol

    carol = enrol(acme, story.program["id"], "carol")
    first = acme.event(signup("s-bob", "bob", referral_code=story.alice["code"])).json()
    r = acme.event(purchase("p-bob", "bob", "order-1", 2500, referral_code=carol["code"]))
    assert r.json()["attribution"] == "locked_to_first_advocate"
    assert r.json()["referrals"][0]["id"] == first["referrals"][0]["id"]
    assert Reward.objects.filter(beneficiary="advocate").get().participant.external_id == "alice"


def test_purchase_below_minimum_does_not_convert(story: Story) -> None:
    acme = story.acme
    acme.event(signup("s-bob", "bob", referral_code=story.alice["code"]))
    r = acme.event(purchase("p-bob", "bob", "order-1", 1999))
    assert r.json()["referrals"][0]["note"] == "below_min_amount"
    assert r.json()["referrals"][0]["status"] == "signed_up"
    assert Reward.objects.count() == 0


def test_invited_email_attributes_the_signup(story: Story) -> None:
    acme = story.acme
    r = acme.post(
        f"/programs/{story.program['id']}/invites",
        {"advocate": "alice", "email": "Bob@Example.net"},
    )
    assert r.status_code == 201
    r = acme.event(signup("s-bob", "bob"))
    assert r.json()["attribution"] == "attributed"
    ref = acme.get(f"/referrals/{r.json()['referrals'][0]['id']}").json()
    assert (ref["source"], ref["advocate"]["external_id"]) == ("email", "alice")


def test_signup_trigger_with_no_hold_is_approved_by_the_kick(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import enrol, make_api, make_program

    acme = make_api("Acme")
    prg = make_program(acme, trigger={"event": "signup"}, hold_days=0)
    alice = enrol(acme, prg["id"], "alice")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = acme.event(signup("s-bob", "bob", referral_code=alice["code"]))
    assert r.status_code == 201
    assert len(callbacks) == 1
    # The test settings run tasks immediately, so the kick after commit approved both.
    assert sorted(Reward.objects.values_list("status", flat=True)) == ["approved", "approved"]
    assert balance_of(acme, "alice") == 1000


def balance_of(api: object, who: str) -> int:
    r = api.get(f"/participants/{who}/balance")  # type: ignore[attr-defined]
    return int(r.json()["balances"][0]["available"])


def test_lock_ends_when_the_window_passes_without_a_conversion(story: Story) -> None:
    from tests.factories import enrol

    acme = story.acme
    carol = enrol(acme, story.program["id"], "carol")
    with time_machine.travel(T0, tick=False):
        first = acme.event(signup("s-bob", "bob", referral_code=story.alice["code"])).json()
    with time_machine.travel(T0 + timedelta(days=29), tick=False):
        r = acme.event(signup("s-bob-2", "bob", referral_code=carol["code"])).json()
        assert r["attribution"] == "locked_to_first_advocate"
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        r = acme.event(purchase("p-bob", "bob", "order-1", 2500, referral_code=carol["code"]))
    body = r.json()
    assert body["attribution"] == "attributed"
    [referral] = body["referrals"]
    assert referral["id"] != first["referrals"][0]["id"]
    assert referral["status"] == "converted"
    old = acme.get(f"/referrals/{first['referrals'][0]['id']}").json()
    assert (old["status"], old["reject_reason"]) == ("rejected", "expired")
    assert Reward.objects.filter(beneficiary="advocate").get().participant.external_id == "carol"


def test_coupon_reward_is_fulfilled_with_a_code_and_never_touches_the_ledger(db: None) -> None:
    from goodword.lib.codes import SAFE_ALPHABET
    from tests.factories import enrol, make_api, make_program

    acme = make_api("Acme")
    prg = make_program(
        acme,
        rewards=[
            {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
            {"beneficiary": "friend", "kind": "coupon", "percent_off": 15},
        ],
    )
    alice = enrol(acme, prg["id"], "alice")
    acme.event(signup("s-bob", "bob", referral_code=alice["code"]))
    acme.event(purchase("p-bob", "bob", "order-1", 2500))
    assert approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15)) == 2
    [coupon] = acme.get("/rewards", participant="bob").json()["data"]
    assert (coupon["kind"], coupon["percent_off"], coupon["status"]) == ("coupon", 15, "fulfilled")
    assert len(coupon["coupon_code"]) == 10
    assert set(coupon["coupon_code"]) <= set(SAFE_ALPHABET)
    assert coupon["fulfilled_at"] is not None
    # Only alice's credit reached the ledger; bob has no balance at all.
    assert [t.reward.beneficiary for t in LedgerTransaction.objects.all()] == ["advocate"]
    assert balance_of(acme, "alice") == 1000
    assert acme.get("/participants/bob/balance").json()["balances"] == []
    names = list(DomainEvent.objects.filter(subject_id=coupon["id"]).values_list("name", flat=True))
    assert sorted(names) == ["reward.approved", "reward.created", "reward.fulfilled"]

    # A refund voids the coupon and claws back alice's credit; nothing is posted for bob.
    acme.event(refund("r-bob", "bob", "order-1"))
    [coupon] = acme.get("/rewards", participant="bob").json()["data"]
    assert coupon["status"] == "reversed"
    assert [t.kind for t in LedgerTransaction.objects.order_by("pk")] == ["reward", "clawback"]
    assert balance_of(acme, "alice") == 0
