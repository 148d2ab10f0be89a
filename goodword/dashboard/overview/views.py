"""The Overview page: a program (or all), a period, and every number `goodword.analytics`
computes for them, with the daily chart drawn as SVG; the leaderboard and the daily series as
CSV. The views only choose and format: no number is computed here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join

from goodword.accounts.roles import Can
from goodword.analytics import activity, breakdowns, queries
from goodword.analytics.activity import Day
from goodword.analytics.definitions import DEFINITIONS
from goodword.analytics.scope import BadPeriod, Money, Scope, parse_period, rate
from goodword.analytics.summary import Summary, summary
from goodword.dashboard.access import staff
from goodword.dashboard.overview.chart import busiest, daily_chart
from goodword.lib import money, sheets
from goodword.programs.models import Program

DEFAULT_DAYS = 30
EXPORT_LIMIT = 10_000  # advocates in the leaderboard export


@dataclass
class Filters:
    programs: list[Program]
    program: Program | None
    start: date | None
    end: date | None
    text: dict[str, str]  # what the form shows
    errors: dict[str, str]

    def scope(self, workspace_id: int) -> Scope:
        return Scope(workspace_id, self.program.pk if self.program else None, self.start, self.end)

    @property
    def query(self) -> str:
        """The filters as a query string, for the export links."""
        return urlencode({k: v for k, v in self.text.items() if v})


def last_30_days(today: date) -> date:
    return today - timedelta(days=DEFAULT_DAYS - 1)


def filters(request: HttpRequest, *, first_day: Callable[[date], date] = last_30_days) -> Filters:
    """The program and period asked for: all programs, and from `first_day(today)` (the last
    30 days by default, UTC) to today. Another workspace's program, or no program at all by
    that id, is a 404."""
    workspace = request.workspace  # type: ignore[attr-defined]
    programs = list(Program.objects.for_workspace(workspace).order_by("name", "pk"))
    chosen = request.GET.get("program", "").strip()
    program = next((p for p in programs if p.public_id == chosen), None)
    if chosen and program is None:
        raise Http404("no such program")
    today = datetime.now(UTC).date()
    text = {
        "program": chosen,
        "from": request.GET.get("from", "").strip() or str(first_day(today)),
        "to": request.GET.get("to", "").strip() or str(today),
    }
    errors: dict[str, str] = {}
    start = end = None
    try:
        start, end = parse_period(text["from"], text["to"])
    except BadPeriod as bad:
        errors[bad.field] = bad.problem.replace("`to`", "the last day").capitalize()
    return Filters(programs, program, start, end, text, errors)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def ratio(value: float | None) -> str:
    """1.6667 -> "1.67", 2.0 -> "2"."""
    return "—" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def counted(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


def amounts(items: Sequence[Money]) -> list[str]:
    return [money.display(m.amount, m.currency) for m in items] or ["—"]


def _cards(s: Summary) -> list[dict[str, Any]]:
    """The key numbers: each card's values as (text, unit) pairs."""
    cac = [Money(r.currency, r.cac) for r in s.returns if r.cac is not None]
    roi = [(percent(r.roi), r.currency) for r in s.returns if r.roi is not None]
    points = sum(s.costs.points.get(group, 0) for group in queries.COST_GROUPS)

    def plain(values: list[str]) -> list[tuple[str, str]]:
        return [(v, "") for v in values]

    return [
        {"label": "Referred customers", "values": plain([f"{s.funnel.converted:,}"]),
         "note": f"{s.funnel.referrals:,} friend{'' if s.funnel.referrals == 1 else 's'} came"},
        {"label": "Conversion rate", "values": plain([percent(s.funnel.conversion_rate)]),
         "note": "converted / friends who came"},
        {"label": "Revenue, net of refunds", "values": plain(amounts(s.revenue.net)),
         "note": "refunds: " + ", ".join(amounts(s.revenue.refunded))},
        {"label": "Reward cost", "values": plain(amounts(s.costs.cost)),
         "note": f"and {points:,} points" if points else "every kind, pending to fulfilled"},
        {"label": "Cost per referred customer", "values": plain(amounts(cac)), "note": "CAC"},
        {"label": "Return on reward cost", "values": roi or plain(["—"]), "note": "ROI"},
    ]  # fmt: skip


