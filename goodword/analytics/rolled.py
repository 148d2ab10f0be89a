"""Reads of the rollups, in the shapes the raw computation returns, for a scope: what
`activity`, `money` and `breakdowns` use unless the scope asks for the raw computation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from goodword.analytics import rollup_sql, rollups
from goodword.analytics.buckets import BUCKETS
from goodword.analytics.models import (
    AdvocateFact,
    ClickDay,
    EnrolledDay,
    ParticipantDay,
    PurchaseFact,
    ReferralDay,
    ReferralFact,
    RewardDay,
    RewardFact,
    SegmentCostDay,
    SegmentDay,
    SegmentRevenueDay,
    SharingDay,
    StatusDay,
    TookDay,
)
from goodword.analytics.scope import Scope


def of_period(scope: Scope, qs: QuerySet[Any]) -> QuerySet[Any]:
    """The daily rows of `qs` in the scope (its workspace, program and days), caught up."""
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


# The referral days' measures summed over a scope (`referral_totals`), with those of their
# orders, and the keys a summary reads them by (`_days_by_key`).
TOTAL_MEASURES = (
    "came", "conversions", "converted", "rewarded", "started_us",
    *(f"took_{i}" for i in range(len(BUCKETS))),
)  # fmt: skip
REFERRAL_MEASURES = (*TOTAL_MEASURES, "orders", "gross", "refunded")
KEYS = ("channel", "variant")
# The measures that count rows (no money, no time).
DAY_COUNTS = {
    "came",
    "conversions",
    "converted",
    "rewarded",
    "orders",
    "clicks",
    "shares",
    "count",
    "unvalued",
}
DAY_COUNTS.update(f"took_{i}" for i in range(len(BUCKETS)))
# A summary's reads of the scope's days by channel, variant (and currency, status, kind), made
# once and summed here for each of its numbers (`shared_reads`).
_shared: ContextVar[dict[tuple[str, Scope], list[dict[str, Any]]] | None] = ContextVar(
    "rolled_shared", default=None
)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within, each table of days is read once per scope for the totals, the channels and the
    variants (`referral_totals`, `clicks`, `counts_by`, `revenue_by`, `reward_value_by`): a
    summary's dozen reads of the same days are three. Integer sums: the same numbers."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _days_by_key(
    scope: Scope, model: type[Any], keys: tuple[str, ...], measures: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The scope's days of `model` summed per `keys`, once within `shared_reads`."""
    memo = _shared.get()
    if memo is not None and (model.__name__, scope) in memo:
        return memo[(model.__name__, scope)]
    # Counts of a day fit 32 bits: summed as such, PostgreSQL adds them as bigints, not numerics.
    sums = {m: Sum(Cast(m, IntegerField()) if m in DAY_COUNTS else m) for m in measures}
    rows = [
        {**r, **{m: _int(r[m]) for m in measures}}
        for r in of_period(scope, model.objects.all()).values(*keys).annotate(**sums).order_by()
    ]
    if memo is not None:
        memo[(model.__name__, scope)] = rows
    return rows


def _summed_by(
    rows: list[dict[str, Any]], keys: tuple[str, ...], measures: tuple[str, ...]
) -> dict[tuple[Any, ...], dict[str, int]]:
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for r in rows:
        sums = out.setdefault(tuple(r[k] for k in keys), dict.fromkeys(measures, 0))
        for m in measures:
            sums[m] += r[m]
    return out


def _referral_days(scope: Scope) -> list[dict[str, Any]]:
    return _days_by_key(scope, ReferralDay, (*KEYS, "currency"), REFERRAL_MEASURES)


def referral_totals(scope: Scope) -> dict[str, int]:
    """came, conversions, converted, rewarded, started_us and took_0.. over the scope."""
    totals = _summed_by(_referral_days(scope), (), TOTAL_MEASURES)
    return totals.get((), dict.fromkeys(TOTAL_MEASURES, 0))


