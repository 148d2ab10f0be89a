"""Branding: uploaded logos (limits, hostile files, the re-encoded PNG served at /brand/),
a program's own brand over the workspace's, page texts (API, sandbox fallback, Italian
defaults, the dashboard editor) and the public pages in Italian with the brand's colour."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, PngImagePlugin

from goodword.accounts.models import AuditEntry
from goodword.messaging import branding, logos, pagecopy, render
from goodword.messaging.models import MessagingSettings, PageText, ProgramBrand
from goodword.programs.models import Program
from goodword.public import links
from tests.dashboard import staff
from tests.factories import Story
from tests.shared import row_counts
from tests.test_messaging_render import FAILS, SEC6_CASES


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path  # each test's logos in its own folder


# --- pictures -----------------------------------------------------------------------------------


def picture(fmt: str = "PNG", size: tuple[int, int] = (120, 40), **save: Any) -> bytes:
    image = Image.new("RGBA" if fmt in ("PNG", "WEBP") else "RGB", size, (200, 30, 60))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_text("Author", "mallory")
    exif = Image.Exif()
    exif[0x010E] = "secret camera note"
    return picture("PNG", (1200, 300), pnginfo=info, exif=exif.tobytes())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png() -> bytes:
    """A 100,000 x 100,000 PNG declared in 100 bytes: a decompression bomb."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 100)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HOSTILE = {
    # A real PNG with an HTML page after its end: a browser sniffing it might run the page.
    "polyglot png+html": (
        picture() + b"<html><script>alert(document.cookie)</script></html>",
        "does not end where the picture ends",
    ),
    # The classic GIF/JavaScript polyglot: a GIF header that is also a script.
    "polyglot gif+js": (b"GIF89a/*\x00\x00\x00\x00*/=alert(1);//;", "must be a PNG, JPEG, WebP"),
    "truncated png": (picture()[:-40], "does not end where the picture ends"),
    "truncated png data": (
        picture(size=(300, 300))[:60] + picture()[-12:],
        "could not be decoded",
    ),
    "huge dimensions": (huge_png(), "too many pixels"),
    "svg renamed png": (SVG, "must be a PNG, JPEG, WebP or GIF picture (SVG is not accepted)"),
    "empty": (b"", "The submitted file is empty."),
    "text": (b"hello, not a picture", "must be a PNG, JPEG, WebP or GIF"),
}


def chunk_types(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, kinds = 8, []
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kinds.append(png[at + 4 : at + 8])
        at += 12 + length
    return kinds


def stored_logos() -> list[Path]:
    return sorted(logos.directory().glob("*")) if logos.directory().exists() else []


def upload(client: Client, data: bytes, name: str = "logo.png", color: str = "#1f6f5c") -> Any:
    file = SimpleUploadedFile(name, data, content_type="image/png")
    return client.post("/dashboard/branding/save/", {"brand_color": color, "logo": file})


# --- logos ---------------------------------------------------------------------------------------


def test_uploaded_logo_is_a_clean_png_served_for_a_year(story: Story) -> None:
    owner = staff(story.acme.workspace, "owner")
    response = upload(owner, png_with_metadata())
    assert response.status_code == 302, response.content.decode()[:2000]

    found = MessagingSettings.objects.get(workspace=story.acme.workspace)
    [path] = stored_logos()
    png = path.read_bytes()
    digest = hashlib.sha256(png).hexdigest()
    assert path.name == f"{digest}.png"
    assert found.logo_url == f"{settings.SITE_URL}/brand/{digest}.png"
    assert branding.for_program(Program.objects.get(public_id=story.program["id"])).logo_url == (
        found.logo_url
    )

    served = Client().get(f"/brand/{digest}.png")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served["X-Content-Type-Options"] == "nosniff"
    body = served.content
    assert body == png
    # Only the picture: no tEXt, eXIf, iCCP or anything else of the upload.
    assert set(chunk_types(body)) <= {b"IHDR", b"IDAT", b"IEND"}
    for secret in (b"mallory", b"script", b"camera"):
        assert secret not in body
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        assert image.size == (600, 150)  # 1200 x 300 scaled to 600 wide
        assert image.info == {}
        assert image.getpixel((10, 10)) == (200, 30, 60, 255)
    [entry] = AuditEntry.objects.filter(action="branding.change")
    assert entry.data == {"changes": {"logo_url": ["", found.logo_url]}}


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "GIF"])
def test_jpeg_webp_and_gif_become_png(story: Story, fmt: str) -> None:
    url = logos.store(picture(fmt, (80, 20)))
    digest = url.rsplit("/", 1)[1].removesuffix(".png")
    with Image.open(logos.path_of(digest)) as image:  # type: ignore[arg-type]
        assert (image.format, image.size, image.mode) == ("PNG", (80, 20), "RGBA")


