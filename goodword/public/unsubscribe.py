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
from goodword.messaging import journeys, unsubscribe
from goodword.messaging.models import MessagingSettings, Suppression


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    target = unsubscribe.read(token)
    workspace = (
        Workspace.objects.filter(pk=target.workspace_id).first() if target is not None else None
    )
    if target is None or workspace is None:
        return render(request, "public/unsubscribe.html", {"invalid": True}, status=404)
    settings = MessagingSettings.objects.filter(workspace=workspace).first()
    language = journeys.language(request.GET.get("lang", ""), settings.language if settings else "")
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
    with translation.override(language):
        return render(
            request,
            "public/unsubscribe.html",
            {
                "done": done,
                "name": (settings.from_name if settings else "") or workspace.name,
                "address": mask(target.address),
                "language": language,
            },
        )


def mask(address: str) -> str:
    """`a***@example.com`: enough for a person to know it is theirs, not enough to harvest."""
    local, at, domain = address.partition("@")
    if not at:
        return address[:3] + "***"
    return f"{local[:1]}***@{domain}"
