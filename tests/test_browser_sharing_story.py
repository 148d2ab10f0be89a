"""UI-1, the sharing story of issue 10, end to end in Chromium against a real `goodword serve`:
an advocate shares from her portal on her phone, a friend opens her link on his, sees the offer,
claims it, shops; the business's backend reports his signup and order; the advocate sees him and
her pending reward in the portal.

1. Through the API, as the business's backend: a program with the landing page on (a $10-off
   coupon for the friend, $10 store credit for the advocate, both held 14 days, after a first
   order of at least $20), its headline written as a page text, alice enrolled, her magic link.
2. Alice's phone (one browser context): the magic link signs her in; Copy puts her link on the
   clipboard; WhatsApp goes (303) to wa.me with her message and `?via=whatsapp`, which the
   browser cannot reach (it resolves no name but loopback's).
3. The friend's phone (a fresh context, no cookies): her link from that message, the offer
   ("A gift from Alice: $10.00 off coupon"), the email claim, the code reveal, on to the shop
   (`/demo/shop` on the same server) with the click's `gw_ref` token.
4. Alice opens her own link: "This is your link", and no click is logged.
5. Through the API: the friend signs up with the claimed address only (attributed by email), then
   orders above the minimum.
6. Alice reloads her portal until her friend ("Bob M.") and her reward ("pending until <day>")
   are there; the program's numbers count one click, one friend and her two shares.

Every page at 390x844 (the phone) with a 1280x800 screenshot too: no serious or critical axe
violation, no CSP violation or other console error, no script error, no request off loopback.
Screenshots go to `$GOODWORD_SCREENSHOTS` when set, else to the test's tmp dir.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.servers import Server
from tests.test_browser_dashboard import CHROMIUM, SERIOUS, SIZES
from tests.test_browser_story import BROWSER_UA
from tests.test_portal_browser import _chromium, watch

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WAIT_SECONDS = 20.0
ORDER = 2500  # the friend's first order, in cents: above the program's $20 minimum
FRIEND_EMAIL = "bob.marley@example.net"
# The page-side watcher of CSP violations: the console shows them too, this names the directive.
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


class Phone:
    """One person's browser context at a phone's size, checking every page it sees."""

    def __init__(self, browser: Any, server: Server, shots: Path, who: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.server, self.shots, self.who, self.axe = server, shots, who, Axe()
        self.problems: list[str] = []
        self.left: list[str] = []  # off-loopback addresses the browser tried (and was refused)
        width, height = SIZES["phone"]
        self.context = browser.new_context(
            user_agent=BROWSER_UA, viewport={"width": width, "height": height}, locale="en-US"
        )
        self.context.add_init_script(CSP_WATCH)
        self.page = self.context.new_page()
        watch(self.page, server.url, self.problems, self.left)

    def open(self, url: str) -> Any:
        answer = self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        assert answer is not None
        return answer

    def main(self) -> str:
        return " ".join(self.page.inner_text("main").split())

    def check(self, name: str) -> None:
        """axe and a screenshot at each size, then back to the phone."""
        for size, (width, height) in SIZES.items():
            self.page.set_viewport_size({"width": width, "height": height})
            for violation in self.axe.run(self.page).response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = [n["target"] for n in violation["nodes"]][:5]
                    self.problems.append(
                        f"{name} ({size}): axe {violation['id']} ({violation['impact']}): "
                        f"{violation['help']} at {targets}"
                    )
            shot = self.shots / f"sharing-{self.who}-{name}-{size}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000
        seen = self.page.evaluate("window.__csp")
        assert isinstance(seen, list), "the CSP watcher did not run"
        self.problems += [f"{name}: CSP violation {v}" for v in seen]
        width, height = SIZES["phone"]
        self.page.set_viewport_size({"width": width, "height": height})

    def until(self, done: Callable[[], bool], what: str) -> None:
        """Reload until `done()` holds, as a person presses reload: the server's worker and
        scheduler work in the background."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not seen in {WAIT_SECONDS}s:\n{self.main()}")
            time.sleep(0.3)
            self.page.reload()
            self.page.wait_for_load_state("networkidle")


