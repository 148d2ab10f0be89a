"""Connections: the list with each one's inbound URL and inbox state, making one (a Segment
write key shown once), a connection's page (recent deliveries with their errors, retry, on/off,
delete). The same services as `/connections` in the API; every change in the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.connections.forms import ConnectionForm
from goodword.integrations import services
from goodword.integrations.models import Connection, InboxItem
from goodword.integrations.queries import inbound_url, inbox_counts
from goodword.lib.errors import DomainError

RECENT = 50
BADGES = {"pending": "warn", "processed": "ok", "failed": "bad", "ignored": ""}


def _get(request: HttpRequest, connection_id: str) -> Connection:
    qs = Connection.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    found: Connection = get_object_or_404(qs, public_id=connection_id)
    return found


def _list_page(
    request: HttpRequest, form: ConnectionForm | None = None, status: int = 200
) -> HttpResponse:
    found = list(
        Connection.objects.for_workspace(request.workspace).order_by("-created_at", "-pk")  # type: ignore[attr-defined]
    )
    counts = inbox_counts([c.pk for c in found])
    rows = [
        {"connection": c, "url": inbound_url(c), **counts.get(c.pk, {"pending": 0, "failed": 0})}
        for c in found
    ]
    context = {"title": "Connections", "rows": rows, "form": form or ConnectionForm()}
    return render(request, "dashboard/connections/list.html", context, status=status)


@staff(Can.VIEW)
def connections(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
@staff(Can.MANAGE)
def create(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    provider = form.cleaned_data["provider"]
    try:
        with transaction.atomic():
            connection, key = services.create_connection(
                workspace=request.workspace,  # type: ignore[attr-defined]
                provider=provider,
                secret=form.cleaned_data["secret"].strip(),
                options=form.options(),
                now=timezone.now(),
            )
            audit(request, "connection.create", connection.public_id, provider=provider)
    except DomainError as exc:
        form.add_error("secret", exc.message)
        return _list_page(request, form, status=400)
    if key is None:
        messages.success(request, f"{connection.get_provider_display()} connected.")
        return redirect("dashboard:connection", connection.public_id)
    # The write key is on this answer only: never cached, never stored but as its hash.
    context = {"title": "New Segment connection", "connection": connection, "key": key,
               "url": inbound_url(connection)}  # fmt: skip
    response = render(request, "dashboard/connections/key.html", context)
    add_never_cache_headers(response)
    return response


@staff(Can.VIEW)
def connection(request: HttpRequest, connection_id: str) -> HttpResponse:
    found = _get(request, connection_id)
    status = request.GET.get("status", "")
    items = InboxItem.objects.for_workspace(request.workspace).filter(connection=found)  # type: ignore[attr-defined]
    if status in BADGES:
        items = items.filter(status=status)
    context = {
        "title": f"{found.get_provider_display()} connection",
        "connection": found,
        "url": inbound_url(found),
        "items": [(item, BADGES[item.status]) for item in items.order_by("-pk")[:RECENT]],
        "status": status if status in BADGES else "",
        "statuses": list(BADGES),
        **inbox_counts([found.pk]).get(found.pk, {"pending": 0, "failed": 0}),
    }
    return render(request, "dashboard/connections/connection.html", context)


@require_POST
@staff(Can.MANAGE)
def retry(request: HttpRequest, connection_id: str, item_id: str) -> HttpResponse:
    found = _get(request, connection_id)
    qs = InboxItem.objects.for_workspace(request.workspace).filter(connection=found)  # type: ignore[attr-defined]
    item: InboxItem = get_object_or_404(qs, public_id=item_id)
    try:
        with transaction.atomic():
            services.retry_item(item=item, now=timezone.now())
            audit(request, "connection.retry", found.public_id, item=item.public_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Queued again: it is processed within a few seconds.")
    return redirect("dashboard:connection", found.public_id)


@require_POST
@staff(Can.MANAGE)
def toggle(request: HttpRequest, connection_id: str) -> HttpResponse:
    found = _get(request, connection_id)
    active = not found.active
    with transaction.atomic():
        services.update_connection(connection=found, active=active)
        audit(request, "connection.change", found.public_id, active=active)
    messages.success(request, "Turned on." if active else "Turned off: deliveries get 404.")
    return redirect("dashboard:connection", found.public_id)


@staff(Can.MANAGE)
def delete(request: HttpRequest, connection_id: str) -> HttpResponse:
    found = _get(request, connection_id)
    if request.method != "POST":
        context = {
            "title": "Delete a connection",
            "question": f"Delete this {found.get_provider_display()} connection?",
            "detail": "Its inbox goes with it; the events it recorded stay.",
            "action": reverse("dashboard:connection_delete", args=[found.public_id]),
            "button": "Delete",
            "back": reverse("dashboard:connection", args=[found.public_id]),
        }
        return render(request, "dashboard/team/confirm.html", context)
    with transaction.atomic():
        services.delete_connection(connection=found)
        audit(request, "connection.delete", found.public_id, provider=found.provider)
    messages.success(request, "Connection deleted.")
    return redirect("dashboard:connections")