def _funnel(s: Summary) -> list[dict[str, Any]]:
    f = s.funnel
    stages = [
        ("Advocates", f.advocates, ""),
        ("Sharing advocates", f.sharing, f"{percent(f.sharing_rate)} of advocates"),
        ("Shares", f.shares, f"{ratio(rate(f.shares, f.sharing))} per sharing advocate"),
        ("Clicks", f.clicks, f"{ratio(f.click_rate)} per sharing advocate"),
        ("Friends who came", f.referrals, f"{ratio(f.referral_rate)} per click"),
        ("Converted", f.converted, f"{percent(f.conversion_rate)} of friends"),
        ("Rewarded", f.rewarded, f"{percent(f.reward_rate)} of converted"),
    ]
    top = max((n for _, n, _ in stages), default=0) or 1
    return [
        {"label": label, "count": n, "width": round(100 * n / top, 1), "rate": rate}
        for label, n, rate in stages
    ]


KIND_LABELS = {
    "credit": "Credit", "coupon": "Coupon", "cash": "Cash", "points": "Points",
    "product": "Product", "gift_card": "Gift card", "charity": "Donation", "custom": "Custom",
}  # fmt: skip


def _cost_lines(s: Summary) -> list[dict[str, Any]]:
    return [
        {
            "status": line.group.capitalize(),
            "kind": KIND_LABELS.get(line.kind, line.kind),
            "count": line.count,
            "amount": "—"
            if line.count == line.unvalued
            else money.display(line.amount, line.currency),
            "unvalued": line.unvalued,
        }
        for line in s.costs.lines
    ]


def _summary_text(s: Summary) -> str:
    f = s.funnel
    text = (
        f"Over {counted(len(s.daily), 'day')}: {counted(f.clicks, 'click')}, "
        f"{counted(f.referrals, 'friend')} who came, {counted(f.converted, 'conversion')}."
    )
    best = busiest(s.daily)
    if best is not None:
        text += (
            f" Busiest day: {best.day.day} {best.day:%B} ({counted(best.clicks, 'click')}, "
            f"{counted(best.referrals, 'friend')}, {counted(best.conversions, 'conversion')})."
        )
    return text


