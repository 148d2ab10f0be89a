"""The connections pages in Chromium against a real `goodword serve`, at a phone's and a
laptop's size, with axe, the CSP and the console watched (UI-1): the list, a Shopify
connection with a delivery in its inbox, and a Segment connection made with the form (its
write key shown once)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = pytest.mark.e2e

SECRET = "shpss_acme_app_secret_0123456789"


def test_connections_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    made = api.post("/connections", json={"provider": "shopify", "secret": SECRET})
    assert made.status_code == 201, made.text
    shop = made.json()
    body = json.dumps({"id": 1001, "currency": "USD", "total_price": "42.50"}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    delivered = httpx.post(
        shop["inbound_url"],
        content=body,
        headers={
            "X-Shopify-Hmac-Sha256": signature.decode(),
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Webhook-Id": "wh-1",
            "Content-Type": "application/json",
        },
    )
    assert delivered.status_code == 200, delivered.text
    # The delivery names no customer: the server's sweep fails it, with the reason.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = api.get(f"/connections/{shop['id']}/inbox").json()["data"]
        if items and items[0]["status"] == "failed":
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the delivery was not processed: {server.output()}")
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/connections/", "connections-list", "Your connections")
        visitor.see(f"/dashboard/connections/{shop['id']}/", "connection", "Recent deliveries")
        assert page.is_visible("text=nobody to attribute it to")  # why it failed, in words
        page.goto(f"{server.url}/dashboard/connections/")
        page.select_option("#id_provider", "segment")
        page.click("form[action$='/connections/new/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=New Segment connection")
        visitor.check("connection-key")
        assert visitor.problems == []
    providers = sorted(c["provider"] for c in api.get("/connections").json()["data"])
    assert providers == ["segment", "shopify"]