def test_the_same_logo_is_kept_once(story: Story) -> None:
    assert logos.store(picture()) == logos.store(picture())
    assert len(stored_logos()) == 1


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_form_error(story: Story, name: str) -> None:
    data, words = HOSTILE[name]
    owner = staff(story.acme.workspace, "owner")
    before = row_counts()
    response = upload(owner, data, color="#aa3300")
    assert response.status_code == 400
    page = response.content.decode()
    assert words.replace("'", "&#x27;") in page
    assert 'aria-invalid="true"' in page
    assert stored_logos() == []
    assert row_counts() == before  # the colour sent with it is not saved either
    assert not MessagingSettings.objects.filter(workspace=story.acme.workspace).exists()


def test_a_logo_over_the_limit_is_refused(story: Story, settings: Any) -> None:
    settings.LOGO_MAX_BYTES = 1000
    data = picture(size=(400, 400), compress_level=0)
    assert len(data) > 1000
    response = upload(staff(story.acme.workspace, "owner"), data)
    assert response.status_code == 400
    assert "upload one of at most 1,000 bytes" in response.content.decode()
    assert stored_logos() == []


def test_logo_errors_have_stable_codes(db: None) -> None:
    for data, code in [
        (SVG, "logo_format"),
        (huge_png(), "logo_too_many_pixels"),
        (picture()[:-40], "logo_unreadable"),
    ]:
        with pytest.raises(Exception) as caught:  # noqa: PT011
            logos.clean_png(data)
        assert getattr(caught.value, "code", None) == code


def test_an_analyst_cannot_upload(story: Story) -> None:
    response = upload(staff(story.acme.workspace, "analyst"), picture())
    assert response.status_code == 403
    assert stored_logos() == []


def test_removing_the_logo(story: Story) -> None:
    owner = staff(story.acme.workspace, "owner")
    assert upload(owner, picture()).status_code == 302
    assert owner.post("/dashboard/branding/logo/remove/").status_code == 302
    assert MessagingSettings.objects.get(workspace=story.acme.workspace).logo_url == ""


@pytest.mark.parametrize("name", ["x" * 64, "../secret_key", "A" * 64, "0" * 63])
def test_unknown_or_bad_logo_names_are_404(db: None, name: str) -> None:
    assert Client().get(f"/brand/{name}.png").status_code == 404


def test_the_branding_page_shows_the_logo_and_colour(story: Story) -> None:
    owner = staff(story.acme.workspace, "owner")
    assert upload(owner, picture(), color="#FFD500").status_code == 302
    page = owner.get("/dashboard/branding/").content.decode()
    url = MessagingSettings.objects.get(workspace=story.acme.workspace).logo_url
    assert f'<img src="{url.removeprefix(settings.SITE_URL)}"' in page
    assert "background: #ffd500; color: #18181b" in page


# --- a program's brand ---------------------------------------------------------------------------


def test_for_program_merges_the_programs_brand_over_the_workspaces(story: Story) -> None:
    program = Program.objects.get(public_id=story.program["id"])
    name = story.acme.workspace.name
    assert branding.for_program(program) == branding.Brand(name, "#1f6f5c", "")
    MessagingSettings.objects.create(
        workspace=story.acme.workspace,
        brand_color="#AA3300",
        logo_url="https://cdn.acme.test/ws.png",
        from_name="Acme Coffee",
    )
    ws = branding.Brand("Acme Coffee", "#aa3300", "https://cdn.acme.test/ws.png")
    assert branding.for_program(program) == ws
    own = ProgramBrand.objects.create(
        workspace=story.acme.workspace, program=program, color="#00ff00"
    )
    assert branding.for_program(program) == branding.Brand(
        "Acme Coffee", "#00ff00", "https://cdn.acme.test/ws.png"
    )
    own.color, own.logo_url = "", "https://cdn.acme.test/program.png"
    own.save()
    assert branding.for_program(program) == branding.Brand(
        "Acme Coffee", "#aa3300", "https://cdn.acme.test/program.png"
    )
    own.logo_url = "javascript:alert(1)"  # never from the API, but never shown either
    own.save()
    assert branding.for_program(program) == ws
    assert branding.for_program(program).text_color == "#ffffff"


