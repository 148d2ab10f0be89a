"""UI-1, the whole story: a marketer runs a referral program in Debian's Chromium against a real
`goodword serve`, from signing in to approving a held reward, and sees the numbers move.

Everything the marketer does happens in the browser: sign in, create a coupon pool and upload its
codes, build a two-sided program in the builder (store credit held 30 days for the advocate, a
coupon from the pool at once for the friend, a "Gold" tier, money typed in major units) while
the live summary says it in plain words, save it, activate it. Only what the business's own
backend does goes through the API: enrol an advocate, send the friend's signup and purchase.
A friend's click is a real GET of the advocate's link on the served site (the scheduler moves
it from the click log into the database). Then, in the browser again: the overview for that
program (1 click, 1 friend, 1 converted, the purchase's revenue), the held reward approved from
the rewards list, the pool with one code used by the friend's coupon, and the referral's
timeline with every stage.

As in `test_browser_dashboard.py`: on every page, no serious or critical axe violation, no CSP
violation or console error, nothing fetched from anywhere but this server; screenshots at a
phone's and a laptop's size go to `$GOODWORD_SCREENSHOTS` when set, else to the test's tmp dir.
"""

from __future__ import annotations

import html
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import purchase, signup
from tests.servers import OWNER_PASSWORD, Server
from tests.test_browser_dashboard import CHROMIUM, Visitor, chromium

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

BROWSER_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
WAIT_SECONDS = 20.0
CODES = [f"SPRING-{n:02d}" for n in range(1, 6)]
ORDER = 7250  # the friend's purchase, in cents: $72.50
SUMMARY = [
    "A referral converts after a first purchase of at least $50; rewards are paid after 30 days.",
    "The advocate gets $10 store credit after a first purchase of at least $50.",
    "The friend gets a $15-off coupon (a code from the pool Spring codes) after a first "
    "purchase of at least $50; paid at once.",
    "A friend's conversion counts within 30 days of their first click.",
    "Advocates' tiers by qualified referrals, all time: Gold from 2.",
]


def _until(visitor: Visitor, done: Any, what: str) -> None:
    """Reload the page until `done(page)` holds: the server's worker and scheduler work in
    the background (clicks ingested, rewards approved), as a person would press reload."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(visitor.page):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen in {WAIT_SECONDS}s")
        time.sleep(0.3)
        visitor.page.reload()
        visitor.page.wait_for_load_state("networkidle")


def _texts(page: Any, selector: str) -> list[str]:
    return [" ".join(t.split()) for t in page.locator(selector).all_inner_texts()]


def _kpi(page: Any, label: str) -> str:
    """The value of the coupon pool page's KPI with this label."""
    box = page.locator(".kpi").filter(has=page.locator(".label", has_text=re.compile(f"^{label}$")))
    return str(box.locator(".value").inner_text()).strip()


def _go(visitor: Visitor, section: str) -> None:
    """Open a section from the side navigation, as a person does."""
    nav = visitor.page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name=section, exact=True).click()
    visitor.page.wait_for_load_state("networkidle")


def _sign_in(visitor: Visitor) -> None:
    page = visitor.page
    visitor.see("/dashboard/login/", "story-login", "Sign in")
    page.fill("input[name=username]", "owner@acme.test")
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{visitor.base}/dashboard/", page.url


def _make_pool(visitor: Visitor) -> str:
    """Coupon pools → New pool → upload five codes; the pool's id."""
    page = visitor.page
    _go(visitor, "Coupon pools")
    page.fill("#id_name", "Spring codes")
    page.fill("#id_low_threshold", "2")
    page.get_by_role("button", name="Create pool").click()
    page.wait_for_load_state("networkidle")
    assert "Pool “Spring codes” created: upload its codes." in page.content()
    page.fill("#codes", "\n".join(CODES))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state("networkidle")
    assert "Added 5 codes." in page.content()
    assert (_kpi(page, "left"), _kpi(page, "used"), _kpi(page, "uploaded")) == ("5", "0", "5")
    pool_id = str(page.url).rstrip("/").rsplit("/", 1)[1]
    assert pool_id.startswith("cpl_"), page.url
    return pool_id