def _backend(server: Server) -> tuple[httpx.Client, str, str, str]:
    """The business's backend: the program, its headline, alice, her magic link. Returns the
    API client, the program's id, alice's code and the magic link."""
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    program = api.post(
        "/programs",
        json={
            "name": "Give $10, get $10",
            "description": "Your friend gets $10 off their first order over $20.",
            "destination_url": f"{server.url}/demo/shop",
            "landing_page": True,
            "rewards": [
                {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
                {"beneficiary": "friend", "kind": "coupon", "amount": 1000, "currency": "USD"},
            ],
            "trigger": {"event": "purchase", "min_amount": 2000},
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
    made = api.post(f"/programs/{pid}/advocates/alice/portal-link")
    assert made.status_code == 200, made.text
    return api, pid, enrolled.json()["code"], str(made.json()["url"])


def _alice_shares(alice: Phone, magic: str, code: str) -> str:
    """Alice signs in from her magic link, copies her link and shares it on WhatsApp. The
    message's link, as the friend gets it."""
    server, page = alice.server, alice.page
    link = f"{server.url}/r/{code}"
    assert alice.open(magic).status == 200
    assert page.url == f"{server.url}/p/"  # the token left the address bar
    assert page.input_value("#link") == link
    assert f"Friends can also enter your code at checkout: {code}" in alice.main()
    assert "No friends yet. Share your link to get started." in alice.main()
    alice.check("portal")

    page.click("#copy")
    page.wait_for_function("document.getElementById('status').textContent.length > 0")
    assert page.inner_text("#status") == "Link copied. Paste it anywhere."
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.wait_for_load_state("networkidle")  # the copy is counted (POST /p/shared)

    message = page.input_value("#message")
    assert message == (
        "A gift for you at Acme when you use my link: $10.00 off coupon. "
        f"(I get $10.00 store credit if you join.) {link}"
    ), message
    with page.expect_response(f"{server.url}/p/share") as shared:
        page.click("button[value=whatsapp]", no_wait_after=True)
    assert shared.value.status == 303
    location = shared.value.all_headers()["location"]
    target = urlsplit(location)
    assert (target.scheme, target.netloc, target.path) == ("https", "wa.me", "/")
    [text] = parse_qs(target.query)["text"]
    sent = f"{message}?via=whatsapp"
    assert text == sent, unquote(location)
    page.wait_for_timeout(300)
    assert {urlsplit(u).hostname for u in alice.left} == {"wa.me"}, alice.left
    return sent.rsplit(" ", 1)[1]


def _friend_claims(friend: Phone, link: str, code: str) -> str:
    """The friend opens the link from the message, sees the offer, claims it with his email and
    goes on to the shop. The click's `gw_ref` token."""
    server, page = friend.server, friend.page
    assert friend.context.cookies() == []
    answer = friend.open(link)
    assert answer.status == 200
    assert page.inner_text("h1") == "A gift from Alice: $10.00 off coupon"
    terms = [" ".join(t.split()) for t in page.locator("ul.terms li").all_inner_texts()]
    assert terms == [
        "Your gift: $10.00 off coupon, with your first purchase of at least $20.00 within 30 days.",
        "It is confirmed 14 days later, once returns are no longer possible.",
        "And Alice gets a thank-you: $10.00 store credit.",
    ], terms
    token = page.input_value("input[name=gw_ref]")
    assert page.get_attribute("a.cta", "href") == f"{server.url}/demo/shop?gw_ref={token}"
    friend.check("landing")

    page.fill("#email", FRIEND_EMAIL)
    page.click("form.claim button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Your offer is saved"
    assert f"Sign up or buy with {FRIEND_EMAIL} and it counts, on any device." in friend.main()
    assert page.input_value("#code") == code
    assert page.is_visible("button[data-copy]")  # the page's script ran
    friend.check("claimed")

    page.click("a.cta")
    page.wait_for_load_state("networkidle")
    shop = urlsplit(page.url)
    assert (shop.path, parse_qs(shop.query)["gw_ref"]) == ("/demo/shop", [token])
    assert page.locator("main code").last.inner_text() == token  # the shop shows what it keeps
    friend.check("shop")
    return token


def _logged_clicks(server: Server) -> int:
    """Lines in the server's click logs (kept while its processes write them)."""
    return sum(len(p.read_bytes().splitlines()) for p in (server.data_dir / "clicks").glob("*.log"))


def _alice_opens_her_own_link(alice: Phone, code: str) -> None:
    before = _logged_clicks(alice.server)
    assert before == 1  # the friend's
    assert alice.open(f"{alice.server.url}/r/{code}").status == 200
    assert alice.page.inner_text("h1") == "This is your link"
    assert alice.page.input_value("#link") == f"{alice.server.url}/r/{code}"
    alice.check("own-link")
    assert _logged_clicks(alice.server) == before


def _day(moment: str) -> str:
    """A moment of the API as the portal says its day (the workspace's zone is UTC)."""
    day = datetime.fromisoformat(moment).astimezone(UTC).date()
    return f"{day.day} {day:%B %Y}"


def _friend_converts(api: httpx.Client) -> tuple[str, str]:
    """The shop's backend: the friend's signup names only the claimed address; then his first
    order. The days the friend came and alice's reward is held until."""
    customer = {"external_id": "bob", "email": FRIEND_EMAIL, "name": "Bob Marley"}
    signed = api.post("/events", json={"id": "s-bob", "type": "signup", "customer": customer})
    assert signed.status_code == 201, signed.text
    assert signed.json()["attribution"] == "attributed", signed.text
    [referral] = signed.json()["referrals"]
    found = api.get(f"/referrals/{referral['id']}").json()
    assert (found["source"], found["advocate"]["external_id"]) == ("email", "alice"), found
    bought = api.post(
        "/events",
        json={
            "id": "p-bob",
            "type": "purchase",
            "customer": customer,
            "order": {"id": "o-1", "amount": ORDER, "currency": "USD"},
        },
    )
    assert bought.status_code == 201, bought.text
    [held] = [r for r in bought.json()["rewards"] if r["beneficiary"] == "advocate"]
    assert (held["kind"], held["status"], held["amount"]) == ("credit", "pending", 1000), held
    return _day(found["created_at"]), _day(held["hold_until"])


def _alice_sees_her_friend(alice: Phone, came: str, until: str) -> None:
    page = alice.page
    alice.open(f"{alice.server.url}/p/")

    def seen() -> bool:
        return "Bob M." in page.inner_text("main") and "pending until" in page.inner_text("main")

    alice.until(seen, "her friend and her pending reward")
    rewards = [" ".join(t.split()) for t in page.locator("#rewards li").all_inner_texts()]
    assert rewards == [f"$10.00 store credit pending until {until}"], rewards
    friends = page.locator("section[aria-labelledby=friends-h] li")
    assert friends.count() == 1
    assert friends.locator(".what").inner_text() == "Bob M."
    assert friends.locator(".when").inner_text() == came
    assert friends.locator(".badge").inner_text() == "ordered"
    assert "Marley" not in alice.main()
    assert FRIEND_EMAIL not in page.content()
    figures = [" ".join(t.split()) for t in page.locator("dl.figures div").all_inner_texts()]
    assert figures == ["Available $0.00", "Pending $10.00"], figures
    alice.check("portal-rewarded")


def test_an_advocate_shares_and_a_friend_claims_on_phones(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    api, pid, code, magic = _backend(server)
    with _chromium() as browser:
        alice = Phone(browser, server, shots, "alice")
        alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        link = _alice_shares(alice, magic, code)
        assert link == f"{server.url}/r/{code}?via=whatsapp"

        friend = Phone(browser, server, shots, "friend")
        _friend_claims(friend, link, code)
        _alice_opens_her_own_link(alice, code)
        came, until = _friend_converts(api)
        _alice_sees_her_friend(alice, came, until)
        problems = alice.problems + friend.problems
        left = {urlsplit(u).hostname for u in alice.left + friend.left}
    assert problems == []
    assert left == {"wa.me"}  # only the share's redirect, which went nowhere
    # The numbers: the friend's one click (alice's own visit counted none), one friend, one
    # conversion, alice's two shares (the copy and WhatsApp).
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        stats = api.get(f"/programs/{pid}/stats").json()
        if stats["clicks"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    funnel = stats["funnel"]
    assert (funnel["clicks"], funnel["referrals"], funnel["converted"]) == (1, 1, 1), stats
    assert stats["shares_by_channel"] == {"copy": 1, "whatsapp": 1}, stats
    assert _logged_clicks(server) == 1
