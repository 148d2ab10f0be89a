"""The friend's landing page (`/r/<code>` with the program's `landing_page` on), its email claim
(`POST /l/<code>/claim`), the self-click guard, and the preview image `/og/<program>.png`
(docs/sharing-landing.md)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from goodword.lib.signing import PORTAL_COOKIE, make_portal_token, make_ref_token, read_ref_token
from goodword.messaging.models import MessagingSettings
from goodword.public import claim as claims
from goodword.public import landing
from goodword.referrals.clicklog import ingest_clicks
from goodword.referrals.models import Click, Invite
from tests.factories import Story, enrol, make_story, signup
from tests.test_links import BROWSER, logged_clicks, meta_tags

HOSTILE = "Acme <script>alert('x')</script> & \"friends\""


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    claims.forget()


@pytest.fixture
def on(db: None) -> Story:
    """acme's program with the landing page on; alice advocates."""
    return make_story(landing_page=True)


def visit(code: str, **extra: Any) -> Any:
    return Client().get(f"/r/{code}", HTTP_USER_AGENT=BROWSER, **extra)


def continue_url(body: str) -> str:
    marker = 'class="cta" rel="nofollow" href="'
    start = body.index(marker) + len(marker)
    return body[start : body.index('"', start)].replace("&amp;", "&")


def form_token(body: str) -> str:
    start = body.index('name="gw_ref" value="') + len('name="gw_ref" value="')
    return body[start : body.index('"', start)]


def post_claim(code: str, token: str, email: str, **extra: Any) -> Any:
    return Client().post(
        f"/l/{code}/claim", {"gw_ref": token, "email": email}, HTTP_USER_AGENT=BROWSER, **extra
    )


# --- the setting ------------------------------------------------------------------------------


def test_api_programs_keep_the_redirect_unless_asked(story: Story) -> None:
    acme, program = story.acme, story.program
    assert program["landing_page"] is False
    assert "landing_page" not in acme.get(f"/programs/{program['id']}/config").json()["config"]
    r = acme.patch(f"/programs/{program['id']}", {"landing_page": True})
    assert r.status_code == 200, r.content
    assert r.json()["landing_page"] is True
    assert acme.get(f"/programs/{program['id']}").json()["landing_page"] is True
    config = acme.get(f"/programs/{program['id']}/config").json()["config"]
    assert config["landing_page"] is True
    copied = acme.post("/programs", config)
    assert copied.status_code == 201, copied.content
    assert copied.json()["landing_page"] is True
    r = acme.patch(f"/programs/{program['id']}", {"landing_page": "sometimes"})
    assert r.status_code == 422
    assert acme.get(f"/programs/{program['id']}").json()["landing_page"] is True


def test_landing_off_is_the_plain_redirect(story: Story) -> None:
    r = visit(story.alice["code"])
    assert r.status_code == 302
    assert r["Location"].startswith("https://shop.acme.test/welcome?gw_ref=")
    # A preview bot gets the offer, without the claim form (the claim is closed).
    bot = Client().get(f"/r/{story.alice['code']}", HTTP_USER_AGENT="Twitterbot/1.0")
    assert bot.status_code == 200
    assert "A gift from Alice: $5.00 store credit" in bot.content.decode()
    assert "<form" not in bot.content.decode()
    assert len(logged_clicks()) == 1


# --- the page -----------------------------------------------------------------------------------


