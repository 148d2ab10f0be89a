"""The widget in Chromium on a business's page served from another origin with a strict CSP.

The shop is a second HTTP server on loopback (`localhost:<port>`, while Goodword is
`127.0.0.1:<port>`: another origin) whose pages allow scripts and fetches from Goodword only
and styles from themselves only. The widget must work there: the panel opened and used with the
keyboard, the link copied (one Share row), the exit-intent banner, the post-purchase popup in
Italian, and `gw_ref` kept on the shop's domain with and without a consent flag. On every page:
axe with no serious or critical violation, no CSP violation or other console error, no request
off loopback; screenshots at a phone's and a laptop's size.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.servers import Server, _base_env
from tests.shared import run_goodword
from tests.test_browser_dashboard import CHROMIUM, SERIOUS, SIZES, owner_session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme shop</title><link rel="stylesheet" href="/shop.css"></head>
<body><header><p class="logo">Acme</p></header>
<main><h1>{heading}</h1><p>Fresh coffee, roasted weekly.</p>
<p><a href="/">Home</a></p></main>
<script src="{goodword}/widget.js" data-key="{key}" {extra} defer></script>
</body></html>"""
CSS = (
    b"body{margin:0;font:16px/1.5 Georgia,serif;color:#222;background:#fbf7f0}"
    b"header{background:#3b2a1a;color:#fff;padding:12px 20px}.logo{margin:0;font-weight:bold}"
    b"main{padding:20px;max-width:40rem}a{color:#7a3a00}"
)


def signature(secret: str, customer: str) -> str:
    """What the business's server computes (docs/sharing-widget.md)."""
    return hmac.new(secret.encode(), customer.encode(), hashlib.sha256).hexdigest()


@contextmanager
def shop(goodword: str, key: str, secret: str) -> Iterator[str]:
    """The business's site: `/` (alice, signed in), `/consent` (consent required), `/thanks`
    (post-purchase, in Italian), `/carol` (signed in, no advocate yet), `/guest` (nobody)."""
    csp = (
        f"default-src 'self'; script-src {goodword}; connect-src {goodword}; "
        "style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )
    alice = f'data-customer="alice" data-signature="{signature(secret, "alice")}"'
    carol = f'data-customer="carol" data-signature="{signature(secret, "carol")}"'
    pages = {
        "/": ("en", "Our coffee", alice),
        "/consent": ("en", "Our coffee", f'{alice} data-consent="required"'),
        "/thanks": ("it", "Grazie!", f"{alice} data-post-purchase"),
        "/carol": ("en", "Our coffee", carol),
        "/guest": ("en", "Our coffee", 'data-signin="/signin"'),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if path == "/shop.css":
                body, kind = CSS, "text/css"
            elif path in pages:
                lang, heading, extra = pages[path]
                html = PAGE.format(
                    lang=lang, heading=heading, goodword=goodword, key=key, extra=extra
                )
                body, kind = html.encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def share_rows(database_url: str) -> list[tuple[str, str]]:
    """The server's Share rows (channel, source), read from its own database."""
    query = "SELECT channel, source FROM referrals_share ORDER BY id"
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return [(str(a), str(b)) for a, b in conn.execute(query).fetchall()]
    with psycopg.connect(database_url) as conn:
        return [(str(a), str(b)) for a, b in conn.execute(query).fetchall()]


class Shopper:
    """A browser context on the shop's pages, watching the console and every request."""

    def __init__(self, browser: Any, shots: Path) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe, self.shots = Axe(), shots
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page = self.context.new_page()

        def loopback_only(route: Any) -> None:
            if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
                route.continue_()
            else:
                self.problems.append(f"request off loopback: {route.request.url}")
                route.abort()

        self.context.route("**/*", loopback_only)
        self.page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))

    def open(self, url: str) -> None:
        answer = self.page.goto(url)
        assert answer is not None, url
        assert answer.status == 200, url
        self.page.wait_for_load_state("networkidle")

    def check(self, name: str) -> None:
        for size, (width, height) in SIZES.items():
            self.page.set_viewport_size({"width": width, "height": height})
            results = self.axe.run(self.page)
            for violation in results.response["violations"]:
                if violation["impact"] in SERIOUS:
                    nodes = [(n["target"], n["failureSummary"]) for n in violation["nodes"]]
                    self.problems.append(
                        f"{name} ({size}): axe {violation['id']} ({violation['impact']}): "
                        f"{violation['help']} at {nodes[:5]}"
                    )
            self.page.screenshot(path=str(self.shots / f"widget-{name}-{size}.png"))
        self.page.set_viewport_size({"width": 1280, "height": 800})

    def focused(self) -> str:
        """What has the focus inside the widget: `tag.class#id`."""
        return str(
            self.page.evaluate(
                "() => { const r = document.querySelector('[data-goodword]').shadowRoot;"
                " const e = r.activeElement; return e ? e.tagName.toLowerCase() + '.' +"
                " e.className + '#' + e.id : ''; }"
            )
        )

    def stored_ref(self) -> tuple[str | None, str | None]:
        cookie = next((c["value"] for c in self.context.cookies() if c["name"] == "gw_ref"), None)
        kept = self.page.evaluate("() => localStorage.getItem('gw_ref')")
        return cookie, kept


