"""The Overview page (`/dashboard/`) and its CSV exports: the numbers of `goodword.analytics`
shown in major units, the filters, roles, and another workspace's ids."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from goodword.analytics.definitions import DEFINITIONS
from goodword.participants.models import Advocate, Participant
from goodword.referrals.clicklog import ingest_clicks
from tests.dashboard import member, owner
from tests.factories import make_api, make_program
from tests.shared import kept_for_module
from tests.test_analytics import T0, Shop, build_shop, click, own_click_log

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "analytics.md"


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[Shop]:
    with kept_for_module(django_db_blocker), own_click_log():
        shop = build_shop()
        # An advocate whose name a spreadsheet would run as a formula, with a click in March.
        hostile = Advocate.objects.get(participant__external_id="zed")
        hostile.participant.name = '=HYPERLINK("http://evil.test","x")'
        hostile.participant.save()
        with time_machine.travel(T0 + timedelta(days=9), tick=False):
            click(hostile.code)
        assert ingest_clicks() == 1
        # Segments, as the business sends them in `customer.attributes` (a boolean too).
        for external_id, segment in (("alice", "vip"), ("gina", "vip"), ("dan", True)):
            person = Participant.objects.get(workspace=shop.acme.workspace, external_id=external_id)
            person.attributes = {**person.attributes, "segment": segment}
            person.save()
        yield shop


@pytest.fixture
def shop(built: Shop, db: None) -> Shop:
    return built


def text(response: Any) -> str:
    """The page's visible text, tags dropped and spaces squeezed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_overview_shows_the_workspace_numbers_in_major_units(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/", MARCH)
    assert page.status_code == 200
    shown = text(page)
    assert "All programs, 1 Mar 2026 to 31 Mar 2026" in shown
    # KPI cards: bob and frank converted of 5 friends; revenue net of refunds; every kind.
    assert "Referred customers 2 5 friends came" in shown
    assert "Conversion rate 40.0 %" in shown
    assert "Revenue, net of refunds €100.00 $35.00 refunds: €0.00, $45.00" in shown
    assert "Reward cost €20.00 $18.50 and 50 points" in shown
    assert "Cost per referred customer €10.00 $9.25 CAC" in shown
    assert "Return on reward cost 400.0 % EUR 89.2 % USD ROI" in shown
    # The funnel with its rates.
    assert (
        "Advocates 4 Sharing advocates 4 100.0 % of advocates Shares 0 0 per sharing advocate "
        "Clicks 5"
    ) in shown
    assert "Converted 2 40.0 % of friends Rewarded 2 100.0 % of converted" in shown
    # Raw minor units never show.
    assert "3500" not in shown
    assert "1850" not in shown
    # Money per currency, by status and kind.
    assert "Approved Cash 1 $3.50" in shown
    assert "Fulfilled Coupon 2 $5.00 (1 without a value)" in shown
    assert "Approved Points 1 50 points" in shown
    assert "Reversed Credit 1 $10.00" in shown
    assert "USD $35.00 $18.50 $9.25 89.2 %" in shown


