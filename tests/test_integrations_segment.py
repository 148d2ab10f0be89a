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
def test_a_bad_message_in_the_librarys_batch_loses_no_other(live_server: Any) -> None:
    """The library batches calls (not sync_mode): one of them unreadable to us is still a 200
    for the batch, and the others are recorded."""
    story = make_story()
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    errors: list[Any] = []
    analytics = SegmentClient(
        write_key=key, host=f"{live_server.url}/hooks/segment", max_retries=0,
        upload_size=100, on_error=lambda e, batch: errors.append(e),
    )  # fmt: skip
    analytics.track("bob", "Order Completed", {"order_id": "o-1", "total": 42.5},
                    message_id="m-good-1")  # fmt: skip
    analytics.track("bob", "Order Completed", {"order_id": "o-2", "revenue": "a lot"},
                    message_id="m-bad")  # fmt: skip
    analytics.track("erin", "Order Completed", {"order_id": "o-3", "total": 5, "currency": "EUR"},
                    message_id="m-good-2")  # fmt: skip
    analytics.flush()
    analytics.shutdown()
    assert errors == []
    item = InboxItem.objects.get()  # one batch
    assert len(json.loads(item.body)["batch"]) == 3
    process()
    item.refresh_from_db()
    assert (item.status, item.error) == (
        "failed",
        "message 1 (m-bad): amount 'a lot' is not a number",
    )
    assert sorted(Event.objects.values_list("external_id", "amount", "currency")) == [
        ("m-good-1", 4250, "USD"), ("m-good-2", 500, "EUR")]  # fmt: skip


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


# --- a batch: each message succeeds or fails on its own ----------------------------------------


def mixed_batch() -> list[Any]:
    """Good messages with bad ones between them, as a busy source sends them."""
    nobody = track("Signed Up", "m3", {})
    del nobody["userId"], nobody["anonymousId"]
    no_id = track("Order Completed", "", {"order_id": "o-7", "total": 7})
    del no_id["messageId"]
    bad_email = track("Signed Up", "m8", {}, user="dave")
    bad_email["context"]["traits"]["email"] = "dave-at-example"
    return [
        track("Signed Up", "m0", {}, user="carol"),  # 0
        track("Order Completed", "m1", {"order_id": "o-1", "revenue": "lots"}),  # 1
        track("Order Completed", "m2", {"order_id": "o-2", "total": 12.5}),  # 2
        nobody,  # 3
        track("Order Completed", "m4", {"order_id": "o-4", "total": 3, "currency": "ZZZ"}),  # 4
        {"type": "identify", "userId": "erin", "traits": {"name": "Erin"}},  # 5
        42,  # 6
        {"type": "page", "userId": "bob", "name": "Pricing"},  # 7
        bad_email,  # 8
        no_id,  # 9
        track("Order Refunded", "m10", {"total": 1}),  # 10
        {"type": "identify", "userId": "frank", "traits": {"email": "frank@"}},  # 11
    ]


BAD_MESSAGES = [
    "message 1 (m1): amount 'lots' is not a number",
    "message 3 (m3): a message needs userId or anonymousId",
    "message 4 (m4): 'ZZZ' is not an ISO 4217 currency code",
    "message 6 (None): a message is a JSON object",
    "message 9 (None): a track needs a messageId (the event's id)",
    "message 10 (m10): an Order Refunded needs properties.order_id",
]
# What the inbox refuses after translation, by id: a field the ingestion's schema refuses.
NOT_AN_EMAIL = "Value error, must be an email address like name@example.com"
INVALID = [f"event m8: customer.email: {NOT_AN_EMAIL}", f"person frank: email: {NOT_AN_EMAIL}"]


def test_translation_refuses_bad_messages_one_by_one() -> None:
    translated = translate.translate("batch", json.dumps({"batch": mixed_batch()}), {})
    assert [(e["id"], e["type"], e["customer"]["external_id"]) for e in translated.events] == [
        ("m0", "signup", "carol"), ("m2", "purchase", "bob"), ("m8", "signup", "dave")]  # fmt: skip
    assert translated.events[1]["order"] == {"id": "o-2", "amount": 1250, "currency": "USD"}
    assert translated.people == [
        {"external_id": "erin", "name": "Erin"},
        {"external_id": "frank", "email": "frank@"},
    ]
    assert translated.errors == BAD_MESSAGES
    assert translated.ignored == ""


