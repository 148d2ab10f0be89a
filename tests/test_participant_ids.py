"""External ids are the business's own: Shopify's `gid://shopify/Customer/7` must work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goodword.rewards.services import approve_due_rewards
from tests.factories import Story, purchase, signup
from tests.shared import balance_line

GID = "gid://shopify/Customer/7"


def test_external_ids_with_slashes_reach_every_participant_route(story: Story) -> None:
    acme = story.acme
    acme.event(signup("s-1", GID, referral_code=story.alice["code"]))
    acme.event(purchase("p-1", GID, "order-1", 2500))
    approve_due_rewards(now=datetime.now(UTC) + timedelta(days=15))
    read = acme.get(f"/participants/{GID}")
    assert read.status_code == 200
    assert read.json()["external_id"] == GID
    balance = acme.get(f"/participants/{GID}/balance").json()
    assert balance == {
        "participant": GID,
        "balances": [balance_line(available=500)],
    }
    r = acme.post(
        f"/participants/{GID}/redemptions", {"order_id": "o-9", "amount": 200, "currency": "USD"}
    )
    assert r.status_code == 201
    assert r.json()["participant"] == GID
    assert acme.get(f"/participants/{GID}/balance").json()["balances"][0]["available"] == 300
    assert story.globex.get(f"/participants/{GID}").status_code == 404
    assert acme.get("/participants/gid://shopify/Customer/8").status_code == 404