def _click_days(scope: Scope) -> list[dict[str, Any]]:
    return _days_by_key(scope, ClickDay, KEYS, ("clicks", "shares"))


def clicks(scope: Scope) -> int:
    return sum(r["clicks"] for r in _click_days(scope))


def shares(scope: Scope) -> int:
    return sum(r["shares"] for r in _click_days(scope))


def statuses(scope: Scope) -> dict[str, int]:
    rows = of_period(scope, StatusDay.objects.all()).values_list("status").annotate(n=Sum("count"))
    return {status: _int(n) for status, n in rows.order_by()}


def daily(scope: Scope) -> dict[str, dict[date, int]]:
    """clicks, referrals (came) and conversions (converted) per day with any."""
    refs = of_period(scope, ReferralDay.objects.all()).values("day").order_by()
    came = refs.annotate(n=Sum("came"), c=Sum("converted"))
    return {
        "clicks": {
            d: _int(n)
            for d, n in of_period(scope, ClickDay.objects.all())
            .values_list("day")
            .annotate(n=Sum("clicks"))
            .order_by()
            if n  # a day with shares only
        },
        "referrals": {r["day"]: _int(r["n"]) for r in came if r["n"]},
        "conversions": {r["day"]: _int(r["c"]) for r in came if r["c"]},
    }


def revenue_by(scope: Scope, *keys: str) -> list[dict[str, Any]]:
    """Like `queries.revenue_by` over the scope's conversions: `keys` among channel and
    variant, and `order_currency`, `gross`, `refunded`, `orders`."""
    days = [r for r in _referral_days(scope) if r["currency"] != ""]
    grouped = _summed_by(days, (*keys, "currency"), ("gross", "refunded", "orders"))
    return [
        {**dict(zip(keys, group, strict=False)), "order_currency": group[-1], **sums}
        for group, sums in grouped.items()
        if sums["orders"]
    ]


def counts_by(scope: Scope, key: str) -> dict[str, dict[str, int]]:
    """clicks, shares, came and converted per value of `key` (channel or variant)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (value,), sums in _summed_by(_click_days(scope), (key,), ("clicks", "shares")).items():
        if sums["clicks"]:
            out["clicks"][value] = sums["clicks"]
        if sums["shares"]:
            out["shares"][value] = sums["shares"]
    for (value,), sums in _summed_by(_referral_days(scope), (key,), ("came", "converted")).items():
        if sums["came"]:
            out["came"][value] = sums["came"]
        if sums["converted"]:
            out["converted"][value] = sums["converted"]
    return out


def reward_value_by(scope: Scope, *keys: str, referral_only: bool = False) -> list[dict[str, Any]]:
    """Like `queries.reward_value_by` over the scope's rewards, grouped by `keys` (variant)."""
    days = _days_by_key(
        scope, RewardDay, ("variant", "status", "kind", "currency"), ("count", "unvalued", "amount")
    )
    if referral_only:
        days = [r for r in days if r["variant"] is not None]
    group = (*keys, "status", "kind", "currency")
    return [
        {**dict(zip(group, values, strict=True)), **sums}
        for values, sums in _summed_by(days, group, ("count", "unvalued", "amount")).items()
    ]


def enrolled(scope: Scope) -> QuerySet[AdvocateFact]:
    """`queries.advocates`: enrolled, or active, by the end of the period."""
    rollups.catch_up()
    qs = AdvocateFact.objects.filter(workspace_id=scope.workspace_id)
    if scope.program_id is not None:
        qs = qs.filter(program_id=scope.program_id)
    return qs.filter(first_on__lte=scope.end) if scope.end is not None else qs


def sharing(scope: Scope) -> int:
    """`queries.sharing(scope).count()`: each advocate active in the period counted on their
    first active day in it, the one whose previous active day is before it (`rollup_sharing`)."""
    first = Q(prev__isnull=True)
    if scope.start is not None:
        first |= Q(prev__lt=scope.start)
    days = of_period(scope, SharingDay.objects.filter(first))
    return _int(days.aggregate(n=Sum("count"))["n"])


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


