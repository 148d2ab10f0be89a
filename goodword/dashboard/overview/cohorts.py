"""The Cohorts page: referred and other customers by the month they started, and their value
month by month (`goodword.analytics.cohorts`), as triangle tables with the amounts in every
cell and shading as a hint; the same as CSV. The views only choose and format."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from goodword.accounts.roles import Can
from goodword.analytics.cohorts import Cohort, Cohorts, CurrencyCohorts, Group, cohorts
from goodword.dashboard.access import staff
from goodword.dashboard.overview.chart import shade
from goodword.dashboard.overview.views import filters
from goodword.lib import money, sheets

DEFAULT_MONTHS = 12
GROUPS = (("referred", "Referred customers"), ("other", "Other customers"))


def last_12_months(today: date) -> date:
    """The first day of the month 11 months before today's: twelve cohorts."""
    months = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def _amount(value: int | None, currency: str) -> str:
    return "—" if value is None else money.display(value, currency)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _row(label: str, c: Cohort, currency: str, width: int, top: int) -> dict[str, Any]:
    cells = [{"text": money.display(v, currency), "level": shade(v, top)} for v in c.cumulative]
    return {
        "label": label,
        "customers": c.customers,
        "orders_per_customer": _number(c.orders_per_customer),
        "average_order": _amount(c.average_order, currency),
        "lifetime_value": _amount(c.lifetime_value, currency),
        "net": money.display(c.net, currency),
        "cells": cells,
        "blank": range(width - len(cells)),  # months not begun by the end of the period
    }


def _table(group: Group, currency: str, width: int, top: int) -> list[dict[str, Any]]:
    rows = [
        _row(f"{c.month:%b %Y}" if c.month else "", c, currency, width, top) for c in group.cohorts
    ]
    if len(group.cohorts) > 1:
        rows.append({**_row("All cohorts", group.total, currency, width, top), "total": True})
    return rows


def _currency(c: CurrencyCohorts) -> dict[str, Any]:
    """One currency's comparison and its two triangles, shaded on one scale so a colour means
    the same amount in both."""
    groups = {"referred": c.referred, "other": c.other}
    width = max(len(g.total.cumulative) for g in groups.values())
    top = max((v for g in groups.values() for x in g.cohorts for v in x.cumulative), default=0)
    return {
        "currency": c.currency,
        "width": range(width),
        "compare": [_row(label, groups[key].total, c.currency, 0, top) for key, label in GROUPS],
        "tables": [
            {"key": key, "title": label, "rows": _table(groups[key], c.currency, width, top)}
            for key, label in GROUPS
        ],
    }


@staff(Can.VIEW)
def cohorts_page(request: HttpRequest) -> HttpResponse:
    chosen = filters(request, first_day=last_12_months)
    context: dict[str, Any] = {"title": "Cohorts", "f": chosen}
    if chosen.errors:
        return render(request, "dashboard/overview/cohorts.html", context, status=400)
    report = cohorts(chosen.scope(request.workspace.pk))  # type: ignore[attr-defined]
    context.update(
        report=report,
        currencies=[_currency(c) for c in report.currencies],
        export=reverse("dashboard:cohorts_csv") + "?" + chosen.query,
    )
    return render(request, "dashboard/overview/cohorts.html", context)


def _csv_rows(report: Cohorts) -> list[list[Any]]:
    rows = []
    for c in report.currencies:
        for key, _ in GROUPS:
            group: Group = getattr(c, key)
            for cohort in (*group.cohorts, group.total):
                if not cohort.customers:
                    continue
                rows.append(
                    [
                        c.currency,
                        key,
                        f"{cohort.month:%Y-%m}" if cohort.month else "all",
                        cohort.customers,
                        cohort.orders,
                        _number(cohort.orders_per_customer),
                        _major(cohort.average_order, c.currency),
                        _major(cohort.lifetime_value, c.currency),
                        money.major(cohort.net, c.currency),
                        *(money.major(v, c.currency) for v in cohort.cumulative),
                    ]
                )
    return rows


def _major(value: int | None, currency: str) -> str:
    return "" if value is None else money.major(value, currency)


@staff(Can.VIEW)
def cohorts_csv(request: HttpRequest) -> HttpResponse:
    chosen = filters(request, first_day=last_12_months)
    if chosen.errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in chosen.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    report = cohorts(chosen.scope(request.workspace.pk))  # type: ignore[attr-defined]
    return sheets.csv_response(
        f"cohorts-{chosen.text['from']}-{chosen.text['to']}.csv",
        [
            "currency", "group", "cohort", "customers", "orders",
            "orders_per_customer", "average_order", "lifetime_value", "net",
            *(f"month_{k}" for k in range(report.months)),
        ],
        _csv_rows(report),
    )  # fmt: skip
