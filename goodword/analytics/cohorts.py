"""Cohorts and lifetime value: customers grouped by the month they became customers, and what
they bought from then on, month by month; referred customers against the others.

From purchase events, per currency, in integer minor units (two currencies are never added).
The definitions, with an example, are in docs/analytics.md ("Cohorts and lifetime value").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from goodword.analytics import queries, rolled
from goodword.analytics.scope import Scope, per
from goodword.ingest.models import Event
from goodword.referrals.models import Referral

# A referred customer is a friend whose referral converted, also when a refund of the whole
# order reversed it later: their refund then counts against their value. Leaving them out
# would make referred customers look better than they are.
CONVERTED = Q(converted_at__isnull=False)


@dataclass(frozen=True)
class Cohort:
    """The customers of one group who started in one month (or, for a group's total, in any
    month of the period), and what they bought from their start to the end of the period."""

    month: date | None  # the cohort's first day; None for the total of every cohort
    customers: int
    orders: int
    gross: int
    refunded: int  # of those orders, whenever the refund came
    net: int  # gross - refunded
    average_order: int | None  # gross / orders
    orders_per_customer: float | None  # orders / customers, 2 decimal places
    lifetime_value: int | None  # net / customers: the value per customer to date
    # Net per customer by the end of month 0 (the start month), 1, 2, ...: one value for each
    # month begun by the end of the period. For the total, month k counts the cohorts that
    # reached it, weighted by their customers.
    cumulative: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Group:
    cohorts: tuple[Cohort, ...]  # oldest first; months where nobody started are left out
    total: Cohort


@dataclass(frozen=True)
class CurrencyCohorts:
    currency: str
    referred: Group  # friends converted through the program(s), from their conversion
    other: Group  # customers never converted through any program, from their first purchase


@dataclass(frozen=True)
class Cohorts:
    scope: Scope
    through: date | None  # the last month counted (its first day); None with no purchase
    currencies: tuple[CurrencyCohorts, ...]

    @property
    def months(self) -> int:
        """Columns of the widest triangle (month 0 to month n - 1)."""
        return max(
            (len(g.total.cumulative) for c in self.currencies for g in (c.referred, c.other)),
            default=0,
        )


def cohorts(scope: Scope) -> Cohorts:
    """Referred and other customers who started in the period, by month of their start."""
    if scope.raw:
        referred = _sums(scope, _referred(scope))
        other = _sums(scope, _other(scope))
    else:
        referred, other = _rolled(scope)
    seen = [m for sums in (referred, other) for cohort in sums.values() for m in cohort.months]
    through = _month(scope.end) if scope.end else _latest(seen)
    currencies = sorted({c for c, _ in referred} | {c for c, _ in other})
    return Cohorts(
        scope=scope,
        through=through,
        currencies=tuple(
            CurrencyCohorts(
                currency=c,
                referred=_group(referred, c, through),
                other=_group(other, c, through),
            )
            for c in currencies
        ),
    )


def _rolled(scope: Scope) -> tuple[dict[tuple[str, date], _Sums], dict[tuple[str, date], _Sums]]:
    """`_sums` of the referred and of the other customers, from the rollups' start days."""
    referred: dict[tuple[str, date], _Sums] = {}
    other: dict[tuple[str, date], _Sums] = {}
    for is_referred, currency, cohort, month, customers, orders, gross, back in rolled.cohort_sums(
        scope
    ):
        sums = (referred if is_referred else other).setdefault((currency, _day(cohort)), _Sums())
        sums.customers += int(customers)
        before = sums.months.get(_day(month), (0, 0, 0))
        sums.months[_day(month)] = (
            before[0] + int(orders), before[1] + int(gross), before[2] + int(back)
        )  # fmt: skip
    # What the end took out leaves nothing of a month, or of a customer, that had no purchase.
    for group in (referred, other):
        for key, sums in list(group.items()):
            sums.months = {m: v for m, v in sums.months.items() if v[0]}
            if not sums.customers:
                del group[key]
    return referred, other


def _purchases(scope: Scope) -> QuerySet[Event]:
    """Live purchases with an amount, up to the end of the period (test data never counts)."""
    return (
        Event.objects.for_workspace(scope.workspace_id)
        .filter(type=Event.Type.PURCHASE, amount__isnull=False, test=False)
        .filter(scope.by_end("occurred_at"))
    )


def _referred(scope: Scope) -> QuerySet[Event]:
    """Converted friends' purchases from their first conversion (of the program, when one is
    chosen) on: orders before it were not brought by a referral."""
    converted = queries.referrals(scope).filter(CONVERTED)
    first = (
        converted.filter(referee__external_id=OuterRef("customer_external_id"))
        .order_by("converted_at", "pk")
        .values("converted_at")[:1]
    )
    return (
        _purchases(scope)
        .filter(customer_external_id__in=converted.values("referee__external_id"))
        .annotate(start=Subquery(first, output_field=DateTimeField()))
        .filter(occurred_at__gte=F("start"))
    )