def test_landing_page_counts_the_click_once_and_carries_its_token(on: Story) -> None:
    r = visit(on.alice["code"], QUERY_STRING="via=whatsapp")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    assert "Location" not in r
    body = r.content.decode()
    assert "A gift from Alice: $5.00 store credit" in body
    assert (
        "Your gift: $5.00 store credit, with your first purchase of at least $20.00 within "
        "30 days." in body
    )
    assert "It is confirmed 14 days later" in body
    assert "And Alice gets a thank-you: $10.00 store credit." in body
    assert "Continue to shop.acme.test" in body
    url = continue_url(body)
    assert url.startswith("https://shop.acme.test/welcome?gw_ref=")
    [token] = parse_qs(urlsplit(url).query)["gw_ref"]
    assert form_token(body) == token
    ref = read_ref_token(token)
    assert ref is not None
    assert ref.advocate_id == on.alice["id"]
    [line] = logged_clicks()
    assert line["id"] == ref.click_id
    assert line["channel"] == "whatsapp"
    assert ingest_clicks() == 1
    assert Click.objects.get().click_id == ref.click_id
    # A second visit is a second click with its own token; the page came from the cache.
    again = visit(on.alice["code"]).content.decode()
    assert form_token(again) != token
    assert len(logged_clicks()) == 2


