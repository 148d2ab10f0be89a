"""What a program is worth: revenue net of refunds, the cost of every reward kind, CAC, ROI,
and the orders of referred customers against the others. Per currency, in integer minor
units: two currencies are never added, and nothing is converted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Count, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from goodword.analytics import queries, rolled
from goodword.analytics.scope import Money, Scope, add_to, per, per_currency
from goodword.ingest.models import Event
from goodword.referrals.models import Referral


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
    """Purchases in the period of one group of customers, in one currency."""

    currency: str
    customers: int
    orders: int
    gross: int
    refunded: int
    net: int
    average_order: int | None  # gross / orders
    net_per_customer: int | None  # net / customers


@dataclass(frozen=True)
class CustomerValue:
    referred: tuple[Orders, ...]  # friends converted through the program(s), any time
    other: tuple[Orders, ...]  # customers never converted through any program


def customer_value(scope: Scope) -> CustomerValue:
    if not scope.raw:
        referred, other = rolled.orders(scope)
        return CustomerValue(referred=_orders_of(referred), other=_orders_of(other))
    purchases = (
        Event.objects.for_workspace(scope.workspace_id)
        .filter(type=Event.Type.PURCHASE, amount__isnull=False, test=False)
        .filter(scope.within("occurred_at"))
    )
    friends = queries.referrals(scope).filter(queries.LIVE).values("referee__external_id")
    every_friend = (
        Referral.objects.for_workspace(scope.workspace_id)
        .filter(queries.LIVE, test=False)
        .values("referee__external_id")
    )
    return CustomerValue(
        referred=_orders(purchases.filter(customer_external_id__in=friends)),
        other=_orders(purchases.exclude(customer_external_id__in=every_friend)),
    )


def _orders(qs: QuerySet[Event]) -> tuple[Orders, ...]:
    back = queries.refunded(order="order_id", customer="customer_external_id", amount="amount")
    rows: list[dict[str, Any]] = list(
        qs.annotate(back=back)  # type: ignore[arg-type]
        .values("currency")
        .annotate(
            customers=Count("customer_external_id", distinct=True),
            orders=Count("pk"),
            gross=Sum("amount"),
            refunded=Coalesce(Sum("back"), Value(0), output_field=BigIntegerField()),
        )
        .order_by("currency")
    )
    return _orders_of(rows)


def _orders_of(rows: list[dict[str, Any]]) -> tuple[Orders, ...]:
    out = []
    for r in rows:
        gross, refunded, orders, customers = (
            int(r["gross"]), int(r["refunded"] or 0), int(r["orders"]), int(r["customers"])
        )  # fmt: skip
        out.append(
            Orders(
                currency=r["currency"],
                customers=customers,
                orders=orders,
                gross=gross,
                refunded=refunded,
                net=gross - refunded,
                average_order=per(gross, orders),
                net_per_customer=per(gross - refunded, customers),
            )
        )
    return tuple(out)
