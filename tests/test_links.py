"""The referral link `/r/<code>`, its click log, and the share page `/s/<code>`.

The test client reaches the same `links.handle()` that `goodword.wsgi` calls beneath Django.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from goodword.lib.signing import hash_ip, read_ref_token
from goodword.participants.models import Advocate
from goodword.public import links
from goodword.referrals import clicklog
from goodword.referrals.clicklog import ingest_clicks
from goodword.referrals.models import Click, ClickLogOffset, Referral
from tests.factories import Story, enrol, make_api, make_program, make_story, signup

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "",
]
HOSTILE_NAME = "Acme <script>alert('x')</script> & \"friends\""
HOSTILE_DESCRIPTION = "Get $10 <img src=x onerror=alert(1)>"


class _Meta(HTMLParser):
    """Collect <meta property|name=... content=...> with entities decoded, as a scraper would."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        key = found.get("property") or found.get("name")
        if tag == "meta" and key:
            self.meta[key] = found.get("content") or ""


def meta_tags(body: bytes) -> dict[str, str]:
    parser = _Meta()
    parser.feed(body.decode())
    return parser.meta


def log_files() -> list[Path]:
    directory = Path(settings.CLICK_LOG_DIR)
    return sorted(directory.glob("*.log")) if directory.exists() else []


def logged_clicks() -> list[dict[str, Any]]:
    return [json.loads(line) for p in log_files() for line in p.read_bytes().splitlines()]


def visit(code: str, query: str = "", user_agent: str = BROWSER, **extra: Any) -> Any:
    return Client().get(f"/r/{code}{query}", HTTP_USER_AGENT=user_agent, **extra)


def token_of(response: Any) -> str:
    assert response.status_code == 302, response.content
    [token] = parse_qs(urlsplit(response["Location"]).query)["gw_ref"]
    return str(token)


def alice_pk(story: Story) -> int:
    return Advocate.objects.get(public_id=story.alice["id"]).pk


# --- unknown codes and previews --------------------------------------------------------------


@pytest.mark.parametrize("code", ["NOPE-22222", "x", "A" * 41, "%F0%9F%98%80"])
def test_unknown_code_gets_a_friendly_html_404(story: Story, code: str) -> None:
    r = visit(code)
    assert r.status_code == 404
    assert r["Content-Type"] == "text/html; charset=utf-8"
    assert r["Cache-Control"] == "no-store"
    body = r.content.decode()
    assert body.startswith("<!doctype html>")
    assert "This referral link doesn't work" in body
    assert "ask the friend who shared it for a new one" in body
    assert "Location" not in r
    assert logged_clicks() == []


def test_nul_byte_in_a_code_is_a_404_not_a_500(story: Story) -> None:
    # PostgreSQL refuses NUL in text parameters; the lookup must not reach the database.
    r = visit("%00")
    assert r.status_code == 404
    assert "This referral link doesn't work" in r.content.decode()


