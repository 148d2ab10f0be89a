"""The printable flyer (`/q/<code>/flyer`): an advocate's offer, QR code, code and short link
on one page that prints on A4 and US Letter alike, for sharing offline (docs/sharing-qr.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from goodword.messaging import branding, pagecopy
from goodword.messaging.content import offers
from goodword.participants.models import Advocate
from goodword.public import pagelang
from goodword.public.qr import advocate_of


def language_of(request: HttpRequest, advocate: Advocate) -> str:
    """The program's language when it has one Goodword speaks, else the browser's."""
    return pagelang.choose(request, advocate.program.language)


def page_data(advocate: Advocate, offer: dict[str, str]) -> dict[str, Any]:
    """What the program's page texts get (`messaging.pagecopy`)."""
    name = advocate.participant.name.strip()
    return {
        "advocate": {
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
            "code": advocate.code,
            "link": f"{settings.SITE_URL}/r/{advocate.code}",
        },
        "offer": offer,
        "program": {"name": advocate.program.name},
        "workspace": {"name": advocate.program.workspace.name},
    }


def _own_logo(url: str) -> str:
    """The logo when Goodword serves it: the page loads nothing from other hosts (its
    Content-Security-Policy would block it, and a printed flyer should not wait on one)."""
    site = settings.SITE_URL + "/"
    if url.startswith(site):
        return url.removeprefix(settings.SITE_URL)
    return url if url.startswith("/") and not url.startswith("//") else ""


@require_safe
def flyer(request: HttpRequest, code: str) -> HttpResponse:
    advocate = advocate_of(code)
    program = advocate.program
    language = language_of(request, advocate)
    offer = offers(program, language)
    brand = branding.for_program(program)
    short = f"{settings.SITE_URL}/r/{advocate.code}"
    headline = pagecopy.text(program, "landing_headline", language, page_data(advocate, offer))
    with translation.override(language):
        response = render(
            request,
            "public/flyer.html",
            {
                "language": language,
                "advocate": advocate,
                "brand": brand,
                "logo": _own_logo(brand.logo_url),
                "headline": headline,
                "offer": offer,
                # The default headline names the offer already: then not twice.
                "offer_said": bool(offer["friend"]) and offer["friend"] in headline,
                "short_link": short.split("://", 1)[-1],
                "svg": reverse("qr", args=[advocate.code, "svg"]),
                "png": reverse("qr", args=[advocate.code, "png"]),
            },
        )
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language"])
    return response
