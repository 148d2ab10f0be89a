"""Who is looking at the portal (the `gw_portal` cookie), in which language, and the headers
every portal answer carries."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from goodword.lib.csp import POLICY
from goodword.lib.signing import PORTAL_COOKIE
from goodword.messaging import journeys
from goodword.participants import portal
from goodword.participants.models import Advocate
from goodword.public import pagelang
from goodword.public.portal import shared

# The share buttons POST to the portal, which answers 303 to the channel's own page or app;
# browsers check a form's redirects against `form-action` too, so those targets are listed.
SHARE_TARGETS = (
    "mailto:",
    "sms:",
    "fb-messenger:",
    "https://wa.me",
    "https://t.me",
    "https://www.facebook.com",
    "https://x.com",
    "https://www.linkedin.com",
)
PORTAL_POLICY = POLICY.replace(
    "form-action 'self'", "form-action 'self' " + " ".join(SHARE_TARGETS)
)


def cookie_holder(request: HttpRequest) -> Advocate | None:
    """The advocate whose cookie this browser holds, when it is genuine and not too old."""
    token = request.COOKIES.get(PORTAL_COOKIE, "")
    found = portal.advocate_id_of(token, now=timezone.now(), max_age=portal.cookie_days())
    if found is None:
        return None
    return (
        Advocate.objects.select_related("program__workspace", "participant")
        .filter(public_id=found)
        .first()
    )


def signed_in(request: HttpRequest) -> Advocate | None:
    """The cookie's advocate when their program is active (nothing else may be done); else
    None."""
    advocate = cookie_holder(request)
    return advocate if advocate is not None and advocate.program.is_active else None


def sign_in(response: HttpResponse, advocate: Advocate) -> None:
    """Keep `advocate` signed in on this browser: a fresh token in an HttpOnly cookie."""
    response.set_cookie(
        PORTAL_COOKIE,
        portal.make_token(advocate, timezone.now()),
        max_age=int(portal.cookie_days().total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=settings.SITE_URL.startswith("https://"),
    )


def private(response: HttpResponse) -> HttpResponse:
    """What every portal answer carries: never stored by a cache or kept by the back button's
    cache, and the portal's CSP. (The site's `Referrer-Policy: same-origin` stays: the magic
    link answers with a bodiless redirect, and `no-referrer` would make the browser send
    `Origin: null` with the page's forms, which the CSRF check refuses.)"""
    response["Cache-Control"] = "no-store"
    if response.get("Content-Type", "").startswith("text/html"):
        response["Content-Security-Policy"] = PORTAL_POLICY
    return response


def language(request: HttpRequest, advocate: Advocate | None) -> str:
    """The program's language, else the browser's first one we write, else the workspace's."""
    program_language = advocate.program.language if advocate is not None else ""
    found = pagelang.pick(program_language, request.headers.get("Accept-Language", ""))
    if found:
        return found
    if advocate is not None:
        return journeys.language(shared.workspace(advocate.workspace_id).language)
    return "en"
