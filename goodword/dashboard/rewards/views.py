"""Placeholder pages: this domain's owner replaces them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff


@staff(Can.VIEW)
def rewards(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Rewards"})


@staff(Can.VIEW)
def fulfilments(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Fulfilments"})


@staff(Can.VIEW)
def payouts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Payouts"})


@staff(Can.VIEW)
def coupon_pools(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": "Coupon pools"})
