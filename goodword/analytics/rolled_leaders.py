"""The leaderboard read from the rollups: the advocates with the most conversions, friends
who came and clicks in a period, found among the few that can make the top (each advocate's
totals bound their sums over any period; a short period's conversions are few), else by ranking
every advocate's sums over the period."""

from __future__ import annotations

from django.db.models import IntegerField, Sum
from django.db.models.functions import Cast

from goodword.analytics.models import AdvocateDay, AdvocateTotal
from goodword.analytics.rolled import of_period
from goodword.analytics.scope import Scope

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
    return {r["advocate_id"]: {k: int(r[k] or 0) for k in RANK} for r in rows}


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
    return {r["advocate_id"]: {k: int(r[k] or 0) for k in RANK} for r in top}
