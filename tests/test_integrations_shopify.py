"""Shopify: webhooks verified (WH-2), stored in one insert, translated, ingested."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from goodword.ingest.models import Event
from goodword.integrations import receive
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.shopify import translate
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
from tests.conftest import postgres
from tests.factories import Story
from tests.integrations import SHOPIFY_SECRET, connect, post_shopify, process
from tests.shared import row_counts

# Shopify writes times in the shop's zone.
SHOP_TZ = timezone(timedelta(hours=-5))
ORDERED = (datetime.now(UTC) - timedelta(hours=2)).astimezone(SHOP_TZ).isoformat(timespec="seconds")
REFUNDED = (
    (datetime.now(UTC) - timedelta(hours=1)).astimezone(SHOP_TZ).isoformat(timespec="seconds")
)


def order(code: str | None = None, **extra: Any) -> dict[str, Any]:
    """An order webhook as Shopify's documentation shows it (the fields we read, and some)."""
    body: dict[str, Any] = {
        "id": 820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "email": "bob@example.net",
        "created_at": ORDERED,
        "currency": "USD",
        "presentment_currency": "USD",
        "financial_status": "paid",
        "name": "#1001",
        "subtotal_price": "52.50",
        "total_discounts": "10.00",
        "total_price": "42.50",
        "test": False,
        "discount_codes": [{"code": code, "amount": "10.00", "type": "fixed_amount"}]
        if code
        else [],
        "note_attributes": [],
        "customer": {
            "id": 115310627314723954,
            "email": "bob@example.net",
            "first_name": "Bob",
            "last_name": "Builder",
        },
        "line_items": [{"id": 866550311766439020, "quantity": 1, "price": "52.50"}],
    }
    return {**body, **extra}


def refund_of(amount: str, refund_id: int = 509562969) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": 820982911946154508,
        "created_at": REFUNDED,
        "note": "it broke",
        "restock": False,
        "refund_line_items": [],
        "transactions": [
            {
                "id": 389404469,
                "order_id": 820982911946154508,
                "kind": "refund",
                "gateway": "bogus",
                "status": "success",
                "amount": amount,
                "currency": "USD",
                "test": False,
            }
        ],
    }


# --- WH-2: verification ----------------------------------------------------------------------


