"""The same numbers split: per advocate (the leaderboard), per channel, per experiment variant,
per tier and per segment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from goodword.analytics import queries, rolled, rolled_leaders
from goodword.analytics import rollup_sql as sql
from goodword.analytics.scope import Money, Scope, add_to, per_currency, rate
from goodword.events.models import DomainEvent
from goodword.participants.models import Advocate
from goodword.programs.models import Program, RewardRule


def _net(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, int]]:
    """Net revenue per `key` value and currency, from `queries.revenue_by` rows."""
    out: dict[Any, dict[str, int]] = {}
    for r in rows:
        if r["order_currency"]:
            totals = out.setdefault(r[key], {})
            add_to(totals, [(r["order_currency"], int(r["gross"]) - int(r["refunded"]))])
    return out


def _cost(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, int]]:
    """Reward cost (pending, approved, fulfilled; money, not points) per `key` value."""
    out: dict[Any, dict[str, int]] = {}
    for r in rows:
        group = queries.REWARD_GROUPS[r["status"]]
        valued = r["count"] > r["unvalued"]
        if group in queries.COST_GROUPS and r["currency"] != queries.POINTS and valued:
            add_to(out.setdefault(r[key], {}), [(r["currency"], int(r["amount"]))])
    return out


def _counts(qs: QuerySet[Any], key: Any) -> dict[Any, int]:
    return {
        k: int(n) for k, n in qs.annotate(k=key).values_list("k").annotate(n=Count("pk")).order_by()
    }


@dataclass(frozen=True)
class Leader:
    advocate: str  # public id
    participant: str  # the advocate's participant's public id
    code: str
    name: str
    external_id: str
    clicks: int
    referrals: int
    converted: int
    revenue: tuple[Money, ...]  # net of refunds, of the friends converted in the period
    rewards: tuple[Money, ...]  # what the advocate earned in the period (cost, not points)
    points: int  # points the advocate earned in the period


def leaderboard(scope: Scope, *, limit: int = 10) -> tuple[Leader, ...]:
    """The advocates with the most friends converted in the period, then the most friends who
    came, then the most clicks; ties by code. Advocates with none of the three are left out."""

    # Three GROUP BYs and a sort here: a correlated count per advocate took seconds at 20,000
    # referrals. Codes are fetched only for the advocates that can make the top.
    if scope.raw:
        converted = _counts(queries.converted(scope), F("advocate_id"))
        came = _counts(queries.came(scope), F("advocate_id"))
        clicked = _counts(queries.clicks(scope), F("advocate_id"))
    else:
        days = rolled_leaders.top_advocates(scope, limit)
        converted, came, clicked = (
            {pk: n[key] for pk, n in days.items() if n[key]}
            for key in ("converted", "came", "clicks")
        )

    def rank(pk: int) -> tuple[int, int, int]:
        return (-converted.get(pk, 0), -came.get(pk, 0), -clicked.get(pk, 0))

    ranked = sorted(converted.keys() | came.keys() | clicked.keys(), key=rank)
    if len(ranked) > limit > 0:
        last = rank(ranked[limit - 1])  # ties with the last place are decided by code
        ranked = [pk for pk in ranked if rank(pk) <= last]
    rows = scope.of(Advocate.objects.all()).filter(pk__in=ranked)
    top = sorted(
        rows.values(
            "pk", "public_id", "participant__public_id", "code", "participant__name",
            "participant__external_id",
        ),
        key=lambda row: (rank(row["pk"]), row["code"], row["pk"]),
    )[:limit]  # fmt: skip
    ids = [row["pk"] for row in top]
    if scope.raw:
        revenue = _net(
            queries.revenue_by(
                queries.conversions(scope).filter(advocate_id__in=ids), "advocate_id"
            ),
            "advocate_id",
        )
        earned = queries.reward_value_by(
            queries.rewards(scope).filter(
                beneficiary=RewardRule.Beneficiary.ADVOCATE, referral__advocate_id__in=ids
            ),
            "referral__advocate_id",
        )
        key = "referral__advocate_id"
    else:
        revenue = _net(rolled.advocate_revenue(scope, ids), "advocate_id")
        earned, key = rolled.advocate_rewards(scope, ids), "advocate_id"
    cost = _cost(earned, key)
    points: dict[int, int] = {}
    for r in earned:
        group = queries.REWARD_GROUPS[r["status"]]
        if r["currency"] == queries.POINTS and group in queries.COST_GROUPS:
            points[r[key]] = points.get(r[key], 0) + int(r["amount"])
    return tuple(
        Leader(
            advocate=row["public_id"],
            participant=row["participant__public_id"],
            code=row["code"],
            name=row["participant__name"],
            external_id=row["participant__external_id"],
            clicks=clicked.get(row["pk"], 0),
            referrals=came.get(row["pk"], 0),
            converted=converted.get(row["pk"], 0),
            revenue=per_currency(revenue.get(row["pk"], {})),
            rewards=per_currency(cost.get(row["pk"], {})),
            points=points.get(row["pk"], 0),
        )
        for row in top
    )


@dataclass(frozen=True)
class Channel:
    channel: str
    clicks: int
    referrals: int
    converted: int
    conversion_rate: float | None  # converted per referral
    revenue: tuple[Money, ...]
    shares: int = 0  # share events through the channel (`referrals.Share.Channel`)


def channels(scope: Scope) -> tuple[Channel, ...]:
    """Share events by the channel shared through; clicks by the channel on the link
    (`?via=`); friends, conversions and revenue by the channel of the click that brought
    them, else by how they were attributed."""
    if scope.raw:
        shares = _counts(queries.shares(scope), F("channel"))
        clicks = _counts(queries.clicks(scope), queries.click_channel())
        came = _counts(queries.came(scope), queries.channel())
        converted = _counts(queries.converted(scope), queries.channel())
        revenue = _net(
            queries.revenue_by(queries.conversions(scope).annotate(ch=queries.channel()), "ch"),
            "ch",
        )
    else:
        counts = rolled.counts_by(scope, "channel")
        clicks, came, converted = counts["clicks"], counts["came"], counts["converted"]
        shares = counts["shares"]
        revenue = _net(rolled.revenue_by(scope, "channel"), "channel")
    names = shares.keys() | clicks.keys() | came.keys() | converted.keys() | revenue.keys()
    rows = [
        Channel(
            channel=name,
            clicks=clicks.get(name, 0),
            referrals=came.get(name, 0),
            converted=converted.get(name, 0),
            conversion_rate=rate(converted.get(name, 0), came.get(name, 0)),
            revenue=per_currency(revenue.get(name, {})),
            shares=shares.get(name, 0),
        )
        for name in names
    ]
    return tuple(
        sorted(rows, key=lambda c: (-c.converted, -c.referrals, -c.clicks, -c.shares, c.channel))
    )


@dataclass(frozen=True)
class Segment:
    """One experiment variant's, one tier's or one segment's numbers."""

    name: str
    advocates: int
    clicks: int
    referrals: int
    converted: int
    conversion_rate: float | None  # converted per referral
    revenue: tuple[Money, ...]
    cost: tuple[Money, ...]


