"""Share events in the numbers (`POST /api/v1/shares`, the stats, the Overview), and the QR
code and flyer pages (`/q/<code>.svg`, `.png`, `/flyer`): docs/sharing-qr.md."""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
from django.conf import settings
from django.test import Client

from goodword.analytics import activity, breakdowns
from goodword.analytics.scope import Scope
from goodword.lib.signing import PORTAL_COOKIE, make_portal_token
from goodword.participants.models import Advocate
from goodword.programs.models import Program
from goodword.public import qr
from goodword.referrals import shares
from goodword.referrals.models import Share
from tests.dashboard import owner
from tests.factories import Story, enrol, make_story
from tests.shared import row_counts

SITE = settings.SITE_URL


@pytest.fixture
def story(db: None) -> Story:
    return make_story()


@pytest.fixture(autouse=True)
def qr_cache(settings: Any, tmp_path: Path) -> Path:
    """Each test its own data directory: the QR cache starts empty."""
    settings.DATA_DIR = tmp_path
    return tmp_path / "qr"


def alice(story: Story) -> Advocate:
    return Advocate.objects.select_related("program").get(public_id=story.alice["id"])


def share(story: Story, channel: str, advocate: str = "alice") -> Any:
    body = {"program": story.program["id"], "advocate": advocate, "channel": channel}
    return story.acme.post("/shares", body)


# POST /api/v1/shares


def test_a_reported_share_is_recorded_with_the_api_source(story: Story) -> None:
    answer = share(story, "whatsapp")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["program"], body["advocate"], body["channel"], body["source"]) == (
        story.program["id"], "alice", "whatsapp", "api",
    )  # fmt: skip
    [row] = Share.objects.all()
    assert (row.advocate_id, row.channel, row.source) == (alice(story).pk, "whatsapp", "api")
    assert row.workspace_id == story.acme.workspace.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"advocate": ""}, "advocate"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_share_bodies_are_422_naming_the_field(
    story: Story, body: dict[str, Any], field: str
) -> None:
    sent = {"program": story.program["id"], "advocate": "alice", "channel": "email", **body}
    before = row_counts()
    answer = story.acme.post("/shares", sent)
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in str(error["details"])
    if field == "channel" and body["channel"]:
        assert "whatsapp" in error["message"]  # says which channels there are
    assert row_counts() == before
    assert not Share.objects.exists()


def test_an_unknown_advocate_or_program_is_404(story: Story) -> None:
    assert share(story, "email", advocate="nobody").status_code == 404
    body = {"program": "prg_nothing", "advocate": "alice", "channel": "email"}
    answer = story.acme.post("/shares", body)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert not Share.objects.exists()


def test_another_workspace_cannot_report_a_share_for_acme(story: Story) -> None:
    answer = story.globex.post(
        "/shares", {"program": story.program["id"], "advocate": "alice", "channel": "email"}
    )
    assert answer.status_code == 404
    assert not Share.objects.exists()


# Shares in the numbers


def test_stats_count_shares_by_channel_and_sharing_advocates(story: Story) -> None:
    bob = enrol(story.acme, story.program["id"], "bob")
    for channel in ("email", "email", "qr", "copy"):
        assert share(story, channel).status_code == 201
    assert share(story, "whatsapp", advocate="bob").status_code == 201
    stats = story.acme.get(f"/programs/{story.program['id']}/stats").json()
    assert stats["shares"] == 5
    assert stats["shares_by_channel"] == {"copy": 1, "email": 2, "qr": 1, "whatsapp": 1}
    funnel = stats["funnel"]
    assert (funnel["shares"], funnel["sharing_advocates"], funnel["clicks"]) == (5, 2, 0)
    assert funnel["sharing_rate"] == 1.0  # both advocates shared
    channels = {c["channel"]: (c["shares"], c["clicks"]) for c in stats["channels"]}
    assert channels == {"email": (2, 0), "qr": (1, 0), "copy": (1, 0), "whatsapp": (1, 0)}
    everything = story.acme.get("/stats").json()
    assert (everything["shares"], everything["shares_by_channel"]) == (
        stats["shares"], stats["shares_by_channel"],
    )  # fmt: skip
    # Another workspace's numbers hold none of them.
    assert story.globex.get("/stats").json()["shares"] == 0
    assert bob["code"]


