"""How people moved through a program: the funnel, participation, time to convert, growth
(K-factor and the share of new customers who came by referral), and the daily series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, TruncDate

from goodword.analytics import queries, rolled
from goodword.analytics.buckets import BUCKETS
from goodword.analytics.scope import Scope, rate
from goodword.participants.models import Participant
from goodword.referrals.models import Referral


@dataclass(frozen=True)
class Funnel:
    advocates: int  # enrolled by the end of the period
    sharing: int  # advocates with a share, a click or a friend who came in the period
    clicks: int
    referrals: int  # friends who came (signed up or bought through an advocate)
    converted: int  # friends who converted in the period, not reversed since
    rewarded: int  # of those, referrals with a reward approved by now
    # Rates between consecutive stages (None when the earlier stage is 0).
    sharing_rate: float | None
    click_rate: float | None  # clicks per sharing advocate (a ratio, may exceed 1)
    referral_rate: float | None  # referrals per click (may exceed 1: codes need no click)
    conversion_rate: float | None  # converted per referral
    reward_rate: float | None  # rewarded per converted
    shares: int = 0  # share events (taps on share buttons, QR downloads, reported shares)


def funnel(scope: Scope) -> Funnel:
    if scope.raw:
        advocates = queries.advocates(scope).count()
        sharing = queries.sharing(scope).count()
        clicks = queries.clicks(scope).count()
        shares = queries.shares(scope).count()
        referrals = queries.came(scope).count()
        stages = queries.converted(scope).aggregate(
            converted=Count("pk"), rewarded=Count("pk", filter=Q(rewarded_at__isnull=False))
        )
        converted, rewarded = int(stages["converted"]), int(stages["rewarded"])
    else:
        advocates, sharing = rolled.enrolled_count(scope), rolled.sharing(scope)
        totals = rolled.referral_totals(scope)
        clicks, referrals = rolled.clicks(scope), totals["came"]
        shares = rolled.shares(scope)
        converted, rewarded = totals["converted"], totals["rewarded"]
    return Funnel(
        advocates=advocates,
        sharing=sharing,
        clicks=clicks,
        referrals=referrals,
        converted=converted,
        rewarded=rewarded,
        sharing_rate=rate(sharing, advocates),
        click_rate=rate(clicks, sharing),
        referral_rate=rate(referrals, clicks),
        conversion_rate=rate(converted, referrals),
        reward_rate=rate(rewarded, converted),
        shares=shares,
    )


def statuses(scope: Scope) -> dict[str, int]:
    """Referrals that started in the period (every one, rejected too), by status now."""
    if not scope.raw:
        rolled_rows = rolled.statuses(scope)
        return {s: rolled_rows.get(s, 0) for s in Referral.Status.values}
    rows = dict(
        queries.referrals(scope)
        .filter(scope.within("created_at"))
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {s: int(rows.get(s, 0)) for s in Referral.Status.values}


@dataclass(frozen=True)
class Participation:
    participants: int  # customers Goodword knows by the end of the period
    advocates: int  # of them, enrolled as advocates (of the program, or of any)
    referring: int  # of those, with at least one friend who came by the end of the period
    advocate_rate: float | None
    referring_rate: float | None


def _known(
    scope: Scope, workspace: QuerySet[Participant], enrolled: QuerySet[Any]
) -> QuerySet[Participant]:
    """Participants known by the end of the period: first seen by Goodword before the end, or
    active before it in business time."""
    if scope.until is None:
        return workspace
    return workspace.filter(
        Q(created_at__lt=scope.until)
        | Q(first_purchase_at__lt=scope.until)
        | Q(pk__in=enrolled.values("participant_id"))
        | Q(
            pk__in=Referral.objects.for_workspace(scope.workspace_id)
            .filter(scope.by_end("created_at"))
            .values("referee_id")
        )
    )


def participation(scope: Scope) -> Participation:
    if scope.raw:
        workspace = Participant.objects.for_workspace(scope.workspace_id).filter(test=False)
        enrolled: QuerySet[Any] = queries.advocates(scope)
        came = queries.referrals(scope).filter(queries.COUNTED).filter(scope.by_end("created_at"))
        referring = enrolled.filter(pk__in=came.values("advocate_id"))
        participants = _known(scope, workspace, enrolled).count()
        advocates = enrolled.values("participant_id").distinct().count()
        referrers = referring.values("participant_id").distinct().count()
    else:
        participants, advocates, referrers = rolled.participation(scope)
    return Participation(
        participants=participants,
        advocates=advocates,
        referring=referrers,
        advocate_rate=rate(advocates, participants),
        referring_rate=rate(referrers, participants),
    )


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int


@dataclass(frozen=True)
class TimeToConvert:
    conversions: int
    median_hours: float | None  # from the first touch (the click, else the referral's start)
    buckets: tuple[Bucket, ...]
    avg_hours: float | None  # from the referral's start (v1's `avg_hours_to_convert`)


def time_to_convert(scope: Scope) -> TimeToConvert:
    """Over every conversion in the period (also those reversed later: how long people took
    does not depend on a refund)."""
    took = ExpressionWrapper(
        F("converted_at") - Coalesce("clicked_at", "created_at"), output_field=DurationField()
    )
    if not scope.raw:
        return _time_to_convert_rolled(scope)
    qs = queries.conversions(scope).annotate(took=took)
    counts = qs.aggregate(
        n=Count("pk"),
        avg=Avg(
            ExpressionWrapper(F("converted_at") - F("created_at"), output_field=DurationField())
        ),
        **{
            f"b{i}": Count(
                "pk",
                filter=(Q(took__gte=low) if i else Q()) & (Q(took__lt=high) if high else Q()),
            )
            for i, (_, low, high) in enumerate(BUCKETS)
        },
    )
    n = int(counts["n"])
    avg = counts["avg"]
    return TimeToConvert(
        conversions=n,
        median_hours=_median_hours(qs, n),
        buckets=tuple(Bucket(label, int(counts[f"b{i}"])) for i, (label, *_) in enumerate(BUCKETS)),
        avg_hours=round(avg.total_seconds() / 3600, 2) if avg is not None else None,
    )


def _time_to_convert_rolled(scope: Scope) -> TimeToConvert:
    totals = rolled.referral_totals(scope)
    n = totals["conversions"]
    # The average of whole microseconds, as the database averages the intervals.
    avg = timedelta(microseconds=totals["started_us"] / n) if n else None
    return TimeToConvert(
        conversions=n,
        median_hours=_hours([timedelta(microseconds=us) for us in rolled.middle_took(scope)]),
        buckets=tuple(Bucket(label, totals[f"took_{i}"]) for i, (label, *_) in enumerate(BUCKETS)),
        avg_hours=round(avg.total_seconds() / 3600, 2) if avg is not None else None,
    )


def _median_hours(qs: QuerySet[Any], n: int) -> float | None:
    if not n:
        return None
    # The middle one (or two) in order: no median aggregate on SQLite.
    middle = list(
        qs.order_by("took", "pk").values_list("took", flat=True)[(n - 1) // 2 : n // 2 + 1]
    )
    return _hours(middle)


def _hours(middle: list[timedelta]) -> float | None:
    """The median in hours of the middle one or two times."""
    if not middle:
        return None
    seconds = sum(t.total_seconds() for t in middle) / len(middle)
    return round(float(seconds) / 3600, 2)


@dataclass(frozen=True)
class Growth:
    k_factor: float | None  # converted friends per advocate
    new_customers: int  # participants whose first purchase was in the period
    referred_customers: int  # of them, friends converted through the program(s)
    referred_share: float | None


def growth(scope: Scope, funnel_: Funnel | None = None) -> Growth:
    f = funnel_ or funnel(scope)
    n, referred = _new_customers(scope) if scope.raw else rolled.new_customers(scope)
    return Growth(
        k_factor=rate(f.converted, f.advocates),
        new_customers=n,
        referred_customers=referred,
        referred_share=rate(referred, n),
    )


def _new_customers(scope: Scope) -> tuple[int, int]:
    new = (
        Participant.objects.for_workspace(scope.workspace_id)
        .filter(first_purchase_at__isnull=False, test=False)
        .filter(scope.within("first_purchase_at"))
    )
    counts = new.aggregate(
        n=Count("pk"),
        referred=Count(
            "pk",
            filter=Q(pk__in=queries.referrals(scope).filter(queries.LIVE).values("referee_id")),
        ),
    )
    return int(counts["n"]), int(counts["referred"])


@dataclass(frozen=True)
class Day:
    day: date
    clicks: int
    referrals: int
    conversions: int  # converted and not reversed since (the funnel's `converted`)


def _daily_raw(scope: Scope) -> dict[str, dict[date, int]]:
    return {
        name: {
            day: int(n)
            for day, n in qs.annotate(day=TruncDate(field, tzinfo=UTC))
            .values_list("day")
            .annotate(n=Count("pk"))
            .order_by()
        }
        for name, qs, field in (
            ("clicks", queries.clicks(scope), "created_at"),
            ("referrals", queries.came(scope), "created_at"),
            ("conversions", queries.converted(scope), "converted_at"),
        )
    }


def daily(scope: Scope) -> tuple[Day, ...]:
    """Clicks, friends who came and conversions per UTC day of the period, every day listed
    (zeros too). Without a start or an end, from the first to the last day with any."""
    series = _daily_raw(scope) if scope.raw else rolled.daily(scope)
    seen = [d for counts in series.values() for d in counts]
    first = scope.start or (min(seen) if seen else None)
    last = scope.end or (max(seen) if seen else None)
    if first is None or last is None:
        return ()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return tuple(
        Day(
            d,
            series["clicks"].get(d, 0),
            series["referrals"].get(d, 0),
            series["conversions"].get(d, 0),
        )
        for d in days
    )