def test_one_program_and_its_leaderboard_and_channels(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/", {**MARCH, "program": shop.usd.public_id})
    assert page.status_code == 200
    shown = text(page)
    assert "Dollars, 1 Mar 2026 to 31 Mar 2026" in shown
    assert f'<option value="{shop.usd.public_id}" selected>' in page.content.decode()
    assert "Referred customers 1 4 friends came" in shown
    assert "Revenue, net of refunds $35.00" in shown
    # Leaderboard: alice, then dan, then zed's one click; revenue and their own rewards.
    leaders = shown.split("Top advocates")[1].split("Channels")[0]
    assert "€" not in leaders
    assert "1 alice ALICE-" in leaders
    assert "3 3 1 $35.00 $13.50 + 50 points" in leaders
    assert re.search(r"2 dan DAN-\w+ 1 1 0 — —", leaders)
    assert '3 =HYPERLINK("http://evil.test","x") ZED-' in leaders
    channels = shown.split("Channels")[1].split("Money")[0]
    # Shares (none here), clicks, friends, converted.
    assert "code 0 0 3 1 33.3 % $35.00" in channels
    assert "email 0 2 1 0 0.0 % $0.00" in channels
    assert "link 0 2 0 0 — —" in channels


def test_daily_chart_is_an_accessible_svg_with_the_numbers_beside_it(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/", MARCH)
    body = page.content.decode()
    svg = body[body.index("<svg viewBox") : body.index("</svg>")]
    assert 'role="img"' in svg
    assert 'aria-labelledby="ov-chart-title ov-chart-desc"' in svg
    assert '<title id="ov-chart-title">Clicks, friends who came and conversions per day' in svg
    assert svg.count("<polyline") == 3
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)
    assert " onclick=" not in body
    shown = text(page)
    summary = (
        "Over 31 days: 5 clicks, 5 friends who came, 2 conversions. Busiest day: 2 March "
        "(4 clicks, 4 friends, 0 conversions)."
    )
    assert summary in shown
    assert "Clicks: 5" in shown
    assert "Friends who came: 5" in shown
    assert "Conversions: 2" in shown
    assert "Mon 2 Mar 2026 4 4 0" in shown
    assert "Tue 31 Mar 2026 0 0 0" in shown


def test_definitions_are_on_the_page_and_in_the_docs(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/", MARCH)
    body = page.content.decode()
    assert '<a href="#definitions">How these are computed</a>' in body
    assert '<details class="card more ov-definitions" id="definitions">' in body
    docs = DOCS.read_text()
    for term, definition in DEFINITIONS:
        assert f"<dt>{html.escape(term)}</dt><dd>{html.escape(definition)}</dd>" in body
        assert f"### {term}" in docs, term


def test_default_period_is_the_last_30_days(shop: Shop) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        page = owner(shop.acme.workspace).get("/dashboard/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="from" value="2026-02-19"' in body
    assert 'name="to" value="2026-03-20"' in body
    assert "All programs, 19 Feb 2026 to 20 Mar 2026" in text(page)


@pytest.mark.parametrize("role", ["analyst", "reviewer", "admin", "owner"])
def test_every_role_may_view(shop: Shop, role: str) -> None:
    client = member(shop.acme.workspace, f"{role}@acme.test", role)
    page = client.get("/dashboard/", MARCH)
    assert page.status_code == 200
    assert "Referred customers 2" in text(page)
    assert client.get("/dashboard/overview/leaderboard.csv", MARCH).status_code == 200
    assert client.get("/dashboard/overview/daily.csv", MARCH).status_code == 200


def test_signed_out_is_sent_to_sign_in(shop: Shop) -> None:
    for path in (
        "/dashboard/",
        "/dashboard/overview/leaderboard.csv",
        "/dashboard/overview/daily.csv",
    ):
        answer = Client().get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/dashboard/login/?next=")


def test_another_workspaces_program_is_404_and_shows_nothing_of_it(shop: Shop) -> None:
    globex = owner(shop.globex.workspace)
    for path in (
        "/dashboard/",
        "/dashboard/overview/leaderboard.csv",
        "/dashboard/overview/daily.csv",
    ):
        for program in (shop.usd.public_id, "prg_nope", "prg_\x00"):
            answer = globex.get(path, {**MARCH, "program": program})
            assert answer.status_code == 404, (path, program)
            assert b"Dollars" not in answer.content
            assert b"alice" not in answer.content
    # globex's own page: its numbers, none of acme's.
    page = globex.get("/dashboard/", MARCH)
    shown = text(page)
    assert "Referred customers 1" in shown
    assert "$999.99" in shown
    for canary in ("alice", "ALICE-", "Dollars", "Euros", "$35.00", "€100.00", "HYPERLINK"):
        assert canary not in page.content.decode(), canary
    rows = globex.get("/dashboard/overview/leaderboard.csv", MARCH).content.decode()
    assert "alice" not in rows
    assert "hank" in rows


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "from", "Must be on or before the last day"),
        ({"from": "March", "to": "2026-03-01"}, "from", "Must be a date such as 2026-03-01"),
        ({"from": "2026-03-01", "to": "2026-02-30"}, "to", "Must be a date such as 2026-03-01"),
    ],
)
def test_a_bad_period_is_told_next_to_its_field(
    shop: Shop, query: dict[str, str], field: str, message: str
) -> None:
    client = owner(shop.acme.workspace)
    page = client.get("/dashboard/", query)
    assert page.status_code == 400
    body = page.content.decode()
    assert f'<span class="error" id="ov-{field}-error">{message}</span>' in body
    assert f'aria-describedby="ov-{field}-error"' in body
    assert 'class="kpis"' not in body  # no numbers for a period that is not one
    export = client.get("/dashboard/overview/daily.csv", query)
    assert export.status_code == 400


