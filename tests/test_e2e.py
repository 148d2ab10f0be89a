"""The whole referral loop against a real `goodword serve` (web + worker + scheduler) on loopback.

The server runs in its own process group with its own data dir and its own database (a fresh
SQLite file, or a throwaway PostgreSQL database when the suite runs on PostgreSQL). The test
talks to it over HTTP only: the test process's ORM points at pytest-django's test database,
never at the server's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import PROGRAM, purchase, refund, signup
from tests.servers import Server
from tests.shared import balance_line

pytestmark = pytest.mark.e2e

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
PREVIEW_BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
POLL_SECONDS = 20.0


def _poll(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {POLL_SECONDS}s; last: {value!r}")
        time.sleep(0.2)


def test_alice_refers_bob_through_a_real_server(server: Server) -> None:
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        follow_redirects=False,
        timeout=10,
    )
    web = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)

    def balance(who: str) -> dict[str, int]:
        r = api.get(f"/participants/{who}/balance")
        assert r.status_code == 200, r.text
        lines = r.json()["balances"]
        return dict(lines[0]) if lines else {}

    def statuses() -> list[tuple[str, str]]:
        r = api.get("/rewards")
        assert r.status_code == 200, r.text
        return sorted((x["beneficiary"], x["status"]) for x in r.json()["data"])

    with api, web:
        r = api.post("/programs", json={**PROGRAM, "hold_days": 0})
        assert r.status_code == 201, r.text
        program = r.json()
        r = api.post(
            f"/programs/{program['id']}/advocates",
            json={"external_id": "alice", "email": "alice@example.com", "name": "Alice"},
        )
        assert r.status_code == 201, r.text
        alice = r.json()
        assert alice["link"] == f"{server.url}/r/{alice['code']}"

        # A link-preview bot gets the card, not the redirect, and is not counted as a click.
        r = web.get(f"/r/{alice['code']}", headers={"User-Agent": PREVIEW_BOT})
        assert r.status_code == 200
        assert "location" not in r.headers
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert '<meta property="og:title" content="A gift from Alice: ' in r.text
        assert '<meta name="twitter:card" content="summary_large_image">' in r.text

        # bob clicks in a browser: 302 to the program's destination carrying gw_ref.
        r = web.get(f"/r/{alice['code']}?via=whatsapp", headers={"User-Agent": BROWSER})
        assert r.status_code == 302, r.text
        location = urlsplit(r.headers["location"])
        assert (location.scheme, location.netloc, location.path) == (
            "https",
            "shop.acme.test",
            "/welcome",
        )
        [token] = parse_qs(location.query)["gw_ref"]
        assert token.split(".")[0] == alice["id"]

        r = api.post("/events", json=signup("s-bob", "bob", ref_token=token))
        assert r.status_code == 201, r.text
        assert r.json()["attribution"] == "attributed"
        [referral] = r.json()["referrals"]
        assert referral["status"] == "signed_up"

        r = api.post("/events", json=purchase("p-bob", "bob", "order-1", 2500))
        assert r.status_code == 201, r.text
        assert sorted((x["beneficiary"], x["amount"]) for x in r.json()["rewards"]) == [
            ("advocate", 1000),
            ("friend", 500),
        ]

        # No hold: the worker (kicked after commit) or the scheduler approves both in seconds.
        _poll(
            statuses,
            lambda s: s == [("advocate", "approved"), ("friend", "approved")],
            "both rewards approved",
        )
        assert balance("alice") == balance_line(available=1000)
        assert balance("bob") == balance_line(available=500)
        r = api.get(f"/referrals/{referral['id']}")
        assert r.json()["status"] == "rewarded"
        assert r.json()["source"] == "token"

        # The scheduler moves the click from the web process's log into the database: one
        # click (the bot's visit is not one).
        stats = _poll(
            lambda: api.get(f"/programs/{program['id']}/stats").json(),
            lambda s: s["clicks"] >= 1,
            "the click ingested",
        )
        assert stats["clicks"] == 1
        assert stats["conversions"] == 1
        assert stats["revenue"] == [{"currency": "USD", "amount": 2500}]

        # The order is refunded: both rewards are clawed back, the referral is reversed.
        r = api.post("/events", json=refund("r-bob", "bob", "order-1"))
        assert r.status_code == 201, r.text
        assert r.json()["referrals"][0]["status"] == "reversed"
        assert statuses() == [("advocate", "reversed"), ("friend", "reversed")]
        assert balance("alice") == balance_line()
        assert balance("bob") == balance_line()
        assert api.get(f"/referrals/{referral['id']}").json()["status"] == "reversed"

        # Replaying the refund changes nothing.
        r = api.post("/events", json=refund("r-bob", "bob", "order-1"))
        assert r.status_code == 200
        assert r.headers["idempotent-replayed"] == "true"
        assert balance("alice") == balance_line()