@staff(Can.VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    chosen = filters(request)
    context: dict[str, Any] = {"title": "Overview", "f": chosen, "definitions": DEFINITIONS}
    if chosen.errors:
        return render(request, "dashboard/overview/overview.html", context, status=400)
    s = summary(chosen.scope(request.workspace.pk))  # type: ignore[attr-defined]
    context.update(
        s=s,
        cards=_cards(s),
        funnel=_funnel(s),
        chart=daily_chart(s.daily),
        daily_rows=_daily_rows(s.daily),
        chart_text=_summary_text(s),
        cost_lines=_cost_lines(s),
        exports={
            "leaderboard": reverse("dashboard:overview_leaderboard_csv") + "?" + chosen.query,
            "daily": reverse("dashboard:overview_daily_csv") + "?" + chosen.query,
        },
        rows=(rows := _rows(s)),
        growth_share=percent(s.growth.referred_share),
        k_factor=ratio(s.growth.k_factor),
        participation=(
            f"{counted(s.participation.advocates, 'advocate')} of "
            f"{counted(s.participation.participants, 'customer')} "
            f"({percent(s.participation.advocate_rate)}); {s.participation.referring:,} "
            f"brought a friend ({percent(s.participation.referring_rate)})"
        ),
        segment_tables=[
            (title, rows[key])
            for title, key in (
                ("Variants", "variants"),
                ("Tiers", "tiers"),
                ("Segments", "segments"),
            )
            if rows[key]
        ],
    )
    return render(request, "dashboard/overview/overview.html", context)


def _daily_rows(days: Sequence[Day]) -> str:
    """The table of the numbers per day, as HTML made here: a year is 365 rows, and the
    template engine took about 60 ms to fill their 1,460 cells (a third of the page)."""
    return format_html_join(
        "",
        '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>',
        (
            (f"{d.day:%a} {d.day.day} {d.day:%b %Y}", d.clicks, d.referrals, d.conversions)
            for d in days
        ),
    )


def _rows(s: Summary) -> dict[str, list[dict[str, Any]]]:
    """The tables' rows with their numbers formatted for people."""
    return {
        "leaders": [
            {**vars(r), "who": r.name or r.external_id, "revenue": amounts(r.revenue),
             "rewards": amounts(r.rewards)}
            for r in s.leaderboard
        ],
        "channels": [
            {**vars(c), "rate": percent(c.conversion_rate), "revenue": amounts(c.revenue)}
            for c in s.channels
        ],
        "variants": [_segment(v) for v in s.variants],
        "tiers": [_segment(t) for t in s.tiers],
        "segments": [_segment(g) for g in s.segments],
        "buckets": [
            {"label": b.label, "count": b.count,
             "width": round(100 * b.count / max(1, s.time_to_convert.conversions), 1)}
            for b in s.time_to_convert.buckets
        ],
        "orders": [
            {"who": who, "currency": o.currency, "customers": o.customers, "orders": o.orders,
             "average": money.display(o.average_order or 0, o.currency),
             "net": money.display(o.net, o.currency),
             "per_customer": money.display(o.net_per_customer or 0, o.currency)}
            for who, group in (("Referred", s.customers.referred), ("Other", s.customers.other))
            for o in group
        ],
        "returns": [
            {"currency": r.currency, "revenue": money.display(r.revenue, r.currency),
             "cost": money.display(r.cost, r.currency),
             "cac": money.display(r.cac, r.currency) if r.cac is not None else "—",
             "roi": percent(r.roi)}
            for r in s.returns
        ],
    }  # fmt: skip


def _segment(segment: Any) -> dict[str, Any]:
    return {
        **vars(segment),
        "rate": percent(segment.conversion_rate),
        "revenue": amounts(segment.revenue),
        "cost": amounts(segment.cost),
    }


def _major(items: Sequence[Money]) -> str:
    """Amounts for a spreadsheet: "35.00 USD; 100.00 EUR" (points as "50 PTS")."""
    return "; ".join(f"{money.major(m.amount, m.currency)} {m.currency}" for m in items)


def _export_scope(request: HttpRequest) -> tuple[Filters, Scope] | HttpResponse:
    chosen = filters(request)
    if chosen.errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in chosen.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return chosen, chosen.scope(request.workspace.pk)  # type: ignore[attr-defined]


@staff(Can.VIEW)
def leaderboard_csv(request: HttpRequest) -> HttpResponse:
    found = _export_scope(request)
    if isinstance(found, HttpResponse):
        return found
    chosen, scope = found
    leaders = breakdowns.leaderboard(scope, limit=EXPORT_LIMIT)
    return sheets.csv_response(
        f"top-advocates-{chosen.text['from']}-{chosen.text['to']}.csv",
        ["rank", "advocate", "participant", "code", "name", "external_id", "clicks",
         "friends", "converted", "revenue_net", "reward_cost", "points"],
        (
            [i, r.advocate, r.participant, r.code, r.name, r.external_id, r.clicks,
             r.referrals, r.converted, _major(r.revenue), _major(r.rewards), r.points]
            for i, r in enumerate(leaders, start=1)
        ),
    )  # fmt: skip


@staff(Can.VIEW)
def daily_csv(request: HttpRequest) -> HttpResponse:
    found = _export_scope(request)
    if isinstance(found, HttpResponse):
        return found
    chosen, scope = found
    return sheets.csv_response(
        f"daily-{chosen.text['from']}-{chosen.text['to']}.csv",
        ["date", "clicks", "friends", "conversions"],
        ([d.day.isoformat(), d.clicks, d.referrals, d.conversions] for d in activity.daily(scope)),
    )
