"""Workspace settings: its name and the hosts its referral links may send people to.

The same service and checks as `PATCH /api/v1/workspace` (`accounts.services.update_workspace`,
`clean_domains`). Everyone sees them; MANAGE changes them.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from goodword.accounts.models import Workspace
from goodword.accounts.roles import Can
from goodword.accounts.services import update_workspace
from goodword.dashboard.access import can, staff
from goodword.dashboard.audit import audit
from goodword.dashboard.team.forms import SettingsForm


def _page(request: HttpRequest, form: SettingsForm, status: int = 200) -> HttpResponse:
    context = {"title": "Settings", "form": form, "may_manage": can(request, Can.MANAGE)}
    return render(request, "dashboard/team/settings.html", context, status=status)


@staff(Can.VIEW)
def settings(request: HttpRequest) -> HttpResponse:
    """GET shows the settings (a form for those who may change them); POST changes them."""
    if request.method == "POST":
        return _change(request)
    # Read again: `request.workspace` was loaded before any other tab's change.
    workspace = Workspace.objects.get(pk=request.workspace.pk)  # type: ignore[attr-defined]
    initial = {"name": workspace.name, "allowed_domains": "\n".join(workspace.allowed_domains)}
    return _page(request, SettingsForm(initial=initial))


@staff(Can.MANAGE)
def _change(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    with transaction.atomic():
        workspace, changed = update_workspace(
            workspace_id=request.workspace.pk,  # type: ignore[attr-defined]
            name=form.cleaned_data["name"],
            allowed_domains=form.cleaned_data["allowed_domains"],
        )
        if changed:
            audit(
                request,
                "workspace.update",
                workspace.public_id,
                **{name: getattr(workspace, name) for name in sorted(changed)},
            )
    if changed:
        messages.success(request, "Settings saved.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("dashboard:settings")
