"""The numbers: `GET /stats` for the workspace (or one program), and the schema and rendering
`GET /programs/{id}/stats` shares; cohorts and lifetime value (`GET /cohorts`,
`GET /programs/{id}/cohorts`). Every number comes from `goodword.analytics`; this module
only shapes it (docs/analytics.md has the definitions)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from goodword.analytics.cohorts import Cohort, Cohorts, cohorts
from goodword.analytics.scope import Money, Scope, parse_period
from goodword.analytics.summary import Summary, summary
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS
from goodword.programs.models import Program

router = Router(tags=["analytics"])

FROM = "first day of the period (YYYY-MM-DD, UTC, business time); all history when left out"
TO = "last day of the period, included (YYYY-MM-DD); up to now when left out"


class PeriodIn(Schema):
    start: str | None = Field(default=None, alias="from", description=FROM)
    end: str | None = Field(default=None, alias="to", description=TO)


class WorkspaceStatsIn(PeriodIn):
    program: str | None = Field(default=None, description="a program's id: only its numbers")


class MoneyOut(Schema):
    currency: str
    amount: int


class PeriodOut(Schema):
    start: date | None = Field(description="the `from` asked for, or null")
    end: date | None = Field(description="the `to` asked for, or null")


class FunnelOut(Schema):
    advocates: int = Field(description="enrolled by the end of the period")
    sharing_advocates: int = Field(description="with a share, a click or a friend who came in it")
    shares: int = Field(description="share events: taps on share buttons, QR downloads, reported")
    clicks: int
    referrals: int = Field(description="friends who came (not self-referrals, existing customers)")
    converted: int = Field(description="friends converted in the period, not reversed since")
    rewarded: int = Field(description="of `converted`, those with a reward approved")
    sharing_rate: float | None
    clicks_per_sharing_advocate: float | None
    referrals_per_click: float | None
    conversion_rate: float | None = Field(description="converted / referrals")
    reward_rate: float | None = Field(description="rewarded / converted")


class ParticipationOut(Schema):
    participants: int
    advocates: int
    referring_advocates: int
    advocate_rate: float | None
    referring_rate: float | None


class BucketOut(Schema):
    label: str
    count: int


class TimeToConvertOut(Schema):
    conversions: int
    median_hours: float | None = Field(description="from the first touch to the conversion")
    buckets: list[BucketOut]


class NewCustomersOut(Schema):
    total: int = Field(description="participants whose first purchase was in the period")
    referred: int
    referred_share: float | None


class CostLineOut(Schema):
    status: str = Field(description="pending, approved, fulfilled, reversed, rejected, expired")
    kind: str
    currency: str = Field(description="PTS for points")
    count: int
    unvalued: int = Field(description="rewards with no amount (percent-off coupons, products)")
    amount: int


class ReturnOut(Schema):
    currency: str
    revenue: int = Field(description="net of refunds")
    cost: int
    cac: int | None = Field(description="cost per converted friend, minor units")
    roi: float | None = Field(description="(revenue - cost) / cost")


class OrdersOut(Schema):
    currency: str
    customers: int
    orders: int
    gross: int
    refunded: int
    net: int
    average_order: int | None
    net_per_customer: int | None


class CustomersOut(Schema):
    referred: list[OrdersOut]
    other: list[OrdersOut]


class LeaderOut(Schema):
    advocate: str
    participant: str
    code: str
    name: str
    external_id: str
    clicks: int
    referrals: int
    converted: int
    revenue: list[MoneyOut]
    rewards: list[MoneyOut]
    points: int


class ChannelOut(Schema):
    channel: str
    shares: int = Field(description="share events through the channel")
    clicks: int
    referrals: int
    converted: int
    conversion_rate: float | None
    revenue: list[MoneyOut]


class SegmentOut(Schema):
    name: str
    advocates: int
    clicks: int
    referrals: int
    converted: int
    conversion_rate: float | None
    revenue: list[MoneyOut]
    cost: list[MoneyOut]


class DayOut(Schema):
    date: date
    clicks: int
    referrals: int
    conversions: int


class KpisOut(Schema):
    # v1's fields, kept as they were (`revenue` is now net of refunds and `reward_cost` counts
    # every kind, as documented).
    advocates: int
    clicks: int
    referrals: dict[str, int]
    conversions: int
    conversion_rate: float | None
    revenue: list[MoneyOut]
    reward_cost: list[MoneyOut]
    avg_hours_to_convert: float | None
    # Added.
    shares: int = Field(description="share events in the period (`funnel.shares`)")
    shares_by_channel: dict[str, int] = Field(description="share events per channel shared through")
    period: PeriodOut
    funnel: FunnelOut
    participation: ParticipationOut
    time_to_convert: TimeToConvertOut
    k_factor: float | None = Field(description="friends converted per advocate")
    new_customers: NewCustomersOut
    revenue_gross: list[MoneyOut]
    refunds: list[MoneyOut]
    reward_cost_by_status: dict[str, list[MoneyOut]]
    reward_cost_lines: list[CostLineOut]
    points: dict[str, int] = Field(description="points earned, by reward status")
    unvalued_rewards: int
    returns: list[ReturnOut]
    customers: CustomersOut
    leaderboard: list[LeaderOut]
    channels: list[ChannelOut]
    variants: list[SegmentOut]
    tiers: list[SegmentOut]
    segments: list[SegmentOut] = Field(description="by the advocate's `segment` attribute")
    daily: list[DayOut]


class StatsOut(KpisOut):
    program: str


class WorkspaceStatsOut(KpisOut):
    program: str | None


def _money(items: tuple[Money, ...]) -> list[dict[str, Any]]:
    return [{"currency": m.currency, "amount": m.amount} for m in items]


def render_stats(s: Summary) -> dict[str, Any]:
    """A summary as the stats endpoints answer it."""
    f, p = s.funnel, s.participation
    return {
        "advocates": f.advocates,
        "clicks": f.clicks,
        "referrals": s.statuses,
        "conversions": s.conversions,
        "conversion_rate": s.click_conversion_rate,
        "revenue": _money(s.revenue.net),
        "reward_cost": _money(s.costs.cost),
        "avg_hours_to_convert": s.time_to_convert.avg_hours,
        "shares": f.shares,
        "shares_by_channel": {c.channel: c.shares for c in s.channels if c.shares},
        "period": {"start": s.scope.start, "end": s.scope.end},
        "funnel": {
            "advocates": f.advocates,
            "sharing_advocates": f.sharing,
            "shares": f.shares,
            "clicks": f.clicks,
            "referrals": f.referrals,
            "converted": f.converted,
            "rewarded": f.rewarded,
            "sharing_rate": f.sharing_rate,
            "clicks_per_sharing_advocate": f.click_rate,
            "referrals_per_click": f.referral_rate,
            "conversion_rate": f.conversion_rate,
            "reward_rate": f.reward_rate,
        },
        "participation": {
            "participants": p.participants,
            "advocates": p.advocates,
            "referring_advocates": p.referring,
            "advocate_rate": p.advocate_rate,
            "referring_rate": p.referring_rate,
        },
        "time_to_convert": {
            "conversions": s.time_to_convert.conversions,
            "median_hours": s.time_to_convert.median_hours,
            "buckets": [asdict(b) for b in s.time_to_convert.buckets],
        },
        "k_factor": s.growth.k_factor,
        "new_customers": {
            "total": s.growth.new_customers,
            "referred": s.growth.referred_customers,
            "referred_share": s.growth.referred_share,
        },
        "revenue_gross": _money(s.revenue.gross),
        "refunds": _money(s.revenue.refunded),
        "reward_cost_by_status": {g: _money(m) for g, m in s.costs.by_group.items()},
        "reward_cost_lines": [{**asdict(line), "status": line.group} for line in s.costs.lines],
        "points": s.costs.points,
        "unvalued_rewards": s.costs.unvalued,
        "returns": [asdict(r) for r in s.returns],
        "customers": {
            "referred": [asdict(o) for o in s.customers.referred],
            "other": [asdict(o) for o in s.customers.other],
        },
        "leaderboard": [
            {**asdict(r), "revenue": _money(r.revenue), "rewards": _money(r.rewards)}
            for r in s.leaderboard
        ],
        "channels": [{**asdict(c), "revenue": _money(c.revenue)} for c in s.channels],
        "variants": [_segment(v) for v in s.variants],
        "tiers": [_segment(t) for t in s.tiers],
        "segments": [_segment(g) for g in s.segments],
        "daily": [
            {
                "date": d.day,
                "clicks": d.clicks,
                "referrals": d.referrals,
                "conversions": d.conversions,
            }
            for d in s.daily
        ],
    }


def _segment(segment: Any) -> dict[str, Any]:
    return {**asdict(segment), "revenue": _money(segment.revenue), "cost": _money(segment.cost)}


def scope_of(request: HttpRequest, period: PeriodIn, program: Program | None = None) -> Scope:
    """The scope a stats request asks for; 422 for a bad period."""
    start, end = parse_period(period.start, period.end)
    return Scope(workspace_of(request).pk, program.pk if program else None, start, end)


@router.get("/stats", response={200: WorkspaceStatsOut, **ERRORS})
def workspace_stats(request: HttpRequest, query: Query[WorkspaceStatsIn]) -> dict[str, Any]:
    """Every number of the workspace (or of one program) for a period."""
    chosen, program = None, query.program
    if program:
        qs = Program.objects.for_workspace(workspace_of(request))
        chosen = get_object_or_404(qs, public_id=program)
    s = summary(scope_of(request, query, chosen))
    return {"program": chosen.public_id if chosen else None, **render_stats(s)}


class CohortOut(Schema):
    month: date | None = Field(description="the cohort's first day; null for the total")
    customers: int
    orders: int = Field(description="from their start to the end of the period")
    gross: int
    refunded: int = Field(description="of those orders, whenever refunded")
    net: int
    average_order: int | None = Field(description="gross / orders")
    orders_per_customer: float | None
    lifetime_value: int | None = Field(description="net / customers, to date")
    cumulative: list[int] = Field(
        description="net per customer by the end of month 0 (the start month), 1, 2, ..."
    )


class CohortGroupOut(Schema):
    cohorts: list[CohortOut]
    total: CohortOut


class CurrencyCohortsOut(Schema):
    currency: str
    referred: CohortGroupOut = Field(description="friends converted, from their conversion")
    other: CohortGroupOut = Field(description="customers never converted through a program")


class CohortsOut(Schema):
    program: str | None
    period: PeriodOut
    through: date | None = Field(description="the last month counted (its first day)")
    currencies: list[CurrencyCohortsOut]


def render_cohorts(report: Cohorts, program: Program | None) -> dict[str, Any]:
    def group(cohorts: tuple[Cohort, ...], total: Cohort) -> dict[str, Any]:
        return {"cohorts": [asdict(c) for c in cohorts], "total": asdict(total)}

    return {
        "program": program.public_id if program else None,
        "period": {"start": report.scope.start, "end": report.scope.end},
        "through": report.through,
        "currencies": [
            {
                "currency": c.currency,
                "referred": group(c.referred.cohorts, c.referred.total),
                "other": group(c.other.cohorts, c.other.total),
            }
            for c in report.currencies
        ],
    }


@router.get("/cohorts", response={200: CohortsOut, **ERRORS})
def workspace_cohorts(request: HttpRequest, query: Query[WorkspaceStatsIn]) -> dict[str, Any]:
    """Referred and other customers by the month they started, with their value month by
    month (of the workspace, or of one program's referred customers)."""
    chosen = None
    if query.program:
        qs = Program.objects.for_workspace(workspace_of(request))
        chosen = get_object_or_404(qs, public_id=query.program)
    return render_cohorts(cohorts(scope_of(request, query, chosen)), chosen)


@router.get("/programs/{program_id}/cohorts", response={200: CohortsOut, **ERRORS})
def program_cohorts(
    request: HttpRequest, program_id: str, period: Query[PeriodIn]
) -> dict[str, Any]:
    """The program's referred customers, and the other customers, by month of their start."""
    qs = Program.objects.for_workspace(workspace_of(request))
    program = get_object_or_404(qs, public_id=program_id)
    return render_cohorts(cohorts(scope_of(request, period, program)), program)
