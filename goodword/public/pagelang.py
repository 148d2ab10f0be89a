"""The language of a public page, and the brand it shows.

The dashboard stays in English, so there is no LocaleMiddleware: each public page picks its
language here and renders inside `translation.override`. A program's own language wins (its
people were written to in it); then the browser's `Accept-Language`; then the workspace's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation.trans_real import parse_accept_lang_header

from goodword.lib.csp import POLICY
from goodword.messaging import logos
from goodword.messaging.branding import Brand

SUPPORTED = tuple(code for code, _ in settings.LANGUAGES)


def from_browser(header: str) -> str:
    """The first supported language of an `Accept-Language` header, or ""."""
    for tag, _quality in parse_accept_lang_header(header[:500]):
        base = tag.split("-")[0].lower()
        if base in SUPPORTED:
            return base
    return ""


def pick(program_language: str, accept_language: str) -> str:
    """The program's language when Goodword writes it, else the browser's first one we
    write, else "" (the caller's fallback: the workspace's, or English)."""
    base = program_language.split("-")[0].lower()
    return base if base in SUPPORTED else from_browser(accept_language)


def choose(request: HttpRequest, program_language: str = "", fallback: str = "") -> str:
    found = pick(program_language, str(request.META.get("HTTP_ACCEPT_LANGUAGE") or ""))
    return found or (fallback if fallback in SUPPORTED else "en")


def brand_context(brand: Brand) -> dict[str, Any]:
    """What the public base template needs to draw `brand`: its colour, a readable text
    colour on it, and its logo (a path when the logo is one of ours)."""
    return {
        "brand": brand,
        "brand_color": brand.color,
        "brand_text": brand.text_color,
        "brand_logo": logos.page_src(brand.logo_url),
    }


def allow_logo(response: HttpResponse, brand_logo: str) -> HttpResponse:
    """Let the page load a logo kept elsewhere (an https URL the merchant gave)."""
    if brand_logo.startswith("https://"):
        response.headers["Content-Security-Policy"] = POLICY.replace(
            "img-src 'self' data:", "img-src 'self' data: https:"
        )
    return response
