"""Uploaded logos: decoded, checked and re-encoded before anyone else sees a byte of them.

An uploaded file is the uploader's code as much as an image: an SVG can carry script, a PNG can
hide HTML after its end (a polyglot), and a small file can declare a billion pixels (a
decompression bomb). So only PNG, JPEG, WebP and GIF are opened (by their content, never by
their name), their declared size is checked before any pixel is decoded, every pixel is
decoded (a truncated file fails here), and what is kept is a new PNG drawn from the pixels
alone: no metadata, no second frame, no trailing bytes. It is stored under its own SHA-256
(`GOODWORD_DATA_DIR/brand/<hash>.png`), so a URL names one picture forever and can be cached
for a year.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from goodword.lib.errors import Invalid

MAX_WIDTH = 600  # wider logos are scaled down: emails show them at most 600 px wide
# Declared width x height checked before decoding: a 24-megapixel logo is already absurd, and
# decoding one takes ~100 MB of memory.
MAX_PIXELS = 24_000_000
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
_NAME = re.compile(r"[0-9a-f]{64}")
_PNG_END = b"IEND\xaeB`\x82"


def max_bytes() -> int:
    return int(settings.LOGO_MAX_BYTES)


def directory() -> Path:
    return Path(settings.DATA_DIR) / "brand"


def path_of(digest: str) -> Path | None:
    """The stored logo named `digest`, or None when the name is not one of ours."""
    if not _NAME.fullmatch(digest):
        return None
    return directory() / f"{digest}.png"


def url_of(digest: str) -> str:
    return f"{settings.SITE_URL}/brand/{digest}.png"


def page_src(url: str) -> str:
    """`url` as our own pages load it: a path when the logo is one kept here (the site may be
    reached by another host than SITE_URL's, and pages load images from their own only)."""
    ours = f"{settings.SITE_URL}/brand/"
    return url[len(settings.SITE_URL) :] if url.startswith(ours) else url


def store(data: bytes) -> str:
    """Check and re-encode an uploaded logo, keep it, and return its public URL.

    Raises Invalid (`logo_too_large`, `logo_format`, `logo_too_many_pixels`, `logo_unreadable`)
    with words that say what to upload instead; nothing is written then."""
    png = clean_png(data)
    digest = hashlib.sha256(png).hexdigest()
    target = directory() / f"{digest}.png"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(png)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(target)
    return url_of(digest)


def clean_png(data: bytes) -> bytes:
    """The picture of `data` as a new PNG at most MAX_WIDTH wide (see the module's words)."""
    limit = max_bytes()
    if len(data) > limit:
        raise Invalid(
            f"the logo is {len(data):,} bytes; upload one of at most {limit:,} bytes",
            code="logo_too_large",
        )
    if not _ends_where_it_should(data):
        # Bytes after a picture's end are what makes a polyglot (HTML, a ZIP, a script).
        raise _unreadable("it does not end where the picture ends (cut short, or more after it)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                _check_pixels(image.width, image.height)
                image.seek(0)  # a GIF's or WebP's first frame only
                image.load()
                pixels = image.convert("RGBA")
    except UnidentifiedImageError:
        raise Invalid(
            "the logo must be a PNG, JPEG, WebP or GIF picture (SVG is not accepted)",
            code="logo_format",
        ) from None
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise _unreadable(f"it could not be decoded ({exc})") from None
    return _encode(pixels)


def _ends_where_it_should(data: bytes) -> bool:
    """Whether a file of one of our formats ends with that format's end (zero padding aside);
    a file of another format is left to Pillow to refuse."""
    end = data.rstrip(b"\0")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return end.endswith(_PNG_END)
    if data.startswith(b"\xff\xd8"):
        return end.endswith(b"\xff\xd9")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return end.endswith(b";")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return int.from_bytes(data[4:8], "little") + 8 >= len(end)
    return True


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise _unreadable("it has no pixels")
    if width * height > MAX_PIXELS:
        raise _too_many_pixels()


def _too_many_pixels() -> Invalid:
    return Invalid(
        f"the logo has too many pixels; upload one of at most {MAX_PIXELS:,} pixels "
        f"(it is shown at most {MAX_WIDTH} wide)",
        code="logo_too_many_pixels",
    )


def _unreadable(why: str) -> Invalid:
    return Invalid(f"the logo cannot be used: {why}; save it again as PNG", code="logo_unreadable")


def _encode(image: Image.Image) -> bytes:
    if image.width > MAX_WIDTH:
        height = max(1, round(image.height * MAX_WIDTH / image.width))
        image = image.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: nothing of the upload's `info` (ICC profile, EXIF,
    # text chunks) can reach the PNG writer.
    fresh = Image.frombytes("RGBA", image.size, image.tobytes())
    out = io.BytesIO()
    fresh.save(out, format="PNG", optimize=True)
    return out.getvalue()
