"""UI-1 for the rewards pages: the list, a reward's page, the forms by hand, the fulfilment
queue, payout batches and coupon pools, in Debian's Chromium against a real `goodword serve`,
at a phone's and a laptop's size, with axe-core; and a reviewer's approval done by clicking.

As in `test_browser_dashboard.py`: no serious or critical axe violation, no CSP violation or
console error, nothing fetched from anywhere but this server. Screenshots go to
`$GOODWORD_SCREENSHOTS` when set, else to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.factories import purchase, signup
from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _history(server: Server) -> dict[str, str]:
    """Through the API: pending credit rewards, cash, a product, points, a coupon, a pool with
    codes and an approved payout batch. The ids of what the test opens."""
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )

    def post(path: str, body: object) -> dict[str, str]:
        answer = api.post(path, json=body)
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    program = post(
        "/programs",
        {
            "name": "Give $10, get $10",
            "destination_url": f"{server.url}/demo/shop",
            "rewards": [
                {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
                {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "USD"},
            ],
            "trigger": {"event": "purchase", "min_amount": 2000},
            "hold_days": 14,
        },
    )
    alice = {"external_id": "alice", "name": "Alice Liddell", "email": "alice@example.net"}
    code = post(f"/programs/{program['id']}/advocates", alice)["code"]
    for n, friend in enumerate(["bob", "carol"]):
        post("/events", signup(f"s-{friend}", friend, referral_code=code))
        post("/events", purchase(f"p-{friend}", friend, f"o-{n}", 2500 + n))
    by_hand = {"reason": "a thank-you for the case study"}
    post("/participants/alice/rewards", {**by_hand, "kind": "cash", "amount": 1500})
    post("/participants/alice/rewards", {**by_hand, "kind": "product", "sku": "MUG-1"})
    post("/participants/alice/rewards", {**by_hand, "kind": "points", "amount": 120})
    coupon = post("/participants/alice/rewards", {**by_hand, "kind": "coupon", "percent_off": 20})
    pool = post("/coupon-pools", {"name": "Spring codes", "low_threshold": 5})
    post(f"/coupon-pools/{pool['id']}/codes", {"codes": [f"SPRING-{i}" for i in range(8)]})
    batch = post("/payout-batches", {"currency": "USD"})
    post(f"/payout-batches/{batch['id']}/approve", {})
    return {"coupon": coupon["id"], "pool": pool["id"], "batch": batch["id"]}


def test_rewards_pages_in_a_browser(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    ids = _history(server)
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        for path, name, text in [
            ("/dashboard/rewards/", "rewards-list", "Approve selected"),
            (f"/dashboard/rewards/{ids['coupon']}/", "reward-coupon", "20% off"),
            ("/dashboard/rewards/new/", "reward-grant", "Grant a reward"),
            ("/dashboard/rewards/credit/", "credit-adjust", "Adjust credit"),
            ("/dashboard/fulfilments/", "fulfilment-queue", "MUG-1"),
            ("/dashboard/payouts/", "payout-batches", "Propose a batch"),
            (f"/dashboard/payouts/{ids['batch']}/", "payout-batch", "Download PayPal file"),
            ("/dashboard/coupon-pools/", "coupon-pool-list", "Spring codes"),
            (f"/dashboard/coupon-pools/{ids['pool']}/", "coupon-pool", "SPRING-7"),
        ]:
            visitor.see(path, name, text)

        # A reviewer's day: select a held reward, approve it; the list says so.
        visitor.see("/dashboard/rewards/?status=pending&beneficiary=advocate", "pending", "$10.00")
        page.check("input[name=ids]")
        page.click("button[value=approve]")
        page.wait_for_load_state("networkidle")
        assert "Approved 1 reward." in page.content()
        # A form with mistakes shows them next to their fields.
        page.goto(f"{server.url}/dashboard/rewards/new/")
        page.fill("#id_participant", "nobody")
        page.fill("#id_amount", "1.234")
        page.click("form.rw-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "No participant has this external id" in page.content()
        # The form comes back with status 400, which Chromium logs as a failed resource.
        expected = "console: Failed to load resource: the server responded with a status of 400"
        assert [p for p in visitor.problems if p.startswith(expected)] == [
            expected + " (Bad Request)"
        ]
        visitor.problems = [p for p in visitor.problems if not p.startswith(expected)]
        visitor.check("reward-grant-errors")
        assert visitor.problems == []
