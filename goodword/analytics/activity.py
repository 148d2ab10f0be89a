"""How people moved through a program: the funnel, participation, time to convert, growth
(K-factor and the share of new customers who came by referral), and the daily series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, TruncDate

from goodword.analytics import queries
from goodword.analytics.scope import Scope, rate
from goodword.participants.models import Participant
from goodword.referrals.models import Referral


@dataclass(frozen=True)
class Funnel:
    advocates: int  # enrolled by the end of the period
    sharing: int  # advocates with a click or a friend who came in the period
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


def funnel(scope: Scope) -> Funnel:
    advocates = queries.advocates(scope).count()
    sharing = queries.sharing(scope).count()
    clicks = queries.clicks(scope).count()
    referrals = queries.came(scope).count()
    stages = queries.converted(scope).aggregate(
        converted=Count("pk"), rewarded=Count("pk", filter=Q(rewarded_at__isnull=False))
    )
    converted, rewarded = int(stages["converted"]), int(stages["rewarded"])
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
    )


def statuses(scope: Scope) -> dict[str, int]:
    """Referrals that started in the period (every one, rejected too), by status now."""
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


def participation(scope: Scope) -> Participation:
    workspace = Participant.objects.for_workspace(scope.workspace_id)
    enrolled = queries.advocates(scope)
    came = queries.referrals(scope).filter(queries.COUNTED).filter(scope.by_end("created_at"))
    referring = enrolled.filter(pk__in=came.values("advocate_id"))
    known = workspace
    if scope.until is not None:
        # First seen by Goodword before the end, or active before it in business time.
        known = workspace.filter(
            Q(created_at__lt=scope.until)
            | Q(first_purchase_at__lt=scope.until)
            | Q(pk__in=enrolled.values("participant_id"))
            | Q(
                pk__in=Referral.objects.for_workspace(scope.workspace_id)
                .filter(scope.by_end("created_at"))
                .values("referee_id")
            )
        )
    participants = known.count()
    advocates = enrolled.values("participant_id").distinct().count()
    referrers = referring.values("participant_id").distinct().count()
    return Participation(
        participants=participants,
        advocates=advocates,
        referring=referrers,
        advocate_rate=rate(advocates, participants),
        referring_rate=rate(referrers, participants),
    )


# (label, from, to): time from the first touch to the conversion; `to` excluded, None: open.
BUCKETS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("under 1 hour", timedelta(0), timedelta(hours=1)),
    ("1 to 24 hours", timedelta(hours=1), timedelta(days=1)),
    ("1 to 3 days", timedelta(days=1), timedelta(days=3)),
    ("3 to 7 days", timedelta(days=3), timedelta(days=7)),
    ("7 to 30 days", timedelta(days=7), timedelta(days=30)),
    ("30 days or more", timedelta(days=30), None),
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
    median = None
    if n:
        # The middle one (or two) in order: no median aggregate on SQLite.
        middle = list(
            qs.order_by("took", "pk").values_list("took", flat=True)[(n - 1) // 2 : n // 2 + 1]
        )
        seconds = sum(t.total_seconds() for t in middle) / len(middle)
        median = round(seconds / 3600, 2)
    avg = counts["avg"]
    return TimeToConvert(
        conversions=n,
        median_hours=median,
        buckets=tuple(Bucket(label, int(counts[f"b{i}"])) for i, (label, *_) in enumerate(BUCKETS)),
        avg_hours=round(avg.total_seconds() / 3600, 2) if avg is not None else None,
    )


@dataclass(frozen=True)
class Growth:
    k_factor: float | None  # converted friends per advocate
    new_customers: int  # participants whose first purchase was in the period
    referred_customers: int  # of them, friends converted through the program(s)
    referred_share: float | None


def growth(scope: Scope, funnel_: Funnel | None = None) -> Growth:
    f = funnel_ or funnel(scope)
    new = (
        Participant.objects.for_workspace(scope.workspace_id)
        .filter(first_purchase_at__isnull=False)
        .filter(scope.within("first_purchase_at"))
    )
    counts = new.aggregate(
        n=Count("pk"),
        referred=Count(
            "pk",
            filter=Q(pk__in=queries.referrals(scope).filter(queries.LIVE).values("referee_id")),
        ),
    )
    n, referred = int(counts["n"]), int(counts["referred"])
    return Growth(
        k_factor=rate(f.converted, f.advocates),
        new_customers=n,
        referred_customers=referred,
        referred_share=rate(referred, n),
    )


@dataclass(frozen=True)
class Day:
    day: date
    clicks: int
    referrals: int
    conversions: int  # converted and not reversed since (the funnel's `converted`)


def daily(scope: Scope) -> tuple[Day, ...]:
    """Clicks, friends who came and conversions per UTC day of the period, every day listed
    (zeros too). Without a start or an end, from the first to the last day with any."""
    series: dict[str, dict[date, int]] = {}
    for name, qs, field in (
        ("clicks", queries.clicks(scope), "created_at"),
        ("referrals", queries.came(scope), "created_at"),
        ("conversions", queries.converted(scope), "converted_at"),
    ):
        series[name] = {
            day: int(n)
            for day, n in qs.annotate(day=TruncDate(field, tzinfo=UTC))
            .values_list("day")
            .annotate(n=Count("pk"))
            .order_by()
        }
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