def test_rollups_equal_the_raw_count_of_shares_in_every_period(story: Story) -> None:
    """Shares on three days, one of them the day of a click: each period's numbers from the
    rollups are those computed from the rows."""
    a = alice(story)
    days = [datetime(2026, 3, d, 10, tzinfo=UTC) for d in (2, 4, 9)]
    for at, channel in zip(days, ("email", "qr", "x"), strict=True):
        shares.record(a, channel, Share.Source.PORTAL, at=at)
    shares.record(a, "qr", Share.Source.WIDGET, at=days[1])
    ws, program = story.acme.workspace.pk, a.program_id
    for start, end, expected in [
        (None, None, 4), (days[0].date(), days[0].date(), 1), (days[1].date(), None, 3),
        (days[0].date(), days[1].date(), 3), (days[2].date(), days[2].date(), 1),
    ]:  # fmt: skip
        scope = Scope(ws, program, start, end)
        funnel = activity.funnel(scope)
        assert funnel == activity.funnel(replace(scope, raw=True)), scope
        assert funnel.shares == expected
        assert funnel.sharing == 1
        assert breakdowns.channels(scope) == breakdowns.channels(replace(scope, raw=True))
    march = Scope(ws, program, days[0].date(), days[2].date())
    assert {c.channel: c.shares for c in breakdowns.channels(march)} == {
        "email": 1, "qr": 2, "x": 1,
    }  # fmt: skip


def test_the_overview_shows_shares_in_the_funnel_and_channels(story: Story) -> None:
    for channel in ("sms", "sms", "linkedin"):
        assert share(story, channel).status_code == 201
    page = owner(story.acme.workspace).get("/dashboard/")
    body = page.content.decode()
    assert page.status_code == 200
    assert '<div class="ov-stage"><span>Shares</span><strong>3</strong></div>' in body
    assert "3 per sharing advocate" in body
    assert '<td>sms</td><td class="num">2</td><td class="num">0</td>' in body
    assert '<td>linkedin</td><td class="num">1</td>' in body


# The QR code


