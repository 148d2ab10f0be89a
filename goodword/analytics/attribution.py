"""Who gets the credit for a friend several advocates touched: first-touch, last-touch, linear
and time-decay views of the same converted friends and net revenue.

A *touch* is what Goodword keeps of a friend meeting an advocate:

- the referral's own touch: its advocate (the one the first touch locked, who earns the
  rewards) at `first_touch_at`;
- every business event that presented an advocate (a code, a `gw_ref` link token, a coupon
  code, an invite) and was resolved to one when it arrived: `Event.advocate` at
  `Event.touched_at` (the click's time for a token). Ingestion stores it on the event whether
  or not the friend was already locked to someone else, so a second advocate's touch is kept
  there; nothing else records it.

A click alone is no touch of a friend: `Click` has no visitor id, so it is tied to a friend
only when an event brings its token back (then that event is the touch).

A touch counts for a conversion when it is of an advocate of the referral's program, the event
happened at or before the conversion, and the touch lies within the program's attribution
window before it. Each advocate counts once per friend, at their latest touch: a signup and a
purchase carrying the same code or link token are one advocate's reach, not two.

Shares of a friend sum to 1 under every model, so credited friends and revenue across
advocates add up to the converted friends and the net revenue of the period. Revenue is
shared in whole minor units (largest remainder), so its totals are exact; friends are shared
as fractions (floats).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q

from goodword.analytics import queries
from goodword.analytics.scope import Money, Scope, add_to, per_currency
from goodword.ingest.models import Event
from goodword.lib.errors import Invalid
from goodword.participants.models import Advocate

T = TypeVar("T")

FIRST_TOUCH, LAST_TOUCH, LINEAR, TIME_DECAY = "first_touch", "last_touch", "linear", "time_decay"
MODELS = (FIRST_TOUCH, LAST_TOUCH, LINEAR, TIME_DECAY)
# Time-decay: a touch's weight halves for every 7 days it lies before the conversion.
HALF_LIFE = timedelta(days=7)


class UnknownModel(Invalid):
    """An attribution model Goodword does not know (422)."""

    code = "unknown_attribution_model"

    def __init__(self, model: str) -> None:
        super().__init__(
            f"model {model!r} is not an attribution model; use one of {', '.join(MODELS)}",
            details=[{"loc": ["query", "model"], "msg": "unknown model", "type": "model"}],
        )


def parse_model(text: str | None) -> str:
    """The model asked for (first-touch when none); `UnknownModel` for any other word."""
    model = (text or "").strip() or FIRST_TOUCH
    if model not in MODELS:
        raise UnknownModel(model)
    return model


@dataclass(frozen=True)
class Touch:
    advocate: int  # an advocate's id
    at: datetime
    order: int = 0  # ties at the same instant: the later event wins (the lock's own is 0)


def shares(
    model: str, *, locked: int, touches: Sequence[Touch], converted_at: datetime
) -> dict[int, float]:
    """Each advocate's share of one converted friend, summing to 1. Pure.

    `locked` is the referral's advocate (first-touch gives it everything); `touches` are the
    friend's counted touches, the locked advocate's among them or not.
    """
    latest: dict[int, Touch] = {}
    for touch in touches:
        held = latest.get(touch.advocate)
        if held is None or (touch.at, touch.order) > (held.at, held.order):
            latest[touch.advocate] = touch
    if model == FIRST_TOUCH or not latest:
        return {locked: 1.0}
    if model == LAST_TOUCH:
        last = max(latest.values(), key=lambda t: (t.at, t.order))
        return {last.advocate: 1.0}
    if model == LINEAR:
        return {advocate: 1.0 / len(latest) for advocate in latest}
    if model == TIME_DECAY:
        half_life = HALF_LIFE.total_seconds()
        weights = {
            a: 0.5 ** (max(0.0, (converted_at - t.at).total_seconds()) / half_life)
            for a, t in latest.items()
        }
        total = sum(weights.values())
        return {a: w / total for a, w in weights.items()}
    raise UnknownModel(model)


def split(amount: int, parts: dict[int, float]) -> dict[int, int]:
    """`amount` (minor units) shared by `parts` in whole units that add up to it exactly: the
    largest remainders get the leftover units, ties to the lower key. Pure."""
    exact = {key: amount * share for key, share in parts.items()}
    whole = {key: int(value // 1) for key, value in exact.items()}
    left = amount - sum(whole.values())
    by_remainder = sorted(parts, key=lambda key: (-(exact[key] - whole[key]), key))
    for key in by_remainder[: max(0, left)]:
        whole[key] += 1
    return whole


@dataclass(frozen=True)
class Credit:
    advocate: str  # public id
    participant: str  # the advocate's participant's public id
    code: str
    name: str
    external_id: str
    touched: int  # converted friends this advocate touched (any model)
    friends: float  # converted friends credited under the model
    revenue: tuple[Money, ...]  # net revenue credited under the model
    first_touch_friends: int  # the same under first-touch (the referrals' advocates)
    first_touch_revenue: tuple[Money, ...]


@dataclass(frozen=True)
class Attribution:
    model: str
    half_life_days: int
    friends: int  # converted friends in the period (the funnel's `converted`)
    revenue: tuple[Money, ...]  # their net revenue (the stats' `revenue`)
    multi_touch: int  # of the conversions, those touched by more than one advocate
    credits: tuple[Credit, ...]  # most credited friends first


@dataclass(frozen=True)
class _Conversion:
    pk: int
    advocate: int
    live: bool  # counts as a converted friend (not reversed)
    customer: str
    program: int
    converted_at: datetime
    first_touch_at: datetime
    window: timedelta


def attribution(scope: Scope, model: str) -> Attribution:
    """Credit per advocate of the period's conversions under `model` (see the module).

    Most friends were reached by one advocate, who gets them whole under every model: those
    are counted in SQL as first-touch. Only the conversions where an event named another
    advocate of the program by then are loaded, and their credit moved by the model's shares.
    """
    model = parse_model(model)
    first_friends = _first_touch_friends(scope)
    first_revenue = _first_touch_revenue(scope)
    friends = {a: float(n) for a, n in first_friends.items()}
    revenue = {a: dict(totals) for a, totals in first_revenue.items()}
    touched = dict(first_friends)
    multi = 0
    candidates = _candidates(scope)
    net = _net_by_referral(scope, [c.pk for c in candidates])
    touches = _touches(scope, candidates)
    for c in candidates:
        counted = [
            t
            for t in touches.get((c.customer, c.program), ())
            if c.converted_at - c.window <= t.at <= c.converted_at
        ]
        others = {t.advocate for t in counted} - {c.advocate}
        if not others:
            continue  # the other advocate's touch was outside the window: one advocate
        multi += 1
        if c.live:
            for advocate in others:
                touched[advocate] = touched.get(advocate, 0) + 1
        own = Touch(c.advocate, c.first_touch_at, 0)
        mine = shares(
            model, locked=c.advocate, touches=[own, *counted], converted_at=c.converted_at
        )
        if c.live:
            friends[c.advocate] -= 1.0
            for advocate, share in mine.items():
                friends[advocate] = friends.get(advocate, 0.0) + share
        for currency, amount in net.get(c.pk, {}).items():
            add_to(revenue.setdefault(c.advocate, {}), [(currency, -amount)])
            for advocate, part in split(amount, mine).items():
                add_to(revenue.setdefault(advocate, {}), [(currency, part)])
    totals: dict[str, int] = {}
    for per_advocate in first_revenue.values():
        add_to(totals, per_advocate.items())
    return Attribution(
        model=model,
        half_life_days=HALF_LIFE.days,
        friends=sum(first_friends.values()),
        revenue=per_currency(totals),
        multi_touch=multi,
        credits=_credits(scope, friends, first_friends, revenue, first_revenue, touched),
    )


def _first_touch_friends(scope: Scope) -> dict[int, int]:
    rows = queries.converted(scope).values_list("advocate_id").annotate(n=Count("pk")).order_by()
    return {advocate: int(n) for advocate, n in rows}


def _first_touch_revenue(scope: Scope) -> dict[int, dict[str, int]]:
    """Net revenue of the period's converting orders per referral advocate and currency."""
    out: dict[int, dict[str, int]] = {}
    for r in queries.revenue_by(queries.conversions(scope), "advocate_id"):
        if r["order_currency"]:
            net = int(r["gross"]) - int(r["refunded"])
            add_to(out.setdefault(r["advocate_id"], {}), [(r["order_currency"], net)])
    return out


