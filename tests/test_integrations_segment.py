"""Segment: a Segment library pointed at us lands its calls; track/identify translated."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError

from goodword.ingest.models import Event
from goodword.integrations.models import InboxItem
from goodword.integrations.segment import translate
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from tests.factories import Story, make_story
from tests.integrations import connect, process
from tests.shared import row_counts

NOW = datetime.now(UTC) - timedelta(minutes=10)


def auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def post(path: str, body: Any, key: str, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return Client().post(
        f"/hooks/segment/v1/{path}", data, content_type="application/json",
        HTTP_AUTHORIZATION=auth(key), **headers,
    )  # fmt: skip


def track(
    event: str, message_id: str, properties: dict[str, Any], user: str = "bob"
) -> dict[str, Any]:
    """A track call as Segment's spec shows it."""
    return {
        "type": "track",
        "event": event,
        "userId": user,
        "anonymousId": "507f191e810c19729de860ea",
        "messageId": message_id,
        "properties": properties,
        "context": {
            "traits": {"email": f"{user}@example.net"},
            "library": {"name": "analytics.js"},
        },
        "timestamp": NOW.isoformat(),
    }


# --- with the official library, over real HTTP -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_segment_library_lands_events(live_server: Any) -> None:
    story = make_story()
    connection, key = connect(story.acme.workspace, "segment")
    assert key is not None
    assert key.startswith("gwsk_")
    errors: list[Any] = []
    analytics = SegmentClient(
        write_key=key,
        host=f"{live_server.url}/hooks/segment",
        sync_mode=True,
        max_retries=0,
        on_error=lambda e, batch: errors.append(e),
    )
    code = story.alice["code"]
    analytics.identify("bob", {"email": "bob@example.net", "name": "Bob Builder"})
    analytics.track("bob", "Signed Up", {"referral_code": code})
    analytics.track(
        "bob", "Order Completed", {"order_id": "seg-order-1", "total": 42.5, "currency": "USD"}
    )
    analytics.page("bob", "Docs", "Pricing")
    analytics.flush()
    assert errors == []
    items = InboxItem.objects.order_by("pk")
    assert [i.topic for i in items] == ["batch"] * 4
    assert all("writeKey" not in json.loads(i.body) for i in items)
    assert key not in "".join(i.body for i in items)
    process()
    assert [i.status for i in InboxItem.objects.order_by("pk")] == [
        "processed", "processed", "processed", "ignored"]  # fmt: skip
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob")
    assert (bob.email, bob.name) == ("bob@example.net", "Bob Builder")
    referral = Referral.objects.get()
    assert (referral.status, referral.order_amount) == ("converted", 4250)
    purchase = Event.objects.get(type="purchase")
    assert (purchase.source, purchase.amount, purchase.currency) == ("segment", 4250, "USD")

    # The library's retry of the same batch (same messageIds) is no second event.
    analytics.track("bob", "Order Completed", {"order_id": "seg-order-1", "total": 42.5},
                    message_id="m-fixed")  # fmt: skip
    analytics.track("bob", "Order Completed", {"order_id": "seg-order-1", "total": 42.5},
                    message_id="m-fixed")  # fmt: skip
    analytics.flush()
    process()
    assert Event.objects.filter(external_id="m-fixed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_library_with_a_wrong_key_is_refused(live_server: Any) -> None:
    story = make_story()
    connect(story.acme.workspace, "segment")
    analytics = SegmentClient(
        write_key="gwsk_not_a_key", host=f"{live_server.url}/hooks/segment", sync_mode=True,
        max_retries=0,
    )  # fmt: skip
    with pytest.raises(APIError) as refused:
        analytics.track("bob", "Signed Up", {})
    assert refused.value.status == 401
    assert InboxItem.objects.count() == 0


# --- the endpoints -----------------------------------------------------------------------------


def test_bad_key_or_garbage_stores_nothing(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    before = row_counts()
    assert post("track", track("Signed Up", "m1", {}), "gwsk_wrong").status_code == 401
    assert (
        Client().post("/hooks/segment/v1/track", "{}", content_type="application/json").status_code
        == 401
    )
    assert post("track", b"{nope", key).status_code == 400
    assert post("track", b"[1]", key).status_code == 400
    assert post("nothing", {}, key).status_code == 404
    assert row_counts() == before


def test_single_calls_and_gzip(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    response = post(
        "track", {k: v for k, v in track("Signed Up", "m1", {}).items() if k != "type"}, key
    )
    assert (response.status_code, response.json()) == (200, {"success": True})
    zipped = gzip.compress(
        json.dumps({"batch": [track("Signed Up", "m2", {}, user="erin")]}).encode()
    )
    assert post("batch", zipped, key, HTTP_CONTENT_ENCODING="gzip").status_code == 200
    bomb = gzip.compress(b" " * (3 * 1024 * 1024))
    assert post("batch", bomb, key, HTTP_CONTENT_ENCODING="gzip").status_code == 400
    process()
    assert sorted(Event.objects.values_list("external_id", "customer_external_id")) == [
        ("m1", "bob"), ("m2", "erin")]  # fmt: skip


def test_track_translation_with_mapping_and_coupon() -> None:
    options = {"events": {"purchase": "Checkout Done"}, "default_currency": "EUR"}
    body = json.dumps({"batch": [
        track("Checkout Done", "m1", {"order_id": "o-1", "revenue": 19.99, "coupon": "ALICE10",
                                      "gw_ref": "tok"}),
        track("Order Completed", "m2", {"order_id": "o-2", "total": 5}),
        track("Order Refunded", "m3", {"order_id": "o-1", "total": "5.00", "currency": "KWD"}),
    ]})  # fmt: skip
    events = translate.translate("batch", body, options).events
    assert [e.pop("occurred_at") for e in events] == [NOW.isoformat()] * 2
    assert events == [
        {
            "id": "m1",
            "type": "purchase",
            "customer": {"external_id": "bob", "email": "bob@example.net"},
            "test": False,
            "order": {"id": "o-1", "amount": 1999, "currency": "EUR", "coupons": ["ALICE10"]},
            "ref_token": "tok",
        },
        {
            "id": "m3",
            "type": "refund",
            "customer": {"external_id": "bob", "email": "bob@example.net"},
            "test": False,
            "order": {"id": "o-1", "amount": 5000, "currency": "KWD"},
        },
    ]


def test_a_bad_amount_fails_the_item_visibly(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    post("track", track("Order Completed", "m1", {"order_id": "o", "total": "lots"}), key)
    process()
    item = InboxItem.objects.get()
    assert item.status == "failed"
    assert item.error == "message 0 (m1): amount 'lots' is not a number"
    assert Event.objects.count() == 0


def test_a_test_source_sends_test_events(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment", test=True)
    assert key is not None
    post("track", track("Signed Up", "m1", {"referral_code": story.alice["code"]}), key)
    process()
    assert Event.objects.get().test is True
