"""Placeholder pages: this domain's owner replaces them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff


@staff(Can.VIEW)
def team(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Team"})


@staff(Can.VIEW)
def api_keys(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Api keys"})


@staff(Can.VIEW)
def settings(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Settings"})


@staff(Can.VIEW)
def audit(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Audit"})
