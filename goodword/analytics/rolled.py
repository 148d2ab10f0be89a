"""Reads of the rollups, in the shapes the raw computation returns, for a scope: what
`activity`, `money` and `breakdowns` use unless the scope asks for the raw computation."""

from __future__ import annotations

from collections import defaultdict
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
    AdvocateDay,
    AdvocateFact,
    AdvocateTotal,
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


def referral_totals(scope: Scope) -> dict[str, int]:
    """came, conversions, converted, rewarded, started_us and took_0.. over the scope."""
    measures = ["came", "conversions", "converted", "rewarded", "started_us"]
    measures += [f"took_{i}" for i in range(len(BUCKETS))]
    sums = of_period(scope, ReferralDay.objects.all()).aggregate(**{m: Sum(m) for m in measures})
    return {m: _int(v) for m, v in sums.items()}


def clicks(scope: Scope) -> int:
    return _int(of_period(scope, ClickDay.objects.all()).aggregate(n=Sum("clicks"))["n"])


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
        },
        "referrals": {r["day"]: _int(r["n"]) for r in came if r["n"]},
        "conversions": {r["day"]: _int(r["c"]) for r in came if r["c"]},
    }


def revenue_by(scope: Scope, *keys: str) -> list[dict[str, Any]]:
    """Like `queries.revenue_by` over the scope's conversions: `keys` among channel and
    variant, and `order_currency`, `gross`, `refunded`, `orders`."""
    rows = (
        of_period(scope, ReferralDay.objects.exclude(currency=""))
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
    clicks = of_period(scope, ClickDay.objects.all()).values_list(key)
    for value, n in clicks.annotate(n=Sum("clicks")).order_by():
        out["clicks"][value] = _int(n)
    for row in (
        of_period(scope, ReferralDay.objects.all())
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
    qs = of_period(scope, RewardDay.objects.all())
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
    """`queries.sharing(scope).count()`: each advocate active in the period counted on their
    first active day in it, the one whose previous active day is before it (`rollup_sharing`)."""
    first = Q(prev__isnull=True)
    if scope.start is not None:
        first |= Q(prev__lt=scope.start)
    days = of_period(scope, SharingDay.objects.filter(first))
    return _int(days.aggregate(n=Sum("count"))["n"])


# Rank of an advocate in a period: most converted, then friends who came, then clicks.
RANK = ("converted", "came", "clicks")
Sums = dict[int, dict[str, int]]
# Past this many advocates, a quicker way to the leaders gives up for the next one.
LEADERS_READ = 1_000
# Periods shorter than this are ranked from their days with conversions first; longer ones
# (and all history) from the advocates with the highest totals first.
SHORT_DAYS = 62


def top_advocates(scope: Scope, limit: int) -> Sums:
    """clicks, came and converted of the `limit` advocates with the most converted, came and
    clicks in the period, and of those tied with the last of them: found among the advocates
    that can make the top (`_by_totals`, `_by_conversions`), else by ranking them all."""
    if limit <= 0:
        return {}
    short = (
        scope.start is not None
        and scope.end is not None
        and (scope.end - scope.start).days < SHORT_DAYS
    )
    ways = (_by_conversions, _by_totals) if short else (_by_totals, _by_conversions)
    for way in ways:
        leaders = way(scope, limit)
        if leaders is not None:
            return leaders
    return _by_every_advocate(scope, limit)


def _period_sums(scope: Scope, advocates: list[int]) -> Sums:
    """These advocates' sums over the period (those with any)."""
    rows = (
        of_period(scope, AdvocateDay.objects.filter(advocate_id__in=advocates))
        .values("advocate_id")
        .annotate(**{k: Sum(Cast(k, IntegerField())) for k in RANK})
        .order_by()
    )
    return {r["advocate_id"]: {k: _int(r[k]) for k in RANK} for r in rows}


def _key(sums: dict[str, int]) -> tuple[int, int, int]:
    return (sums["converted"], sums["came"], sums["clicks"])


def _leaders(found: Sums, limit: int) -> Sums:
    """The `limit` best of `found` and those tied with the last of them."""
    if len(found) <= limit:
        return found
    last = sorted((_key(s) for s in found.values()), reverse=True)[limit - 1]
    return {pk: s for pk, s in found.items() if _key(s) >= last}


def _by_totals(scope: Scope, limit: int) -> Sums | None:
    """The leaders among the advocates with the highest totals over all time: an advocate's
    sums over a period are at most their totals, so once the next advocate's totals rank
    below the `limit`-th best sums read, no advocate left can reach them. None when that is
    not within `LEADERS_READ` advocates (a short period long ago)."""
    totals = AdvocateTotal.objects.filter(workspace_id=scope.workspace_id)
    if scope.program_id is not None:
        totals = totals.filter(program_id=scope.program_id)
    rows = list(
        totals.order_by("-converted", "-came", "-clicks").values_list(
            "advocate_id", "converted", "came", "clicks"
        )[: LEADERS_READ + 1]
    )
    found: Sums = {}
    read, batch = 0, 2 * limit + 10
    while read < min(len(rows), LEADERS_READ):
        chosen = rows[read : min(read + batch, LEADERS_READ)]
        found.update(_period_sums(scope, [pk for pk, *_ in chosen]))
        read, batch = read + len(chosen), batch * 2
        if read == len(rows):
            return _leaders(found, limit)  # every advocate with any was read
        if len(found) < limit:
            continue
        last = sorted((_key(s) for s in found.values()), reverse=True)[limit - 1]
        if tuple(rows[read][1:]) < last:
            return _leaders(found, limit)
        if len(rows) > LEADERS_READ and tuple(rows[LEADERS_READ][1:]) >= last:
            return None  # the advocates to read go on past LEADERS_READ
    return None


def _by_conversions(scope: Scope, limit: int) -> Sums | None:
    """The leaders among the advocates with the most conversions in the period, read from
    its days with some: anyone with fewer than the `limit`-th most ranks below `limit`
    others. None when fewer than `limit` advocates converted any (friends who came and
    clicks decide the rest) or more than `LEADERS_READ` have as many as the `limit`-th."""
    converted = (
        of_period(scope, AdvocateDay.objects.filter(converted__gt=0))
        .values("advocate_id")
        .annotate(n=Sum(Cast("converted", IntegerField())))
        .order_by("-n")
        .values_list("advocate_id", "n")
    )
    rows = list(converted[: LEADERS_READ + 1])
    if len(rows) < limit:
        return None
    least = rows[limit - 1][1]
    if len(rows) > LEADERS_READ and rows[LEADERS_READ][1] >= least:
        return None
    return _leaders(_period_sums(scope, [pk for pk, n in rows if n >= least]), limit)


def _by_every_advocate(scope: Scope, limit: int) -> Sums:
    """The leaders from every advocate's sums over the period, ranked by the database."""
    # Sums of integers: PostgreSQL sums bigints as numerics, twice as slow over a year.
    grouped = (
        of_period(scope, AdvocateDay.objects.all())
        .values("advocate_id")
        .annotate(**{k: Sum(Cast(k, IntegerField())) for k in RANK})
        .order_by()
    )
    # One more than asked: ties with the last place are looked for only when there are some.
    top = list(grouped.order_by("-converted", "-came", "-clicks", "advocate_id")[: limit + 1])
    if len(top) > limit and [top[-1][k] for k in RANK] != [top[-2][k] for k in RANK]:
        top = top[:limit]
    elif len(top) > limit:
        top = top[:limit]
        last = top[-1]
        top += grouped.filter(
            converted=last["converted"], came=last["came"], clicks=last["clicks"]
        ).exclude(advocate_id__in=[r["advocate_id"] for r in top])
    return {r["advocate_id"]: {k: _int(r[k]) for k in RANK} for r in top}


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
    # the period ends today), read from the purchase facts of those few days.
    first = scope.end.replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    later = _fetch(
        f"""SELECT c.referred, c.currency, {month("c.start_on")}, c.month, 0, -COUNT(*),
  -SUM(p.amount), -SUM(p.refunded)
FROM {t["PurchaseFact"]} p JOIN {t["CustomerFact"]} c ON c.workspace_id = p.workspace_id
  AND c.customer = p.customer AND c.currency = p.currency AND c.month = %(first)s
WHERE p.workspace_id = %(ws)s AND p.day > %(end)s AND p.day < %(following)s
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