def _other(scope: Scope) -> QuerySet[Event]:
    """Purchases of customers never converted through any program of the workspace, from
    their first purchase."""
    every_friend = (
        Referral.objects.for_workspace(scope.workspace_id)
        .filter(CONVERTED, test=False)
        .values("referee__external_id")
    )
    first = (
        Event.objects.filter(
            workspace_id=OuterRef("workspace_id"),
            type=Event.Type.PURCHASE,
            amount__isnull=False,
            test=False,
            customer_external_id=OuterRef("customer_external_id"),
        )
        .order_by("occurred_at", "pk")
        .values("occurred_at")[:1]
    )
    return (
        _purchases(scope)
        .exclude(customer_external_id__in=every_friend)
        .annotate(start=Subquery(first, output_field=DateTimeField()))
    )


@dataclass
class _Sums:
    customers: int = 0
    months: dict[date, tuple[int, int, int]] = field(default_factory=dict)  # orders, gross, back


def _sums(scope: Scope, purchases: QuerySet[Event]) -> dict[tuple[str, date], _Sums]:
    """Per (currency, start month): customers, and orders, gross and refunded per month."""
    started = purchases.filter(scope.within("start")).annotate(
        cohort=TruncMonth("start", tzinfo=UTC), month=TruncMonth("occurred_at", tzinfo=UTC)
    )
    back = queries.refunded(order="order_id", customer="customer_external_id", amount="amount")
    out: dict[tuple[str, date], _Sums] = {}
    people = (
        started.values("currency", "cohort")
        .annotate(n=Count("customer_external_id", distinct=True))
        .order_by()
    )
    for p in people:
        out[(p["currency"], _day(p["cohort"]))] = _Sums(customers=int(p["n"]))
    orders: list[dict[str, Any]] = list(
        started.annotate(back=back)  # type: ignore[arg-type]
        .values("currency", "cohort", "month")
        .annotate(
            orders=Count("pk"),
            gross=Sum("amount"),
            refunded=Coalesce(Sum("back"), Value(0), output_field=BigIntegerField()),
        )
        .order_by()
    )
    for row in orders:
        sums = out[(row["currency"], _day(row["cohort"]))]
        sums.months[_day(row["month"])] = (
            int(row["orders"]), int(row["gross"]), int(row["refunded"])
        )  # fmt: skip
    return out


def _group(sums: dict[tuple[str, date], _Sums], currency: str, through: date | None) -> Group:
    chosen = sorted((month, s) for (c, month), s in sums.items() if c == currency)
    cohorts = tuple(_cohort(month, s, through) for month, s in chosen)
    return Group(cohorts=cohorts, total=_total(cohorts, [s for _, s in chosen], through))


def _cohort(month: date, sums: _Sums, through: date | None) -> Cohort:
    age = _between(month, through) if through else 0
    net_by = [0] * (age + 1)
    for m, (_, gross, back) in sums.months.items():
        net_by[_between(month, m)] += gross - back
    running, cumulative = 0, []
    for net in net_by:
        running += net
        cumulative.append(per(running, sums.customers) or 0)
    orders, gross, back = (sum(v[i] for v in sums.months.values()) for i in range(3))
    return _figures(month, sums.customers, orders, gross, back, tuple(cumulative))


def _total(cohorts: tuple[Cohort, ...], sums: list[_Sums], through: date | None) -> Cohort:
    """Every cohort together; month k of the triangle over the cohorts that reached it."""
    width = max((len(c.cumulative) for c in cohorts), default=0)
    cumulative = []
    for k in range(width):
        reached = [(c, s) for c, s in zip(cohorts, sums, strict=True) if len(c.cumulative) > k]
        customers = sum(s.customers for _, s in reached)
        net = 0
        for cohort, s in reached:
            assert cohort.month is not None  # noqa: S101 - every cohort has its month
            net += sum(
                gross - back
                for m, (_, gross, back) in s.months.items()
                if _between(cohort.month, m) <= k
            )
        cumulative.append(per(net, customers) or 0)
    return _figures(
        None,
        sum(c.customers for c in cohorts),
        sum(c.orders for c in cohorts),
        sum(c.gross for c in cohorts),
        sum(c.refunded for c in cohorts),
        tuple(cumulative),
    )


def _figures(
    month: date | None,
    customers: int,
    orders: int,
    gross: int,
    refunded: int,
    cumulative: tuple[int, ...],
) -> Cohort:
    return Cohort(
        month=month,
        customers=customers,
        orders=orders,
        gross=gross,
        refunded=refunded,
        net=gross - refunded,
        average_order=per(gross, orders),
        orders_per_customer=round(orders / customers, 2) if customers else None,
        lifetime_value=per(gross - refunded, customers),
        cumulative=cumulative,
    )


def _day(value: date | datetime | str) -> date:
    """A truncated month as the date of its first day (databases answer datetimes, or text)."""
    if isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


def _month(day: date) -> date:
    return day.replace(day=1)


def _latest(months: list[date]) -> date | None:
    return max(months, default=None)


def _between(first: date, later: date) -> int:
    """Calendar months from `first`'s month to `later`'s: 0 for the same month."""
    return (later.year - first.year) * 12 + later.month - first.month