def _candidates(scope: Scope) -> list[_Conversion]:
    """The period's conversions where an event of the friend named another advocate of the
    program by the conversion (the window is checked in Python, per program)."""
    other = Event.objects.filter(
        ~Q(advocate_id=OuterRef("advocate_id")),
        workspace_id=OuterRef("workspace_id"),
        customer_external_id=OuterRef("referee__external_id"),
        advocate__program_id=OuterRef("program_id"),
        occurred_at__lte=OuterRef("converted_at"),
        touched_at__lte=OuterRef("converted_at"),
    )
    rows = (
        queries.conversions(scope)
        .filter(Exists(other))
        .annotate(live=ExpressionWrapper(queries.LIVE, output_field=BooleanField()))
        .values_list(
            "pk", "advocate_id", "live", "referee__external_id", "program_id", "converted_at",
            "clicked_at", "created_at", "program__attribution_days",
        )
        .order_by("pk")
    )  # fmt: skip
    out = []
    for pk, adv, live, customer, program, converted, clicked, created, days in rows:
        assert converted is not None  # noqa: S101 - `conversions` are those with a conversion
        out.append(
            _Conversion(pk, adv, bool(live), customer, program, converted, clicked or created,
                        timedelta(days=days))
        )  # fmt: skip
    return out


