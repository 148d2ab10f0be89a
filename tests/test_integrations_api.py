"""`/connections`: create, read, change, delete; the inbox and its retry; isolation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from goodword.ingest.models import Event
from goodword.integrations import inbox
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.services import hash_key
from goodword.referrals.models import Referral
from tests.factories import Api, Story
from tests.integrations import SHOPIFY_SECRET, STRIPE_SECRET, post_shopify, process
from tests.shared import row_counts
from tests.test_integrations_shopify import order, refund_of

SITE = settings.SITE_URL


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/connections", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_each_provider(acme: Api) -> None:
    shop = create(acme, {"provider": "shopify", "secret": SHOPIFY_SECRET,
                         "options": {"shop_domain": "acme-shop.myshopify.com"}})  # fmt: skip
    assert shop["inbound_url"] == f"{SITE}/hooks/shopify/{shop['id']}"
    assert shop["id"].startswith("con_")
    assert (shop["write_key"], shop["write_key_prefix"], shop["active"]) == (None, None, True)
    assert shop["options"] == {"shop_domain": "acme-shop.myshopify.com"}
    assert "secret" not in shop
    assert SHOPIFY_SECRET not in json.dumps(shop)
    stripe = create(acme, {"provider": "stripe", "secret": STRIPE_SECRET})
    assert stripe["inbound_url"] == f"{SITE}/hooks/stripe/{stripe['id']}"
    segment = create(acme, {"provider": "segment", "options": {"events": {"signup": "Joined"}}})
    key = segment["write_key"]
    assert key.startswith("gwsk_")
    assert segment["write_key_prefix"] == key[:12]
    assert segment["inbound_url"] == f"{SITE}/hooks/segment"
    # Shown once: stored only as its hash, and never in a read.
    stored = Connection.objects.get(public_id=segment["id"])
    assert (stored.key_hash, stored.secret) == (hash_key(key), "")
    assert acme.get(f"/connections/{segment['id']}").json()["write_key"] is None
    listed = acme.get("/connections").json()
    assert [c["id"] for c in listed["data"]] == [segment["id"], stripe["id"], shop["id"]]
    assert key not in json.dumps(listed)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"provider": "shopify"}, "invalid_secret"),
        ({"provider": "stripe", "secret": "sk_live_123"}, "invalid_secret"),
        ({"provider": "segment", "secret": "x"}, "invalid_secret"),
        (
            {"provider": "stripe", "secret": STRIPE_SECRET, "options": {"shop_domain": "a"}},
            "invalid_options",
        ),  # fmt: skip
        ({"provider": "paypal", "secret": "x"}, "validation_error"),
        ({"provider": "segment", "options": {"default_currency": "XXX"}}, "validation_error"),
        ({"provider": "segment", "options": {"unknown": 1}}, "validation_error"),
    ],
)
def test_bad_connections_are_refused(acme: Api, body: dict[str, Any], code: str) -> None:
    before = row_counts()
    response = acme.post("/connections", body)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == code
    assert row_counts() == before


def test_patch_rotates_the_secret_and_turns_off(story: Story) -> None:
    acme = story.acme
    shop = create(acme, {"provider": "shopify", "secret": SHOPIFY_SECRET})
    connection = Connection.objects.get(public_id=shop["id"])
    changed = acme.patch(f"/connections/{shop['id']}", {"secret": "shpss_new_secret"})
    assert changed.status_code == 200
    assert post_shopify(connection, order()).status_code == 401  # the old secret is refused
    assert post_shopify(connection, order(), secret="shpss_new_secret").status_code == 200
    off = acme.patch(
        f"/connections/{shop['id']}", {"active": False, "options": {"description": "x"}}
    )
    assert (off.json()["active"], off.json()["options"]) == (False, {"description": "x"})
    assert (
        post_shopify(connection, order(), secret="shpss_new_secret", webhook_id="2").status_code
        == 404
    )
    assert acme.patch(f"/connections/{shop['id']}", {"active": None}).status_code == 422
    assert InboxItem.objects.count() == 1


def test_delete_removes_the_connection_and_its_inbox_not_the_events(story: Story) -> None:
    acme = story.acme
    shop = create(acme, {"provider": "shopify", "secret": SHOPIFY_SECRET})
    post_shopify(Connection.objects.get(public_id=shop["id"]), order())
    process()
    response = acme.client.delete(
        f"/api/v1/connections/{shop['id']}", HTTP_AUTHORIZATION=f"Bearer {acme.key}"
    )
    assert response.status_code == 204
    assert (Connection.objects.count(), InboxItem.objects.count(), Event.objects.count()) == (
        0,
        0,
        1,
    )
    assert acme.get(f"/connections/{shop['id']}").status_code == 404


def test_a_failed_item_is_visible_and_retried(
    story: Story, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    acme = story.acme
    shop = create(acme, {"provider": "shopify", "secret": SHOPIFY_SECRET})
    connection = Connection.objects.get(public_id=shop["id"])
    monkeypatch.setattr(inbox, "MAX_WAIT", timedelta(0))  # a waiting item fails at once
    post_shopify(connection, refund_of("42.50"), topic="refunds/create", webhook_id="r1")
    process()
    failed = acme.get(f"/connections/{shop['id']}/inbox", status="failed").json()["data"]
    waiting = "waiting for the purchase of order 820982911946154508"
    assert [(i["status"], i["error"], i["topic"]) for i in failed] == [
        ("failed", waiting, "refunds/create")
    ]
    assert acme.get(f"/connections/{shop['id']}").json()["failed"] == 1
    # The order arrives (it converts alice's referral); the refund is retried and reverses it.
    post_shopify(connection, order(story.alice["code"]))
    process()
    assert Referral.objects.get().status == "converted"
    item_id = failed[0]["id"]
    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        retried = acme.post(f"/connections/{shop['id']}/inbox/{item_id}/retry", {})
    assert retried.status_code == 200, retried.content
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    # The retry enqueued the worker's task (run at once in tests).
    assert len(enqueued) == 1
    processed = acme.get(f"/connections/{shop['id']}/inbox", status="processed").json()["data"]
    assert [i["id"] for i in processed][1:] == [item_id]  # newest first: the order, the refund
    assert Referral.objects.get().status == "reversed"
    again = acme.post(f"/connections/{shop['id']}/inbox/{item_id}/retry", {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_retryable")
    assert acme.get(f"/connections/{shop['id']}/inbox", status="bogus").status_code == 422


def test_a_connection_of_acme_never_writes_into_globex(story: Story) -> None:
    """Everything a connection receives is recorded in its own workspace, whatever the body
    names: globex's advocate code in acme's order attributes nothing."""
    acme, globex = story.acme, story.globex
    from tests.factories import enrol, make_program

    gina = enrol(globex, make_program(globex)["id"], "gina")
    shop = create(acme, {"provider": "shopify", "secret": SHOPIFY_SECRET})
    before = row_counts(globex.workspace)
    post_shopify(Connection.objects.get(public_id=shop["id"]), order(gina["code"]))
    process()
    assert row_counts(globex.workspace) == before
    event = Event.objects.get()
    assert event.workspace_id == acme.workspace.pk
    assert Referral.objects.count() == 0  # gina's code means nothing in acme
    # globex cannot read or retry acme's connection or its inbox.
    item = InboxItem.objects.get()
    assert globex.get(f"/connections/{shop['id']}").status_code == 404
    assert globex.get(f"/connections/{shop['id']}/inbox").status_code == 404
    assert (
        globex.post(f"/connections/{shop['id']}/inbox/{item.public_id}/retry", {}).status_code
        == 404
    )
    assert globex.get("/connections").json() == {"data": [], "next_cursor": None}
