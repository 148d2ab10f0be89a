"""`GET /widget.js`: the embeddable widget, a static file read once per process.

Two URLs: `/widget.js`, which the snippet uses and which browsers keep for an hour (so a new
release reaches every site within the hour), and `/widget/<version>.js`, immutable and kept
for a year, for sites that pin a version (docs/sharing-widget.md). Sent gzipped when the
browser accepts it; the test in tests/test_widget_script.py keeps that under 15 kB.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

SOURCE = Path(__file__).with_name("widget.js")
STABLE_MAX_AGE = 3600
PINNED_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Script:
    body: bytes
    gzipped: bytes
    version: str  # the first 12 hex digits of the body's SHA-256


@cache
def script() -> Script:
    body = SOURCE.read_bytes()
    return Script(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        version=hashlib.sha256(body).hexdigest()[:12],
    )


def _answer(request: HttpRequest, cache_control: str) -> HttpResponse:
    found = script()
    etag = f'"{found.version}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(found.gzipped, content_type="text/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(found.body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    # Loaded by other sites' pages, including those that isolate themselves (COEP).
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@require_safe
def widget_js(request: HttpRequest) -> HttpResponse:
    return _answer(request, f"public, max-age={STABLE_MAX_AGE}, stale-while-revalidate=86400")


@require_safe
def pinned_widget_js(request: HttpRequest, version: str) -> HttpResponse:
    if version != script().version:
        raise Http404("no such widget version")
    return _answer(request, f"public, max-age={PINNED_MAX_AGE}, immutable")
