"""`GET /og/<program public id>.png`: the 1200x630 preview image that link previews (WhatsApp,
iMessage, Slack, X) show beside a referral link: the friend's offer, the brand's name and
colour, drawn with Pillow's own font (no system fonts).

Drawn once per content: the file is kept under `GOODWORD_DATA_DIR/og/`, named by a hash of
what it shows, and served with that hash as its ETag (304 when the client has it).
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from goodword.messaging.layout import readable_text
from goodword.programs.models import Program
from goodword.public import landing

if TYPE_CHECKING:
    # Imported when an image is drawn (rarely): the web workers need not carry Pillow.
    from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
# Link previews fetch again now and then; the page's URL for the image changes with its content.
CACHE_CONTROL = "public, max-age=3600"


@require_safe
def og_image(request: HttpRequest, program_id: str) -> HttpResponse:
    program = Program.objects.select_related("workspace").filter(public_id=program_id).first()
    if program is None:
        raise Http404("no such program")
    drawn = landing.og_content(program)
    digest = landing.content_hash(drawn)
    etag = f'"{digest}"'
    if etag in request.headers.get("If-None-Match", ""):
        answer = HttpResponse(status=304)
    else:
        answer = HttpResponse(image_file(drawn, digest).read_bytes(), content_type="image/png")
    answer["ETag"] = etag
    answer["Cache-Control"] = CACHE_CONTROL
    return answer


def image_file(drawn: dict[str, str], digest: str) -> Path:
    """The image's file, drawn first if it is not there yet (written whole, then renamed, so a
    concurrent reader never sees half an image)."""
    folder = Path(settings.DATA_DIR) / "og"
    path = folder / f"{digest}.png"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        draw(drawn).save(out, format="PNG", optimize=True)
    os.replace(temporary, path)
    return path


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


# Pillow's own font covers basic Latin only: letters it lacks are drawn without their accents
# (è as e), and these symbols as words.
_SPELLED = {"€": "EUR", "£": "GBP", "¥": "JPY", "—": "-", "–": "-", "…": "...", "ß": "ss", "×": "x"}


@cache
def _has_glyph(char: str) -> bool:
    font = _font(40)
    return bytes(font.getmask(char)) != bytes(font.getmask("\ue000"))  # a private-use char


def drawable(text: str) -> str:
    """`text` with what the font cannot draw folded to what it can."""
    out = []
    for char in text:
        if char.isascii() or _has_glyph(char):
            out.append(char)
        elif char in _SPELLED:
            out.append(_SPELLED[char])
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if not unicodedata.combining(c) and c.isascii()))
    return "".join(out)


def _mix(color: str, other: str, share: float) -> tuple[int, int, int]:
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    r, g, bl = (round(x * (1 - share) + y * share) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, size: int, width: int, lines: int
) -> tuple[list[str], ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """`text` in at most `lines` lines of `width` pixels, shrinking the font until it fits;
    what is still too long ends with an ellipsis."""
    while True:
        font = _font(size)
        out: list[str] = []
        for word in text.split():
            if out and draw.textlength(f"{out[-1]} {word}", font=font) <= width:
                out[-1] = f"{out[-1]} {word}"
            else:
                out.append(word)
        if len(out) <= lines and all(draw.textlength(x, font=font) <= width for x in out):
            return out, font
        if size <= 40:
            kept = out[:lines]
            while kept and draw.textlength(kept[-1] + "…", font=font) > width:
                kept[-1] = kept[-1][:-1]
            return [*kept[:-1], kept[-1] + "…"] if kept else [], font
        size -= 6


def draw(drawn: dict[str, str]) -> Image.Image:
    from PIL import Image, ImageDraw

    color = drawn["color"]
    drawn = {k: v if k == "color" else drawable(v) for k, v in drawn.items()}
    ink = readable_text(color)
    background = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    pen = ImageDraw.Draw(image)
    # Two soft circles, a lighter shade of the brand colour, for depth.
    shade = _mix(color, "#ffffff", 0.12) if ink == "#ffffff" else _mix(color, "#000000", 0.06)
    pen.ellipse((WIDTH - 380, -220, WIDTH + 220, 380), fill=shade)
    pen.ellipse((WIDTH - 200, HEIGHT - 170, WIDTH + 120, HEIGHT + 150), fill=shade)
    soft = _mix(ink, color, 0.25)
    text_width = WIDTH - 2 * MARGIN - 120
    brand, brand_font = _wrap(pen, drawn["brand"], 44, text_width, 1)
    pen.text((MARGIN, 70), brand[0] if brand else "", font=brand_font, fill=ink, stroke_width=1,
             stroke_fill=ink)  # fmt: skip
    pen.text((MARGIN, 175), drawn["kicker"], font=_font(40), fill=soft)
    title, title_font = _wrap(pen, drawn["title"], 104, text_width, 2)
    y = 235
    for line in title:
        pen.text((MARGIN, y), line, font=title_font, fill=ink, stroke_width=2, stroke_fill=ink)
        y += int(getattr(title_font, "size", 104) * 1.12)
    if drawn["program"] != drawn["title"]:
        program, program_font = _wrap(pen, drawn["program"], 34, text_width, 1)
        pen.text((MARGIN, y + 16), program[0] if program else "", font=program_font, fill=soft)
    # The call to action, as a pill in the ink colour with the brand colour inside.
    cta_font = _font(34)
    cta_width = int(pen.textlength(drawn["cta"], font=cta_font))
    top = HEIGHT - 130
    pen.rounded_rectangle((MARGIN, top, MARGIN + cta_width + 64, top + 70), radius=35, fill=ink)
    pen.text((MARGIN + 32, top + 35), drawn["cta"], font=cta_font, fill=background, anchor="lm")
    return image