def test_api_sets_and_shows_a_programs_brand(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    assert story.acme.get(path).json()["brand"] == {"color": "", "logo_url": ""}
    body = {"brand": {"color": "#FFD500", "logo_url": "https://cdn.acme.test/p.png"}}
    r = story.acme.patch(path, body)
    assert r.status_code == 200, r.content
    assert r.json()["brand"] == {"color": "#ffd500", "logo_url": "https://cdn.acme.test/p.png"}
    listed = story.acme.get("/programs").json()["data"]
    assert [p["brand"] for p in listed] == [r.json()["brand"]]
    # Both "": the workspace's again, and the row is gone.
    r = story.acme.patch(path, {"brand": {"color": "", "logo_url": ""}})
    assert r.json()["brand"] == {"color": "", "logo_url": ""}
    assert ProgramBrand.objects.count() == 0


@pytest.mark.parametrize(
    ("brand", "code"),
    [
        ({"color": "red"}, "invalid_color"),
        ({"logo_url": "javascript:alert(1)"}, "invalid_url"),
        ({"color": 7}, "validation_error"),
    ],
)
def test_api_refuses_a_bad_brand_and_changes_nothing(story: Story, brand: Any, code: str) -> None:
    path = f"/programs/{story.program['id']}"
    before = story.acme.get(path).json()
    r = story.acme.patch(path, {"name": "Renamed", "brand": brand})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code
    assert story.acme.get(path).json() == before
    assert ProgramBrand.objects.count() == 0


def test_program_page_uploads_its_own_logo_and_colour(story: Story) -> None:
    owner = staff(story.acme.workspace, "owner")
    base = f"/dashboard/programs/{story.program['id']}/pages/"
    assert owner.get(base).status_code == 200
    file = SimpleUploadedFile("p.png", picture(), content_type="image/png")
    r = owner.post(base + "brand/", {"own_color": "on", "color": "#123456", "logo": file})
    assert r.status_code == 302
    own = ProgramBrand.objects.get()
    assert own.color == "#123456"
    assert own.logo_url.startswith(f"{settings.SITE_URL}/brand/")
    bad = SimpleUploadedFile("p.png", SVG, content_type="image/png")
    r = owner.post(base + "brand/", {"own_color": "on", "color": "#654321", "logo": bad})
    assert r.status_code == 400
    assert "SVG is not accepted" in r.content.decode()
    assert ProgramBrand.objects.get().color == "#123456"
    r = owner.post(base + "brand/", {"workspace_logo": "on"})
    assert r.status_code == 302
    assert ProgramBrand.objects.count() == 0


# --- page texts ----------------------------------------------------------------------------------

TEXTS = "/programs/{}/page-texts"


def test_api_lists_every_text_with_its_default(story: Story) -> None:
    data = story.acme.get(TEXTS.format(story.program["id"])).json()["data"]
    assert [(t["key"], t["language"]) for t in data] == [
        (key, lang) for key in pagecopy.DEFAULTS for lang in ("en", "it")
    ]
    first = data[0]
    assert first == {
        "key": "share_message",
        "language": "en",
        "source": "{% if offer.friend != '' %}A gift for you at {{ workspace.name }} when you "
        "use my link: {{ offer.friend }}.{% else %}I think you'd like {{ workspace.name }}."
        "{% endif %}",
        "is_default": True,
        "version": None,
        "updated_at": None,
    }
    assert data[1]["source"].startswith("{% if offer.friend != '' %}Un regalo per te")


def test_api_saves_changes_and_deletes_a_text(story: Story) -> None:
    path = TEXTS.format(story.program["id"]) + "/portal_intro?language=it"
    words = {"source": "Ciao {{ advocate.first_name }}! Condividi {{ advocate.link }}."}
    saved = story.acme.put(path, words)
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert {k: body[k] for k in ("key", "language", "source", "is_default", "version")} == {
        "key": "portal_intro",
        "language": "it",
        "source": words["source"],
        "is_default": False,
        "version": 1,
    }
    assert story.acme.put(path, words).json()["version"] == 1  # the same words: no change
    assert story.acme.put(path, {"source": "Ciao."}).json()["version"] == 2
    program = Program.objects.get(public_id=story.program["id"])
    no_offer = {"offer": {"friend": "", "advocate": ""}}
    assert pagecopy.text(program, "portal_intro", "it", {}) == "Ciao."
    assert pagecopy.text(program, "portal_intro", "en", no_offer) == "Share your link with friends."

    deleted = story.acme.client.delete(
        f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {story.acme.key}"
    )
    assert deleted.status_code == 204
    assert PageText.objects.count() == 0
    assert pagecopy.text(program, "portal_intro", "it", no_offer) == (
        "Condividi il tuo link con gli amici."
    )


@pytest.mark.parametrize(
    ("key", "language", "source", "code", "message"),
    [
        (
            "portal_intro",
            "en",
            "Hello\n{% endfor %}",
            "template_invalid",
            "the text cannot be used: line 2: unexpected tag 'endfor'",
        ),
        (
            "portal_intro",
            "en",
            "{{ advocate.name | nope }}",
            "template_invalid",
            "the text cannot be used: line 1: unknown filter 'nope'",
        ),
        (
            "portal_intro",
            "en",
            "{% include 'x' %}",
            "template_invalid",
            "the text cannot be used: line 1: the 'include' tag is not available in message "
            "templates",
        ),
        ("portal_intro", "en", "  ", "page_text_empty", None),
        ("footer", "en", "x", "unknown_page_text", None),
        ("portal_intro", "fr", "x", "unknown_language", None),
    ],
)
def test_api_refuses_a_bad_text_with_the_reason(
    story: Story, key: str, language: str, source: str, code: str, message: str | None
) -> None:
    path = TEXTS.format(story.program["id"]) + f"/{key}?language={language}"
    before = row_counts()
    r = story.acme.put(path, {"source": source})
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
        assert error["details"]["reason"] == message.removeprefix("the text cannot be used: ")
    assert row_counts() == before


def test_api_needs_the_language(story: Story) -> None:
    r = story.acme.put(TEXTS.format(story.program["id"]) + "/portal_intro", {"source": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def _compiles(source: str) -> bool:
    try:
        render.check(source, html=False)
    except render.TemplateFailed:
        return False
    return True


# SEC-6 templates that compile (so they can be saved) but fail while rendering.
RUNTIME_FAILURES = sorted(
    name
    for name, (source, outcome, _) in SEC6_CASES.items()
    if outcome == FAILS and _compiles(source)
)


@pytest.mark.parametrize("name", RUNTIME_FAILURES)
def test_a_text_that_fails_at_render_time_falls_back_to_the_default(
    story: Story, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    source, _, reason = SEC6_CASES[name]
    program = Program.objects.get(public_id=story.program["id"])
    r = story.acme.put(
        TEXTS.format(program.public_id) + "/landing_body?language=en", {"source": source}
    )
    assert r.status_code == 200, r.content  # it compiles: only rendering finds the limit
    data = {"workspace": {"name": "Acme"}}
    assert pagecopy.text(program, "landing_body", "en", data) == (
        "Shop at Acme through this invitation."
    )
    shown = pagecopy.shown(program, "landing_body", "en", data)
    assert (shown.is_own, shown.error) == (False, reason)
    assert f"failed, default used: {reason}" in caplog.text


def test_runtime_failures_cover_the_sec6_bombs() -> None:
    assert {
        "nested loop bomb",
        "output bomb",
        "slow loop of filters",
        "doubling with assign",
    } <= set(RUNTIME_FAILURES)


def test_share_page_survives_a_hostile_intro(story: Story) -> None:
    program_id = story.program["id"]
    bomb = SEC6_CASES["nested loop bomb"][0]
    assert (
        story.acme.put(
            TEXTS.format(program_id) + "/portal_intro?language=en", {"source": bomb}
        ).status_code
        == 200
    )
    r = Client().get(f"/s/{story.alice['code']}")
    assert r.status_code == 200
    page = r.content.decode()
    assert (
        "<p>Share your link with friends. Their gift: $5.00 store credit. Yours, for each friend "
        "who buys: $10.00 store credit.</p>"
    ) in page
    assert "loops" not in page


LIQUID = re.compile(r"{%.*?%}|{{.*?}}")


@pytest.mark.parametrize("key", sorted(pagecopy.DEFAULTS))
def test_italian_defaults_keep_the_liquid_and_render(story: Story, key: str) -> None:
    english, italian = pagecopy.default_source(key, "en"), pagecopy.default_source(key, "it")
    assert italian != english
    assert LIQUID.findall(italian) == LIQUID.findall(english)
    render.check(italian, html=False)
    program = Program.objects.get(public_id=story.program["id"])
    for data in (pagecopy.sample_data(program, "it"), {"offer": {"friend": "", "advocate": ""}}):
        text = pagecopy.default(key, "it", data)
        assert "{" not in text


def test_italian_sample_renders_exactly(story: Story) -> None:
    program = Program.objects.get(public_id=story.program["id"])
    data = {
        "advocate": {"first_name": "Alice"},
        "offer": {"friend": "10 $", "advocate": "10 $"},
        "workspace": {"name": "Acme"},
    }
    assert pagecopy.text(program, "landing_headline", "it", data) == "Un regalo da Alice: 10 $"
    assert pagecopy.text(program, "disclosure", "it", data) == "(Io ricevo 10 $ se ti iscrivi.)"
    assert pagecopy.text(program, "share_message", "it", data) == (
        "Un regalo per te da Acme se usi il mio link: 10 $."
    )


# --- the dashboard's page-text editor ------------------------------------------------------------


def test_editor_previews_saves_and_resets(story: Story) -> None:
    owner = staff(story.acme.workspace, "owner")
    base = f"/dashboard/programs/{story.program['id']}/pages/landing_body/en/"
    page = owner.get(base)
    assert page.status_code == 200
    assert "Shop at Acme through this invitation." in page.content.decode()

    preview = owner.post(
        base + "preview/", {"source": "Hi {{ advocate.first_name }}"}, HTTP_HX_REQUEST="true"
    )
    assert preview.status_code == 200
    assert '<p class="ms-pre pt-shown">Hi Alice</p>' in preview.content.decode()
    failed = owner.post(base + "preview/", {"source": "{% for %}"}, HTTP_HX_REQUEST="true")
    assert failed.status_code == 200
    assert "This text cannot be used:" in failed.content.decode()
    assert "line 1:" in failed.content.decode()

    bad = owner.post(base + "save/", {"source": "x\n{% endfor %}"})
    assert bad.status_code == 400
    assert "line 2: unexpected tag &#x27;endfor&#x27;" in bad.content.decode()
    assert PageText.objects.count() == 0

    assert owner.post(base + "save/", {"source": "Welcome, friend."}).status_code == 302
    assert PageText.objects.get().source == "Welcome, friend."
    assert owner.post(base + "reset/").status_code == 302
    assert PageText.objects.count() == 0
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["page_text.save", "page_text.reset"]


def test_editor_shows_an_analyst_nothing_to_change(story: Story) -> None:
    analyst = staff(story.acme.workspace, "analyst")
    base = f"/dashboard/programs/{story.program['id']}/pages/landing_body/en/"
    assert analyst.get(base).status_code == 200
    assert analyst.post(base + "save/", {"source": "x"}).status_code == 403
    assert (
        analyst.get(f"/dashboard/programs/{story.program['id']}/pages/portal/en/").status_code
        == 404
    )


# --- public pages in Italian, with the brand -----------------------------------------------------


def test_share_page_in_italian_with_the_brand_colour(story: Story) -> None:
    MessagingSettings.objects.create(workspace=story.acme.workspace, brand_color="#ffd500")
    r = Client().get(f"/s/{story.alice['code']}", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,en;q=0.5")
    assert r.status_code == 200
    assert r["Content-Language"] == "it"
    page = r.content.decode()
    assert '<html lang="it">' in page
    code = story.alice["code"]
    assert f"Condividi il tuo link personale. Il tuo codice è <strong>{code}</strong>." in page
    assert 'aria-label="Il tuo link di invito"' in page
    assert "Gli amici che usano il tuo link vengono attribuiti a te." in page
    assert "Condividi il tuo link con gli amici. Il loro regalo:" in page
    # The brand's yellow, with near-black text on it (white on yellow is unreadable).
    assert "--brand: #ffd500; --on-brand: #18181b;" in page


def test_share_page_follows_the_programs_language_over_the_browser(story: Story) -> None:
    Program.objects.filter(public_id=story.program["id"]).update(language="it")
    r = Client().get(f"/s/{story.alice['code']}", HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert r["Content-Language"] == "it"
    assert "Condividi il tuo link personale." in r.content.decode()


def test_share_page_shows_the_programs_own_logo(story: Story) -> None:
    program = Program.objects.get(public_id=story.program["id"])
    url = logos.store(picture())
    ProgramBrand.objects.create(workspace=program.workspace, program=program, logo_url=url)
    page = Client().get(f"/s/{story.alice['code']}").content.decode()
    assert (
        f'<img src="{url.removeprefix(settings.SITE_URL)}" alt="{program.workspace.name}">' in page
    )


def test_share_page_allows_an_external_logo(story: Story) -> None:
    MessagingSettings.objects.create(
        workspace=story.acme.workspace, logo_url="https://cdn.acme.test/logo.png"
    )
    r = Client().get(f"/s/{story.alice['code']}")
    assert "img-src 'self' data: https:" in r["Content-Security-Policy"]
    assert '<img src="https://cdn.acme.test/logo.png"' in r.content.decode()


@pytest.mark.parametrize(
    ("path", "english", "italian"),
    [
        ("/", "Goodword is running", "Goodword è in funzione"),
        ("/demo/shop", "Welcome to Acme Coffee", "Benvenuto da Acme Coffee"),
        ("/s/NOPE", "This share page doesn", "Questa pagina di condivisione non esiste"),
        ("/nowhere", "We couldn't find that page", "Non abbiamo trovato questa pagina"),
        ("/u/not-a-token", "This link does not work", "Questo link non funziona"),
    ],
)
def test_public_pages_follow_the_browsers_language(
    story: Story, path: str, english: str, italian: str
) -> None:
    assert english in Client().get(path).content.decode()
    assert italian in Client().get(path, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert english in Client().get(path, HTTP_ACCEPT_LANGUAGE="fr, en;q=0.1").content.decode()


def test_link_pages_in_italian(story: Story) -> None:
    links.forget()
    missing = Client().get("/r/NOPE", HTTP_ACCEPT_LANGUAGE="it")
    assert missing.status_code == 404
    assert "Questo link di invito non funziona" in missing.content.decode()
    assert "<html lang=it>" in missing.content.decode()
    Program.objects.filter(public_id=story.program["id"]).update(language="it")
    links.forget()
    preview = Client().get(f"/r/{story.alice['code']}", HTTP_USER_AGENT="WhatsApp/2.0")
    assert "Continua su shop.acme.test" in preview.content.decode()


def test_unsubscribe_page_wears_the_brand_in_the_browsers_language(story: Story) -> None:
    from goodword.messaging import unsubscribe

    url = logos.store(picture())
    MessagingSettings.objects.create(
        workspace=story.acme.workspace, brand_color="#1f2a44", logo_url=url, language="en"
    )
    path = unsubscribe.url(story.acme.workspace.pk, "email", "alice@example.com")
    path = path.removeprefix(settings.SITE_URL)
    r = Client().get(path, HTTP_ACCEPT_LANGUAGE="it")
    assert r.status_code == 200
    page = r.content.decode()
    assert '<html lang="it">' in page
    assert "Annullare l'iscrizione alle email di Acme?" in page
    assert "--brand: #1f2a44; --on-brand: #ffffff;" in page
    assert f'<img src="{url.removeprefix(settings.SITE_URL)}" alt="Acme">' in page
    # The email's own language (its link says it) wins over the browser's.
    english = Client().get(path + "?lang=en", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Unsubscribe from Acme?" in english


def test_for_program_is_one_query(story: Story, django_assert_num_queries: Any) -> None:
    program = Program.objects.get(public_id=story.program["id"])
    ProgramBrand.objects.create(workspace=program.workspace, program=program, color="#00ff00")
    with django_assert_num_queries(1):
        assert branding.for_program(program).color == "#00ff00"
