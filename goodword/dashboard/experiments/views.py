"""Experiments: the programs that run one, and a program's experiment read as one (each
variant's conversion with its 95 % interval drawn as a bar, the verdict in words, the holdout's
lift), with a CSV export. Every number comes from `goodword.analytics.experiments`; the views
only choose and format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from goodword.accounts.roles import Can
from goodword.analytics import experiments as analysis
from goodword.analytics.experiments import Experiment, Lift, Variant
from goodword.analytics.intervals import Interval
from goodword.analytics.scope import BadPeriod, Money, Scope, parse_period
from goodword.dashboard.access import staff
from goodword.dashboard.lists import listing
from goodword.dashboard.programs.common import get_program
from goodword.lib import money, sheets
from goodword.programs.models import Program

BAR_WIDTH = 240  # the interval bars' drawing width, in SVG units
# A verdict code's words and badge (app.css).
VERDICTS = {
    analysis.BETTER: ("Better", "ok"),
    analysis.WORSE: ("Worse", "bad"),
    analysis.NO_DIFFERENCE: ("No difference yet", ""),
    analysis.NOT_ENOUGH_DATA: ("Not enough data", "warn"),
    analysis.LIFT: ("Lift", "ok"),
    analysis.NEGATIVE: ("Negative lift", "bad"),
}


@staff(Can.VIEW)
def experiments(request: HttpRequest) -> HttpResponse:
    """The workspace's programs with an experiment set."""
    rows = Program.objects.for_workspace(request.workspace).filter(  # type: ignore[attr-defined]
        experiment__has_key="variants"
    )
    page = listing(request, rows, search=("name", "public_id"), sorts=("name", "created_at"))
    table = [
        {
            "program": p,
            "name": p.experiment.get("name", ""),
            "variants": ", ".join(
                f"{v['name']} ({v['weight']})" for v in p.experiment.get("variants", [])
            ),
            "holdout": int(p.experiment.get("holdout_percent", 0) or 0),
        }
        for p in page.rows
    ]
    context = {"title": "Experiments", "listing": page, "table": table}
    return render(request, "dashboard/experiments/list.html", context)


def _period(request: HttpRequest) -> tuple[dict[str, str], Any, Any, dict[str, str]]:
    """The `from` and `to` asked for (all history by default), and errors by field."""
    text = {k: request.GET.get(k, "").strip() for k in ("from", "to")}
    try:
        start, end = parse_period(text["from"], text["to"])
    except BadPeriod as bad:
        return text, None, None, {bad.field: bad.problem.replace("`to`", "the last day")}
    return text, start, end, {}


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def interval_text(i: Interval | None, fmt: Any = pct) -> str:
    """ "12.1 % (8.0 % to 17.3 %)"; "—" without an estimate."""
    if i is None:
        return "—"
    if i.low is None or i.high is None:
        return f"{fmt(i.value)} (no interval yet)"
    return f"{fmt(i.value)} ({fmt(i.low)} to {fmt(i.high)})"


def signed_points(x: float | None) -> str:
    """A difference of rates in percentage points: 0.041 -> "+4.1"."""
    return "—" if x is None else f"{x * 100:+.1f}"


