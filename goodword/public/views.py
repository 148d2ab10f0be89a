from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from goodword.lib.codes import normalize_code
from goodword.participants.models import Advocate
from goodword.public import links


def redirect_view(request: HttpRequest, code: str) -> HttpResponse:
    """The same handler as the WSGI fast path, for servers that skip it (and the test client)."""
    status, headers, body = links.handle(request.META)
    response = HttpResponse(body, status=int(status.split()[0]))
    for name, value in headers:
        response[name] = value
    return response


# Every stored code normalises to this; anything else is a 404 without a query (a NUL byte,
# say, makes PostgreSQL raise instead of finding nothing).
_NORMALIZED_CODE = re.compile(r"[A-Z0-9]{1,40}")


def share_page(request: HttpRequest, code: str) -> HttpResponse:
    normalized = normalize_code(code)
    if not _NORMALIZED_CODE.fullmatch(normalized):
        raise Http404("no such share page")
    advocate = (
        Advocate.objects.select_related("program", "participant")
        .filter(code_normalized=normalized)
        .first()
    )
    if advocate is None or not advocate.program.is_active:
        raise Http404("no such share page")
    link = f"{settings.SITE_URL}/r/{advocate.code}"
    message = f"{advocate.program.name}: {link}"
    channels = [
        (
            "Email",
            f"mailto:?subject={quote(advocate.program.name)}&body={quote(link + '?via=email')}",
        ),
        ("SMS", f"sms:?&body={quote(advocate.program.name + ' ' + link + '?via=sms')}"),
        ("WhatsApp", f"https://wa.me/?text={quote(message + '?via=whatsapp')}"),
        ("X", f"https://twitter.com/intent/tweet?text={quote(message + '?via=x')}"),
        (
            "Facebook",
            f"https://www.facebook.com/sharer/sharer.php?u={quote(link + '?via=facebook')}",
        ),
        (
            "LinkedIn",
            f"https://www.linkedin.com/sharing/share-offsite/?url={quote(link + '?via=linkedin')}",
        ),
    ]
    return render(
        request,
        "public/share.html",
        {"advocate": advocate, "program": advocate.program, "link": link, "channels": channels},
    )


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html")


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def demo_shop(request: HttpRequest) -> HttpResponse:
    """Stands in for the business's site in `goodword demo`: shows what a referred visitor
    brings along (the `gw_ref` token the JS snippet would keep)."""
    return render(request, "public/demo_shop.html", {"gw_ref": request.GET.get("gw_ref", "")})