def _net_by_referral(scope: Scope, pks: Sequence[int]) -> dict[int, dict[str, int]]:
    """Net revenue (gross less what was refunded so far) of these referrals' orders."""
    out: dict[int, dict[str, int]] = {}
    for chunk in _chunks(pks):
        for r in queries.revenue_by(queries.conversions(scope).filter(pk__in=chunk), "pk"):
            if r["order_currency"]:
                net = int(r["gross"]) - int(r["refunded"])
                add_to(out.setdefault(r["pk"], {}), [(r["order_currency"], net)])
    return out


def _touches(scope: Scope, conversions: list[_Conversion]) -> dict[tuple[str, int], list[Touch]]:
    """The friends' touches from their events that happened by the conversion, by (customer,
    program): a friend converts at most once per program (one live referral each)."""
    converted_at = {(c.customer, c.program): c.converted_at for c in conversions}
    out: dict[tuple[str, int], list[Touch]] = {}
    for chunk in _chunks(sorted({c.customer for c in conversions})):
        rows = (
            Event.objects.for_workspace(scope.workspace_id)
            .filter(
                advocate__isnull=False, touched_at__isnull=False, customer_external_id__in=chunk
            )
            .values_list("pk", "customer_external_id", "advocate_id", "advocate__program_id",
                         "touched_at", "occurred_at")
            .order_by()
        )  # fmt: skip
        for pk, customer, advocate, program, touched_at, occurred_at in rows:
            until = converted_at.get((customer, program))
            if until is not None and touched_at is not None and occurred_at <= until:
                out.setdefault((customer, program), []).append(Touch(advocate, touched_at, pk))
    return out


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`items` in slices small enough for one `IN (...)` on every database."""
    for first in range(0, len(items), size):
        yield items[first : first + size]


def _credits(
    scope: Scope,
    friends: dict[int, float],
    first_friends: dict[int, int],
    revenue: dict[int, dict[str, int]],
    first_revenue: dict[int, dict[str, int]],
    touched: dict[int, int],
) -> tuple[Credit, ...]:
    ids = sorted(touched.keys() | revenue.keys() | first_revenue.keys())
    people = {
        row["pk"]: row
        for row in scope.of(Advocate.objects.all(), program="program_id")
        .filter(pk__in=ids)
        .values("pk", "public_id", "code", "participant__public_id", "participant__name",
                "participant__external_id")
    }  # fmt: skip
    credits = [
        Credit(
            advocate=people[pk]["public_id"],
            participant=people[pk]["participant__public_id"],
            code=people[pk]["code"],
            name=people[pk]["participant__name"],
            external_id=people[pk]["participant__external_id"],
            touched=touched.get(pk, 0),
            friends=friends.get(pk, 0.0),
            revenue=per_currency(revenue.get(pk, {})),
            first_touch_friends=first_friends.get(pk, 0),
            first_touch_revenue=per_currency(first_revenue.get(pk, {})),
        )
        for pk in ids
        if pk in people
    ]
    credits.sort(key=lambda c: (-c.friends, -c.first_touch_friends, c.code, c.advocate))
    return tuple(credits)
