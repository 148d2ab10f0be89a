"""Review findings on the Connect issue: inputs that must fail one item (or answer 4xx), never
hold back the worker or crash a request."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goodword.ingest.models import Event
from goodword.integrations import inbox, services
from goodword.integrations.amounts import minor_units
from goodword.integrations.models import InboxItem
from goodword.integrations.translation import Refused
from tests.factories import Story
from tests.integrations import connect, process
from tests.test_integrations_segment import post, track


@pytest.mark.parametrize(
    ("value", "currency"),
    [(1e30, "USD"), (1e300, "JPY"), ("1e999999", "USD"), ("1e999990", "KWD"), ("-1e999999", "USD")],
)
def test_huge_amounts_are_refused_at_once(value: Any, currency: str) -> None:
    started = time.monotonic()
    with pytest.raises(Refused):
        minor_units(value, currency)
    assert time.monotonic() - started < 0.5  # no 26-second int(10**999990)


def test_amounts_at_the_limit() -> None:
    assert minor_units("10000000000", "USD") == 10**12
    assert minor_units(10**9, "KWD") == 10**12
    with pytest.raises(Refused):
        minor_units("10000000000.01", "USD")


def test_one_poison_delivery_fails_alone(story: Story) -> None:
    """A Segment write key ships in browsers: anyone may post. An amount Decimal cannot scale
    used to raise out of the worker's batch, so neither it nor the items claimed with it were
    ever finished (re-claimed every lease, forever)."""
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    good = track("Order Completed", "m-good", {"order_id": "o-1", "total": "12.50"})
    poison = track("Order Completed", "m-bad", {"order_id": "o-2", "total": 1e30})
    assert post("track", poison, key).status_code == 200
    assert post("track", good, key).status_code == 200
    process()
    statuses = dict(InboxItem.objects.values_list("status", "attempts").order_by("pk"))
    assert list(InboxItem.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed",
        "processed",
    ], statuses
    bad = InboxItem.objects.order_by("pk").first()
    assert bad is not None
    assert bad.error == "message 0 (m-bad): amount 1e+30 is too large"
    assert list(Event.objects.values_list("external_id", flat=True)) == ["m-good"]


def test_a_translator_bug_fails_its_item_only(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:

    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    real = inbox.TRANSLATORS["segment"]

    def flaky(topic: str, body: str, options: dict[str, Any]) -> Any:
        if "m-bug" in body:
            raise KeyError("boom")
        return real(topic, body, options)

    monkeypatch.setitem(inbox.TRANSLATORS, "segment", flaky)
    post("track", track("Signed Up", "m-bug", {}), key)
    post("track", track("Signed Up", "m-ok", {}, user="erin"), key)
    process()
    items = list(InboxItem.objects.order_by("pk").values_list("status", "error"))
    assert items == [("failed", "internal error: KeyError"), ("processed", "")]
    assert list(Event.objects.values_list("external_id", flat=True)) == ["m-ok"]


def test_deeply_nested_segment_json_is_a_400(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    body = ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()
    response = post("track", body, key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"
    assert InboxItem.objects.count() == 0


def test_deeply_nested_stored_body_fails_its_item(story: Story) -> None:

    connection, _ = connect(story.acme.workspace, "segment")
    services.store_delivery(
        connection=connection, topic="track", delivery_id="",
        body="[" * 100_000 + "]" * 100_000, headers={}, now=timezone.now(),
    )  # fmt: skip
    process()
    item = InboxItem.objects.get()
    assert (item.status, item.error) == ("failed", "the body is not valid JSON")
    json.dumps(item.result)


def test_listing_connections_costs_the_same_for_one_or_many(story: Story) -> None:

    acme = story.acme
    first, _ = connect(acme.workspace, "segment")
    services.store_delivery(
        connection=first, topic="track", delivery_id="", body="{}", headers={}, now=timezone.now()
    )
    with CaptureQueriesContext(db) as one:
        answer = acme.get("/connections")
    assert [(c["pending"], c["failed"]) for c in answer.json()["data"]] == [(1, 0)]
    for _ in range(5):
        connect(acme.workspace, "segment")
    with CaptureQueriesContext(db) as six:
        answer = acme.get("/connections")
    rows = answer.json()["data"]
    assert [(c["pending"], c["failed"]) for c in rows] == [(0, 0)] * 5 + [(1, 0)]
    assert len(six.captured_queries) == len(one.captured_queries)


def test_a_nul_in_a_segment_field_fails_that_item_only(story: Story) -> None:
    _, key = connect(story.acme.workspace, "segment")
    assert key is not None
    post("track", track("Signed Up", "m\x00x", {}, user="n\x00l"), key)
    post("track", track("Signed Up", "m-ok", {}, user="erin"), key)
    process()
    items = list(InboxItem.objects.order_by("pk").values_list("status", "error"))
    assert items == [
        ("failed", "message 0 (None): a track needs a messageId (the event's id)"),
        ("processed", ""),
    ]
    assert list(Event.objects.values_list("external_id", flat=True)) == ["m-ok"]