def test_bad_signature_is_401_and_stores_nothing(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    before = row_counts()
    response = post_shopify(connection, order(), secret="shpss_someone_elses_secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert row_counts() == before


def test_a_tampered_body_is_401(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    body = json.dumps(order()).encode()
    from goodword.integrations.shopify.verify import signature

    response = post_shopify(connection, body)
    assert response.status_code == 200
    signed = signature(body, SHOPIFY_SECRET)
    from django.test import Client

    tampered = body.replace(b'"42.50"', b'"4.25"')
    answer = Client().post(
        f"/hooks/shopify/{connection.public_id}",
        tampered,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signed,
        HTTP_X_SHOPIFY_TOPIC="orders/paid",
    )
    assert answer.status_code == 401
    assert InboxItem.objects.count() == 1


def test_good_delivery_is_stored_once_and_answered(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    response = post_shopify(connection, order())
    assert response.status_code == 200
    assert response.json() == {"received": True}
    [item] = InboxItem.objects.all()
    assert (item.status, item.topic, item.provider) == ("pending", "orders/paid", "shopify")
    assert item.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert json.loads(item.body)["total_price"] == "42.50"
    assert item.headers["X-Shopify-Shop-Domain"] == "acme-shop.myshopify.com"
    assert "X-Shopify-Hmac-Sha256" not in item.headers
    assert Event.objects.count() == 0  # nothing is ingested until the worker runs


def test_replay_100_times_is_one_event(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    for _ in range(100):
        assert post_shopify(connection, order(story.alice["code"])).status_code == 200
    assert InboxItem.objects.count() == 1  # the same X-Shopify-Webhook-Id
    # Redelivered under new webhook ids (another subscription, orders/create then orders/paid):
    for n in range(5):
        topic = "orders/create" if n % 2 else "orders/paid"
        post_shopify(connection, order(story.alice["code"]), topic=topic, webhook_id=f"w{n}")
    assert InboxItem.objects.count() == 6
    assert process() == 6
    assert Event.objects.filter(workspace=story.acme.workspace).count() == 1
    assert Referral.objects.get().status == "converted"
    assert Reward.objects.count() == 2
    assert set(InboxItem.objects.values_list("status", flat=True)) == {"processed"}


def test_unknown_or_inactive_connection_is_404(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, order()).status_code == 200
    Connection.objects.filter(pk=connection.pk).update(active=False)  # as another process
    receive.forget()  # its cache entry ended (the TTL: tests/test_integrations_inbox.py)
    assert post_shopify(connection, order(), webhook_id="x2").status_code == 404
    connection.public_id = "con_nosuchconnection"
    assert post_shopify(connection, order(), webhook_id="x3").status_code == 404
    assert InboxItem.objects.count() == 1


def test_another_shop_is_refused_when_the_domain_is_set(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify", shop_domain="acme-shop.myshopify.com")
    assert post_shopify(connection, order(), shop="evil.myshopify.com").status_code == 401
    assert InboxItem.objects.count() == 0
    assert post_shopify(connection, order()).status_code == 200


def test_oversized_body_is_413_and_get_is_405(story: Story) -> None:
    from django.test import Client

    connection, _ = connect(story.acme.workspace, "shopify")
    big = json.dumps(order(note="x" * (1024 * 1024))).encode()
    assert post_shopify(connection, big).status_code == 413
    assert Client().get(f"/hooks/shopify/{connection.public_id}").status_code == 405
    assert InboxItem.objects.count() == 0


def test_signed_garbage_is_stored_and_fails_visibly(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, b"{not json").status_code == 200
    assert post_shopify(connection, b"\xff\xfe", webhook_id="bin").status_code == 400
    process()
    [item] = InboxItem.objects.all()
    assert (item.status, item.error) == ("failed", "the body is not valid JSON")
    assert Event.objects.count() == 0


# --- translation -----------------------------------------------------------------------------


def test_order_is_a_purchase_in_minor_units_with_its_codes() -> None:
    notes = [{"name": "gw_ref", "value": "adv_1.clk_1.abc.sig"}]
    body = json.dumps(order("ALICE10", note_attributes=notes))
    [event] = translate.translate("orders/paid", body, {}).events
    assert event == {
        "id": "order:820982911946154508",
        "type": "purchase",
        "customer": {
            "external_id": "115310627314723954",
            "email": "bob@example.net",
            "name": "Bob Builder",
        },
        "order": {
            "id": "820982911946154508",
            "amount": 4250,
            "currency": "USD",
            "coupons": ["ALICE10"],
        },
        "ref_token": "adv_1.clk_1.abc.sig",
        "test": False,
        "occurred_at": ORDERED,
    }


@pytest.mark.parametrize(
    ("currency", "total", "minor"),
    [
        ("JPY", "4250", 4250),
        ("KWD", "4.250", 4250),
        ("EUR", "0.10", 10),
        ("USD", "1000000", 100000000),
    ],
)
def test_amounts_follow_the_currency_exponent(currency: str, total: str, minor: int) -> None:
    body = json.dumps(order(currency=currency, total_price=total))
    [event] = translate.translate("orders/create", body, {}).events
    assert event["order"]["amount"] == minor
    assert event["order"]["currency"] == currency


def test_too_many_decimals_fails_the_item() -> None:
    from goodword.integrations.translation import Refused

    with pytest.raises(Refused, match="more decimals than JPY allows"):
        translate.translate("orders/paid", json.dumps(order(currency="JPY", total_price="1.5")), {})


def test_refund_sums_successful_refund_transactions() -> None:
    body = refund_of("10.00")
    body["transactions"].append({**body["transactions"][0], "id": 2, "status": "failure"})
    [event] = translate.translate("refunds/create", json.dumps(body), {}).events
    assert event == {
        "id": "refund:509562969",
        "type": "refund",
        "customer": None,
        "order": {"id": "820982911946154508", "amount": 1000, "currency": "USD"},
        "test": False,
        "occurred_at": REFUNDED,
    }
    body["transactions"] = body["transactions"][1:]
    assert translate.translate("refunds/create", json.dumps(body), {}).ignored


def test_customer_is_a_signup_and_other_topics_are_ignored() -> None:
    customer = {"id": 706405506930370084, "email": "bob@example.net", "first_name": "Bob",
                "last_name": "", "created_at": "2026-12-07T00:00:00-05:00"}  # fmt: skip
    [event] = translate.translate("customers/create", json.dumps(customer), {}).events
    assert event == {
        "id": "customer:706405506930370084",
        "type": "signup",
        "customer": {
            "external_id": "706405506930370084",
            "email": "bob@example.net",
            "name": "Bob",
        },
        "occurred_at": "2026-12-07T00:00:00-05:00",
    }
    ignored = translate.translate("products/update", "{}", {})
    assert (ignored.events, ignored.ignored) == (
        [],
        "topic products/update is not one Goodword reads",
    )


# --- end to end ------------------------------------------------------------------------------


def test_discount_code_converts_the_referral_and_refund_reverses(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, order(story.alice["code"].lower()))
    assert process() == 1
    referral = Referral.objects.get()
    assert (referral.status, referral.order_amount) == ("converted", 4250)
    assert referral.advocate.public_id == story.alice["id"]
    event = Event.objects.get()
    assert (event.source, event.external_id, event.amount, event.test) == (
        "shopify", "order:820982911946154508", 4250, False)  # fmt: skip
    item = InboxItem.objects.get()
    assert item.result == {"recorded": [event.public_id]}
    connection.refresh_from_db()
    assert connection.last_received_at == item.received_at

    post_shopify(connection, refund_of("42.50"), topic="refunds/create", webhook_id="r1")
    process()
    referral.refresh_from_db()
    assert referral.status == "reversed"
    refund = Event.objects.get(type="refund")
    assert (refund.customer_external_id, refund.amount) == ("115310627314723954", 4250)


def test_gw_ref_note_attribute_converts(story: Story) -> None:
    import time

    from goodword.lib.signing import make_ref_token

    token = make_ref_token(story.alice["id"], "clk1", int(time.time()))
    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, order(note_attributes=[{"name": "gw_ref", "value": token}]))
    process()
    referral = Referral.objects.get()
    assert referral.status == "converted"
    assert referral.advocate.public_id == story.alice["id"]


def test_refund_before_its_order_waits_then_fails_visibly(story: Story) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from goodword.integrations import inbox

    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, refund_of("5.00"), topic="refunds/create", webhook_id="r1")
    process()
    item = InboxItem.objects.get()
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.error == "waiting for the purchase of order 820982911946154508"
    assert Event.objects.count() == 0
    # The order arrives: the next try finds its buyer.
    post_shopify(connection, order(story.alice["code"]))
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        process()
    item.refresh_from_db()
    assert item.status == "processed"
    assert Event.objects.get(type="refund").customer_external_id == "115310627314723954"
    assert inbox.MAX_ATTEMPTS == 8


def test_test_orders_are_test_events_kept_out_of_kpis(story: Story) -> None:
    from goodword.analytics.scope import Scope
    from goodword.analytics.summary import summary

    connection, _ = connect(story.acme.workspace, "shopify")
    before = summary(Scope(story.acme.workspace.pk, raw=True))
    post_shopify(connection, order(story.alice["code"], test=True))
    process()
    event = Event.objects.get()
    assert event.test is True
    # Decided for a test customer: a test referral, never counted.
    assert Referral.objects.get().test is True
    assert summary(Scope(story.acme.workspace.pk, raw=True)) == before
    # A live order is counted (so the equality above is not vacuous).
    live = order(
        story.alice["code"], id=820982911946154999, customer={"id": 42, "email": "dan@example.net"}
    )
    post_shopify(connection, live, webhook_id="live")
    process()
    assert summary(Scope(story.acme.workspace.pk, raw=True)) != before


def test_the_scheduler_sweep_processes_the_inbox(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    from goodword.ops import scheduler

    # It would drop the test's connection, whose transaction is not in autocommit.
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)
    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, order(story.alice["code"]))
    assert scheduler.sweep_once()["inbox_processed"] == 1
    assert Referral.objects.get().status == "converted"
    assert scheduler.sweep_once()["inbox_processed"] == 0


def test_a_claimed_item_is_not_claimed_again_until_its_lease_ends(story: Story) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from goodword.integrations import inbox

    if postgres():
        pytest.skip("SQLite's lease; on PostgreSQL: test_two_claims_at_once_take_disjoint_items")
    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, order())
    now = timezone.now()
    [claimed] = inbox._lease(now, 500)
    assert (claimed.attempts, claimed.next_attempt_at) == (1, now + inbox.LEASE)
    assert inbox._lease(now, 500) == []  # another worker finds nothing
    # The first worker died: after the lease the item is claimed again.
    [again] = inbox._lease(now + inbox.LEASE + timedelta(seconds=1), 500)
    assert (again.pk, again.attempts) == (claimed.pk, 2)


def test_a_nul_character_is_refused_not_a_500(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    before = row_counts()
    assert post_shopify(connection, b'{"id": 1, "note": "\x00"}').status_code == 400
    connection.public_id = "con_\x00"
    assert post_shopify(connection, order()).status_code == 404
    assert row_counts() == before


def test_one_poisoned_item_does_not_hold_back_the_others(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    from goodword.ingest import services as ingest

    connection, _ = connect(story.acme.workspace, "shopify")
    post_shopify(connection, order(story.alice["code"]))
    post_shopify(connection, order(id=666, customer={"id": 9, "email": "m@x.io"}), webhook_id="x")
    real = ingest.ingest

    def fragile(**kwargs: Any) -> Any:
        if any(e.order and e.order.id == "666" for e in kwargs["events"]):
            raise RuntimeError("a bug this event trips")
        return real(**kwargs)

    monkeypatch.setattr(ingest, "ingest", fragile)
    assert process() == 2
    statuses = dict(InboxItem.objects.values_list("delivery_id", "status"))
    assert statuses == {"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043": "processed", "x": "pending"}
    poisoned = InboxItem.objects.get(delivery_id="x")
    assert poisoned.error == "could not record: RuntimeError: a bug this event trips"
    assert Referral.objects.get().status == "converted"
