"""API keys: list, create, revoke, through the services the API and `goodword apikey` use;
and the widget's signing secret (owners and admins: the TEAM permission), with its rotation.

A new secret key's value is on the answer to the POST that made it and nowhere else: not in the
database (only its SHA-256), not in the session, not in the audit log, and that answer is
never cached.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from goodword.accounts.models import ApiKey
from goodword.accounts.roles import Can
from goodword.accounts.services import create_api_key, revoke_api_key
from goodword.accounts.widget import rotate_widget_secret, widget_secret
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.team.forms import KeyForm


def _page(request: HttpRequest, form: KeyForm | None = None, status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.for_workspace(request.workspace).order_by(  # type: ignore[attr-defined]
        "revoked_at", "-created_at", "-pk"
    )
    context = {
        "title": "API keys",
        "keys": list(keys),
        "form": form or KeyForm(),
        "widget_secret": widget_secret(workspace_id=request.workspace.pk),  # type: ignore[attr-defined]
    }
    response = render(request, "dashboard/team/api_keys.html", context, status=status)
    add_never_cache_headers(response)  # it shows the widget's signing secret
    return response


@staff(Can.TEAM)
def api_keys(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff(Can.TEAM)
def create(request: HttpRequest) -> HttpResponse:
    form = KeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    name = str(form.cleaned_data["name"])
    kind = form.cleaned_data["kind"]
    with transaction.atomic():
        key, secret = create_api_key(workspace=request.workspace, name=name, kind=kind)  # type: ignore[attr-defined]
        audit(request, "api_key.create", key.public_id, name=name, prefix=key.prefix, kind=kind)
    context = {
        "title": "New API key",
        "key": key,
        "secret": secret,
        "site_url": django_settings.SITE_URL,
    }
    response = render(request, "dashboard/team/api_key_created.html", context)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@staff(Can.TEAM)
def revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    """GET asks to confirm; POST revokes: the key fails from the next API call."""
    key = ApiKey.objects.for_workspace(request.workspace).filter(public_id=key_id).first()  # type: ignore[attr-defined]
    if key is None:
        raise Http404("no such key")
    if request.method != "POST":
        context = {
            "title": "Revoke an API key",
            "question": f"Revoke the key “{key.name}” ({key.prefix}…)?",
            "detail": "Every call that uses it fails from then on. This cannot be undone.",
            "action": reverse("dashboard:api_key_revoke", args=[key.public_id]),
            "button": "Revoke",
            "back": reverse("dashboard:api_keys"),
        }
        return render(request, "dashboard/team/confirm.html", context)
    with transaction.atomic():
        revoked = revoke_api_key(key=key)
        if revoked:
            audit(request, "api_key.revoke", key.public_id, name=key.name, prefix=key.prefix)
    if revoked:
        messages.success(request, f"The key “{key.name}” is revoked.")
    else:
        messages.info(request, f"The key “{key.name}” was revoked already.")
    return redirect("dashboard:api_keys")


@require_http_methods(["GET", "POST"])
@staff(Can.TEAM)
def rotate_secret(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm; POST makes a new widget signing secret (the old one works a day)."""
    if request.method != "POST":
        context = {
            "title": "Rotate the widget signing secret",
            "question": "Make a new widget signing secret?",
            "detail": "Your server must sign customer ids with the new secret. The old one "
            "keeps working for 24 hours, so you can deploy the change without a gap.",
            "action": reverse("dashboard:widget_secret_rotate"),
            "button": "Rotate",
            "back": reverse("dashboard:api_keys"),
        }
        return render(request, "dashboard/team/confirm.html", context)
    with transaction.atomic():
        rotate_widget_secret(workspace_id=request.workspace.pk)  # type: ignore[attr-defined]
        audit(request, "widget_secret.rotate", request.workspace.public_id)  # type: ignore[attr-defined]
    messages.success(request, "A new widget signing secret is ready; the old one works 24 hours.")
    return redirect("dashboard:api_keys")