def test_leaderboard_csv_in_major_units_with_formulas_neutralised(shop: Shop) -> None:
    answer = owner(shop.acme.workspace).get("/dashboard/overview/leaderboard.csv", MARCH)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == (
        'attachment; filename="top-advocates-2026-03-01-2026-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == [
        "rank", "advocate", "participant", "code", "name", "external_id", "clicks", "friends",
        "converted", "revenue_net", "reward_cost", "points",
    ]  # fmt: skip
    alice = Advocate.objects.get(participant__external_id="alice")
    assert rows[1] == [
        "1", alice.public_id, alice.participant.public_id, alice.code, "", "alice", "3", "3",
        "1", "35.00 USD", "13.50 USD", "50",
    ]  # fmt: skip
    assert [r[5] for r in rows[1:]] == ["alice", "gina", "dan", "zed"]
    assert rows[2][9:11] == ["100.00 EUR", "20.00 EUR"]
    assert rows[4][4] == '\'=HYPERLINK("http://evil.test","x")'  # text, not a formula


def test_daily_csv_lists_every_day(shop: Shop) -> None:
    query = {"from": "2026-03-01", "to": "2026-03-12", "program": shop.usd.public_id}
    answer = owner(shop.acme.workspace).get("/dashboard/overview/daily.csv", query)
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0] == ["date", "clicks", "friends", "conversions"]
    assert len(rows) == 13
    assert rows[1:5] == [
        ["2026-03-01", "0", "0", "0"],
        ["2026-03-02", "4", "4", "0"],
        ["2026-03-03", "0", "0", "0"],
        ["2026-03-04", "0", "0", "1"],
    ]
    assert rows[11] == ["2026-03-11", "1", "0", "0"]  # zed's click


def test_the_page_links_the_exports_with_its_filters(shop: Shop) -> None:
    query = {**MARCH, "program": shop.eur.public_id}
    body = owner(shop.acme.workspace).get("/dashboard/", query).content.decode()
    expected = f"program={shop.eur.public_id}&amp;from=2026-03-01&amp;to=2026-03-31"
    assert f'href="/dashboard/overview/leaderboard.csv?{expected}"' in body
    assert f'href="/dashboard/overview/daily.csv?{expected}"' in body


def test_empty_workspace_says_how_to_begin(db: None) -> None:
    initech = make_api("Initech")
    page = owner(initech.workspace).get("/dashboard/")
    assert page.status_code == 200
    shown = text(page)
    assert "No referrals yet: share your program" in shown
    assert "Set up a program to begin." in shown
    make_program(initech)
    page = owner(initech.workspace).get("/dashboard/")
    assert "No referrals yet" in text(page)
    assert "see your programs" in text(page)
    assert "<svg viewBox" not in page.content.decode()


def test_a_single_day_draws_dots_not_lines(shop: Shop) -> None:
    day = {"from": "2026-03-02", "to": "2026-03-02"}
    body = owner(shop.acme.workspace).get("/dashboard/", day).content.decode()
    svg = body[body.index("<svg viewBox") : body.index("</svg>")]
    assert svg.count("<polyline") == 0
    assert svg.count("<circle") == 3
    assert date(2026, 3, 2).strftime("%-d %b") in svg


def test_segments_table_by_the_advocates_segment(shop: Shop) -> None:
    page = owner(shop.acme.workspace).get("/dashboard/", MARCH)
    shown = text(page)
    segments = shown.split("Segments Segment")[1].split("How these are computed")[0]
    # zed has no segment; dan's is a boolean; alice and gina are "vip".
    assert segments.strip() == (
        "Advocates Clicks Friends Converted Conversion rate Revenue, net Reward cost "
        "(none) 1 1 0 0 — — — "
        "true 1 1 1 0 0.0 % — — "
        "vip 2 3 4 2 50.0 % €100.00, $35.00 €20.00, $18.50"
    )


def test_stats_answer_segments(shop: Shop) -> None:
    body = shop.acme.get("/stats", **MARCH).json()
    assert body["segments"] == [
        {"name": "", "advocates": 1, "clicks": 1, "referrals": 0, "converted": 0,
         "conversion_rate": None, "revenue": [], "cost": []},
        {"name": "true", "advocates": 1, "clicks": 1, "referrals": 1, "converted": 0,
         "conversion_rate": 0.0, "revenue": [], "cost": []},
        {"name": "vip", "advocates": 2, "clicks": 3, "referrals": 4, "converted": 2,
         "conversion_rate": 0.5,
         "revenue": [{"currency": "EUR", "amount": 10000}, {"currency": "USD", "amount": 3500}],
         "cost": [{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 1850}]},
    ]  # fmt: skip
    # One program: only its advocates' segments.
    euros = shop.acme.get(f"/programs/{shop.eur.public_id}/stats", **MARCH).json()
    assert [(s["name"], s["advocates"], s["converted"]) for s in euros["segments"]] == [
        ("vip", 1, 1)
    ]
    # globex has no segment: none listed, and nothing of acme's.
    assert shop.globex.get("/stats", **MARCH).json()["segments"] == []