def _setup(server: Server) -> str:
    """acme's program and alice (an advocate) on the server; the shop's host allowed."""
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    assert api.patch("/workspace", json={"allowed_domains": ["localhost"]}).status_code == 200
    made = api.post(
        "/programs",
        json={
            "name": "Give $10, get $10",
            "destination_url": f"{server.url}/demo/shop",
            "rewards": [
                {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
                {"beneficiary": "friend", "kind": "credit", "amount": 500, "currency": "USD"},
            ],
            "trigger": {"event": "purchase", "min_amount": 2000},
        },
    )
    assert made.status_code == 201, made.text
    alice = api.post(
        f"/programs/{made.json()['id']}/advocates",
        json={"external_id": "alice", "name": "Alice Smith", "email": "alice@example.com"},
    )
    assert alice.status_code == 201, alice.text
    return str(alice.json()["code"])


def test_widget_on_a_strict_csp_page_of_another_origin(
    server: Server, server_database: str, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    code = _setup(server)
    # The owner makes a publishable key and reads the signing secret in the dashboard.
    with owner_session(server, tmp_path) as owner:
        page = owner.page
        owner.see("/dashboard/api-keys/", "api-keys-widget", "Widget signing secret")
        secret = page.input_value("#widget-secret-value")
        page.fill("#id_name", "shop pages")
        page.select_option("#id_kind", "publishable")
        page.click("form[action$='/api-keys/new/'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        key = page.input_value("#secret")
        assert key.startswith("gw_pk_")
        assert f'data-key="{key}"' in page.input_value("#snippet")
        owner.check("api-key-publishable")
        shots = owner.shots
        assert owner.problems == []
    assert secret.startswith("gw_wss_")
    env = _base_env(server.data_dir, server_database, server.url)
    printed = run_goodword("apikey", "list", _workspace_id(server), env=env, cwd=tmp_path)
    assert key in printed.stdout  # publishable keys are listed whole

    from tests.test_browser_dashboard import chromium

    with shop(server.url, key, secret) as site, chromium() as browser:
        shopper = Shopper(browser, shots)
        _panel_by_keyboard_and_copy(shopper, site, code)
        assert share_rows(server_database) == [("copy", "widget")]
        _exit_intent(shopper, site)
        _post_purchase_in_italian(shopper, site)
        _guest_and_joining(shopper, site)
        _ref_with_and_without_consent(browser, shots, site)
        assert shopper.problems == []


def _workspace_id(server: Server) -> str:
    answer = httpx.get(
        f"{server.url}/api/v1/workspace",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    return str(answer.json()["id"])


def _panel_by_keyboard_and_copy(shopper: Shopper, site: str, code: str) -> None:
    page = shopper.page
    shopper.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    shopper.open(f"{site}/?gw_ref=tok.one.abc.sig")
    fab = page.locator("button.fab")
    fab.wait_for()
    assert fab.get_attribute("aria-expanded") == "false"
    shopper.check("button")
    fab.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("[role=dialog]")
    dialog.wait_for()
    assert fab.get_attribute("aria-expanded") == "true"
    assert not fab.is_visible()  # under the panel it would only be in the way
    assert shopper.focused() == "input.#gw-link"
    link = page.input_value("#gw-link")
    assert link.endswith(f"/r/{code}")
    assert code in dialog.inner_text()
    # The focus stays in the panel: Shift+Tab from the first control goes to the last.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert shopper.focused() == "a.portal#"
    page.keyboard.press("Tab")
    assert shopper.focused() == "button.x#"
    shopper.check("panel")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert shopper.focused() == "button.#"
    with page.expect_response(lambda r: r.url.endswith("/w/v1/shares")) as recorded:
        page.keyboard.press("Enter")  # Copy
    assert recorded.value.status == 201
    page.locator("p.ok:text('Link copied')").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert shopper.focused() == "button.fab#"


def _exit_intent(shopper: Shopper, site: str) -> None:
    page = shopper.page
    page.mouse.move(600, 300)
    page.mouse.move(600, 2)
    page.mouse.move(600, -20)
    banner = page.locator("div.banner")
    banner.wait_for()
    assert "Before you go: give a friend $5.00 store credit" in banner.inner_text()
    shopper.check("exit-banner")
    page.locator("div.banner button.x").click()
    banner.wait_for(state="detached")
    # Once a session: leaving again after a reload shows nothing.
    shopper.open(site + "/")
    page.locator("button.fab").wait_for()
    page.mouse.move(600, 300)
    page.mouse.move(600, -20)
    page.wait_for_timeout(300)
    assert page.locator("div.banner").count() == 0


def _post_purchase_in_italian(shopper: Shopper, site: str) -> None:
    page = shopper.page
    shopper.open(f"{site}/thanks")
    popup = page.locator("div.panel.pop")
    popup.wait_for()
    assert "Grazie per il tuo ordine!" in popup.inner_text()
    assert page.locator("button.fab").inner_text() == "Invita un amico"
    shopper.check("post-purchase-it")
    page.keyboard.press("Escape")
    popup.wait_for(state="hidden")


def _guest_and_joining(shopper: Shopper, site: str) -> None:
    page = shopper.page
    shopper.open(f"{site}/guest")
    page.locator("button.fab").click()
    dialog = page.locator("[role=dialog]")
    dialog.wait_for()
    assert "Sign in to get your personal link." in dialog.inner_text()
    assert page.locator("a.btn:text('Sign in')").get_attribute("href") == f"{site}/signin"
    shopper.check("guest")
    page.keyboard.press("Escape")
    shopper.open(f"{site}/carol")
    page.locator("button.fab").click()
    join = page.locator("button:text('Get my link')")
    join.wait_for()
    shopper.check("join")
    with page.expect_response(lambda r: r.url.endswith("/w/v1/enrol")) as joined:
        join.click()
    assert joined.value.status == 201
    page.locator("#gw-link").wait_for()
    assert "/r/" in page.input_value("#gw-link")
    assert shopper.focused() == "input.#gw-link"
    page.keyboard.press("Escape")


def _ref_with_and_without_consent(browser: Any, shots: Path, site: str) -> None:
    plain = Shopper(browser, shots)
    plain.open(f"{site}/?gw_ref=tok.two.abc.sig")
    plain.page.locator("button.fab").wait_for()
    cookie, kept = plain.stored_ref()
    assert cookie == "tok.two.abc.sig"
    assert kept is not None
    assert '"v":"tok.two.abc.sig"' in kept
    plain.open(f"{site}/consent")  # a later page without the token still has it
    assert plain.page.evaluate("() => Goodword.ref()") == "tok.two.abc.sig"
    assert plain.problems == []

    careful = Shopper(browser, shots)
    careful.open(f"{site}/consent?gw_ref=tok.three.abc.sig")
    careful.page.locator("button.fab").wait_for()
    assert careful.stored_ref() == (None, None)  # nothing kept before consent
    assert careful.page.evaluate("() => Goodword.ref()") == "tok.three.abc.sig"
    careful.page.evaluate("() => Goodword.consent(true)")  # what the consent banner calls
    cookie, kept = careful.stored_ref()
    assert cookie == "tok.three.abc.sig"
    assert kept is not None
    assert '"v":"tok.three.abc.sig"' in kept
    careful.page.evaluate("() => Goodword.consent(false)")
    assert careful.stored_ref() == (None, None)
    assert careful.problems == []
