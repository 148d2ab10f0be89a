"""Workspace → Branding: the colour and logo of every page and email of the workspace.

The logo is uploaded here (checked, re-encoded and kept by `messaging.logos`) and becomes the
messaging settings' `logo_url`, so emails show it too. Owners and admins change it; the others
see it. Every change is in the audit log, in the same transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.branding.forms import WorkspaceBrandForm, logo_bytes
from goodword.dashboard.messaging.common import actor, audited
from goodword.lib.errors import DomainError
from goodword.messaging import brand_services, branding, logos


def _page(
    request: HttpRequest, form: WorkspaceBrandForm | None = None, status: int = 200
) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    found = brand_services.settings_of(workspace)
    brand = branding.for_workspace(workspace)
    context = {
        "title": _("Branding"),
        "form": form or WorkspaceBrandForm(initial={"brand_color": found.brand_color}),
        "max_bytes": logos.max_bytes(),
        "max_width": logos.MAX_WIDTH,
        "brand": brand,
        "brand_logo": logos.page_src(brand.logo_url),
    }
    return render(request, "dashboard/branding/workspace.html", context, status=status)


@staff(Can.VIEW)
def page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff(Can.MANAGE)
def save(request: HttpRequest) -> HttpResponse:
    form = WorkspaceBrandForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    workspace = request.workspace  # type: ignore[attr-defined]
    color = form.cleaned_data["brand_color"]
    data = logo_bytes(form.cleaned_data.get("logo"))
    before = brand_services.settings_of(workspace)
    changed: dict[str, list[str]] = {}
    if color != before.brand_color:
        changed["brand_color"] = [before.brand_color, color]
    try:
        url = logos.store(data) if data is not None else None
        if url is not None and url != before.logo_url:
            changed["logo_url"] = [before.logo_url, url]
        if changed:
            audited(
                request,
                lambda: brand_services.update_brand(
                    workspace=workspace,
                    changes={name: pair[1] for name, pair in changed.items()},
                    actor=actor(request),
                ),
                "branding.change",
                workspace.public_id,
                changes=changed,
            )
    except DomainError as error:
        form.place(error)
        return _page(request, form, status=400)
    if changed:
        messages.success(request, _("Branding saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("dashboard:branding")


@require_POST
@staff(Can.MANAGE)
def remove_logo(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    before = brand_services.settings_of(workspace).logo_url
    if before:
        audited(
            request,
            lambda: brand_services.update_brand(
                workspace=workspace, changes={"logo_url": ""}, actor=actor(request)
            ),
            "branding.change",
            workspace.public_id,
            changes={"logo_url": [before, ""]},
        )
        messages.success(request, _("The logo is removed: pages and emails show the name."))
    return redirect("dashboard:branding")
