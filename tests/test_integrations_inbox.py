"""The inbox's hot paths: connections cached for a few seconds by the web process (turned off
elsewhere: refused once the entry ends), the fast path past the middleware, and the worker's
`last_received_at` from the claim in hand."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from goodword.integrations import receive, services
from goodword.integrations.models import Connection, InboxItem
from tests.factories import Story, make_story
from tests.integrations import connect, post_shopify, post_stripe, process

ORDER = {"id": 1001, "email": "bob@example.net", "currency": "USD", "total_price": "42.50"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(receive, "clock", moved)
    receive.forget()
    return moved


def segment_track(key: str) -> Any:
    body = {"type": "track", "event": "Signed Up", "userId": "u1"}
    return Client().post(
        "/hooks/segment/v1/track", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    )  # fmt: skip


def test_turned_off_elsewhere_is_accepted_until_the_entry_ends_then_refused(
    story: Story, clock: Clock, settings: Any
) -> None:
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 5.0
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, ORDER, webhook_id="w1").status_code == 200
    # Another web process turns it off: this one does not hear of it.
    Connection.objects.filter(pk=connection.pk).update(active=False)
    clock.now += 4.9
    assert post_shopify(connection, ORDER, webhook_id="w2").status_code == 200
    clock.now += 0.2  # 5.1 s after the look-up
    answer = post_shopify(connection, ORDER, webhook_id="w3")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
    assert list(InboxItem.objects.order_by("pk").values_list("delivery_id", flat=True)) == [
        "w1",
        "w2",
    ]
    # Turned on again elsewhere: the miss is cached as long.
    Connection.objects.filter(pk=connection.pk).update(active=True)
    clock.now += 4.9
    assert post_shopify(connection, ORDER, webhook_id="w4").status_code == 404
    clock.now += 0.2
    assert post_shopify(connection, ORDER, webhook_id="w5").status_code == 200
    assert InboxItem.objects.count() == 3


def test_with_no_cache_a_turned_off_connection_is_refused_at_once(
    story: Story, clock: Clock, settings: Any
) -> None:
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 0
    connection, _ = connect(story.acme.workspace, "stripe")
    event = {"id": "evt_1", "type": "customer.created", "data": {"object": {}}}
    assert post_stripe(connection, event).status_code == 200
    Connection.objects.filter(pk=connection.pk).update(active=False)
    assert post_stripe(connection, {**event, "id": "evt_2"}).status_code == 404
    assert receive._cache == {}
    assert list(InboxItem.objects.values_list("delivery_id", flat=True)) == ["evt_1"]


def test_a_change_through_the_services_applies_at_once_in_this_process(
    story: Story, clock: Clock, settings: Any
) -> None:
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 5.0
    connection, key = connect(story.acme.workspace, "segment")
    assert key is not None
    assert segment_track(key).status_code == 200
    services.update_connection(connection=connection, active=False)
    assert segment_track(key).status_code == 401
    services.update_connection(connection=connection, active=True)
    assert segment_track(key).status_code == 200
    services.delete_connection(connection=connection)
    assert segment_track(key).status_code == 401
    assert InboxItem.objects.count() == 0  # the connection's inbox went with it


@pytest.mark.django_db(transaction=True)
def test_deleted_elsewhere_while_cached_is_a_404_not_a_500(clock: Clock, settings: Any) -> None:
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 5.0
    story = make_story()
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, ORDER, webhook_id="w1").status_code == 200
    Connection.objects.filter(pk=connection.pk).delete()  # another process; still cached here
    answer = post_shopify(connection, ORDER, webhook_id="w2")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
    assert InboxItem.objects.count() == 0
    assert receive._cache == {}  # forgotten: the next look-up asks the database


def test_a_bad_signature_stores_nothing_and_caches_no_secret_change(
    story: Story, clock: Clock
) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, ORDER, secret="shpss_wrong").status_code == 401
    assert InboxItem.objects.count() == 0
    services.update_connection(connection=connection, secret="shpss_rotated")
    assert post_shopify(connection, ORDER, webhook_id="a").status_code == 401
    assert (
        post_shopify(connection, ORDER, webhook_id="a", secret="shpss_rotated").status_code == 200
    )
    # A redelivery (the same webhook id) adds no row.
    assert (
        post_shopify(connection, ORDER, webhook_id="a", secret="shpss_rotated").status_code == 200
    )
    assert InboxItem.objects.count() == 1


def test_the_fast_path_answers_hooks_and_leaves_the_rest_to_the_stack(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    answer = post_shopify(connection, ORDER)
    assert answer.status_code == 200
    assert answer.json() == {"received": True}
    assert "Set-Cookie" not in answer
    assert "X-Frame-Options" not in answer
    # Other methods and paths are routed by Django as before.
    assert Client().get(f"/hooks/shopify/{connection.public_id}").status_code == 405
    assert (
        Client().post("/hooks/shopify/", "{}", content_type="application/json").status_code == 404
    )
    assert (
        Client().post("/hooks/shopify/a/b", "{}", content_type="application/json").status_code
        == 404
    )
    nosuch = Client().post("/hooks/segment/v1/nosuch", "{}", content_type="application/json")
    assert (nosuch.status_code, nosuch.json()["error"]["code"]) == (404, "not_found")
    assert InboxItem.objects.count() == 1


def test_last_received_at_is_the_latest_item_of_the_claim_and_never_moves_back(
    story: Story,
) -> None:
    shop, _ = connect(story.acme.workspace, "shopify")
    other, _ = connect(story.acme.workspace, "shopify")
    now = timezone.now()
    for webhook_id, at in (("a", now - timedelta(minutes=3)), ("b", now - timedelta(minutes=1))):
        services.store_delivery(
            connection=shop, topic="shop/update", delivery_id=webhook_id, body="{}", headers={},
            now=at,
        )  # fmt: skip
    assert process() == 2
    shop.refresh_from_db()
    other.refresh_from_db()
    assert shop.last_received_at == now - timedelta(minutes=1)
    assert other.last_received_at is None
    # An older item processed later (a retry, a late claim) leaves the newer time as it is.
    services.store_delivery(
        connection=shop, topic="shop/update", delivery_id="c", body="{}", headers={},
        now=now - timedelta(minutes=2),
    )  # fmt: skip
    assert process() == 1
    shop.refresh_from_db()
    assert shop.last_received_at == now - timedelta(minutes=1)
    assert set(InboxItem.objects.values_list("status", flat=True)) == {"ignored"}
    assert InboxItem.objects.get(delivery_id="c").attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_replaced_and_the_delivery_stored(clock: Clock) -> None:
    if db.vendor != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    story = make_story()
    connection, _ = connect(story.acme.workspace, "shopify")
    assert post_shopify(connection, ORDER, webhook_id="w1").status_code == 200
    db.connection.close()  # the server went away (a restart) under Django's feet
    assert post_shopify(connection, ORDER, webhook_id="w2").status_code == 200
    assert sorted(InboxItem.objects.values_list("delivery_id", flat=True)) == ["w1", "w2"]