def png_matrix(data: bytes) -> list[list[int]]:
    """The pixels of a 1-bit greyscale or palette PNG (what segno writes), 1 for dark: enough
    of a decoder to read the code back without an image library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    header: tuple[int, ...] = ()
    palette = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = header[0], header[1], header[2], header[3]
    assert depth == 1, header
    assert colour in (0, 3), header
    raw = zlib.decompress(b"".join(chunks))
    stride = (width + 7) // 8
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        assert kind in (0, 2), kind  # none or "up": all a 1-bit image needs
        if kind == 2:
            line = bytearray((b + p) & 0xFF for b, p in zip(line, previous, strict=True))
        previous = bytes(line)
        bits = [(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)]
        if colour == 3:  # a palette: index -> is the colour dark?
            bits = [int(sum(palette[3 * b : 3 * b + 3]) < 384) for b in bits]
        else:  # greyscale: 0 is black
            bits = [1 - b for b in bits]
        rows.append(bits)
    return rows


def modules(rows: list[list[int]], size: int) -> list[list[int]]:
    """The modules of a `size`-module symbol (quiet zone included) sampled at their centres."""
    scale = len(rows) // size
    return [[rows[y * scale + scale // 2][x * scale + scale // 2] for x in range(size)]
            for y in range(size)]  # fmt: skip


def test_the_png_holds_the_advocates_link_and_is_big_enough_to_print(story: Story) -> None:
    code = story.alice["code"]
    answer = Client().get(f"/q/{code}.png")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert answer["Cache-Control"] == "public, max-age=86400"
    assert "Content-Disposition" not in answer
    link = f"{SITE}/r/{code}?via=qr"
    expected = segno.make(link, error="m")
    size = expected.symbol_size(scale=1, border=qr.BORDER)[0]
    rows = png_matrix(answer.content)
    assert 900 <= len(rows) <= 1000
    assert len(rows) == len(rows[0])
    # The drawn modules are exactly those of a fresh code of the link (which a reader reads
    # back as the link: segno's own encoder is the reference).
    fresh = [[int(bool(m)) for m in row] for row in expected.matrix_iter(scale=1, border=4)]
    assert modules(rows, size) == fresh
    assert not Share.objects.exists()  # a view records nothing


def test_the_svg_has_a_title_and_the_same_modules(story: Story) -> None:
    code = story.alice["code"]
    answer = Client().get(f"/q/{code.lower()}.svg")  # codes are matched as typed anywhere
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/svg+xml"
    link = f"{SITE}/r/{code}?via=qr"
    svg = answer.content.decode()
    assert svg.startswith("<svg")
    assert f"<title>{link}</title>" in svg
    assert answer["Content-Security-Policy"] == qr.SVG_POLICY
    assert answer.content == qr.draw(link, "svg")


def test_each_code_is_drawn_once_then_served_from_the_cache(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple[str, str]] = []
    draw = qr.draw

    def counting(link: str, kind: str) -> bytes:
        drawn.append((link, kind))
        return draw(link, kind)

    monkeypatch.setattr(qr, "draw", counting)
    code, client = story.alice["code"], Client()
    first = client.get(f"/q/{code}.png").content
    for _ in range(3):
        assert client.get(f"/q/{code}.png").content == first
    client.get(f"/q/{code}.svg")
    client.get(f"/q/{code}.svg?download=1")
    link = f"{SITE}/r/{code}?via=qr"
    assert drawn == [(link, "png"), (link, "svg")]
    files = sorted(p.suffix for p in (Path(settings.DATA_DIR) / "qr").iterdir())
    assert ".part" not in files
    # A new site address is a new link: drawn again, under another name.
    monkeypatch.setattr(settings, "SITE_URL", "https://refer.example.com")
    client.get(f"/q/{code}.png")
    assert drawn[-1] == (f"https://refer.example.com/r/{code}?via=qr", "png")
    assert len(drawn) == 3


def test_a_matching_etag_is_304_without_the_image(story: Story) -> None:
    code, client = story.alice["code"], Client()
    first = client.get(f"/q/{code}.svg")
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    again = client.get(f"/q/{code}.svg", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert (again["ETag"], again["Cache-Control"]) == (etag, "public, max-age=86400")
    weak = client.get(f"/q/{code}.svg", HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    assert weak.status_code == 304
    other = client.get(f"/q/{code}.svg", HTTP_IF_NONE_MATCH='"other"')
    assert other.status_code == 200
    assert other.content == first.content
    # The PNG has its own tag.
    assert client.get(f"/q/{code}.png", HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/q/NOPE1.png", "/q/NOPE1.svg", "/q/NOPE1/flyer", "/q/%00.svg", "/q/a%20b.png",
     "/q/" + "A" * 41 + ".svg", "/q/ALICE.gif"],
)  # fmt: skip
def test_unknown_codes_are_404(story: Story, path: str, qr_cache: Path) -> None:
    assert Client().get(path).status_code == 404
    assert not qr_cache.exists()  # nothing drawn


def test_an_inactive_programs_codes_are_404(story: Story) -> None:
    code = story.alice["code"]
    Program.objects.filter(public_id=story.program["id"]).update(status="paused")
    client = Client()
    for path in (f"/q/{code}.png", f"/q/{code}.svg", f"/q/{code}/flyer"):
        assert client.get(path).status_code == 404, path


def portal_client(advocate: Advocate, issued: int | None = None) -> Client:
    client = Client()
    at = int(time.time()) if issued is None else issued
    client.cookies[PORTAL_COOKIE] = make_portal_token(advocate.public_id, at)
    return client


def test_a_download_by_the_advocate_records_one_qr_share(story: Story) -> None:
    a, code = alice(story), story.alice["code"]
    answer = portal_client(a).get(f"/q/{code}.png?download=1")
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == f'attachment; filename="give-10-get-10-{code}-qr.png"'
    assert answer["Cache-Control"] == "private, no-cache"
    [row] = Share.objects.all()
    assert (row.advocate_id, row.channel, row.source) == (a.pk, "qr", "portal")
    # Viewing (no download) with the same cookie records nothing more.
    portal_client(a).get(f"/q/{code}.png")
    portal_client(a).get(f"/q/{code}/flyer")
    assert Share.objects.count() == 1


def test_downloads_by_anyone_else_record_nothing(story: Story) -> None:
    a, code = alice(story), story.alice["code"]
    bob = Advocate.objects.get(public_id=enrol(story.acme, story.program["id"], "bob")["id"])
    anonymous = Client().get(f"/q/{code}.svg?download=1")
    assert anonymous.status_code == 200
    disposition = f'attachment; filename="give-10-get-10-{code}-qr.svg"'
    assert anonymous["Content-Disposition"] == disposition
    portal_client(bob).get(f"/q/{code}.svg?download=1")  # another advocate's cookie
    forged = Client()
    forged.cookies[PORTAL_COOKIE] = make_portal_token(a.public_id, int(time.time()))[:-2] + "xx"
    forged.get(f"/q/{code}.svg?download=1")
    old = int(time.time()) - 401 * 86400
    portal_client(a, issued=old).get(f"/q/{code}.svg?download=1")  # older than any cookie
    assert not Share.objects.exists()


# The flyer (its look and accessibility: tests/test_browser_flyer.py)


def test_the_flyer_shows_the_offer_code_link_and_qr(story: Story) -> None:
    code = story.alice["code"]
    answer = Client().get(f"/q/{code}/flyer")
    assert answer.status_code == 200
    body = answer.content.decode()
    assert answer["Content-Language"] == "en"
    assert "<title>Acme: a gift for you</title>" in body
    assert '<h1 class="headline">A gift from Alice: $5.00 store credit</h1>' in body
    assert '<p class="offer">Use it on your first order at Acme</p>' in body  # not twice
    assert f"<strong>{code}</strong>" in body
    assert f'<p class="link">{SITE.split("://")[1]}/r/{code}</p>' in body
    assert f'<img src="/q/{code}/flyer' not in body
    assert f'<img src="/q/{code}.svg"' in body
    assert "Scan or type the code at checkout" in body
    assert "<script>" not in body
    assert "onclick" not in body
    assert Share.objects.count() == 0


def test_the_flyer_speaks_the_programs_language_else_the_browsers(story: Story) -> None:
    code = story.alice["code"]
    italian = Client().get(f"/q/{code}/flyer", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9")
    body = italian.content.decode()
    assert italian["Content-Language"] == "it"
    assert "Inquadra il codice o digitalo alla cassa" in body
    assert '<html lang="it">' in body
    Program.objects.filter(public_id=story.program["id"]).update(language="en")
    english = Client().get(f"/q/{code}/flyer", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9")
    assert english["Content-Language"] == "en"
    assert "Scan or type the code at checkout" in english.content.decode()


def test_the_person_page_links_the_qr_code_and_flyer(story: Story) -> None:
    code = story.alice["code"]
    person = alice(story).participant.public_id
    body = owner(story.acme.workspace).get(f"/dashboard/participants/{person}/").content.decode()
    for end in (".svg", ".png", "/flyer"):
        assert f'href="{SITE}/q/{code}{end}"' in body


def test_shares_record_rejects_a_bad_source(story: Story) -> None:
    with pytest.raises(ValueError, match="unknown share source"):
        shares.record(alice(story), "qr", "fax")
    assert not Share.objects.exists()
