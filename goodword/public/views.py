from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from goodword.lib.codes import normalize_code
from goodword.messaging import branding, logos, pagecopy
from goodword.messaging.content import offers
from goodword.messaging.models import MessagingSettings
from goodword.participants.models import Advocate
from goodword.public import links, pagelang


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
        Advocate.objects.select_related("program__workspace", "participant")
        .filter(code_normalized=normalized)
        .first()
    )
    if advocate is None or not advocate.program.is_active:
        raise Http404("no such share page")
    program = advocate.program
    workspace_language = (
        MessagingSettings.objects.filter(workspace_id=program.workspace_id)
        .values_list("language", flat=True)
        .first()
    )
    language = pagelang.choose(request, program.language, workspace_language or "")
    brand = branding.for_program(program)
    with translation.override(language):
        link = f"{settings.SITE_URL}/r/{advocate.code}"
        context = {
            "advocate": advocate,
            "program": program,
            "link": link,
            "channels": _channels(program.name, link),
            "intro": _intro(advocate, language, link),
            **pagelang.brand_context(brand),
        }
        response = render(request, "public/share.html", context)
    response["Content-Language"] = language
    return pagelang.allow_logo(response, context["brand_logo"])


def _channels(name: str, link: str) -> list[tuple[str, str]]:
    message = f"{name}: {link}"
    return [
        (_("Email"), f"mailto:?subject={quote(name)}&body={quote(link + '?via=email')}"),
        (_("SMS"), f"sms:?&body={quote(name + ' ' + link + '?via=sms')}"),
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


def _intro(advocate: Advocate, language: str, link: str) -> str:
    """The program's words above the link (`portal_intro`), in the page's language."""
    name = advocate.participant.name.strip()
    data = {
        "advocate": {
            "name": name,
            "first_name": name.split(" ")[0] if name else "",
            "code": advocate.code,
            "link": link,
        },
        "offer": offers(advocate.program, language),
        "program": {"name": advocate.program.name},
        "workspace": {"name": advocate.program.workspace.name},
    }
    return pagecopy.text(advocate.program, "portal_intro", language, data)


def _in_browser_language(
    request: HttpRequest, template: str, context: dict[str, object]
) -> HttpResponse:
    language = pagelang.choose(request)
    with translation.override(language):
        response = render(request, template, context)
    response["Content-Language"] = language
    return response


def home(request: HttpRequest) -> HttpResponse:
    return _in_browser_language(request, "public/home.html", {})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 page, in the browser's language (`handler404`)."""
    response = _in_browser_language(request, "404.html", {"request_path": request.path})
    response.status_code = 404
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def demo_shop(request: HttpRequest) -> HttpResponse:
    """Stands in for the business's site in `goodword demo`: shows what a referred visitor
    brings along (the `gw_ref` token the JS snippet would keep)."""
    return _in_browser_language(
        request, "public/demo_shop.html", {"gw_ref": request.GET.get("gw_ref", "")}
    )


def brand_logo(request: HttpRequest, digest: str) -> HttpResponse:
    """An uploaded logo (`messaging.logos`): named by its content, so cached for a year."""
    path = logos.path_of(digest)
    if path is None or not path.is_file():
        raise Http404("no such logo")
    response = HttpResponse(path.read_bytes(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