def _segments(scope: Scope, key: Callable[[str], Any]) -> tuple[Segment, ...]:
    """Numbers per value of `key(path to the advocate)`: "" for an Advocate row, "advocate__"
    for a click or referral, "referral__advocate__" for a reward."""
    advocates = _counts(queries.advocates(scope), key(""))
    clicks = _counts(queries.clicks(scope), key("advocate__"))
    came = _counts(queries.came(scope), key("advocate__"))
    converted = _counts(queries.converted(scope), key("advocate__"))
    revenue = _net(
        queries.revenue_by(queries.conversions(scope).annotate(seg=key("advocate__")), "seg"),
        "seg",
    )
    earned = queries.rewards(scope).filter(referral__isnull=False)
    cost = _cost(
        queries.reward_value_by(earned.annotate(seg=key("referral__advocate__")), "seg"), "seg"
    )
    return _segment_rows(advocates, clicks, came, converted, revenue, cost)


def _by_advocate(scope: Scope, key: str) -> tuple[Segment, ...]:
    """`_segments` from the rollups, by the advocates' fact `key` (tier or segment)."""
    numbers = rolled.by_advocate(scope, key)
    return _segment_rows(
        numbers["advocates"],
        numbers["clicks"],
        numbers["came"],
        numbers["converted"],
        _net(numbers["revenue"], "seg"),
        _cost(numbers["cost"], "seg"),
    )


