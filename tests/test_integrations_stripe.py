"""Stripe: events verified with the stripe library (WH-2), stored, translated, ingested."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe

from goodword.ingest.models import Event
from goodword.integrations.models import InboxItem
from goodword.integrations.stripe import translate
from goodword.lib.signing import make_ref_token
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.factories import Story
from tests.integrations import STRIPE_SECRET, connect, post_stripe, process, stripe_header
from tests.shared import row_counts


def stripe_event(kind: str, thing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An event as Stripe's API reference shows it."""
    return {
        "id": extra.pop("id", "evt_1NG8Du2eZvKYlo2CUI79vXWy"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()) - 60,
        "data": {"object": thing, **extra.pop("data", {})},
        "livemode": extra.pop("livemode", True),
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        **extra,
    }


def session(**extra: Any) -> dict[str, Any]:
    return {
        "id": "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
        "object": "checkout.session",
        "amount_subtotal": 5250,
        "amount_total": 4250,
        "client_reference_id": None,
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "customer_details": {"email": "bob@example.net", "name": "Bob Builder"},
        "invoice": None,
        "livemode": True,
        "metadata": {},
        "mode": "payment",
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "payment_status": "paid",
        "status": "complete",
        **extra,
    }


def invoice(**extra: Any) -> dict[str, Any]:
    return {
        "id": "in_1MtHbELkdIwHu7ixl4OzzPMv",
        "object": "invoice",
        "amount_due": 1500,
        "amount_paid": 1500,
        "billing_reason": "subscription_cycle",
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "customer_email": "bob@example.net",
        "metadata": {},
        "paid": True,
        "status": "paid",
        "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        **extra,
    }


def charge(amount_refunded: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "object": "charge",
        "amount": 4250,
        "amount_captured": 4250,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "billing_details": {"email": "bob@example.net"},
        "invoice": None,
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "refunded": amount_refunded == 4250,
        **extra,
    }


# --- WH-2: verification ----------------------------------------------------------------------


def test_bad_signature_is_401_and_stores_nothing(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "stripe")
    before = row_counts()
    event = stripe_event("checkout.session.completed", session())
    response = post_stripe(connection, event, secret="whsec_not_the_right_one")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    from django.test import Client

    unsigned = Client().post(
        f"/hooks/stripe/{connection.public_id}", json.dumps(event), content_type="application/json"
    )
    assert unsigned.status_code == 401
    assert row_counts() == before