def number(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def amounts(items: Sequence[Money]) -> list[str]:
    return [money.display(m.amount, m.currency) for m in items] or ["—"]


def _bar(i: Interval | None, top: float) -> dict[str, float] | None:
    """Where an interval and its estimate sit on a 0..`top` scale, in SVG units."""
    if i is None or i.low is None or i.high is None or top <= 0:
        return None

    def x(v: float) -> float:
        return round(BAR_WIDTH * min(max(v, 0.0), top) / top, 1)

    return {"low": x(i.low), "width": max(x(i.high) - x(i.low), 1.0), "value": x(i.value)}


def _rows(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    highs = [v.conversion.high for v in variants if v.conversion and v.conversion.high]
    top = min(1.0, (int(max(highs, default=0.0) * 10) + 1) / 10)
    return [
        {
            "name": v.name,
            "weight": v.weight,
            "advocates": v.advocates,
            "friends": v.friends,
            "converted": v.converted,
            "rate": interval_text(v.conversion),
            "bar": _bar(v.conversion, top),
            "per_advocate": interval_text(v.per_advocate, number),
            "revenue": amounts(v.revenue),
            "cost": amounts(v.cost),
            "cost_per_converted": amounts(v.cost_per_converted),
            "comparison": v.comparison,
            "verdict": VERDICTS.get(v.comparison.verdict, ("", "")) if v.comparison else None,
            "difference": interval_text(
                v.comparison.difference if v.comparison else None, signed_points
            ),
        }
        for v in variants
    ] + [{"scale": pct(top)}]


def _signed_money(amount: int | None, currency: str) -> str:
    return "—" if amount is None else money.display(amount, currency)


def _lift_rows(lift: Lift) -> list[dict[str, str]]:
    return [
        {
            "currency": r.currency,
            "holdout": _signed_money(r.holdout, r.currency),
            "treated": _signed_money(r.treated, r.currency),
            "lift": _signed_money(r.lift, r.currency),
            "interval": "no interval yet"
            if r.low is None or r.high is None
            else f"{_signed_money(r.low, r.currency)} to {_signed_money(r.high, r.currency)}",
        }
        for r in lift.revenue
    ]


@staff(Can.VIEW)
def experiment(request: HttpRequest, program_id: str) -> HttpResponse:
    program = get_program(request, program_id)
    text, start, end, errors = _period(request)
    context: dict[str, Any] = {
        "title": f"Experiment: {program.name}",
        "program": program,
        "text": text,
        "errors": errors,
        "export": reverse("dashboard:experiment_csv", args=[program.public_id])
        + ("?" + urlencode({k: v for k, v in text.items() if v}) if any(text.values()) else ""),
    }
    if errors:
        return render(request, "dashboard/experiments/experiment.html", context, status=400)
    found = analysis.experiment(Scope(program.workspace_id, program.pk, start, end), program)
    rows = _rows(found.variants)
    context.update(
        e=found,
        rows=rows[:-1],
        scale=rows[-1]["scale"],
        bar_width=BAR_WIDTH,
        lift=found.holdout,
        lift_verdict=VERDICTS.get(found.holdout.verdict, ("", "")) if found.holdout else None,
        lift_customers=interval_text(found.holdout.customers, number) if found.holdout else "",
        lift_rows=_lift_rows(found.holdout) if found.holdout else [],
        minimum_friends=analysis.MIN_FRIENDS,
        minimum_advocates=analysis.MIN_ADVOCATES,
    )
    return render(request, "dashboard/experiments/experiment.html", context)


def _major(amount: int | None, currency: str) -> str:
    """Minor units as a signed decimal in major units for a spreadsheet: -150 -> "-1.50"."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}{money.major(abs(amount), currency)}"


def _cell(i: Interval | None) -> list[Any]:
    if i is None:
        return ["", "", ""]
    return [round(x, 4) if x is not None else "" for x in (i.value, i.low, i.high)]


def _moneys(items: Sequence[Money]) -> str:
    return "; ".join(f"{_major(m.amount, m.currency)} {m.currency}" for m in items)


def _csv_rows(e: Experiment) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for v in e.variants:
        c = v.comparison
        rows.append(
            [
                v.name, v.weight or "", v.advocates, v.friends, v.converted,
                *_cell(v.conversion), *_cell(v.per_advocate),
                _moneys(v.revenue), _moneys(v.cost), _moneys(v.cost_per_converted),
                c.against if c else "", *_cell(c.difference if c else None),
                c.verdict if c else "", c.text if c else "",
            ]
        )  # fmt: skip
    if e.holdout is not None:
        # Two rows under the lift's definition (friends who bought in their window): the
        # holdout, then every variant together against it.
        h = e.holdout
        pairs = [
            ("holdout", h.holdout_advocates, h.holdout_customers, h.holdout_per_advocate,
             "", None, "", ""),
            ("program", h.treated_advocates, h.treated_customers, h.treated_per_advocate,
             "holdout", h.customers, h.verdict, h.text),
        ]  # fmt: skip
        for name, n, bought, each, against, d, verdict, text in pairs:
            mean = _cell(None if each is None else Interval(each, None, None))
            rows.append(
                [name, "", n, "", bought, "", "", "", *mean, "", "", "",
                 against, *_cell(d), verdict, text]
            )  # fmt: skip
    return rows


CSV_HEADER = [
    "variant", "weight", "advocates", "friends", "converted",
    "conversion_rate", "conversion_rate_low", "conversion_rate_high",
    "converted_per_advocate", "converted_per_advocate_low", "converted_per_advocate_high",
    "revenue_net", "reward_cost", "cost_per_converted",
    "compared_with", "difference", "difference_low", "difference_high", "verdict", "text",
]  # fmt: skip


@staff(Can.VIEW)
def experiment_csv(request: HttpRequest, program_id: str) -> HttpResponse:
    """The variants' table as CSV; the holdout's row has the friends who bought (in
    `converted`) and, as its comparison, the program's lift in customers per advocate."""
    program = get_program(request, program_id)
    text, start, end, errors = _period(request)
    if errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    found = analysis.experiment(Scope(program.workspace_id, program.pk, start, end), program)
    period = f"{text['from'] or 'start'}-{text['to'] or 'now'}"
    return sheets.csv_response(
        f"experiment-{program.public_id}-{period}.csv", CSV_HEADER, _csv_rows(found)
    )
