"""UI-1 for the dashboard: a marketer's session in Debian's Chromium against a real
`goodword serve`, every page at a phone's and a laptop's size, with axe-core.

On every page: no serious or critical axe violation, no Content-Security-Policy violation or
other console error, no script error, nothing fetched from anywhere but this server (every other
request is aborted). Screenshots go to `$GOODWORD_SCREENSHOTS` when set (to look at), else to the
test's tmp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import purchase, signup
from tests.servers import OWNER_PASSWORD, Server

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
SIZES = {"phone": (390, 844), "laptop": (1280, 800)}
SERIOUS = {"serious", "critical"}


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-sync"],
        )
        try:
            yield browser
        finally:
            browser.close()


class Visitor:
    """One browser context (a person's session) that checks every page it sees."""

    def __init__(self, browser: Any, base: str, shots: Path) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.base, self.shots, self.axe = base, shots, Axe()
        self.problems: list[str] = []
        self.context = browser.new_context()
        self.page = self.context.new_page()
        host = urlsplit(base).hostname

        def only_this_server(route: Any) -> None:
            if urlsplit(route.request.url).hostname == host:
                route.continue_()
            else:
                self.problems.append(f"request off loopback: {route.request.url}")
                route.abort()

        self.page.route("**/*", only_this_server)
        self.page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))

    def check(self, name: str) -> None:
        """axe, then a screenshot at each size, of the page as it is now."""
        for size, (width, height) in SIZES.items():
            self.page.set_viewport_size({"width": width, "height": height})
            results = self.axe.run(self.page)
            for violation in results.response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = [n["target"] for n in violation["nodes"]][:5]
                    self.problems.append(
                        f"{name} ({size}): axe {violation['id']} ({violation['impact']}): "
                        f"{violation['help']} at {targets}"
                    )
            shot = self.shots / f"dashboard-{name}-{size}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000

    def see(self, path: str, name: str, text: str) -> None:
        answer = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        assert answer is not None
        assert answer.status == 200, f"{path}: {answer.status}"
        assert text in self.page.content(), f"{path}: {text!r} not on the page"
        self.check(name)


@contextmanager
def owner_session(server: Server, tmp_path: Path) -> Iterator[Visitor]:
    """Chromium signed in to the dashboard as acme's owner; screenshots go to
    $GOODWORD_SCREENSHOTS, else `tmp_path`."""
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        visitor = Visitor(browser, server.url, shots)
        page = visitor.page
        page.goto(f"{server.url}/dashboard/login/")
        page.fill("input[name=username]", "owner@acme.test")
        page.fill("input[name=password]", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        yield visitor


def _history(server: Server) -> str:
    """Through the API: a two-sided program, alice enrolled, friends who sign up and buy."""
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    program = api.post(
        "/programs",
        json={
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
    assert program.status_code == 201, program.text
    enrolled = api.post(
        f"/programs/{program.json()['id']}/advocates",
        json={"external_id": "alice", "name": "Alice Liddell", "email": "alice@example.net"},
    )
    assert enrolled.status_code == 201, enrolled.text
    code = enrolled.json()["code"]
    for n, friend in enumerate(["bob", "carol", "dave"]):
        answer = api.post("/events", json=signup(f"s-{friend}", friend, referral_code=code))
        assert answer.status_code == 201, answer.text
        if n < 2:
            bought = api.post("/events", json=purchase(f"p-{friend}", friend, f"o-{n}", 2500 + n))
            assert bought.status_code == 201, bought.text
    return str(program.json()["id"])


def test_marketer_session(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    program = _history(server)
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        visitor = Visitor(browser, server.url, shots)
        page = visitor.page
        visitor.see("/dashboard/login/", "login", "Sign in")
        page.fill("input[name=username]", "owner@acme.test")
        page.fill("input[name=password]", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.url == f"{server.url}/dashboard/", page.url
        for path, name, text in [
            ("/dashboard/", "overview", "Overview"),
            ("/dashboard/experiments/", "experiments", "Experiments"),
            ("/dashboard/cohorts/", "cohorts", "Cohorts"),
            ("/dashboard/goals/", "goals", "Goals"),
            ("/dashboard/attribution/", "attribution", "Attribution"),
            ("/dashboard/programs/", "programs", "Programs"),
            ("/dashboard/referrals/", "referrals", "Referrals"),
            ("/dashboard/participants/", "participants", "Participants"),
            ("/dashboard/advocates/", "advocates", "Advocates"),
            ("/dashboard/rewards/", "rewards", "Rewards"),
            ("/dashboard/fulfilments/", "fulfilments", "Fulfil"),
            ("/dashboard/payouts/", "payouts", "Payouts"),
            ("/dashboard/coupon-pools/", "coupon-pools", "Coupon pools"),
            ("/dashboard/team/", "team", "Team"),
            ("/dashboard/api-keys/", "api-keys", "API keys"),
            ("/dashboard/webhooks/", "webhooks", "Webhooks"),
            ("/dashboard/connections/", "connections", "Connections"),
            ("/dashboard/settings/", "settings", "Settings"),
            ("/dashboard/audit/", "audit", "Audit"),
        ]:
            visitor.see(path, name, text)
        visitor.see(f"/dashboard/experiments/{program}/", "experiment", "Experiment")
        _current_section_in_view(visitor, server.url + "/dashboard/audit/")
        visitor.see("/dashboard/password-reset/", "password-reset", "Reset your password")
        assert visitor.problems == []


def _current_section_in_view(visitor: Visitor, url: str) -> None:
    """On a phone the sections scroll sideways: the last one, when current, is shown whole
    without the person scrolling (nav.js), and the page itself has not moved."""
    page = visitor.context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_load_state("networkidle")
    nav = page.locator("nav.side").bounding_box()
    link = page.locator("nav.side [aria-current=page]").bounding_box()
    assert nav is not None
    assert link is not None
    # (within a pixel: the row scrolled to its end may overhang by a fraction of one)
    left, right = nav["x"] - 1, nav["x"] + nav["width"] + 1
    assert left <= link["x"], (nav, link)
    assert link["x"] + link["width"] <= right, (nav, link)
    assert page.evaluate("window.scrollY") == 0
    page.close()