def _press(visitor: Visitor, within: str, name: str, swapped: str) -> None:
    """A builder button (in the group `within`) that htmx answers by swapping its group:
    wait for what the new group shows."""
    group = visitor.page.locator(within)
    group.get_by_role("button", name=name, exact=True).click()
    visitor.page.wait_for_selector(swapped)
    visitor.page.wait_for_load_state("networkidle")


def _build_program(visitor: Visitor, pool_id: str) -> str:
    """Programs → New program: the two-sided offer with a tier, saved as a draft and then
    activated. The program's id."""
    page = visitor.page
    _go(visitor, "Programs")
    page.get_by_role("link", name="New program").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{visitor.base}/dashboard/programs/new/"
    page.fill("#f-name", "Spring referrals")
    page.fill("#f-destination_url", "https://shop.acme.test/welcome")
    page.fill("#f-trigger-min_amount", "50")  # dollars, not cents
    assert page.input_value("#f-hold_days") == "30"
    # The advocate: $10 of store credit, held for the program's 30 days.
    assert page.input_value("#f-rewards-0-beneficiary") == "advocate"
    assert page.input_value("#f-rewards-0-kind") == "credit"
    page.fill("#f-rewards-0-amount", "10.00")
    # The friend: a $15-off coupon from the pool, at once.
    assert page.input_value("#f-rewards-1-beneficiary") == "friend"
    page.select_option("#f-rewards-1-kind", "coupon")
    page.fill("#f-rewards-1-amount", "15")
    _press(visitor, "#g-rewards-1", "Set coupon code options", "#f-rewards-1-coupon-pool")
    page.select_option("#f-rewards-1-coupon-pool", pool_id)
    friend = page.locator("#g-rewards-1")
    friend.locator("details.more > summary").first.click()
    page.fill("#f-rewards-1-hold_days", "0")
    # A tier: Gold from the second qualified referral.
    _press(visitor, "#builder", "Add tiers", "#g-tiers")
    _press(visitor, "#g-tiers", "Add a level", "#f-tiers-levels-0-name")
    page.fill("#f-tiers-levels-0-name", "Gold")
    page.fill("#f-tiers-levels-0-min", "2")
    page.locator("#f-tiers-levels-0-min").dispatch_event("change")
    # The live summary follows the form (htmx, after each change): the offer in plain words.
    page.wait_for_function(
        "text => document.querySelector('#summary').innerText.includes(text)",
        arg="Gold from 2",
        timeout=10_000,
    )
    assert _texts(page, "#summary p") == SUMMARY
    visitor.check("story-builder")

    page.get_by_role("button", name="Create as a draft").click()
    page.wait_for_load_state("networkidle")
    assert "Created as a draft: Spring referrals (version 1)." in page.content()
    program_id = str(page.url).rstrip("/").rsplit("/", 1)[1]
    assert program_id.startswith("prg_"), page.url
    assert page.locator("h1 .badge").inner_text() == "Draft"
    assert _texts(page, "#summary p") == SUMMARY
    page.get_by_role("button", name="Activate").click()
    page.wait_for_load_state("networkidle")
    assert "Spring referrals is now active." in page.content()
    assert page.locator("h1 .badge").inner_text() == "Active"
    visitor.check("story-program")
    # Nothing has happened yet: the program's overview says so.
    _go(visitor, "Overview")
    page.select_option("#ov-program", program_id)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="No referrals yet").is_visible()
    assert _cards(page)["Referred customers"] == ["0", "0 friends came"]
    return program_id


