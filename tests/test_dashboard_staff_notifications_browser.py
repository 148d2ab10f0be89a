"""Workspace → Notifications in Chromium against a real `goodword serve`, at a phone's and a
laptop's size, with axe, the CSP and the console watched (UI-1): adding the owner's email,
a Slack URL the SSRF guard refuses (shown next to the form), turning a topic off, sending a
test (the server's console mail backend takes it) and removing the subscription."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, owner_session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_notifications_page_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    with owner_session(server, tmp_path) as visitor:
        page = visitor.page
        visitor.see("/dashboard/notifications/", "notifications-empty", "Nobody yet")
        page.check("input[name=channel][value=slack]")
        page.fill("#id_slack_url", "https://169.254.169.254/latest/meta-data")
        page.click("form[action$='/notifications/add/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "slack_url is refused" in page.inner_text("#add-error")
        visitor.check("notifications-refused")
        # The refused form comes back with 400, which Chromium notes in the console: expected.
        refused = [p for p in visitor.problems if "status of 400" in p]
        assert len(refused) == 1, visitor.problems
        visitor.problems.remove(refused[0])
        page.check("input[name=channel][value=email]")
        page.select_option("#id_email", "owner@acme.test")
        page.uncheck("form[action$='/notifications/add/'] input[name=payouts_due]")
        page.click("form[action$='/notifications/add/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=owner@acme.test gets notifications now.")
        visitor.check("notifications-added")
        [sub] = api.get("/staff-notifications").json()["data"]
        assert (sub["email"], sub["payouts_due"], sub["kpi_digest"]) == (
            "owner@acme.test",
            False,
            True,
        )
        card = f"form[action$='/notifications/{sub['id']}/']"
        page.uncheck(f"{card} input[name=kpi_digest]")
        page.click(f"{card} button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Saved.")
        assert api.get(f"/staff-notifications/{sub['id']}").json()["kpi_digest"] is False
        page.click(f"form[action$='/notifications/{sub['id']}/test/'] button")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=Test sent to owner@acme.test.")
        visitor.check("notifications-tested")
        page.click(f"form[action$='/notifications/{sub['id']}/remove/'] button")
        page.wait_for_load_state("networkidle")
        assert page.is_visible("text=owner@acme.test gets no more notifications.")
        assert api.get("/staff-notifications").json()["data"] == []
        assert visitor.problems == []
