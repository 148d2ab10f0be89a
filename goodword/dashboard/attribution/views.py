"""The Attribution page: a program (or all), a period and a model, and each advocate's credit
for the friends converted in it under that model beside first-touch (what rewards follow);
the table as CSV. The numbers come from `goodword.analytics.attribution`; the views only
choose and format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from goodword.accounts.roles import Can
from goodword.analytics.attribution import (
    FIRST_TOUCH,
    LAST_TOUCH,
    LINEAR,
    TIME_DECAY,
    Attribution,
    Credit,
    UnknownModel,
    attribution,
    parse_model,
)
from goodword.analytics.scope import Money
from goodword.dashboard.access import staff
from goodword.dashboard.lists import COUNT_CAP, PER_PAGE, CappedPaginator, Listing
from goodword.dashboard.overview.views import Filters, amounts, filters
from goodword.lib import money, sheets

LABELS = {
    FIRST_TOUCH: "First touch",
    LAST_TOUCH: "Last touch",
    LINEAR: "Linear",
    TIME_DECAY: "Time decay",
}
EXPLAINED = {
    FIRST_TOUCH: "All the credit to the advocate who reached the friend first: the one the "
    "referral is locked to, who earns its rewards.",
    LAST_TOUCH: "All the credit to the last advocate who reached the friend before they converted.",
    LINEAR: "Equal shares for every advocate who reached the friend before they converted.",
    TIME_DECAY: "Shares that halve for every 7 days an advocate's latest touch lies before the "
    "conversion.",
}


def _model(request: HttpRequest) -> tuple[str, str | None]:
    """The model asked for (first-touch by default) and the error to show next to the chooser."""
    text = request.GET.get("model", "").strip()
    try:
        return parse_model(text), None
    except UnknownModel:
        return FIRST_TOUCH, "Choose one of the models in the list"


def fraction(value: float) -> str:
    """A credited count for people: 1.0 -> "1", 0.3333 -> "0.33"."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _row(c: Credit) -> dict[str, Any]:
    return {
        "participant": c.participant,
        "who": c.name or c.external_id,
        "code": c.code,
        "touched": c.touched,
        "friends": fraction(c.friends),
        "first_friends": c.first_touch_friends,
        "change": _change(c.friends - c.first_touch_friends),
        "revenue": amounts(c.revenue),
        "first_revenue": amounts(c.first_touch_revenue),
    }


def _change(delta: float) -> str:
    if abs(delta) < 0.005:
        return "±0"
    return ("+" if delta > 0 else "−") + fraction(abs(delta))


def _query(chosen: Filters, model: str) -> dict[str, str]:
    return {**{k: v for k, v in chosen.text.items() if v}, "model": model}


@staff(Can.VIEW)
def attribution_page(request: HttpRequest) -> HttpResponse:
    chosen = filters(request)
    model, model_error = _model(request)
    context: dict[str, Any] = {
        "title": "Attribution",
        "f": chosen,
        "model": model,
        "model_error": model_error,
        "models": [(key, label, EXPLAINED[key]) for key, label in LABELS.items()],
        "explained": EXPLAINED[model],
        "label": LABELS[model],
        "compare": model != FIRST_TOUCH,  # first touch beside itself says nothing
    }
    if chosen.errors or model_error:
        return render(request, "dashboard/attribution/attribution.html", context, status=400)
    a = attribution(chosen.scope(request.workspace.pk), model)  # type: ignore[attr-defined]
    params = _query(chosen, model)
    number = request.GET.get("page")
    page = CappedPaginator(a.credits, PER_PAGE, number, COUNT_CAP).get_page(number)
    page.object_list = [_row(c) for c in page.object_list]  # the page's rows only
    context.update(
        a=a,
        total_revenue=amounts(a.revenue),
        listing=Listing(page=page, query="", sort="", params=params),
        export=reverse("dashboard:attribution_csv") + "?" + urlencode(params),
    )
    return render(request, "dashboard/attribution/attribution.html", context)


def _major(items: Sequence[Money]) -> str:
    """Amounts for a spreadsheet: "35.00 USD; 100.00 EUR"."""
    return "; ".join(f"{money.major(m.amount, m.currency)} {m.currency}" for m in items)


@staff(Can.VIEW)
def attribution_csv(request: HttpRequest) -> HttpResponse:
    chosen = filters(request)
    model, model_error = _model(request)
    errors = {**chosen.errors, **({"model": model_error} if model_error else {})}
    if errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    a: Attribution = attribution(chosen.scope(request.workspace.pk), model)  # type: ignore[attr-defined]
    return sheets.csv_response(
        f"attribution-{model}-{chosen.text['from']}-{chosen.text['to']}.csv",
        ["advocate", "participant", "code", "name", "external_id", "model", "touched",
         "friends", "first_touch_friends", "revenue_net", "first_touch_revenue_net"],
        (
            [c.advocate, c.participant, c.code, c.name, c.external_id, model, c.touched,
             round(c.friends, 4), c.first_touch_friends, _major(c.revenue),
             _major(c.first_touch_revenue)]
            for c in a.credits
        ),
    )  # fmt: skip