def _backend(server: Server, program_id: str) -> dict[str, str]:
    """What the business's backend and the friend do: enrol alice (API), bob clicks her
    link (a real GET of the served link), signs up and buys (API)."""
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    with api:
        r = api.post(
            f"/programs/{program_id}/advocates",
            json={"external_id": "alice", "name": "Alice Liddell", "email": "alice@example.net"},
        )
        assert r.status_code == 201, r.text
        alice = r.json()
        click = httpx.get(
            alice["link"] + "?via=whatsapp",
            headers={"User-Agent": BROWSER_UA},
            follow_redirects=False,
            timeout=10,
        )
        # The builder turns the friend's landing page on for a new program: the click is
        # counted and the page's button carries the token on to the shop.
        assert click.status_code == 200, click.text
        [onward] = re.findall(r'<a class="cta" rel="nofollow" href="([^"]+)"', click.text)
        location = urlsplit(html.unescape(onward))
        assert (location.netloc, location.path) == ("shop.acme.test", "/welcome")
        [token] = parse_qs(location.query)["gw_ref"]
        r = api.post("/events", json=signup("s-bob", "bob", ref_token=token))
        assert r.status_code == 201, r.text
        assert r.json()["attribution"] == "attributed"
        [referral] = r.json()["referrals"]
        r = api.post("/events", json=purchase("p-bob", "bob", "order-1", ORDER))
        assert r.status_code == 201, r.text
        granted = sorted((x["beneficiary"], x["kind"], x["status"]) for x in r.json()["rewards"])
        assert granted == [("advocate", "credit", "pending"), ("friend", "coupon", "pending")]
    return {"referral": referral["id"], "code": alice["code"]}


def _funnel(page: Any) -> dict[str, str]:
    stages = page.locator(".ov-funnel .ov-stage")
    return {
        str(s.locator("span").inner_text()): str(s.locator("strong").inner_text())
        for s in stages.all()
    }


def _cards(page: Any) -> dict[str, list[str]]:
    """Each key number's card: its label, then its values and note."""
    out = {}
    for card in page.locator(".ov-kpis .kpi").all():
        labels = [str(t).strip() for t in card.locator(".label").all_inner_texts()]
        values = [str(t).strip() for t in card.locator(".value").all_inner_texts()]
        out[labels[0]] = [*values, *labels[1:]]
    return out


def _see_overview(visitor: Visitor, program_id: str, code: str) -> None:
    """Overview → choose the program → Show: the numbers have moved."""
    page = visitor.page
    _go(visitor, "Overview")
    page.select_option("#ov-program", program_id)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("networkidle")
    assert f"program={program_id}" in page.url
    # The click counts once the scheduler has moved it from the click log, and the referral
    # is rewarded once the worker has approved the friend's coupon (no hold): reload till then.
    moved = {
        "Advocates": "1",
        "Sharing advocates": "1",
        "Shares": "0",  # the backend enrolled Alice; nobody tapped a share button
        "Clicks": "1",
        "Friends who came": "1",
        "Converted": "1",
        "Rewarded": "1",
    }
    _until(visitor, lambda p: _funnel(p) == moved, "the funnel with the click and the reward")
    cards = _cards(page)
    assert cards["Referred customers"] == ["1", "1 friend came"]
    assert cards["Conversion rate"] == ["100.0 %", "converted / friends who came"]
    assert cards["Revenue, net of refunds"] == ["$72.50", "refunds: $0.00"]
    # Cost: the advocate's $10 of credit and the friend's $15-off coupon at face value.
    assert cards["Reward cost"][0] == "$25.00", cards["Reward cost"]
    # The top advocate: her click, friend and conversion, the revenue, her own reward.
    assert _texts(page, "#ov-leaderboard tbody tr") == [
        f"1 Alice Liddell {code} 1 1 1 $72.50 $10.00"
    ]
    visitor.check("story-overview")


