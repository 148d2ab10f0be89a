"""Webhooks out of a real `goodword serve`: an endpoint made through the API gets the referral
loop's events, signed, from the dispatcher thread of the server's scheduler (no extra process)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import PROGRAM, purchase, signup
from tests.receiver import Receiver
from tests.servers import Server

pytestmark = pytest.mark.e2e


def test_a_conversion_reaches_the_endpoint_signed(server: Server) -> None:
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    with Receiver() as receiver:
        made = api.post(
            "/webhook-endpoints",
            json={"url": receiver.url + "hooks", "event_types": ["referral.converted"]},
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        program = api.post("/programs", json=PROGRAM).json()["id"]
        code = api.post(f"/programs/{program}/advocates", json={"external_id": "alice"}).json()
        signed_up = api.post("/events", json=signup("s-bob", "bob", referral_code=code["code"]))
        assert signed_up.status_code == 201, signed_up.text
        assert api.post("/events", json=purchase("p-bob", "bob", "o-bob", 5000)).status_code == 201
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(receiver.requests) == 1, server.output()
        request = receiver.requests[0]
    assert request.path == "/hooks"
    event = Webhook(secret).verify(request.body, dict(request.headers))
    assert (event["name"], event["data"]["order_id"]) == ("referral.converted", "o-bob")
    assert json.loads(request.body)["subject"].startswith("ref_")