def test_landing_page_works_without_javascript_and_loads_nothing_else(on: Story) -> None:
    body = visit(on.alice["code"]).content.decode()
    assert "<script" not in body
    assert "<img" not in body  # no logo set
    csp = visit(on.alice["code"])["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "form-action 'self' https://shop.acme.test" in csp


def test_italian_page_follows_the_browser(on: Story) -> None:
    body = visit(on.alice["code"], HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="it">' in body
    assert "Un regalo da Alice: 5,00 $ di credito" in body
    assert "Il tuo regalo: 5,00 $ di credito, con il tuo primo acquisto di almeno 20,00 $" in body
    assert "Continua su shop.acme.test" in body
    assert "Non vuoi acquistare adesso?" in body


def test_program_language_wins_over_the_browser(db: None) -> None:
    story = make_story(landing_page=True, language="it")
    body = visit(story.alice["code"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="it">' in body


def test_open_graph_tags_are_escaped(db: None) -> None:
    story = make_story(landing_page=True, name=HOSTILE, description=HOSTILE)
    MessagingSettings.objects.create(workspace=story.acme.workspace, from_name=HOSTILE[:100])
    r = visit(story.alice["code"])
    meta = meta_tags(r.content)
    assert meta["og:site_name"] == HOSTILE
    assert meta["og:description"] == HOSTILE
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image"] == meta["twitter:image"]
    assert urlsplit(meta["og:image"]).path == f"/og/{story.program['id']}.png"
    body = r.content.decode()
    assert "<script" not in body
    assert "&lt;script&gt;" in body


# --- the self-click guard -----------------------------------------------------------------------


def test_advocate_opening_their_own_link_counts_nothing(on: Story) -> None:
    cookie = make_portal_token(on.alice["id"], int(time.time()))
    client = Client()
    client.cookies[PORTAL_COOKIE] = cookie
    r = client.get(f"/r/{on.alice['code']}", HTTP_USER_AGENT=BROWSER)
    assert r.status_code == 200
    body = r.content.decode()
    assert "This is your link" in body
    assert 'href="/p/"' in body
    assert "gw_ref" not in body
    assert logged_clicks() == []
    assert ingest_clicks() == 0
    assert Click.objects.count() == 0


def test_guard_also_covers_programs_without_a_landing_page(story: Story) -> None:
    client = Client()
    client.cookies[PORTAL_COOKIE] = make_portal_token(story.alice["id"], int(time.time()))
    r = client.get(f"/r/{story.alice['code']}", HTTP_USER_AGENT=BROWSER)
    assert r.status_code == 200
    assert "This is your link" in r.content.decode()
    assert logged_clicks() == []


@pytest.mark.parametrize("cookie", ["other", "forged", "garbage"])
def test_another_or_a_forged_portal_cookie_is_an_ordinary_click(on: Story, cookie: str) -> None:
    bob = enrol(on.acme, on.program["id"], "bob", name="Bob")
    values = {
        "other": make_portal_token(bob["id"], int(time.time())),
        "forged": make_portal_token(on.alice["id"], int(time.time()))[:-2] + "xx",
        "garbage": "a.b",
    }
    r = visit(on.alice["code"], HTTP_COOKIE=f"theme=dark; {PORTAL_COOKIE}={values[cookie]}")
    assert "This is your link" not in r.content.decode()
    assert len(logged_clicks()) == 1


# --- the claim ----------------------------------------------------------------------------------


def test_claim_attributes_a_later_signup_with_that_email(on: Story) -> None:
    token = form_token(visit(on.alice["code"]).content.decode())
    r = post_claim(on.alice["code"], token, "Bob@Example.net")
    assert r.status_code == 303
    assert r["Location"] == f"https://shop.acme.test/welcome?gw_ref={token}"
    invite = Invite.objects.get()
    assert (invite.email, invite.send_email) == ("Bob@Example.net", False)
    # Later, on another device and without the link: the signup names only the address.
    r = on.acme.event(signup("s-bob", "bob"))
    assert r.status_code == 201, r.content
    assert r.json()["attribution"] == "attributed"
    ref = on.acme.get(f"/referrals/{r.json()['referrals'][0]['id']}").json()
    assert (ref["source"], ref["advocate"]["external_id"]) == ("email", "alice")
    # The click was counted once, on the page; the claim counted nothing.
    assert len(logged_clicks()) == 1


def test_claiming_twice_keeps_one_invite(on: Story) -> None:
    token = form_token(visit(on.alice["code"]).content.decode())
    assert post_claim(on.alice["code"], token, "bob@example.net").status_code == 303
    assert post_claim(on.alice["code"], token, "bob@example.net").status_code == 303
    assert Invite.objects.count() == 1


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your email address"),
        ("bob", "doesn&#x27;t look like an email address"),
        ("bob@", "doesn&#x27;t look like an email address"),
        ("a" * 320 + "@example.net", "too long"),
    ],
)
def test_bad_email_says_what_to_fix_and_writes_nothing(on: Story, email: str, message: str) -> None:
    token = form_token(visit(on.alice["code"]).content.decode())
    r = post_claim(on.alice["code"], token, email)
    assert r.status_code == 400
    body = r.content.decode()
    assert message in body
    assert 'aria-invalid="true"' in body
    assert form_token(body) == token  # the page keeps the click's token
    assert Invite.objects.count() == 0


def test_claim_with_a_forged_token_writes_nothing(on: Story) -> None:
    bob = enrol(on.acme, on.program["id"], "bob", name="Bob")
    other = form_token(visit(bob["code"]).content.decode())
    for token in ["", "nonsense", other]:
        r = post_claim(on.alice["code"], token, "carol@example.net")
        assert r.status_code == 400
        assert "out of date" in r.content.decode()
    assert Invite.objects.count() == 0


def test_claims_are_rate_limited_per_address(on: Story) -> None:
    token = form_token(visit(on.alice["code"]).content.decode())
    for n in range(claims.CLAIMS_PER_WINDOW):
        r = post_claim(on.alice["code"], token, f"friend{n}@example.net")
        assert r.status_code == 303
    r = post_claim(on.alice["code"], token, "one-more@example.net")
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= claims.WINDOW_SECONDS
    assert "Too many tries" in r.content.decode()
    assert not Invite.objects.filter(email="one-more@example.net").exists()
    # Another address is not held back.
    r = post_claim(on.alice["code"], token, "else@example.net", REMOTE_ADDR="10.0.0.7")
    assert r.status_code == 303


def test_claim_on_a_program_without_the_page_is_404(story: Story) -> None:
    token = make_ref_token(story.alice["id"], "click1", int(time.time()))
    r = post_claim(story.alice["code"], token, "bob@example.net")
    assert r.status_code == 404
    assert Client().get(f"/l/{story.alice['code']}/claim").status_code == 405
    assert Invite.objects.count() == 0


def test_coupon_offer_reveals_the_code_to_use_at_checkout(db: None) -> None:
    story = make_story(
        landing_page=True,
        rewards=[
            {"beneficiary": "advocate", "kind": "credit", "amount": 1000, "currency": "USD"},
            {"beneficiary": "friend", "kind": "coupon", "amount": 1000, "currency": "USD"},
        ],
    )
    code = story.alice["code"]
    body = visit(code).content.decode()
    assert "A gift from Alice: $10.00 off coupon" in body
    assert f'value="{code}"' not in body  # not before the claim
    token = form_token(body)
    r = post_claim(code, token, "bob@example.net")
    assert r.status_code == 200
    shown = r.content.decode()
    assert f'value="{code}"' in shown
    assert 'data-copy="code"' in shown
    assert '<script src="/static/public/landing.js" defer></script>' in shown
    assert continue_url(shown) == f"https://shop.acme.test/welcome?gw_ref={token}"


# --- the preview image ------------------------------------------------------------------------


def test_preview_image_is_drawn_once_and_revalidates(on: Story) -> None:
    path = f"/og/{on.program['id']}.png"
    first = Client().get(path)
    assert first.status_code == 200
    assert first["Content-Type"] == "image/png"
    assert first["Cache-Control"] == "public, max-age=3600"
    image = Image.open(io.BytesIO(first.content))
    assert image.size == (1200, 630)
    files = list((Path(settings.DATA_DIR) / "og").glob("*.png"))
    assert len(files) >= 1
    drawn = landing.content_hash(landing.og_content(_program(on)))
    mine = Path(settings.DATA_DIR) / "og" / f"{drawn}.png"
    made = mine.stat().st_mtime_ns
    second = Client().get(path)
    assert second.content == first.content
    assert mine.stat().st_mtime_ns == made  # served from the file, not drawn again
    etag = first["ETag"]
    assert etag == f'"{drawn}"'
    cached = Client().get(path, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    # The page names this very image.
    meta = meta_tags(visit(on.alice["code"]).content)
    assert meta["og:image"] == f"{settings.SITE_URL}{path}?v={drawn}"
    # A new offer is a new image.
    on.acme.patch(
        f"/programs/{on.program['id']}",
        {"rewards": [{"beneficiary": "friend", "kind": "credit", "amount": 700}]},
    )
    third = Client().get(path, HTTP_IF_NONE_MATCH=etag)
    assert third.status_code == 200
    assert third["ETag"] != etag


def test_preview_image_of_an_unknown_program_is_404(db: None) -> None:
    assert Client().get("/og/prg_nope.png").status_code == 404


def _program(story: Story) -> Any:
    from goodword.programs.models import Program

    return Program.objects.get(public_id=story.program["id"])


def test_claim_pages_carry_the_security_headers(on: Story) -> None:
    token = form_token(visit(on.alice["code"]).content.decode())
    r = post_claim(on.alice["code"], token, "nope")
    assert r.status_code == 400
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Cache-Control"] == "no-store"
    assert r["Content-Security-Policy"].startswith("default-src 'none'")


def test_demo_program_shows_the_landing_page(db: None) -> None:
    from goodword.ops.demo import seed
    from goodword.programs.models import Program

    seed("owner@demo.test", "correct horse battery staple")
    assert Program.objects.get(name="Give $10, get $10").landing_page is True
    r = visit("ALICE")
    assert r.status_code == 200
    assert "A gift from Alice: $10.00 off coupon" in r.content.decode()


def test_preview_image_folds_what_its_font_cannot_draw() -> None:
    from goodword.public import og

    assert og.drawable("Caffè Rossi — 10,00 € ß") == "Caffe Rossi - 10,00 EUR ss"
    long = {
        "brand": "Caffè Rossi & Figli — Torrefazione artigianale dal 1952 " * 3,
        "color": "#f5c542",
        "kicker": "Un regalo da un amico",
        "title": "buono sconto da 10,00 € sul tuo primo ordine di caffè in grani " * 4,
        "program": HOSTILE,
        "cta": "Apri il link per riceverlo",
    }
    assert og.draw(long).size == (1200, 630)
