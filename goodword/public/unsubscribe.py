"""The unsubscribe page behind every marketing message's link (`/u/<token>`).

`GET` asks, `POST` does: the RFC 8058 one-click `POST` that mail providers send, and the
page's button. No CSRF token: the signed token in the URL is the whole authority, and it can
only ever suppress the one address it names.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from goodword.accounts.models import Workspace
from goodword.messaging import branding, journeys, unsubscribe
from goodword.messaging.models import MessagingSettings, Suppression
from goodword.public import pagelang


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    target = unsubscribe.read(token)
    workspace = (
        Workspace.objects.filter(pk=target.workspace_id).first() if target is not None else None
    )
    if target is None or workspace is None:
        with translation.override(pagelang.choose(request)):
            return render(request, "public/unsubscribe.html", {"invalid": True}, status=404)
    settings = MessagingSettings.objects.filter(workspace=workspace).first()
    # The email's language (its link says it); else the browser's, else the workspace's.
    fallback = pagelang.choose(request, "", settings.language if settings else "")
    language = journeys.language(request.GET.get("lang", ""), fallback)
    done = False
    if request.method == "POST":
        unsubscribe.suppress(
            workspace_id=workspace.pk,
            channel=target.channel,
            address=target.address,
            reason=Suppression.Reason.UNSUBSCRIBED,
            now=timezone.now(),
        )
        done = True
    shown = pagelang.brand_context(branding.for_workspace(workspace))
    with translation.override(language):
        response = render(
            request,
            "public/unsubscribe.html",
            {
                "done": done,
                "name": (settings.from_name if settings else "") or workspace.name,
                "address": mask(target.address),
                "language": language,
                **shown,
            },
        )
    return pagelang.allow_logo(response, shown["brand_logo"])


def mask(address: str) -> str:
    """`a***@example.com`: enough for a person to know it is theirs, not enough to harvest."""
    local, at, domain = address.partition("@")
    if not at:
        return address[:3] + "***"
    return f"{local[:1]}***@{domain}"