@pytest.mark.parametrize("user_agent", BOTS)
def test_bots_get_an_open_graph_card_and_no_click(db: None, user_agent: str) -> None:
    story = make_story(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION)
    code = story.alice["code"]
    r = visit(code, user_agent=user_agent)
    assert r.status_code == 200
    assert "Location" not in r
    assert r["Content-Type"] == "text/html; charset=utf-8"
    assert r["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    meta = meta_tags(r.content)
    # The card says the offer; the image (docs/sharing-landing.md) draws it with the brand.
    assert meta["og:title"] == "A gift from Alice: $5.00 store credit"
    assert meta["og:description"] == HOSTILE_DESCRIPTION
    assert meta["og:url"] == f"{settings.SITE_URL}/r/{code}"
    assert meta["og:type"] == "website"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image"].startswith(f"{settings.SITE_URL}/og/{story.program['id']}.png?v=")
    body = r.content.decode()
    assert "<script" not in body
    assert "<img" not in body
    assert "Get $10 &lt;img src=x onerror=alert(1)&gt;" in body
    assert logged_clicks() == []
    assert ingest_clicks() == 0
    assert Click.objects.count() == 0


def test_head_request_gets_the_card_and_writes_no_click(story: Story) -> None:
    r = Client().head(f"/r/{story.alice['code']}", HTTP_USER_AGENT=BROWSER)
    assert r.status_code == 200
    assert "Location" not in r
    assert logged_clicks() == []


# --- the redirect and its token --------------------------------------------------------------


def test_browser_is_redirected_with_a_token_naming_alice_and_the_logged_click(
    story: Story,
) -> None:
    with time_machine.travel(T0, tick=False):
        r = visit(story.alice["code"])
    assert r.status_code == 302
    assert r["Cache-Control"] == "no-store"
    assert r.content == b""
    token = token_of(r)
    assert r["Location"] == f"https://shop.acme.test/welcome?gw_ref={token}"
    ref = read_ref_token(token)
    assert ref is not None
    assert ref.advocate_id == story.alice["id"]
    assert ref.issued_at == T0
    [record] = logged_clicks()
    assert record["id"] == ref.click_id
    assert (record["ws"], record["adv"], record["ts"]) == (
        story.acme.workspace.pk,
        alice_pk(story),
        T0.timestamp(),
    )
    # The click reaches the database only when the ingester runs.
    assert Click.objects.count() == 0
    assert ingest_clicks() == 1
    assert Click.objects.get().click_id == ref.click_id


def test_channel_utm_and_referrer_land_in_the_click_row(story: Story) -> None:
    query = (
        "?via=email&utm_source=newsletter&utm_medium=mail&utm_campaign=spring-26"
        "&utm_term=coffee&utm_content=footer&next=https://evil.test/"
    )
    with time_machine.travel(T0, tick=False):
        r = visit(
            story.alice["code"],
            query,
            user_agent=DESKTOP,
            HTTP_REFERER="https://mail.example.com/inbox",
        )
    # Nothing from the request chooses where the visitor goes.
    assert r["Location"].startswith("https://shop.acme.test/welcome?gw_ref=")
    assert "evil" not in r["Location"]
    assert ingest_clicks() == 1
    c = Click.objects.get()
    assert c.click_id == read_ref_token(token_of(r)).click_id  # type: ignore[union-attr]
    assert (c.workspace_id, c.advocate_id, c.created_at) == (
        story.acme.workspace.pk,
        alice_pk(story),
        T0,
    )
    assert (c.channel, c.utm_source, c.utm_medium, c.utm_campaign, c.utm_term, c.utm_content) == (
        "email",
        "newsletter",
        "mail",
        "spring-26",
        "coffee",
        "footer",
    )
    assert (c.referrer, c.ua_class) == ("https://mail.example.com/inbox", "desktop")
    assert c.ip_hash == hash_ip("127.0.0.1", "2026-03-02")


def test_tampered_token_is_rejected(story: Story) -> None:
    token = token_of(visit(story.alice["code"]))
    assert read_ref_token(token) is not None
    advocate, click_id, issued, sig = token.split(".")
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    tampered = [
        f"{advocate}.{click_id}.{issued}.{flipped}",
        f"adv_someoneelse.{click_id}.{issued}.{sig}",
        f"{advocate}.{click_id}x.{issued}.{sig}",
        f"{advocate}.{click_id}.{issued}1.{sig}",
        f"{advocate}.{click_id}.{issued}",
        f"{token}.extra",
        token[:-1],
        "",
        token + "A" * 200,
    ]
    for bad in tampered:
        assert read_ref_token(bad) is None, bad
    # A well-formed token with a signature made without our key is refused.
    for _ in range(20):
        forged = secrets.token_urlsafe(16)[:22]
        assert read_ref_token(f"{advocate}.{click_id}.{issued}.{forged}") is None
    # And the API does not attribute a signup that carries one.
    r = story.acme.event(signup("s-bob", "bob", ref_token=tampered[0]))
    assert r.status_code == 201
    assert r.json()["attribution"] == "invalid_token"
    assert r.json()["referrals"] == []
    assert Referral.objects.count() == 0


def test_paused_program_redirects_to_the_plain_destination_and_counts_nothing(
    story: Story,
) -> None:
    r = story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"})
    assert r.status_code == 200
    r = visit(story.alice["code"], "?via=email")
    assert r.status_code == 302
    assert r["Location"] == "https://shop.acme.test/welcome"
    assert logged_clicks() == []
    assert ingest_clicks() == 0
    assert Click.objects.count() == 0


def test_pausing_shows_once_the_cached_target_is_forgotten(story: Story) -> None:
    code = story.alice["code"]
    assert "gw_ref=" in visit(code)["Location"]
    story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"})
    links.forget(code.lower())
    assert visit(code)["Location"] == "https://shop.acme.test/welcome"
    assert len(logged_clicks()) == 1


def test_codes_are_case_insensitive_and_forgive_look_alikes(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(acme)
    alice = enrol(acme, program["id"], "alice", name="Alice", code="Alice-Go10")
    assert alice["code"] == "Alice-Go10"
    typed = [
        "Alice-Go10",
        "alice-go10",
        "ALICE-GO10",
        "ALICEGO10",
        "alice_go10",
        "alice%20go10",
        "A1ICE-G01O",  # L typed as 1, 1 as I, 0 as O
        "al1ce-gol0",
        "AIICE-GOIO",
    ]
    for code in typed:
        r = visit(code)
        assert r.status_code == 302, code
        ref = read_ref_token(token_of(r))
        assert ref is not None
        assert ref.advocate_id == alice["id"], code
    assert len(logged_clicks()) == len(typed)
    # A different code is a different code.
    assert visit("ALICE-GO11").status_code == 404
    assert visit("ALICE-G010X").status_code == 404


def test_generated_code_typed_lower_case_works(story: Story) -> None:
    code = story.alice["code"]
    assert code == code.upper()
    ref = read_ref_token(token_of(visit(code.lower())))
    assert ref is not None
    assert ref.advocate_id == story.alice["id"]


@pytest.mark.parametrize(
    ("destination", "before", "after"),
    [
        (
            "https://shop.acme.test/welcome?lang=en&promo=spring#signup",
            "https://shop.acme.test/welcome?lang=en&promo=spring&gw_ref=",
            "#signup",
        ),
        (
            "https://shop.acme.test/welcome#signup",
            "https://shop.acme.test/welcome?gw_ref=",
            "#signup",
        ),
        (
            "https://shop.acme.test/w#frag?with=query",
            "https://shop.acme.test/w?gw_ref=",
            "#frag?with=query",
        ),
    ],
)
def test_destination_query_and_fragment_are_kept(
    db: None, destination: str, before: str, after: str
) -> None:
    story = make_story(destination_url=destination)
    r = visit(story.alice["code"])
    token = token_of(r)
    assert r["Location"] == f"{before}{token}{after}"
    assert read_ref_token(token) is not None


# --- the click log ingester --------------------------------------------------------------------


def test_ingesting_twice_gives_the_same_rows(story: Story) -> None:
    for via in ("email", "sms", "x"):
        visit(story.alice["code"], f"?via={via}")
    assert ingest_clicks() == 3
    rows = sorted(Click.objects.values_list("click_id", "channel"))
    assert sorted(channel for _, channel in rows) == ["email", "sms", "x"]
    assert ingest_clicks() == 0
    assert sorted(Click.objects.values_list("click_id", "channel")) == rows
    # Even with the stored offsets lost (a crash before commit), re-reading adds nothing.
    ClickLogOffset.objects.all().delete()
    ingest_clicks()
    assert sorted(Click.objects.values_list("click_id", "channel")) == rows


def test_a_partly_written_last_line_waits_for_the_next_run(story: Story) -> None:
    visit(story.alice["code"], "?via=email")
    [path] = log_files()
    first_line = path.read_bytes()
    [record] = logged_clicks()
    line = json.dumps({**record, "id": "late-click", "channel": "sms"}).encode() + b"\n"
    with path.open("ab") as f:
        f.write(line[:25])
    assert ingest_clicks() == 1
    assert ClickLogOffset.objects.get(path=str(path)).offset == len(first_line)
    assert list(Click.objects.values_list("click_id", flat=True)) == [record["id"]]
    with path.open("ab") as f:
        f.write(line[25:])
    assert ingest_clicks() == 1
    assert sorted(Click.objects.values_list("click_id", "channel")) == sorted(
        [(record["id"], "email"), ("late-click", "sms")]
    )
    assert ClickLogOffset.objects.get(path=str(path)).offset == path.stat().st_size


def test_a_malformed_line_is_skipped_and_the_rest_ingested(story: Story) -> None:
    visit(story.alice["code"])
    [path] = log_files()
    [record] = logged_clicks()
    good = json.dumps({**record, "id": "after-garbage"}).encode()
    with path.open("ab") as f:
        f.write(b'{"id": "no-fields"}\nnot json at all\n' + good + b"\n")
    assert ingest_clicks() == 2
    assert sorted(Click.objects.values_list("click_id", flat=True)) == sorted(
        [record["id"], "after-garbage"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_click_for_a_deleted_advocate_does_not_block_the_log(story: Story) -> None:
    # Committed for real: a dangling foreign key fails only at commit.
    acme = story.acme
    carol = enrol(acme, story.program["id"], "carol", name="Carol")
    visit(carol["code"])
    visit(story.alice["code"], "?via=email")
    # Staff delete carol's enrolment (the admin allows it) before the ingester runs.
    Advocate.objects.filter(public_id=carol["id"]).delete()
    ingest_clicks()
    [path] = log_files()
    assert list(Click.objects.values_list("advocate_id", "channel")) == [(alice_pk(story), "email")]
    assert ClickLogOffset.objects.get(path=str(path)).offset == path.stat().st_size


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_fully_read_log_is_deleted_only_when_its_writer_is_gone(story: Story) -> None:
    visit(story.alice["code"])
    [live] = log_files()
    [record] = logged_clicks()
    line = json.dumps({**record, "id": "from-a-dead-process"}).encode() + b"\n"
    directory = live.parent
    host = socket.gethostname()
    dead_old = directory / f"{host}-{_dead_pid()}-1.log"
    dead_old.write_bytes(line)
    dead_recent = directory / f"{host}-{_dead_pid()}-2.log"
    dead_recent.write_bytes(json.dumps({**record, "id": "recent"}).encode() + b"\n")
    dead_partial = directory / f"{host}-{_dead_pid()}-3.log"
    dead_partial.write_bytes(line[:10])
    stale = clicklog.STALE_SECONDS + 60
    for path in (live, dead_old, dead_partial):
        _age(path, stale)

    assert ingest_clicks() == 3
    # Written by this (live) process: kept however old; read by a dead one, old: deleted with
    # its offset row; recent or not fully read: kept for now.
    assert live.exists()
    assert not dead_old.exists()
    assert not ClickLogOffset.objects.filter(path=str(dead_old)).exists()
    assert dead_recent.exists()
    assert dead_partial.exists()
    assert ClickLogOffset.objects.get(path=str(dead_partial)).offset == 0
    assert sorted(Click.objects.values_list("click_id", flat=True)) == sorted(
        [record["id"], "from-a-dead-process", "recent"]
    )
    # The live writer keeps appending to its file.
    visit(story.alice["code"])
    assert ingest_clicks() == 1
    assert Click.objects.count() == 4


def test_writer_starts_a_new_file_when_its_file_was_deleted(story: Story) -> None:
    visit(story.alice["code"])
    [first] = log_files()
    assert ingest_clicks() == 1
    first.unlink()
    visit(story.alice["code"])
    [second] = log_files()
    assert second != first
    assert ingest_clicks() == 1
    assert Click.objects.count() == 2


# --- the share page ----------------------------------------------------------------------------


def test_share_page_shows_the_link_and_share_buttons(story: Story) -> None:
    code = story.alice["code"]
    r = Client().get(f"/s/{code.lower()}")
    assert r.status_code == 200
    body = r.content.decode()
    link = f"{settings.SITE_URL}/r/{code}"
    quoted = quote(link)
    assert f'value="{link}"' in body
    assert f"<strong>{code}</strong>" in body
    for name in ("Email", "SMS", "WhatsApp", "X", "Facebook", "LinkedIn"):
        assert f">{name}</a>" in body
    assert (
        f"https://wa.me/?text=Give%20%2410%2C%20get%20%2410%3A%20{quoted}%3Fvia%3Dwhatsapp" in body
    )
    assert f"mailto:?subject=Give%20%2410%2C%20get%20%2410&amp;body={quoted}%3Fvia%3Demail" in body
    assert logged_clicks() == []


def test_share_page_escapes_the_program_name(db: None) -> None:
    story = make_story(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION)
    r = Client().get(f"/s/{story.alice['code']}")
    assert r.status_code == 200
    body = r.content.decode()
    assert "<script" not in body
    assert "<img" not in body


@pytest.mark.parametrize("code", ["UNKNOWN", "NOPE-22222", "%00", "A" * 41, "%F0%9F%98%80"])
def test_share_page_of_an_unknown_code_is_404(story: Story, code: str) -> None:
    assert Client().get(f"/s/{code}").status_code == 404


def test_share_page_of_a_paused_program_is_404(story: Story) -> None:
    story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"})
    assert Client().get(f"/s/{story.alice['code']}").status_code == 404


def test_preview_link_carries_a_token_but_counts_no_click(story: Story) -> None:
    """A person taken for a bot follows the card's link and is still credited to alice."""

    class Links(HTMLParser):
        hrefs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self.hrefs.append(dict(attrs)["href"] or "")

    r = visit(story.alice["code"], user_agent="Slackbot-LinkExpanding 1.0")
    assert r.status_code == 200
    parser = Links()
    parser.feed(r.content.decode())
    [href] = parser.hrefs
    assert href.startswith("https://shop.acme.test/welcome?gw_ref=")
    token = read_ref_token(parse_qs(urlsplit(href).query)["gw_ref"][0])
    assert token is not None
    assert token.advocate_id == story.alice["id"]
    assert logged_clicks() == []
