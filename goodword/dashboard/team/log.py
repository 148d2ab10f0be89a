"""The audit log: every staff action in the workspace, newest first, filtered by action and
actor, searched by subject, and exported to CSV (formulas neutralised)."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from goodword.accounts.models import AuditEntry
from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.lists import Filter, Listing, listing
from goodword.lib.sheets import csv_response


def _choices(entries: QuerySet[AuditEntry], column: str) -> list[tuple[str, str]]:
    values = entries.order_by(column).values_list(column, flat=True).distinct()
    return [(v, v) for v in values if v]


def _listing(request: HttpRequest) -> Listing:
    entries = AuditEntry.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
    filters = {
        "action": Filter("Action", "action", _choices(entries, "action")),
        "actor": Filter("Actor", "actor", _choices(entries, "actor")),
    }
    return listing(request, entries, search=("subject",), filters=filters, sorts=("created_at",))


def data_text(data: Any) -> str:
    """An entry's details on one line: `key=value` pairs, JSON for anything but text."""
    if not isinstance(data, dict):
        return json.dumps(data, sort_keys=True)
    return " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, sort_keys=True)}"
        for k, v in sorted(data.items())
    )


@staff(Can.VIEW)
def page(request: HttpRequest) -> HttpResponse:
    found = _listing(request)
    context = {
        "title": "Audit log",
        "listing": found,
        "rows": [(entry, data_text(entry.data)) for entry in found.rows],
        "export": reverse("dashboard:audit_export") + found.url(),
    }
    return render(request, "dashboard/team/audit.html", context)


@staff(Can.VIEW)
def export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV: every entry, not one page."""
    entries: QuerySet[AuditEntry] = _listing(request).ordered
    header = ("time", "actor", "action", "subject", "data", "ip", "user_agent")
    rows = (
        (
            e.created_at.isoformat(),
            e.actor,
            e.action,
            e.subject,
            json.dumps(e.data, sort_keys=True),
            e.ip,
            e.user_agent,
        )
        for e in entries.iterator()
    )
    return csv_response("audit-log.csv", header, rows)
