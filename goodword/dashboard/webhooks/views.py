"""Webhooks: the endpoints with their last 24 hours, making one (its secret shown once), an
endpoint's page (settings, on/off, secret rotation, test event, deliveries, replays, delete)
and a message's page (payload and every attempt).

Every action calls the service the API calls (`goodword.webhooks.services`) and notes itself
in the audit log in the same transaction: a refused action writes neither. A secret is on the
answer to the POST that made it and nowhere else (not the session, not the audit log), and that
answer is never cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

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
from goodword.dashboard.lists import Filter, listing
from goodword.dashboard.webhooks.forms import EndpointForm, ReplayForm, RotateForm, event_groups
from goodword.lib.errors import DomainError
from goodword.webhooks import queries, services
from goodword.webhooks.models import WebhookEndpoint, WebhookMessage

T = TypeVar("T")

MESSAGE_BADGES = {"pending": "warn", "delivered": "ok", "failed": "bad"}


@dataclass(frozen=True)
class State:
    """An endpoint's status as people read it: a badge and a sentence."""

    badge: str
    label: str
    why: str


def state_of(endpoint: WebhookEndpoint) -> State:
    since = endpoint.failing_since
    when = f"{since:%Y-%m-%d %H:%M} UTC" if since else ""
    if endpoint.active:
        if since:
            return State("warn", "Failing", f"Active, but no delivery has succeeded since {when}.")
        return State("ok", "Active", "Active: events are sent as they happen.")
    if endpoint.disabled_reason == "gone":
        why = "Turned off by Goodword: the receiver answered 410 Gone, which asks us to stop."
    elif endpoint.disabled_reason == "failing":
        why = "Turned off by Goodword: no delivery succeeded for days" + (
            f" (failing since {when})." if when else "."
        )
    elif endpoint.disabled_reason:
        why = f"Turned off by Goodword ({endpoint.disabled_reason})."
    else:
        why = "Turned off by hand: nothing is sent until it is turned on."
    return State("bad", "Disabled", why)


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    state: State
    recent: queries.Recent

    @property
    def events(self) -> str:
        names = self.endpoint.event_types
        if not names:
            return "Every event"
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    @property
    def rate(self) -> str:
        rate = self.recent.success_rate
        return "—" if rate is None else f"{rate:g}%"


def _grace_until(endpoint: WebhookEndpoint) -> datetime | None:
    """Until when the secret before the last rotation signs too; None once it no longer does."""
    until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and until is not None and until > timezone.now():
        return until
    return None


def _rows(endpoints: list[WebhookEndpoint]) -> list[EndpointRow]:
    found = queries.recent(endpoints, now=timezone.now())
    return [EndpointRow(e, state_of(e), found[e.pk]) for e in endpoints]


def _get(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    qs = WebhookEndpoint.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    endpoint: WebhookEndpoint = get_object_or_404(qs, public_id=endpoint_id)
    return endpoint


def _message(request: HttpRequest, endpoint: WebhookEndpoint, message_id: str) -> WebhookMessage:
    qs = queries.messages_of(endpoint).select_related("event")
    message: WebhookMessage = get_object_or_404(qs, public_id=message_id)
    return message


def _audited(
    request: HttpRequest, work: Callable[[], T], action: str, subject: str, **data: Any
) -> T:
    """Run one service call and its audit entry in one transaction."""
    with transaction.atomic():
        result = work()
        audit(request, action, subject, **data)
    return result


def _secret_page(
    request: HttpRequest, endpoint: WebhookEndpoint, secret: str, rotated: bool
) -> HttpResponse:
    context = {
        "title": "New signing secret" if rotated else "New webhook endpoint",
        "endpoint": endpoint,
        "secret": secret,
        "rotated": rotated,
        "grace_until": _grace_until(endpoint),
    }
    response = render(request, "dashboard/webhooks/secret.html", context)
    add_never_cache_headers(response)
    return response


@staff(Can.VIEW)
def endpoints(request: HttpRequest) -> HttpResponse:
    found = WebhookEndpoint.objects.for_workspace(request.workspace).order_by("-created_at", "-pk")  # type: ignore[attr-defined]
    context = {"title": "Webhooks", "rows": _rows(list(found))}
    return render(request, "dashboard/webhooks/list.html", context)


def _form_page(request: HttpRequest, form: EndpointForm, status: int = 200) -> HttpResponse:
    context = {"title": "New webhook endpoint", "form": form, "groups": event_groups()}
    return render(request, "dashboard/webhooks/new.html", context, status=status)


@staff(Can.MANAGE)
def create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, EndpointForm())
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    values = form.values
    try:
        with transaction.atomic():
            endpoint = services.create_endpoint(workspace=request.workspace, **values)  # type: ignore[attr-defined]
            audit(request, "webhook_endpoint.create", endpoint.public_id, **values)
    except DomainError as error:
        form.place(error)
        return _form_page(request, form, status=400)
    return _secret_page(request, endpoint, endpoint.secret, rotated=False)


def _endpoint_page(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    *,
    form: EndpointForm | None = None,
    replay: ReplayForm | None = None,
    status: int = 200,
) -> HttpResponse:
    statuses = [(s.value, s.label) for s in WebhookMessage.Status]
    found = listing(
        request,
        queries.messages_of(endpoint).select_related("event"),
        search=("public_id", "event_name"),
        filters={"status": Filter("Status", "status", statuses)},
        sorts=("created_at",),
        per_page=25,
    )
    [row] = _rows([endpoint])
    context = {
        "title": f"Webhook {endpoint.url}",
        "endpoint": endpoint,
        "row": row,
        "listing": found,
        "grace_until": _grace_until(endpoint),
        "form": form or EndpointForm.of(endpoint),
        "groups": event_groups(),
        "rotate": RotateForm(),
        "replay": replay or ReplayForm(),
    }
    return render(request, "dashboard/webhooks/endpoint.html", context, status=status)