def _by_end(scope: Scope, qs: QuerySet[Any]) -> QuerySet[Any]:
    """Days of the scope's workspace up to the end of the period (from the first day)."""
    rollups.catch_up()
    qs = qs.filter(workspace_id=scope.workspace_id)
    return qs.filter(day__lte=scope.end) if scope.end is not None else qs


def _enrolled_days(scope: Scope) -> QuerySet[EnrolledDay]:
    qs = _by_end(scope, EnrolledDay.objects.all())
    return qs.filter(program_id=scope.program_id) if scope.program_id is not None else qs


def participation(scope: Scope) -> tuple[int, int, int]:
    """`activity.participation`'s participants known, advocates (people) and referring
    advocates (people) by the end of the period, from the days (`rollup_people` says how)."""
    people = _by_end(scope, ParticipantDay.objects.all())
    if scope.program_id is None:
        sums = people.aggregate(n=Sum("known"), a=Sum("advocates"), r=Sum("referring"))
        return _int(sums["n"]), _int(sums["a"]), _int(sums["r"])
    # One advocate per program and participant: advocates are people.
    based = _int(people.aggregate(n=Sum("based"))["n"])
    sums = _enrolled_days(scope).aggregate(e=Sum("early"), a=Sum("enrolled"), r=Sum("referring"))
    return based + _int(sums["e"]), _int(sums["a"]), _int(sums["r"])


def enrolled_count(scope: Scope) -> int:
    """`queries.advocates(scope).count()`."""
    return _int(_enrolled_days(scope).aggregate(n=Sum("enrolled"))["n"])


def enrolled_by_variant(scope: Scope) -> dict[str, int]:
    """`queries.advocates(scope)` counted per variant (variants with some only)."""
    rows = _enrolled_days(scope).values_list("variant").annotate(n=Sum("enrolled")).order_by()
    return {variant: _int(n) for variant, n in rows if n}


def has_variants(scope: Scope) -> bool:
    """Does any advocate of the scope, enrolled whenever, have an experiment variant?"""
    rollups.catch_up()
    qs = EnrolledDay.objects.filter(workspace_id=scope.workspace_id).exclude(variant="")
    return (qs.filter(program_id=scope.program_id) if scope.program_id is not None else qs).exists()


