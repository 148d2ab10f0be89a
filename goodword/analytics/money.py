"""What a program is worth: revenue net of refunds, the cost of every reward kind, CAC, ROI,
and the orders of referred customers against the others. Per currency, in integer minor
units: two currencies are never added, and nothing is converted."""

from __future__ import annotations

from dataclasses import dataclass

from goodword.analytics import cohorts, queries, rolled
from goodword.analytics.scope import Money, Scope, add_to, per, per_currency


@dataclass(frozen=True)
class Revenue:
    """The converting orders of the friends converted in the period, and what was refunded of
    them so far (also later refunds, and those that reversed the referral)."""

    orders: int
    gross: tuple[Money, ...]
    refunded: tuple[Money, ...]
    net: tuple[Money, ...]


def revenue(scope: Scope) -> Revenue:
    rows = queries.revenue_by(queries.conversions(scope)) if scope.raw else rolled.revenue_by(scope)
    gross = add_to({}, ((r["order_currency"], r["gross"]) for r in rows if r["order_currency"]))
    back = add_to({}, ((r["order_currency"], r["refunded"]) for r in rows if r["order_currency"]))
    return Revenue(
        orders=sum(int(r["orders"]) for r in rows if r["order_currency"]),
        gross=per_currency(gross),
        refunded=per_currency(back),
        net=per_currency({c: gross[c] - back.get(c, 0) for c in gross}),
    )


@dataclass(frozen=True)
class CostLine:
    group: str  # pending | approved | fulfilled | reversed | rejected | expired
    kind: str  # credit, coupon, cash, points, product, gift_card, charity, custom
    currency: str  # PTS for points
    count: int
    unvalued: int  # of `count`, rewards with no amount (percent-off coupons, products...)
    amount: int  # minor units (points for PTS), net of partial-refund clawbacks


@dataclass(frozen=True)
class Costs:
    lines: tuple[CostLine, ...]
    cost: tuple[Money, ...]  # pending + approved + fulfilled, money only (no points)
    by_group: dict[str, tuple[Money, ...]]  # each group's money, points apart
    points: dict[str, int]  # points by group
    unvalued: int  # rewards that cost something we cannot value (pending/approved/fulfilled)


def costs(scope: Scope) -> Costs:
    rows = (
        queries.reward_value_by(queries.rewards(scope))
        if scope.raw
        else rolled.reward_value_by(scope)
    )
    merged: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        key = (queries.REWARD_GROUPS[r["status"]], r["kind"], r["currency"])
        sums = merged.setdefault(key, [0, 0, 0])
        sums[0] += int(r["count"])
        sums[1] += int(r["unvalued"])
        sums[2] += int(r["amount"])
    order = list(dict.fromkeys(queries.REWARD_GROUPS.values()))
    lines = tuple(
        CostLine(group, kind, currency, *values)
        for (group, kind, currency), values in sorted(
            merged.items(), key=lambda item: (order.index(item[0][0]), item[0][1:])
        )
    )
    by_group: dict[str, dict[str, int]] = {}
    points: dict[str, int] = {}
    for line in lines:  # a handful: (status group, kind, currency)
        if line.currency == queries.POINTS:
            points[line.group] = points.get(line.group, 0) + line.amount
        elif line.count > line.unvalued:  # a currency shows once something has a value
            add_to(by_group.setdefault(line.group, {}), [(line.currency, line.amount)])
    cost: dict[str, int] = {}
    for group in queries.COST_GROUPS:
        add_to(cost, by_group.get(group, {}).items())
    return Costs(
        lines=lines,
        cost=per_currency(cost),
        by_group={g: per_currency(totals) for g, totals in by_group.items()},
        points=points,
        unvalued=sum(line.unvalued for line in lines if line.group in queries.COST_GROUPS),
    )


@dataclass(frozen=True)
class Return:
    currency: str
    revenue: int  # net of refunds
    cost: int
    cac: int | None  # cost per converted friend, in minor units
    roi: float | None  # (revenue - cost) / cost; None without cost


def returns(revenue_: Revenue, costs_: Costs, converted: int) -> tuple[Return, ...]:
    """CAC and ROI per currency, from the period's net revenue, its reward cost and the friends
    converted in it (the funnel's `converted`)."""
    net = {m.currency: m.amount for m in revenue_.net}
    cost = {m.currency: m.amount for m in costs_.cost}
    return tuple(
        Return(
            currency=c,
            revenue=net.get(c, 0),
            cost=cost.get(c, 0),
            cac=per(cost.get(c, 0), converted),
            roi=round((net.get(c, 0) - cost[c]) / cost[c], 4) if cost.get(c) else None,
        )
        for c in sorted(net.keys() | cost.keys())
    )


@dataclass(frozen=True)
class Orders:
    """One group of customers who became customers in the period, in one currency, and what
    they bought from their start to the end of the period (the cohorts' total)."""

    currency: str
    customers: int
    orders: int
    gross: int
    refunded: int
    net: int
    average_order: int | None  # gross / orders
    net_per_customer: int | None  # net / customers: the lifetime value to date


@dataclass(frozen=True)
class CustomerValue:
    referred: tuple[Orders, ...]  # friends converted through the program(s), from then on
    other: tuple[Orders, ...]  # customers never converted through any program


def customer_value(scope: Scope) -> CustomerValue:
    """Referred against other customers, as the Cohorts page counts them (docs/analytics.md,
    "Cohorts and lifetime value"): a count of distinct customers over a period adds up from
    their start days, where one of who bought in the period would not."""
    report = cohorts.cohorts(scope)
    return CustomerValue(
        referred=tuple(_orders(c.currency, c.referred.total) for c in report.currencies
                       if c.referred.total.customers),
        other=tuple(_orders(c.currency, c.other.total) for c in report.currencies
                    if c.other.total.customers),
    )  # fmt: skip


def _orders(currency: str, total: cohorts.Cohort) -> Orders:
    return Orders(
        currency=currency,
        customers=total.customers,
        orders=total.orders,
        gross=total.gross,
        refunded=total.refunded,
        net=total.net,
        average_order=total.average_order,
        net_per_customer=total.lifetime_value,
    )
