"""UI-1 for the advocate portal: alice opens her magic link in Chromium against a real
`goodword serve`, copies her link (clipboard permission granted), shares on WhatsApp (the
redirect is checked, never followed off loopback), in English and Italian, at a phone's and a
laptop's size, with axe, the CSP and the console watched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from tests.factories import purchase
from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, SERIOUS, SIZES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _alice(server: Server) -> tuple[httpx.Client, str, str]:
    """Through the API: a two-sided program, alice enrolled, a friend who bought. Returns the
    API client, the program's id and alice's code."""
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
                {
                    "beneficiary": "advocate",
                    "kind": "credit",
                    "amount": 1000,
                    "currency": "USD",
                    "choices": [{"kind": "gift_card", "amount": 2000}],
                    "choice_days": 20,
                },
                {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "USD"},
            ],
            "tiers": {
                "basis": "referrals",
                "period": "lifetime",
                "levels": [{"name": "Member", "min": 0}, {"name": "Gold", "min": 3}],
            },
            "hold_days": 14,
        },
    )
    assert program.status_code == 201, program.text
    pid = program.json()["id"]
    enrolled = api.post(
        f"/programs/{pid}/advocates",
        json={"external_id": "alice", "name": "Alice Liddell", "email": "alice@example.net"},
    )
    assert enrolled.status_code == 201, enrolled.text
    code = enrolled.json()["code"]
    api.post("/participants", json={"external_id": "bob", "name": "Bob Marley"})
    bought = api.post("/events", json=purchase("p-bob", "bob", "o-1", 2500, referral_code=code))
    assert bought.status_code == 201, bought.text
    return api, pid, code


class Advocate:
    """One browser context: alice's phone or laptop, in `locale`."""

    def __init__(self, browser: Any, server: Server, shots: Path, locale: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.server, self.shots, self.axe = server, shots, Axe()
        self.problems: list[str] = []
        self.left: list[str] = []  # off-loopback addresses the page tried (and was refused)
        self.context = browser.new_context(locale=locale)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        self.page = self.context.new_page()
        watch(self.page, server.url, self.problems, self.left)

    def check(self, name: str) -> None:
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
            shot = self.shots / f"portal-{name}-{size}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000


@contextmanager
def _chromium() -> Iterator[Any]:
    """Chromium that resolves no host name (loopback addresses need none): a share button's
    redirect to another site cannot leave the machine."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def _magic_link(api: httpx.Client, pid: str) -> str:
    made = api.post(f"/programs/{pid}/advocates/alice/portal-link")
    assert made.status_code == 200, made.text
    return str(made.json()["url"])


def test_portal_in_chromium(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    api, pid, code = _alice(server)
    link = f"{server.url}/r/{code}"
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with _chromium() as browser:
        alice = Advocate(browser, server, shots, "en-US")
        page = alice.page
        answer = page.goto(_magic_link(api, pid))
        page.wait_for_load_state("networkidle")
        assert answer is not None
        assert answer.status == 200
        assert page.url == f"{server.url}/p/"  # the token left the address bar
        cookie = next(c for c in alice.context.cookies() if c["name"] == "gw_portal")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        body = page.inner_text("main")
        assert "Bob M." in body
        assert "Marley" not in body
        assert "choose by" in body
        assert "2 more friends who order to reach Gold" in body
        alice.check("en")

        page.click("#copy")
        page.wait_for_function("document.getElementById('status').textContent.length > 0")
        assert page.inner_text("#status") == "Link copied. Paste it anywhere."
        assert page.evaluate("navigator.clipboard.readText()") == link
        assert page.is_hidden("#native")  # headless Chromium on Linux has no share sheet

        page.fill("#message", f"Try this coffee! {link}")
        with page.expect_response(f"{server.url}/p/share") as shared:
            page.click("button[value=whatsapp]", no_wait_after=True)
        location = shared.value.all_headers()["location"]
        assert shared.value.status == 303
        assert unquote(location) == f"https://wa.me/?text=Try this coffee! {link}?via=whatsapp"
        page.wait_for_timeout(300)
        assert [urlsplit(u).hostname for u in alice.left] == ["wa.me"]
        page.goto(f"{server.url}/p/")
        page.check("input[value=gift_card]")
        page.click("fieldset.choice button")
        page.wait_for_load_state("networkidle")
        assert page.url == f"{server.url}/p/#rewards"
        assert "(your choice)" in page.inner_text("#rewards")
        assert page.locator("fieldset.choice").count() == 0
        problems = list(alice.problems)

        italian = Advocate(browser, server, shots, "it-IT")
        italian.page.goto(_magic_link(api, pid))
        italian.page.wait_for_load_state("networkidle")
        assert italian.page.get_attribute("html", "lang") == "it"
        assert "Il tuo link" in italian.page.inner_text("main")
        italian.check("it")
        italian.page.goto(f"{server.url}/p/nope.x.y")
        assert "Questo link non funziona" in italian.page.inner_text("main")
        italian.check("bad-link-it")
        problems += italian.problems
        assert italian.left == []
    # The bad link's 404 is the one console error Chromium logs for it.
    assert [p for p in problems if "404" not in p] == []


def watch(page: Any, server_url: str, problems: list[str], left: list[str]) -> None:
    """Keep `page` on this server: any other address is refused and noted in `left` (a
    redirect skips routes, so the share button's 303 to wa.me is noted on its request; the
    browser resolves no name but loopback's, so it goes nowhere); console errors and script
    errors go to `problems`."""
    host = urlsplit(server_url).hostname

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).hostname == host:
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on(
        "request",
        lambda r: (
            urlsplit(r.url).hostname != host
            and r.redirected_from is not None
            and left.append(r.url)
        ),
    )
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
