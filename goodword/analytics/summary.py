"""Every number of a scope at once: what `GET /programs/{id}/stats`, `GET /stats` and the
Overview page show."""

from __future__ import annotations

from dataclasses import dataclass

from goodword.analytics import activity, breakdowns, money, rolled, rollups
from goodword.analytics.scope import Scope, rate


@dataclass(frozen=True)
class Summary:
    scope: Scope
    funnel: activity.Funnel
    statuses: dict[str, int]  # referrals that started in the period, by status now
    conversions: int  # every conversion in the period, also those reversed since
    click_conversion_rate: float | None  # conversions per click (v1's `conversion_rate`)
    participation: activity.Participation
    time_to_convert: activity.TimeToConvert
    growth: activity.Growth
    revenue: money.Revenue
    costs: money.Costs
    returns: tuple[money.Return, ...]
    customers: money.CustomerValue
    leaderboard: tuple[breakdowns.Leader, ...]
    channels: tuple[breakdowns.Channel, ...]
    variants: tuple[breakdowns.Segment, ...]
    tiers: tuple[breakdowns.Segment, ...]
    segments: tuple[breakdowns.Segment, ...]
    daily: tuple[activity.Day, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period: no share, no click, no friend, no conversion, no
        reward."""
        f = self.funnel
        return not (f.shares or f.clicks or f.referrals or self.conversions or self.costs.lines)


def summary(scope: Scope, *, top: int = 10) -> Summary:
    with rollups.caught_up(), rolled.shared_reads():
        return _summary(scope, top)


def _summary(scope: Scope, top: int) -> Summary:
    funnel = activity.funnel(scope)
    time_to_convert = activity.time_to_convert(scope)
    revenue = money.revenue(scope)
    costs = money.costs(scope)
    return Summary(
        scope=scope,
        funnel=funnel,
        statuses=activity.statuses(scope),
        conversions=time_to_convert.conversions,
        click_conversion_rate=rate(time_to_convert.conversions, funnel.clicks),
        participation=activity.participation(scope),
        time_to_convert=time_to_convert,
        growth=activity.growth(scope, funnel),
        revenue=revenue,
        costs=costs,
        returns=money.returns(revenue, costs, funnel.converted),
        customers=money.customer_value(scope),
        leaderboard=breakdowns.leaderboard(scope, limit=top),
        channels=breakdowns.channels(scope),
        variants=breakdowns.variants(scope),
        tiers=breakdowns.tiers(scope),
        segments=breakdowns.segments(scope),
        daily=activity.daily(scope),
    )