def test_a_batch_records_its_good_messages_and_names_the_bad(story: Story) -> None:
    connection, key = connect(story.acme.workspace, "segment")
    assert key is not None
    assert post("batch", {"batch": mixed_batch()}, key).status_code == 200
    process()
    item = InboxItem.objects.get()
    events = {e.external_id: e for e in Event.objects.all()}
    assert sorted(events) == ["m0", "m2"]
    assert (events["m2"].amount, events["m2"].currency, events["m2"].customer_external_id) == (
        1250, "USD", "bob")  # fmt: skip
    erin = Participant.objects.get(workspace=story.acme.workspace, external_id="erin")
    assert erin.name == "Erin"
    # Failed, so that someone looks; what was recorded says the rest went in.
    assert item.status == "failed"
    assert item.error == "\n".join(BAD_MESSAGES + INVALID)
    recorded = ["participant:erin", events["m0"].public_id, events["m2"].public_id]
    assert item.result == {"recorded": recorded}
    assert not Participant.objects.filter(external_id__in=["dave", "frank"]).exists()

    # A retry (after the source is fixed, or as is) records nothing twice.
    before = row_counts()
    answer = story.acme.post(
        f"/connections/{connection.public_id}/inbox/{item.public_id}/retry", {}
    )
    assert answer.status_code == 200
    process()
    item.refresh_from_db()
    assert (item.status, item.error) == ("failed", "\n".join(BAD_MESSAGES + INVALID))
    assert item.result == {"recorded": recorded}  # the first answers, given again
    assert row_counts() == before


def test_a_batch_of_bad_messages_only_fails_and_records_nothing(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    before = row_counts()
    batch = [
        track("Order Completed", f"m{i}", {"order_id": f"o-{i}", "total": "?"}) for i in range(25)
    ]
    batch.append({"type": "page", "userId": "bob"})
    post("batch", {"batch": batch}, key)
    process()
    item = InboxItem.objects.get()
    assert item.status == "failed"
    assert item.error.splitlines() == [
        *(f"message {i} (m{i}): amount '?' is not a number" for i in range(20)),
        "and 5 more messages refused",
    ]
    assert item.result == {"recorded": []}
    after = row_counts()
    assert after.pop("integrations.InboxItem") == before.pop("integrations.InboxItem") + 1
    assert after == before


def test_every_stored_call_is_answered_200_and_every_other_answer_stores_nothing(
    story: Story,
) -> None:
    """Segment's libraries drop a batch answered with a 4xx but 408/429: what we keep must be a
    200, and what we answer otherwise must leave nothing behind."""
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    cases: list[tuple[str, Any, str, dict[str, str], int]] = [
        ("batch", {"batch": mixed_batch()}, key, {}, 200),
        ("batch", {"batch": "not a list"}, key, {}, 200),  # stored, fails visibly
        ("batch", {"batch": [{}] * 2501}, key, {}, 200),
        ("track", track("Order Completed", "m1", {"total": "lots"}), key, {}, 200),
        ("identify", {"traits": {}}, key, {}, 200),
        ("batch", b"{nope", key, {}, 400),
        ("batch", b"[]", key, {}, 400),
        ("batch", b"\x1f\x8bnot gzip", key, {"HTTP_CONTENT_ENCODING": "gzip"}, 400),
        ("batch", {"batch": []}, "gwsk_wrong", {}, 401),
        ("nothing", {"batch": []}, key, {}, 404),
        ("batch", b"x" * (2 * 1024 * 1024), key, {}, 413),
    ]
    for kind, body, write_key, headers, status in cases:
        before = InboxItem.objects.count()
        response = post(kind, body, write_key, **headers)
        assert response.status_code == status, (kind, body if len(str(body)) < 80 else "...")
        assert InboxItem.objects.count() == before + (status == 200)
    process()
    assert list(InboxItem.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed", "failed", "failed", "failed", "ignored"]  # fmt: skip


def test_a_test_source_sends_test_events(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment", test=True)
    assert key is not None
    post("track", track("Signed Up", "m1", {"referral_code": story.alice["code"]}), key)
    process()
    assert Event.objects.get().test is True