def _segment_rows(
    advocates: dict[Any, int],
    clicks: dict[Any, int],
    came: dict[Any, int],
    converted: dict[Any, int],
    revenue: dict[Any, dict[str, int]],
    cost: dict[Any, dict[str, int]],
) -> tuple[Segment, ...]:
    names = advocates.keys() | clicks.keys() | came.keys() | converted.keys()
    names |= revenue.keys() | cost.keys()
    return tuple(
        Segment(
            name=name,
            advocates=advocates.get(name, 0),
            clicks=clicks.get(name, 0),
            referrals=came.get(name, 0),
            converted=converted.get(name, 0),
            conversion_rate=rate(converted.get(name, 0), came.get(name, 0)),
            revenue=per_currency(revenue.get(name, {})),
            cost=per_currency(cost.get(name, {})),
        )
        for name in sorted(names)
    )


def variants(scope: Scope) -> tuple[Segment, ...]:
    """Per experiment variant each advocate was assigned when enrolled ("holdout": the control
    group, who get no program; "" for advocates enrolled before the experiment). Empty when no
    advocate in scope has a variant. Manual rewards belong to no variant."""
    if scope.raw:
        if not scope.of(Advocate.objects.all()).exclude(variant="").exists():
            return ()
        return _segments(scope, lambda path: F(f"{path}variant"))
    if not rolled.has_variants(scope):
        return ()
    counts = rolled.counts_by(scope, "variant")
    return _segment_rows(
        advocates=rolled.enrolled_by_variant(scope),
        clicks=counts["clicks"],
        came=counts["came"],
        converted=counts["converted"],
        revenue=_net(rolled.revenue_by(scope, "variant"), "variant"),
        cost=_cost(rolled.reward_value_by(scope, "variant", referral_only=True), "variant"),
    )


def tiers(scope: Scope) -> tuple[Segment, ...]:
    """Per tier each advocate has reached now (the latest `advocate.promoted`; "" below the
    first), not the tier they had at each referral. Empty when no program in scope has tiers."""
    programs = scope.of(Program.objects.all(), program="pk")
    if not any(programs.values_list("tiers", flat=True)):
        return ()
    if not scope.raw:
        return _by_advocate(scope, "tier")

    def tier(path: str) -> Any:
        latest = (
            DomainEvent.objects.filter(
                workspace_id=scope.workspace_id,
                name="advocate.promoted",
                subject_id=OuterRef(f"{path}public_id"),
            )
            .order_by("-created_at", "-pk")
            .values(t=KT("data__tier"))[:1]
        )
        return Coalesce(Subquery(latest, output_field=CharField()), Value(""))

    return _segments(scope, tier)


# The advocate attribute that names their segment, as rule conditions match it
# (`{"advocate": {"segment": ["vip"]}}`).
SEGMENT = sql.SEGMENT


def segments(scope: Scope) -> tuple[Segment, ...]:
    """Per segment: the `segment` attribute of each advocate's participant now (what the
    business last sent as `customer.attributes.segment`), not the one at each referral; ""
    for advocates without one. Values are compared as text, true/false for booleans, as rule
    conditions compare them. Empty when no advocate in scope has a segment. Manual rewards
    belong to no segment."""
    if not scope.raw:
        return _by_advocate(scope, "segment") if rolled.has_segments(scope) else ()
    advocates = scope.of(Advocate.objects.all())
    if not advocates.filter(participant__attributes__has_key=SEGMENT).exists():
        return ()

    def segment(path: str) -> Any:
        field = f"{path}participant__attributes__{SEGMENT}"
        # JSON true/false read as text differ between databases (1 or true): name them.
        return Case(
            When(**{field: True}, then=Value("true")),
            When(**{field: False}, then=Value("false")),
            default=Coalesce(
                Cast(KeyTextTransform(SEGMENT, f"{path}participant__attributes"), CharField()),
                Value(""),
            ),
            output_field=CharField(),
        )

    return _segments(scope, segment)
