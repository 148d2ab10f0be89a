"""An advocate's QR code (`/q/<code>.svg`, `/q/<code>.png`): their link with `?via=qr`, drawn
once per code and link and then served from a file cache under the data directory.

A view reads one row (the advocate, to know the code exists and its program is live) and
writes nothing; a download (`?download=1`) by the advocate themselves, recognised by the
portal's cookie, records one `qr` share (docs/sharing-qr.md).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from goodword.lib.codes import normalize_code
from goodword.lib.signing import PORTAL_COOKIE, read_portal_token
from goodword.participants.models import Advocate
from goodword.referrals import shares
from goodword.referrals.models import Share

# Bump when the drawing changes (scale, border, error level): old files are then not served.
VERSION = "1"
KINDS = {"svg": "image/svg+xml", "png": "image/png"}
PNG_SIZE = 1000  # pixels, about: sharp when printed 8 cm wide at 300 dpi
SVG_SCALE = 8
BORDER = 4  # modules of quiet zone, as the standard asks
ERROR = "m"  # 15 % of the code can be lost (a crease, a smudge) and it still reads
# Browsers keep a cookie at most 400 days: an older portal token is no longer the advocate.
PORTAL_AGE = timedelta(days=400)
CACHE = "public, max-age=86400"
# A download must reach Goodword each time to be counted: no shared cache may answer it.
DOWNLOAD_CACHE = "private, no-cache"
# What an SVG served from Goodword's origin may do when opened on its own: nothing active.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_NORMALIZED_CODE = re.compile(r"[A-Z0-9]{1,40}")


def advocate_of(code: str) -> Advocate:
    """The advocate with this code in a live program, else 404 (one query)."""
    normalized = normalize_code(code)
    if not _NORMALIZED_CODE.fullmatch(normalized):
        raise Http404("no such code")
    advocate = (
        Advocate.objects.select_related("program", "participant", "program__workspace")
        .filter(code_normalized=normalized)
        .first()
    )
    if advocate is None or not advocate.program.is_active:
        raise Http404("no such code")
    return advocate


def link_of(advocate: Advocate) -> str:
    """The link the QR code holds: the advocate's, marked so its clicks count as `qr`."""
    return f"{settings.SITE_URL}/r/{advocate.code}?via=qr"


def draw(link: str, kind: str) -> bytes:
    """The QR code of `link` as an SVG or a PNG (the cache's only writer calls this)."""
    code = segno.make(link, error=ERROR)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=SVG_SCALE, border=BORDER, title=link, xmldecl=False)
    else:
        width, _ = code.symbol_size(scale=1, border=BORDER)
        code.save(out, kind="png", scale=max(1, PNG_SIZE // width), border=BORDER)
    return out.getvalue()


def cache_key(link: str, kind: str) -> str:
    return hashlib.sha256(f"{VERSION}:{kind}:{link}".encode()).hexdigest()[:32]


def cached(link: str, kind: str) -> Path:
    """The file of `link`'s QR code, drawn now if it is not there yet. Written to a temporary
    file and renamed, so a reader never sees half a file; two first requests at once may both
    draw, and the second rename replaces the first with the same bytes."""
    folder = Path(settings.DATA_DIR) / "qr"
    path = folder / f"{cache_key(link, kind)}.{kind}"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(draw(link, kind))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def file_name(advocate: Advocate, kind: str) -> str:
    """`acme-rewards-ALICE1-qr.png`: the program and the code, safe in any file system."""
    program = slugify(advocate.program.name) or "referral"
    return f"{program}-{slugify(advocate.code).upper() or 'code'}-qr.{kind}"


def is_own(request: HttpRequest, advocate: Advocate) -> bool:
    """Does the portal's cookie name this advocate (signed, and young enough)?"""
    token = read_portal_token(request.COOKIES.get(PORTAL_COOKIE, ""))
    return (
        token is not None
        and token.advocate_id == advocate.public_id
        and datetime.now(UTC) - token.issued_at <= PORTAL_AGE
    )


@require_safe
def qr_image(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    advocate = advocate_of(code)
    link = link_of(advocate)
    download = request.GET.get("download") == "1"
    if download and is_own(request, advocate):
        shares.record(advocate, Share.Channel.QR, Share.Source.PORTAL)
    etag = f'"{cache_key(link, kind)}"'
    tags = _etags(request.headers.get("If-None-Match", ""))
    if etag in tags or "*" in tags:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(cached(link, kind).read_bytes(), content_type=KINDS[kind])
    response["ETag"] = etag
    response["Cache-Control"] = DOWNLOAD_CACHE if download else CACHE
    if kind == "svg":
        response["Content-Security-Policy"] = SVG_POLICY
    if download:
        response["Content-Disposition"] = f'attachment; filename="{file_name(advocate, kind)}"'
    return response


def _etags(header: str) -> set[str]:
    """The tags of an If-None-Match header (weak ones compare equal for a GET)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
