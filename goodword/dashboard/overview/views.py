"""Placeholder pages: this domain's owner replaces them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff


@staff(Can.VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Overview"})