def middle_took(scope: Scope) -> list[int]:
    """The middle time from first touch (or the two middle ones, for an even count) of the
    scope's conversions, in microseconds: the step holding each middle rank from the daily
    histogram, then that step's conversions of the period, in order, from the index."""
    steps = (
        of_period(scope, TookDay.objects.all())
        .values_list("step")
        .annotate(n=Sum("count"))
        .order_by("step")
    )
    n = sum(_int(count) for _, count in steps)
    wanted = sorted({(n - 1) // 2, n // 2}) if n else []
    found: dict[int, tuple[int, int]] = {}  # rank: step, offset in the step
    below = 0
    for step, count in steps:
        for rank in wanted:
            if below <= rank < below + _int(count):
                found[rank] = (step, rank - below)
        below += _int(count)
    facts = ReferralFact.objects.filter(workspace_id=scope.workspace_id)
    if scope.program_id is not None:
        facts = facts.filter(program_id=scope.program_id)
    if scope.start is not None:
        facts = facts.filter(converted_on__gte=scope.start)
    if scope.end is not None:
        facts = facts.filter(converted_on__lte=scope.end)
    middle: list[int] = []
    for step in sorted({step for step, _ in found.values()}):
        offsets = [offset for s, offset in found.values() if s == step]
        ordered = facts.filter(took_step=step).order_by("took_us").values_list("took_us", flat=True)
        middle += [_int(us) for us in ordered[min(offsets) : max(offsets) + 1]]
    return middle


def by_advocate(scope: Scope, key: str) -> dict[str, Any]:
    """`breakdowns._segments`' numbers per value of the advocates' fact `key` (tier or
    segment, "" for none): advocates, clicks, came, converted, and the rows of revenue and
    reward cost; the advocates from their facts, the rest from the segment days."""
    assert key in ("tier", "segment")  # noqa: S101 - a column name, never input
    advocates = dict(
        enrolled(scope)
        .annotate(k=Coalesce(key, Value(""), output_field=TextField()))
        .values_list("k")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {"clicks": {}, "came": {}, "converted": {}}
    days = of_period(scope, SegmentDay.objects.all()).values(key).order_by()
    for row in days.annotate(**{m: Sum(m) for m in counts}):
        for measure, values in counts.items():
            if row[measure]:
                values[row[key]] = _int(row[measure])
    revenue = [
        {"seg": r[key], "order_currency": r["currency"], "gross": _int(r["gross"]),
         "refunded": _int(r["refunded"]), "orders": _int(r["orders"])}
        for r in of_period(scope, SegmentRevenueDay.objects.all())
        .values(key, "currency")
        .annotate(gross=Sum("gross"), refunded=Sum("refunded"), orders=Sum("orders"))
        .order_by()
    ]  # fmt: skip
    cost = [
        {"seg": r[key], "status": r["status"], "kind": r["kind"], "currency": r["currency"],
         "count": _int(r["count"]), "unvalued": _int(r["unvalued"]), "amount": _int(r["amount"])}
        for r in of_period(scope, SegmentCostDay.objects.all())
        .values(key, "status", "kind", "currency")
        .annotate(count=Sum("count"), unvalued=Sum("unvalued"), amount=Sum("amount"))
        .order_by()
    ]  # fmt: skip
    return {"advocates": advocates, **counts, "revenue": revenue, "cost": cost}


def has_segments(scope: Scope) -> bool:
    """Does any advocate of the scope, enrolled whenever, have a `segment` attribute?"""
    rollups.catch_up()
    qs = AdvocateFact.objects.filter(workspace_id=scope.workspace_id, segment__isnull=False)
    return (qs.filter(program_id=scope.program_id) if scope.program_id is not None else qs).exists()


def _group(scope: Scope, prefix: str = "") -> str:
    """The customer groups of the scope: referred of its program (of any, without one), and
    the others (never converted, whatever program is chosen)."""
    if scope.program_id is None:
        return f"{prefix}program_id IS NULL"
    return (
        f"({prefix}program_id = %(program)s"
        f" OR ({prefix}program_id IS NULL AND NOT {prefix}referred))"
    )


def _fetch(statement: str, scope: Scope, **params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            {"ws": scope.workspace_id, "program": scope.program_id, "start": scope.start,
             "end": scope.end, **params},
        )  # fmt: skip
        return list(cursor.fetchall())


def cohort_sums(scope: Scope) -> list[tuple[Any, ...]]:
    """`cohorts`' sums: (referred, currency, start month, month, customers, orders, gross,
    refunded) of the customers who started in the period, what they bought up to its end."""
    rollups.catch_up()
    t, month = rollup_sql.T, rollup_sql.month
    since = " AND {p}start_on >= %(start)s" if scope.start is not None else ""
    until = " AND {p}start_on <= %(end)s" if scope.end is not None else ""
    # A customer counts from their first purchase in the currency, when it is by the end.
    customers = "CASE WHEN first_on <= %(end)s THEN customers ELSE 0 END"
    rows = _fetch(
        f"""SELECT referred, currency, {month("start_on")}, month,
  SUM({customers if scope.end is not None else "customers"}), SUM(orders), SUM(gross),
  SUM(refunded)
FROM {t["CohortDay"]} WHERE workspace_id = %(ws)s AND {_group(scope)}
  {(since + until).format(p="")} {"AND month <= %(end)s" if scope.end is not None else ""}
GROUP BY referred, currency, {month("start_on")}, month""",  # noqa: S608 - tables, fixed conditions
        scope,
    )
    if scope.end is None:
        return rows
    # The month of the end is summed whole: take out its purchases after the end (none when
    # the period ends today), read from the purchase facts of those few days. Those first:
    # SQLite, left to choose, read every customer who started in the period and then their
    # purchases (4 s at a million referrals); a CROSS JOIN keeps its order (PostgreSQL plans
    # it as any inner join).
    first = scope.end.replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    later = _fetch(
        f"""SELECT c.referred, c.currency, {month("c.start_on")}, c.month, 0, -COUNT(*),
  -SUM(p.amount), -SUM(p.refunded)
FROM {t["PurchaseFact"]} p CROSS JOIN {t["CustomerFact"]} c
WHERE c.workspace_id = p.workspace_id AND c.customer = p.customer
  AND c.currency = p.currency AND c.month = %(first)s
  AND p.workspace_id = %(ws)s AND p.day > %(end)s AND p.day < %(following)s
  AND {_group(scope, "c.")} {(since + until).format(p="c.")}
GROUP BY c.referred, c.currency, {month("c.start_on")}, c.month""",  # noqa: S608 - tables, fixed conditions
        scope,
        first=first,
        following=following,
    )
    return rows + later


def new_customers(scope: Scope) -> tuple[int, int]:
    """`activity.growth`'s new customers of the period, and of them the referred ones."""
    rollups.catch_up()
    period = "".join(
        [" AND day >= %(start)s"] * (scope.start is not None)
        + [" AND day <= %(end)s"] * (scope.end is not None)
    )
    referred = "program_id IS NULL" if scope.program_id is None else "program_id = %(program)s"
    ((new, friends),) = _fetch(
        f"""SELECT SUM(CASE WHEN referred THEN 0 ELSE customers END),
  SUM(CASE WHEN referred THEN customers ELSE 0 END)
FROM {rollup_sql.T["NewCustomerDay"]} WHERE workspace_id = %(ws)s{period}
  AND ((program_id IS NULL AND NOT referred) OR (referred AND {referred}))""",  # noqa: S608 - tables, fixed conditions
        scope,
    )
    return _int(new), _int(friends)


def advocate_revenue(scope: Scope, advocates: list[int]) -> list[dict[str, Any]]:
    """`queries.revenue_by` of these advocates' conversions in the period, by `advocate_id`."""
    rollups.catch_up()
    qs = ReferralFact.objects.filter(
        workspace_id=scope.workspace_id, advocate_id__in=advocates, amount__isnull=False
    )
    if scope.program_id is not None:
        qs = qs.filter(program_id=scope.program_id)
    qs = qs.filter(converted_on__isnull=False)
    if scope.start is not None:
        qs = qs.filter(converted_on__gte=scope.start)
    if scope.end is not None:
        qs = qs.filter(converted_on__lte=scope.end)
    return [
        {**r, "gross": _int(r["gross"]), "refunded": _int(r["refunded"])}
        for r in qs.values("advocate_id", order_currency=F("currency"))
        .annotate(gross=Sum("amount"), refunded=Sum("refunded"), orders=Count("pk"))
        .order_by()
    ]


def advocate_rewards(scope: Scope, advocates: list[int]) -> list[dict[str, Any]]:
    """`queries.reward_value_by` of the rewards these advocates earned as advocates in the
    period, by `advocate_id`."""
    rollups.catch_up()
    qs = RewardFact.objects.filter(
        workspace_id=scope.workspace_id, advocate_id__in=advocates, beneficiary="advocate"
    )
    if scope.program_id is not None:
        qs = qs.filter(program_id=scope.program_id)
    if scope.start is not None:
        qs = qs.filter(day__gte=scope.start)
    if scope.end is not None:
        qs = qs.filter(day__lte=scope.end)
    return [
        {**r, "amount": _int(r["amount"])}
        for r in qs.values("advocate_id", "status", "kind", "currency")
        .annotate(
            count=Count("pk"), unvalued=Count("pk", filter=Q(valued=False)), amount=Sum("amount")
        )
        .order_by()
    ]
