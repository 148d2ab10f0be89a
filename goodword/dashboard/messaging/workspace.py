"""Workspace → Messaging: the sender, brand and manners of every message (owners and admins
change them; the others read them), and the addresses that get no more messages.

The same services as `/messaging` in the API (`goodword.messaging.services`); every change in
the audit log, in the same transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.lists import listing
from goodword.dashboard.messaging.common import actor, audited
from goodword.dashboard.messaging.forms import COMMON_ZONES, SettingsForm, SuppressionForm
from goodword.lib.errors import DomainError
from goodword.messaging import hooks, services
from goodword.messaging.channels.sms import is_enabled as sms_configured
from goodword.messaging.models import MessagingSettings, Suppression


def _page(
    request: HttpRequest,
    *,
    form: SettingsForm | None = None,
    suppress: SuppressionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    found = services.settings_of(request.workspace)  # type: ignore[attr-defined]
    suppressed = listing(
        request,
        Suppression.objects.for_workspace(request.workspace),  # type: ignore[attr-defined]
        search=("address",),
        sorts=("created_at", "address"),
        per_page=25,
    )
    context = {
        "title": _("Messaging"),
        "settings": found,
        "form": form or SettingsForm.of(found),
        "zones": COMMON_ZONES,
        "listing": suppressed,
        "suppress": suppress or SuppressionForm(),
        "transport": hooks.transport(),
        "sms_configured": sms_configured(),
    }
    return render(request, "dashboard/messaging/settings.html", context, status=status)


@staff(Can.VIEW)
def settings_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _changes(found: MessagingSettings, values: dict[str, object]) -> dict[str, list[object]]:
    return {k: [getattr(found, k), v] for k, v in values.items() if getattr(found, k) != v}


@require_POST
@staff(Can.MANAGE)
def save_settings(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    workspace = request.workspace  # type: ignore[attr-defined]
    changes = _changes(services.settings_of(workspace), form.values)
    if not changes:
        messages.info(request, _("Nothing changed."))
        return redirect("dashboard:messaging")
    try:
        audited(
            request,
            lambda: services.update_settings(
                workspace=workspace,
                changes={name: pair[1] for name, pair in changes.items()},
                actor=actor(request),
            ),
            "messaging.change",
            workspace.public_id,
            changes=changes,
        )
    except DomainError as error:
        form.place(error)
        return _page(request, form=form, status=400)
    if "is_active" in changes:
        on = bool(changes["is_active"][1])
        text = (
            _("Messaging is on: messages go out from now on.")
            if on
            else _("Messaging is off: nothing is sent, not even reward notices.")
        )
        messages.success(request, text)
    else:
        messages.success(request, _("Settings saved."))
    return redirect("dashboard:messaging")


@require_POST
@staff(Can.MANAGE)
def suppress(request: HttpRequest) -> HttpResponse:
    form = SuppressionForm(request.POST)
    if not form.is_valid():
        return _page(request, suppress=form, status=400)
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            row, created = services.suppress_address(
                workspace=workspace, channel="email", address=form.cleaned_data["address"]
            )
            if created:
                audit(request, "messaging.suppress", row.address, channel=row.channel)
    except DomainError as error:
        form.place(error)
        return _page(request, suppress=form, status=400)
    words = {"address": row.address}
    if created:
        messages.success(request, _("%(address)s gets no more marketing messages.") % words)
    else:
        messages.info(request, _("%(address)s was suppressed already.") % words)
    return redirect("dashboard:messaging")


@require_POST
@staff(Can.MANAGE)
def unsuppress(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    channel = request.POST.get("channel", "email")
    address = request.POST.get("address", "")
    try:
        with transaction.atomic():
            removed = services.unsuppress_address(
                workspace=workspace, channel=channel, address=address
            )
            if removed:
                audit(request, "messaging.unsuppress", address, channel=channel)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("dashboard:messaging")
    words = {"address": address}
    if removed:
        messages.success(request, _("%(address)s may get messages again.") % words)
    else:
        messages.info(request, _("%(address)s was not suppressed.") % words)
    return redirect("dashboard:messaging")