def test_stale_timestamp_is_401_and_stores_nothing(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "stripe")
    before = row_counts()
    event = stripe_event("checkout.session.completed", session())
    response = post_stripe(connection, event, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert row_counts() == before
    assert post_stripe(connection, event, timestamp=int(time.time()) - 200).status_code == 200


def test_our_verification_agrees_with_construct_event(story: Story) -> None:
    payload = json.dumps(stripe_event("customer.created", {"id": "cus_1", "email": "b@x.io"}))
    header = stripe_header(payload)
    parsed = stripe.Webhook.construct_event(payload, header, STRIPE_SECRET, tolerance=300)
    assert parsed["type"] == "customer.created"
    from goodword.integrations.stripe.verify import verify

    assert verify(payload, header, STRIPE_SECRET)
    assert not verify(payload + " ", header, STRIPE_SECRET)


def test_replay_100_times_is_one_event_and_one_row(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "stripe")
    event = stripe_event(
        "checkout.session.completed", session(metadata={"referral_code": story.alice["code"]})
    )
    for _ in range(100):
        assert post_stripe(connection, event).status_code == 200
    assert InboxItem.objects.count() == 1
    # The same payment told twice by different events (completed, then async succeeded).
    again = stripe_event(
        "checkout.session.async_payment_succeeded", event["data"]["object"], id="evt_other"
    )
    post_stripe(connection, again)
    assert process() == 2
    assert Event.objects.count() == 1
    assert Referral.objects.get().status == "converted"
    assert Reward.objects.count() == 2


def test_a_secret_not_starting_whsec_is_refused(story: Story) -> None:
    from django.utils import timezone

    from goodword.integrations import services
    from goodword.lib.errors import Invalid

    with pytest.raises(Invalid):
        services.create_connection(
            workspace=story.acme.workspace,
            provider="stripe",
            secret="sk_live_x",
            now=timezone.now(),
        )


# --- translation -----------------------------------------------------------------------------


def test_checkout_session_is_a_purchase() -> None:
    thing = session(client_reference_id="adv_1.clk_1.kx.sig", metadata={"referral_code": "ALICE"})
    [event] = translate.translate(
        "", json.dumps(stripe_event("checkout.session.completed", thing)), {}
    ).events
    created = event.pop("occurred_at")
    assert created.endswith("+00:00")
    assert event == {
        "id": "purchase:pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "type": "purchase",
        "customer": {"external_id": "cus_NffrFeUfNV2Hib", "email": "bob@example.net"},
        "order": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": 4250, "currency": "USD"},
        "ref_token": "adv_1.clk_1.kx.sig",
        "referral_code": "ALICE",
        "test": False,
    }


def test_unpaid_checkout_waits_for_async_success() -> None:
    body = json.dumps(stripe_event("checkout.session.completed", session(payment_status="unpaid")))
    assert translate.translate("", body, {}).ignored.startswith("unpaid yet")


def test_expanded_promotion_code_is_a_coupon_and_guest_is_their_email() -> None:
    thing = session(
        customer=None,
        discounts=[{"coupon": "co_1", "promotion_code": {"id": "promo_1", "code": "ALICE10"}}],
    )
    [event] = translate.translate(
        "", json.dumps(stripe_event("checkout.session.completed", thing)), {}
    ).events
    assert event["customer"] == {"external_id": "bob@example.net", "email": "bob@example.net"}
    assert event["order"]["coupons"] == ["ALICE10"]


def test_invoices_first_is_purchase_then_renewals() -> None:
    first = invoice(billing_reason="subscription_create", metadata={"gw_ref": "tok"})
    [event] = translate.translate("", json.dumps(stripe_event("invoice.paid", first)), {}).events
    assert (event["id"], event["type"], event["ref_token"]) == (
        "purchase:in_1MtHbELkdIwHu7ixl4OzzPMv",
        "purchase",
        "tok",
    )
    renewal = invoice(id="in_2")
    [event] = translate.translate("", json.dumps(stripe_event("invoice.paid", renewal)), {}).events
    paid = {"id": "in_2", "amount": 1500, "currency": "USD"}
    assert (event["id"], event["type"], event["order"]) == (
        "payment:in_2",
        "subscription_payment",
        paid,
    )
    trial = json.dumps(stripe_event("invoice.paid", invoice(amount_paid=0)))
    assert translate.translate("", trial, {}).ignored


def test_charge_refunded_is_the_new_part_of_the_refund() -> None:
    partial = stripe_event(
        "charge.refunded", charge(1500), data={"previous_attributes": {"amount_refunded": 500}}
    )
    [event] = translate.translate("", json.dumps(partial), {}).events
    assert event["order"] == {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "amount": 1000,
        "currency": "USD",
    }
    assert (event["id"], event["customer"]) == ("refund:evt_1NG8Du2eZvKYlo2CUI79vXWy", None)


def test_customer_created_is_a_signup_and_livemode_false_is_test() -> None:
    thing = {"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "bob@example.net",
             "metadata": {"referral_code": "ALICE"}}  # fmt: skip
    body = json.dumps(stripe_event("customer.created", thing, livemode=False))
    [event] = translate.translate("", body, {}).events
    assert (event["type"], event["referral_code"], event["test"]) == ("signup", "ALICE", True)
    other = json.dumps(stripe_event("payment_intent.created", {"id": "pi_1"}))
    assert translate.translate("", other, {}).ignored == (
        "event type payment_intent.created is not one Goodword reads"
    )


# --- end to end ------------------------------------------------------------------------------


def test_gw_ref_converts_and_partial_refunds_count_once_each(story: Story) -> None:
    token = make_ref_token(story.alice["id"], "clk1", int(time.time()))
    connection, _ = connect(story.acme.workspace, "stripe")
    post_stripe(
        connection, stripe_event("checkout.session.completed", session(client_reference_id=token))
    )
    process()
    referral = Referral.objects.get()
    assert (referral.status, referral.order_amount) == ("converted", 4250)
    first = stripe_event("charge.refunded", charge(1000), id="evt_r1",
                         data={"previous_attributes": {"amount_refunded": 0}})  # fmt: skip
    second = stripe_event("charge.refunded", charge(4250), id="evt_r2",
                          data={"previous_attributes": {"amount_refunded": 1000}})  # fmt: skip
    post_stripe(connection, first)
    post_stripe(connection, second)
    process()
    refunds = Event.objects.filter(type="refund").order_by("external_id")
    assert [(e.external_id, e.amount, e.customer_external_id) for e in refunds] == [
        ("refund:evt_r1", 1000, "cus_NffrFeUfNV2Hib"),
        ("refund:evt_r2", 3250, "cus_NffrFeUfNV2Hib"),
    ]
    referral.refresh_from_db()
    assert referral.status == "reversed"


def test_livemode_false_is_kept_out_of_kpis(story: Story) -> None:
    from goodword.analytics.scope import Scope
    from goodword.analytics.summary import summary

    connection, _ = connect(story.acme.workspace, "stripe")
    before = summary(Scope(story.acme.workspace.pk, raw=True))
    thing = session(metadata={"referral_code": story.alice["code"]})
    post_stripe(connection, stripe_event("checkout.session.completed", thing, livemode=False))
    process()
    assert Event.objects.get().test is True
    assert Referral.objects.get().test is True
    assert summary(Scope(story.acme.workspace.pk, raw=True)) == before