def _approve_held(visitor: Visitor, program_id: str) -> tuple[str, str]:
    """Rewards → the program's: alice's credit is held, bob's coupon was given at once from
    the pool; approve alice's. The two rewards' ids (alice's, bob's)."""
    page = visitor.page
    _go(visitor, "Rewards")
    page.goto(f"{page.url}?program={program_id}")
    page.wait_for_load_state("networkidle")

    def row(who: str) -> Any:
        return page.locator("table.rw-table tbody tr").filter(
            has=page.get_by_role("link", name=who, exact=True)
        )

    def status(who: str) -> str:
        return str(row(who).locator(".badge").inner_text()).strip()

    _until(visitor, lambda p: status("bob") == "Fulfilled", "bob's coupon given")
    assert page.locator("table.rw-table tbody tr").count() == 2
    assert status("alice") == "Pending"
    assert "$10.00" in row("alice").inner_text()
    assert "until" in row("alice").inner_text()
    alice_reward = str(row("alice").locator("a.rw-id").inner_text()).strip()
    bob_reward = str(row("bob").locator("a.rw-id").inner_text()).strip()
    visitor.check("story-rewards-held")
    row("alice").get_by_role("button", name="Approve").click()
    page.wait_for_load_state("networkidle")
    assert "Approved 1 reward." in page.content()
    assert status("alice") == "Approved"
    assert row("alice").get_by_role("button", name="Approve").count() == 0
    visitor.check("story-rewards-approved")
    return alice_reward, bob_reward


def _see_pool(visitor: Visitor, pool_id: str, bob_reward: str) -> str:
    """Coupon pools → Spring codes: one code used, by bob's coupon. The code."""
    page = visitor.page
    _go(visitor, "Coupon pools")
    page.get_by_role("link", name="Spring codes").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{visitor.base}/dashboard/coupon-pools/{pool_id}/"
    assert (_kpi(page, "left"), _kpi(page, "used"), _kpi(page, "uploaded")) == ("4", "1", "5")
    used = page.locator("table.rw-table tbody tr").filter(has_text="Used")
    assert used.count() == 1
    code = str(used.locator("code").inner_text()).strip()
    assert code == CODES[0]  # the oldest free code
    assert str(used.get_by_role("link").inner_text()).strip() == bob_reward
    visitor.check("story-pool")
    return code


def _see_referral(visitor: Visitor, referral_id: str, rewards: tuple[str, str], code: str) -> None:
    """Referrals → bob (alice's friend): the timeline has every stage."""
    page = visitor.page
    _go(visitor, "Referrals")
    page.locator("main table").get_by_role("link", name="bob", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{visitor.base}/dashboard/referrals/{referral_id}/"
    assert page.locator("h1 .badge").inner_text() == "Rewarded"
    assert "Alice Liddell referred bob to Spring referrals" in " ".join(
        page.locator(".pe-lede").inner_text().split()
    )
    titles = [
        str(t).strip() for t in page.locator(".pe-timeline .pe-step-head strong").all_inner_texts()
    ]
    alice_reward, bob_reward = rewards
    # Every stage, in the order it happened; what the worker did at one instant (the
    # friend's coupon granted, approved and given, which rewards the referral) in any order.
    stages = [
        "Clicked alice's link",
        "Signed up",
        "Converted",
        "Reward granted: $10.00 credit for alice (advocate)",
        "Reward granted: $15.00 off coupon for bob (friend)",
        "Reward approved: $15.00 off coupon for bob (friend)",
        "Coupon code issued: $15.00 off coupon for bob (friend)",
        "Rewarded: the first reward was approved",
        "Reward approved: $10.00 credit for alice (advocate)",
    ]
    assert sorted(titles) == sorted(stages), titles
    assert titles[:3] == stages[:3], titles
    assert titles[-1] == stages[-1], titles  # the marketer's approval, last
    text = " ".join(page.locator("main").inner_text().split())
    assert "order order-1 for $72.50" in text
    assert "channel whatsapp" in text
    assert code in text
    assert alice_reward in text
    assert bob_reward in text
    visitor.check("story-referral")


def test_a_marketer_runs_a_program_from_the_dashboard(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    shots = Path(os.environ.get("GOODWORD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        visitor = Visitor(browser, server.url, shots)
        _sign_in(visitor)
        pool_id = _make_pool(visitor)
        program_id = _build_program(visitor, pool_id)
        backend = _backend(server, program_id)
        _see_overview(visitor, program_id, backend["code"])
        rewards = _approve_held(visitor, program_id)
        code = _see_pool(visitor, pool_id, rewards[1])
        _see_referral(visitor, backend["referral"], rewards, code)
        assert visitor.problems == []
