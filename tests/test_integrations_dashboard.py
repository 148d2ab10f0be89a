"""The Connections pages: list, create (a Segment key shown once), inbox with errors, retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from goodword.integrations import inbox
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.services import hash_key
from goodword.referrals.models import Referral
from tests.dashboard import audits, owner, staff
from tests.factories import Story
from tests.integrations import SHOPIFY_SECRET, connect, post_shopify, process
from tests.shared import row_counts
from tests.test_integrations_shopify import order, refund_of


def test_list_shows_each_connection_with_its_url(story: Story) -> None:
    shop, _ = connect(story.acme.workspace, "shopify", description="Main store")
    page = owner(story.acme.workspace).get("/dashboard/connections/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"/hooks/shopify/{shop.public_id}" in text
    assert "Main store" in text
    assert "New connection" in text


def test_create_segment_shows_the_key_once(story: Story) -> None:
    client = owner(story.acme.workspace)
    response = client.post("/dashboard/connections/new/", {"provider": "segment"})
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    connection = Connection.objects.get()
    key = response.content.decode().split('id="secret" class="tm-secret" value="')[1].split('"')[0]
    assert connection.key_hash == hash_key(key)
    page = client.get(f"/dashboard/connections/{connection.public_id}/").content.decode()
    assert key not in page
    assert connection.key_prefix in page
    assert [(a[1], a[2], a[3]) for a in audits()] == [
        ("connection.create", connection.public_id, {"provider": "segment"})
    ]


def test_create_refuses_a_bad_secret_and_writes_nothing(story: Story) -> None:
    client = owner(story.acme.workspace)
    before = row_counts()
    response = client.post(
        "/dashboard/connections/new/", {"provider": "stripe", "secret": "sk_live_nope"}
    )
    assert response.status_code == 400
    assert "whsec_" in response.content.decode()
    assert "sk_live_nope" not in response.content.decode()
    assert {k: v for k, v in row_counts().items() if k != "sessions.Session"} == {
        k: v for k, v in before.items() if k != "sessions.Session"
    }


def test_failed_item_shows_its_error_and_retry_processes_it(
    story: Story, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    monkeypatch.setattr(inbox, "MAX_WAIT", timedelta(0))  # a waiting item fails at once
    post_shopify(connection, refund_of("42.50"), topic="refunds/create", webhook_id="r1")
    process()
    client = owner(story.acme.workspace)
    page = client.get(f"/dashboard/connections/{connection.public_id}/?status=failed")
    text = page.content.decode()
    assert "waiting for the purchase of order 820982911946154508" in text
    assert "Retry" in text
    post_shopify(connection, order(story.alice["code"]))
    process()
    item = InboxItem.objects.get(topic="refunds/create")
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/dashboard/connections/{connection.public_id}/inbox/{item.public_id}/retry/"
        )
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.status == "processed"
    assert Referral.objects.get().status == "reversed"


def test_an_analyst_sees_but_cannot_change(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    analyst = staff(story.acme.workspace, "analyst")
    page = analyst.get(f"/dashboard/connections/{connection.public_id}/")
    assert page.status_code == 200
    assert "Turn off" not in page.content.decode()
    response = analyst.post(f"/dashboard/connections/{connection.public_id}/active/")
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.active is True


def test_toggle_and_delete(story: Story) -> None:
    connection, _ = connect(story.acme.workspace, "shopify")
    client = owner(story.acme.workspace)
    client.post(f"/dashboard/connections/{connection.public_id}/active/")
    connection.refresh_from_db()
    assert connection.active is False
    assert post_shopify(connection, order(), secret=SHOPIFY_SECRET).status_code == 404
    client.post(f"/dashboard/connections/{connection.public_id}/delete/")
    assert Connection.objects.count() == 0
    other, _ = connect(story.globex.workspace, "shopify")
    assert client.get(f"/dashboard/connections/{other.public_id}/").status_code == 404
