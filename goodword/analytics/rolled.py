"""Reads of the rollups, in the shapes the raw computation returns, for a scope: what
`activity`, `money` and `breakdowns` use unless the scope asks for the raw computation."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from goodword.analytics import rollups
from goodword.analytics.buckets import BUCKETS
from goodword.analytics.models import (
    AdvocateDay,
    AdvocateFact,
    ClickDay,
    PurchaseFact,
    ReferralDay,
    ReferralFact,
    RewardDay,
    StatusDay,
)
from goodword.analytics.scope import Scope


def _of(scope: Scope, qs: QuerySet[Any]) -> QuerySet[Any]:
    rollups.catch_up()
    qs = qs.filter(workspace_id=scope.workspace_id)
    if scope.program_id is not None:
        qs = qs.filter(program_id=scope.program_id)
    if scope.start is not None:
        qs = qs.filter(day__gte=scope.start)
    if scope.end is not None:
        qs = qs.filter(day__lte=scope.end)
    return qs


def _int(value: Any) -> int:
    return int(value or 0)


def referral_totals(scope: Scope) -> dict[str, int]:
    """came, conversions, converted, rewarded, started_us and took_0.. over the scope."""
    measures = ["came", "conversions", "converted", "rewarded", "started_us"]
    measures += [f"took_{i}" for i in range(len(BUCKETS))]
    sums = _of(scope, ReferralDay.objects.all()).aggregate(**{m: Sum(m) for m in measures})
    return {m: _int(v) for m, v in sums.items()}


def clicks(scope: Scope) -> int:
    return _int(_of(scope, ClickDay.objects.all()).aggregate(n=Sum("clicks"))["n"])


def statuses(scope: Scope) -> dict[str, int]:
    rows = _of(scope, StatusDay.objects.all()).values_list("status").annotate(n=Sum("count"))
    return {status: _int(n) for status, n in rows.order_by()}


def daily(scope: Scope) -> dict[str, dict[date, int]]:
    """clicks, referrals (came) and conversions (converted) per day with any."""
    refs = _of(scope, ReferralDay.objects.all()).values("day").order_by()
    came = refs.annotate(n=Sum("came"), c=Sum("converted"))
    return {
        "clicks": {
            d: _int(n)
            for d, n in _of(scope, ClickDay.objects.all())
            .values_list("day")
            .annotate(n=Sum("clicks"))
            .order_by()
        },
        "referrals": {r["day"]: _int(r["n"]) for r in came if r["n"]},
        "conversions": {r["day"]: _int(r["c"]) for r in came if r["c"]},
    }


def revenue_by(scope: Scope, *keys: str) -> list[dict[str, Any]]:
    """Like `queries.revenue_by` over the scope's conversions: `keys` among channel and
    variant, and `order_currency`, `gross`, `refunded`, `orders`."""
    rows = (
        _of(scope, ReferralDay.objects.exclude(currency=""))
        .values(*keys, "currency")
        .annotate(gross=Sum("gross"), refunded=Sum("refunded"), orders=Sum("orders"))
        .order_by()
    )
    return [
        {**{k: r[k] for k in keys}, "order_currency": r["currency"], "gross": _int(r["gross"]),
         "refunded": _int(r["refunded"]), "orders": _int(r["orders"])}
        for r in rows
        if r["orders"]
    ]  # fmt: skip


def counts_by(scope: Scope, key: str) -> dict[str, dict[str, int]]:
    """clicks, came and converted per value of `key` (channel or variant)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for value, n in (
        _of(scope, ClickDay.objects.all()).values_list(key).annotate(n=Sum("clicks")).order_by()
    ):
        out["clicks"][value] = _int(n)
    for row in (
        _of(scope, ReferralDay.objects.all())
        .values(key)
        .annotate(came=Sum("came"), converted=Sum("converted"))
        .order_by()
    ):
        if row["came"]:
            out["came"][row[key]] = _int(row["came"])
        if row["converted"]:
            out["converted"][row[key]] = _int(row["converted"])
    return out


def reward_value_by(scope: Scope, *keys: str, referral_only: bool = False) -> list[dict[str, Any]]:
    """Like `queries.reward_value_by` over the scope's rewards, grouped by `keys` (variant)."""
    qs = _of(scope, RewardDay.objects.all())
    if referral_only:
        qs = qs.filter(variant__isnull=False)
    return [
        {**r, "count": _int(r["count"]), "unvalued": _int(r["unvalued"]),
         "amount": _int(r["amount"])}
        for r in qs.values(*keys, "status", "kind", "currency")
        .annotate(count=Sum("count"), unvalued=Sum("unvalued"), amount=Sum("amount"))
        .order_by()
    ]  # fmt: skip


def enrolled(scope: Scope) -> QuerySet[AdvocateFact]:
    """`queries.advocates`: enrolled, or active, by the end of the period."""
    rollups.catch_up()
    qs = AdvocateFact.objects.filter(workspace_id=scope.workspace_id)
    if scope.program_id is not None:
        qs = qs.filter(program_id=scope.program_id)
    return qs.filter(first_on__lte=scope.end) if scope.end is not None else qs


def sharing(scope: Scope) -> int:
    """`queries.sharing(scope).count()`."""
    active = _of(scope, AdvocateDay.objects.filter(Q(clicks__gt=0) | Q(came__gt=0)))
    return active.values("advocate_id").distinct().count()


def top_advocates(scope: Scope, limit: int) -> dict[int, dict[str, int]]:
    """clicks, came and converted of the `limit` advocates with the most converted, came and
    clicks in the period, and of those tied with the last of them; ranked by the database."""
    if limit <= 0:
        return {}
    grouped = (
        _of(scope, AdvocateDay.objects.all())
        .values("advocate_id")
        .annotate(clicks=Sum("clicks"), came=Sum("came"), converted=Sum("converted"))
        .order_by()
    )
    top = list(grouped.order_by("-converted", "-came", "-clicks", "advocate_id")[:limit])
    if len(top) == limit:
        last = top[-1]
        top += grouped.filter(
            converted=last["converted"], came=last["came"], clicks=last["clicks"]
        ).exclude(advocate_id__in=[r["advocate_id"] for r in top])
    return {r["advocate_id"]: {k: _int(r[k]) for k in ("clicks", "came", "converted")} for r in top}


def orders(scope: Scope) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`money.customer_value`'s rows (currency, customers, orders, gross, refunded) of the
    referred customers (friends converted and standing in the scope) and of the others (never
    converted and standing in any program of the workspace)."""
    rollups.catch_up()
    purchases = PurchaseFact.objects.filter(workspace_id=scope.workspace_id)
    if scope.start is not None:
        purchases = purchases.filter(day__gte=scope.start)
    if scope.end is not None:
        purchases = purchases.filter(day__lte=scope.end)
    # EXISTS, not IN: PostgreSQL runs NOT IN over a large subquery row by row (minutes).
    every_friend = ReferralFact.objects.filter(
        workspace_id=scope.workspace_id, live=True, customer=OuterRef("customer")
    )
    friends = every_friend
    if scope.program_id is not None:
        friends = friends.filter(program_id=scope.program_id)

    def rows(qs: QuerySet[PurchaseFact]) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in qs.values("currency")
            .annotate(
                customers=Count("customer", distinct=True),
                orders=Count("pk"),
                gross=Sum("amount"),
                refunded=Sum("refunded"),
            )
            .order_by("currency")
        ]

    return (
        rows(purchases.filter(Exists(friends))),
        rows(purchases.exclude(Exists(every_friend))),
    )