@staff(Can.VIEW)
def endpoint(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _endpoint_page(request, _get(request, endpoint_id))


def _here(endpoint: WebhookEndpoint) -> str:
    return reverse("dashboard:webhook", args=[endpoint.public_id])


@require_POST
@staff(Can.MANAGE)
def edit(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoint_page(request, endpoint, form=form, status=400)
    values = form.values
    before = {name: getattr(endpoint, name) for name in values}
    changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect(_here(endpoint))
    try:
        _audited(
            request,
            lambda: services.update_endpoint(endpoint=endpoint, **values),
            "webhook_endpoint.change",
            endpoint.public_id,
            changes=changes,
        )
    except DomainError as error:
        form.place(error)
        return _endpoint_page(request, _get(request, endpoint_id), form=form, status=400)
    messages.success(request, "Settings saved.")
    return redirect(_here(endpoint))


def _switch(request: HttpRequest, endpoint_id: str, active: bool) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    if endpoint.active == active:
        messages.info(request, f"The endpoint is {'on' if active else 'off'} already.")
        return redirect(_here(endpoint))
    reason = endpoint.disabled_reason
    _audited(
        request,
        lambda: services.update_endpoint(endpoint=endpoint, active=active),
        "webhook_endpoint.enable" if active else "webhook_endpoint.disable",
        endpoint.public_id,
        url=endpoint.url,
        **({"was_disabled_because": reason} if active and reason else {}),
    )
    text = "Turned on: events are sent again." if active else "Turned off: nothing is sent."
    messages.success(request, text)
    return redirect(_here(endpoint))


@require_POST
@staff(Can.MANAGE)
def enable(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _switch(request, endpoint_id, True)


@require_POST
@staff(Can.MANAGE)
def disable(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _switch(request, endpoint_id, False)


@require_POST
@staff(Can.MANAGE)
def rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the old secret keeps signing.")
        return redirect(_here(endpoint))
    hours = int(form.cleaned_data["grace_hours"])
    secret = _audited(
        request,
        lambda: services.rotate_secret(endpoint=endpoint, grace=timedelta(hours=hours)),
        "webhook_endpoint.rotate_secret",
        endpoint.public_id,
        grace_hours=hours,
    )
    return _secret_page(request, _get(request, endpoint_id), secret, rotated=True)


@require_POST
@staff(Can.MANAGE)
def send_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    try:
        with transaction.atomic():
            message = services.send_test(endpoint=endpoint)
            audit(
                request, "webhook_endpoint.send_test", endpoint.public_id, message=message.public_id
            )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(_here(endpoint))
    messages.success(request, f"Test event {message.public_id} is on its way.")
    return redirect(_here(endpoint))


@require_POST
@staff(Can.MANAGE)
def replay_range(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        return _endpoint_page(request, endpoint, replay=form, status=400)
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    try:
        count = _audited(
            request,
            lambda: services.replay_range(endpoint=endpoint, since=since, until=until),
            "webhook_endpoint.replay_range",
            endpoint.public_id,
            since=since.isoformat(),
            until=until.isoformat(),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(_here(endpoint))
    messages.success(request, f"{count} message{'' if count == 1 else 's'} will be sent again.")
    return redirect(_here(endpoint))


@staff(Can.MANAGE)
def delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    if request.method != "POST":
        context = {
            "title": "Delete a webhook endpoint",
            "question": f"Delete the endpoint {endpoint.url}?",
            "detail": "Nothing more is sent to it, and its delivery log goes with it. "
            "This cannot be undone; to pause deliveries, turn it off instead.",
            "action": reverse("dashboard:webhook_delete", args=[endpoint.public_id]),
            "button": "Delete",
            "back": _here(endpoint),
        }
        return render(request, "dashboard/team/confirm.html", context)
    public_id, url = endpoint.public_id, endpoint.url
    _audited(
        request,
        lambda: services.delete_endpoint(endpoint=endpoint),
        "webhook_endpoint.delete",
        public_id,
        url=url,
    )
    messages.success(request, f"The endpoint {url} is deleted.")
    return redirect("dashboard:webhooks")


@staff(Can.VIEW)
def message(request: HttpRequest, endpoint_id: str, message_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    found = _message(request, endpoint, message_id)
    context = {
        "title": f"Message {found.public_id}",
        "endpoint": endpoint,
        "message": found,
        "badge": MESSAGE_BADGES.get(found.status, ""),
        "payload": json.dumps(found.payload, indent=2, ensure_ascii=False),
        "attempts": [(a, queries.is_success(a.status_code)) for a in queries.attempts_of(found)],
    }
    return render(request, "dashboard/webhooks/message.html", context)


@require_POST
@staff(Can.MANAGE)
def replay(request: HttpRequest, endpoint_id: str, message_id: str) -> HttpResponse:
    endpoint = _get(request, endpoint_id)
    found = _message(request, endpoint, message_id)
    try:
        _audited(
            request,
            lambda: services.replay_message(message=found),
            "webhook_message.replay",
            found.public_id,
            endpoint=endpoint.public_id,
            event_type=found.event_name,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Message {found.public_id} will be sent again.")
    if request.POST.get("back") == "message":
        return redirect("dashboard:webhook_message", endpoint.public_id, found.public_id)
    return redirect(_here(endpoint))
