"""SEC-2 in a real browser: the pages people see, in Debian's Chromium driven by Playwright.

A friend follows a referral link and lands on the shop with the token; an advocate opens the
share page; staff sign in through the login form and open the referrals; a developer opens the
API docs. On every page: no Content-Security-Policy violation, no script error, nothing fetched
from anywhere but this server (every other request is aborted). Screenshots of each page go to
`$GOODWORD_SCREENSHOTS` when set (to look at), else to the test's tmp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_story

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium says "HeadlessChrome" and is rightly taken for a bot; a person's browser:
PERSON = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
PASSWORD = "correct horse battery staple"


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


def test_pages_people_see(transactional_db: None, live_server: Any, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    # Everything the server needs exists before the browser starts: Playwright's event loop
    # would make Django refuse ORM calls from this thread afterwards.
    story = make_story(destination_url=f"{live_server.url}/demo/shop")
    owner = get_user_model().objects.get(username="owner@acme.test")
    owner.set_password(PASSWORD)
    owner.save()
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        _visit_all(browser, live_server.url, story.alice["code"], shots)


def _visit_all(browser: Any, base: str, code: str, shots: Path) -> None:
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1000, "height": 700}, user_agent=PERSON)
    host = urlsplit(base).hostname
    blocked: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).hostname == host:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))

    def see(path: str, name: str, text: str) -> None:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert text in page.content(), f"{path}: {text!r} not on the page"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert (shots / f"{name}.png").stat().st_size > 5_000

    see("/", "home", "Goodword is running")
    # A friend clicks the link: the server's 302 takes the browser to the shop with a token.
    see(f"/r/{code}?via=whatsapp", "landing", "referral link")
    assert "/demo/shop?gw_ref=" in page.url
    see(f"/s/{code}", "share-page", code)
    see("/s/NO-SUCH-CODE", "share-page-404", "This share page doesn")
    # The browser reports the 404 itself as a console error; that one is expected.
    assert problems.pop() == (
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    )

    # A person whose browser is taken for a bot gets the preview card; its link still credits.
    bot = browser.new_page(viewport={"width": 1000, "height": 700})
    bot.route("**/*", only_this_server)
    bot.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    bot.goto(f"{base}/r/{code}")
    bot.screenshot(path=str(shots / "preview-card.png"), full_page=True)
    bot.click("text=Continue")
    bot.wait_for_load_state("networkidle")
    assert "/demo/shop?gw_ref=" in bot.url
    bot.close()

    page.goto(base + "/admin/login/")
    page.fill("#id_username", "owner@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/admin/"), page.url
    see("/admin/", "staff-home", "Goodword staff")
    see("/admin/referrals/referral/", "staff-referrals", "referral")
    see("/api/v1/docs", "api-docs", "swagger-ui")
    page.wait_for_selector(".opblock", timeout=10_000)  # Swagger UI rendered the operations
    page.screenshot(path=str(shots / "api-docs.png"), full_page=False)

    assert problems == []
    assert blocked == []
