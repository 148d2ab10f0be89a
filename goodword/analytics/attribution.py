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

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import accumulate, groupby
from operator import itemgetter
from typing import Any, overload

from django.db import connection
from django.db.models import BigIntegerField, Count, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from goodword.analytics import queries, rolled, rollups, touches
from goodword.analytics import rollup_db as db
from goodword.analytics.models import AttributionDay, AttributionFact
from goodword.analytics.scope import Money, Scope, add_to, per_currency
from goodword.analytics.touches import (
    FIRST_TOUCH,
    HALF_LIFE,
    LAST_TOUCH,
    LINEAR,
    MODELS,
    TIME_DECAY,
    Touch,
    UnknownModel,
    parse_model,
    shares,
    split,
)
from goodword.participants.models import Advocate

__all__ = [
    "FIRST_TOUCH", "LAST_TOUCH", "LINEAR", "MODELS", "TIME_DECAY", "Attribution", "Credit",
    "Credits", "Touch", "UnknownModel", "attribution", "parse_model", "shares", "split",
]  # fmt: skip


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
    credits: Sequence[Credit]  # most credited friends first (`Credits`)


@dataclass(frozen=True)
class _Move:
    """What one conversion several advocates touched moves from its referral advocate."""

    live: bool
    locked: int  # the referral's advocate
    others: tuple[int, ...]  # the other advocates whose touches count
    shares: dict[int, float]  # under the model
    currency: str  # of its net revenue, "" without
    revenue: dict[int, int]  # credited, the locked advocate's less the net; keys: shown


def attribution(scope: Scope, model: str) -> Attribution:
    """Credit per advocate of the period's conversions under `model` (see the module).

    Most friends were reached by one advocate, who gets them whole under every model: those
    are counted as first-touch (in SQL, or from the daily sums of the rollups). Only the
    conversions where an event named another advocate of the program by then move credit by
    the model's shares (computed here, or read from the rollups' facts, which hold the same
    floats); they are applied in referral order, so the sums are the same floats both ways.
    """
    model = parse_model(model)
    if not scope.raw:
        return _rolled(scope, model)
    first_friends, first_revenue = _first_touch_friends(scope), _first_touch_revenue(scope)
    moves = _moves(scope, model)
    friends = {a: float(n) for a, n in first_friends.items()}
    revenue = dict(first_revenue)  # an advocate's totals are copied when a move changes them
    moved: set[int] = set()
    touched = dict(first_friends)
    for m in moves:
        if m.live:
            for advocate in m.others:
                touched[advocate] = touched.get(advocate, 0) + 1
            friends[m.locked] -= 1.0
            for advocate, share in m.shares.items():
                friends[advocate] = friends.get(advocate, 0.0) + share
        for advocate, amount in m.revenue.items():
            if advocate not in moved:
                moved.add(advocate)
                revenue[advocate] = dict(revenue.get(advocate, {}))
            add_to(revenue[advocate], [(m.currency, amount)])
    totals: dict[str, int] = {}
    for per_advocate in first_revenue.values():
        for currency, amount in per_advocate.items():
            totals[currency] = totals.get(currency, 0) + amount
    return Attribution(
        model=model,
        half_life_days=HALF_LIFE.days,
        friends=sum(first_friends.values()),
        revenue=per_currency(totals),
        multi_touch=len(moves),
        credits=_credits(scope, friends, first_friends, revenue, first_revenue, touched),
    )


def _moves(scope: Scope, model: str) -> list[_Move]:
    """The period's multi-touch conversions, computed from the rows, in referral order."""
    conversions = queries.conversions(scope)
    candidates = touches.candidates(conversions)
    net = touches.net_by_referral(conversions, [c.pk for c in candidates])
    seen = touches.touches_of(scope.workspace_id, candidates)
    out = []
    for c in candidates:
        counted = touches.others(c, seen)
        if not counted:
            continue
        mine = touches.shares_of(model, c, counted)
        moved: dict[int, int] = {}
        (currency, amount), *_ = [*net.get(c.pk, {}).items(), ("", 0)]  # one order each
        if currency:
            moved[c.advocate] = -amount
            for advocate, part in split(amount, mine).items():
                moved[advocate] = moved.get(advocate, 0) + part
        others = tuple(sorted({t.advocate for t in counted} - {c.advocate}))
        out.append(_Move(c.live, c.advocate, others, mine, currency, moved))
    return out


def _rolled(scope: Scope, model: str) -> Attribution:
    """`attribution` from the rollups without building every advocate's credit: the daily sums
    give each advocate's first-touch friends (SQL groups them), the facts the few moves; the
    advocates are ranked on those numbers, and only the rows read are looked up."""
    with rollups.caught_up():
        friends_total, totals, first = _rolled_sums(scope)
        moves = _rolled_moves(scope, model)
    first_n = dict(first)
    friends, touched, moved = _applied(moves, first_n)
    extra = {a for m in moves if m.live for a in m.others} | {a for m in moves for a in m.revenue}
    changed = friends.keys() | touched.keys() | moved.keys()
    ranked: dict[tuple[float, int], list[int]] = {}
    for n, group in groupby((row for row in first if row[0] not in changed), key=itemgetter(1)):
        ranked.setdefault((-float(n), -n), []).extend(row[0] for row in group)
    for pk in changed & (first_n.keys() | extra):
        n = first_n.get(pk, 0)
        ranked.setdefault((-friends.get(pk, float(n)), -n), []).append(pk)
    revenue = _RolledRevenue(scope)

    def look_up(pks: Sequence[int]) -> dict[int, Credit]:
        first_revenue = revenue.of(pks)
        credits = {}
        for pk, who in _advocates(scope, pks):
            n = first_n.get(pk, 0)
            mine = dict(first_revenue.get(pk, {}))
            credits[pk] = Credit(
                **who,
                touched=touched.get(pk, n),
                friends=friends.get(pk, float(n)),
                revenue=per_currency(add_to(mine, moved.get(pk, []))),
                first_touch_friends=n,
                first_touch_revenue=per_currency(first_revenue.get(pk, {})),
            )
        return credits

    return Attribution(
        model=model,
        half_life_days=HALF_LIFE.days,
        friends=friends_total,
        revenue=per_currency(totals),
        multi_touch=len(moves),
        credits=Credits([ranked[key] for key in sorted(ranked)], partial(_names, scope), look_up),
    )


def _rolled_sums(scope: Scope) -> tuple[int, dict[str, int], list[tuple[int, int]]]:
    """The converted friends, their net revenue per currency, and (advocate, first-touch
    friends) of every advocate credited, most friends first: the sums of the raw
    `_first_touch_friends` and `_first_touch_revenue`, added up by the database.

    The daily rows count referrals (`converted`, `orders`), never below 0: an advocate has
    first-touch friends, or orders in a currency, exactly when their sums are above 0, and a
    currency without orders has no revenue. So one sum per advocate decides who is credited
    and how they rank, without each advocate's sums per currency (26,000 rows a month at
    1,000,000 referrals, 100 ms of Python) coming out of the database."""
    days = rolled.of_period(scope, AttributionDay.objects.all())
    # As bigint: PostgreSQL sums bigints as numeric, which arrive as slow Decimals.
    by_currency = days.values_list("currency").annotate(
        n=Cast(Sum("converted"), BigIntegerField()),
        orders=Cast(Sum("orders"), BigIntegerField()),
        net=Cast(Sum("revenue"), BigIntegerField()),
    )
    friends, totals = 0, {}
    for currency, n, orders, net in _fetch(by_currency.order_by()):
        friends += int(n)
        if currency and orders:
            totals[currency] = int(net)
    # A day's counts fit an integer: summed as integers, PostgreSQL adds them up as bigints,
    # not numeric, and keeps its 26,000 groups in memory (30 ms, not 45, at 1,000,000).
    per_advocate = (
        days.values_list("advocate_id")
        .annotate(
            n=Sum(Cast("converted", IntegerField())),
            orders=Sum(Cast("orders", IntegerField()), filter=~Q(currency="")),
        )
        .filter(Q(n__gt=0) | Q(orders__gt=0))
        .values_list("advocate_id", "n")
        .order_by("-n")
    )
    return friends, totals, _fetch(per_advocate)  # sums of integers: ints


def _applied(
    moves: list[_Move], first_n: dict[int, int]
) -> tuple[dict[int, float], dict[int, int], dict[int, list[tuple[str, int]]]]:
    """The friends, touched friends and revenue moves of the advocates the moves change, in
    `attribution`'s order of operations (so its floats)."""
    friends: dict[int, float] = {}
    touched: dict[int, int] = {}
    moved: dict[int, list[tuple[str, int]]] = {}
    for m in moves:
        if m.live:
            for advocate in m.others:
                touched[advocate] = touched.get(advocate, first_n.get(advocate, 0)) + 1
            friends[m.locked] = friends.get(m.locked, float(first_n[m.locked])) - 1.0
            for advocate, share in m.shares.items():
                n = first_n.get(advocate, 0)
                friends[advocate] = friends.get(advocate, float(n)) + share
        for advocate, amount in m.revenue.items():
            moved.setdefault(advocate, []).append((m.currency, amount))
    return friends, touched, moved


class _RolledRevenue:
    """First-touch net revenue per advocate and currency from the daily sums: of a page's
    advocates, or of the whole period once when more are read (an export)."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._all: dict[int, dict[str, int]] | None = None

    def of(self, pks: Sequence[int]) -> dict[int, dict[str, int]]:
        if self._all is None and len(pks) > 100:
            self._all = self._read(None)
        return self._all if self._all is not None else self._read(pks)

    def _read(self, pks: Sequence[int] | None) -> dict[int, dict[str, int]]:
        rows = rolled.of_period(self._scope, AttributionDay.objects.exclude(currency=""))
        if pks is not None:
            rows = rows.filter(advocate_id__in=pks)
        sums = (
            rows.values_list("advocate_id", "currency")
            # As bigint: PostgreSQL sums bigints as numeric, which arrive as slow Decimals.
            .annotate(orders=Cast(Sum("orders"), BigIntegerField()))
            .annotate(net=Cast(Sum("revenue"), BigIntegerField()))
            .order_by()
        )
        out: dict[int, dict[str, int]] = {}
        for advocate, currency, orders, net in _fetch(sums):
            if orders:
                out.setdefault(advocate, {})[currency] = int(net)
        return out


def _fetch(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of `rows` as the database driver gives them: thousands of rows, without the
    ORM's converters per value (booleans may come as 0 and 1)."""
    statement, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def _rolled_moves(scope: Scope, model: str) -> list[_Move]:
    """`_moves` from the facts."""
    rollups.catch_up()
    rows = (
        rolled.of_period(scope, AttributionFact.objects.filter(model=model))
        .values_list("referral_id", "advocate_id", "live", "locked", "share", "currency",
                     "revenue")
        .order_by("referral_id", "advocate_id")
    )  # fmt: skip
    out = []
    for _, group in groupby(_fetch(rows), key=lambda row: row[0]):
        facts = list(group)
        live, currency = bool(facts[0][2]), facts[0][5]
        locked = next(row[1] for row in facts if row[3])
        out.append(
            _Move(
                live=live,
                locked=locked,
                others=tuple(row[1] for row in facts if not row[3]),
                shares={row[1]: row[4] for row in facts if row[4] is not None},
                currency=currency,
                revenue={
                    row[1]: row[6] for row in facts if currency and (row[3] or row[4] is not None)
                },
            )
        )
    return out


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


class Credits(Sequence[Credit]):
    """The credits, most credited friends first: groups of advocates tied on their friends,
    best first, each ordered by code and public id when it is first read. A page shows fifty
    of thousands of advocates: only the groups it cuts through are ordered, and only its rows
    looked up."""

    def __init__(
        self,
        groups: list[list[int]],
        sort_keys: Callable[[Sequence[int]], dict[int, tuple[str, str]]],
        look_up: Callable[[Sequence[int]], dict[int, Credit]],
    ) -> None:
        self._groups = groups
        self._starts = list(accumulate((len(g) for g in groups), initial=0))
        self._sort_keys = sort_keys
        self._look_up = look_up
        self._ordered: dict[int, list[int]] = {}  # a group's advocates in their order
        self._found: dict[int, Credit] = {}

    @classmethod
    def of(cls, credits: list[Credit]) -> Credits:
        """Credits already in their order."""
        done = cls([[i] for i in range(len(credits))], lambda _: {}, lambda _: {})
        done._found = dict(enumerate(credits))
        return done

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> Credit: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Credit, ...]: ...

    def __getitem__(self, index: int | slice) -> Credit | tuple[Credit, ...]:
        if isinstance(index, slice):
            if index.step not in (None, 1):
                return tuple(self)[index]
            return tuple(self._range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._range(index, index + 1, 1)[0]

    def __iter__(self) -> Iterator[Credit]:
        for first in range(0, len(self), 500):
            yield from self._range(first, min(first + 500, len(self)), 1)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Credits({tuple(self)!r})"

    def _range(self, start: int, stop: int, step: int) -> list[Credit]:
        """The credits at positions start, start + step, ... before stop (step > 0)."""
        if start >= stop:
            return []
        first = bisect_right(self._starts, start) - 1
        last = bisect_right(self._starts, stop - 1) - 1
        wanted = [i for i in range(first, last + 1) if i not in self._ordered]
        keys = self._sort_keys([pk for i in wanted if len(self._groups[i]) > 1
                                for pk in self._groups[i]])  # fmt: skip
        for i in wanted:
            self._ordered[i] = sorted(self._groups[i], key=lambda pk: keys.get(pk, ("", "")))
        pks = [pk for i in range(first, last + 1) for pk in self._ordered[i]]
        offset = self._starts[first]
        shown = pks[start - offset : stop - offset : step]
        missing = [pk for pk in shown if pk not in self._found]
        if missing:
            self._found.update(self._look_up(missing))
        return [self._found[pk] for pk in shown]


def _advocates(scope: Scope, pks: Sequence[int]) -> list[tuple[int, _Who]]:
    """The scope's advocates `pks`, with `Credit`'s first fields. Every advocate credited is
    of the scope: of a referral of it, or touching its friends for its programs."""
    fields = ("advocate", "participant", "code", "name", "external_id")
    return [(pk, dict(zip(fields, who, strict=True))) for pk, *who in _scoped(scope, pks, (
        "pk", "public_id", "participant__public_id", "code", "participant__name",
        "participant__external_id",
    ))]  # fmt: skip


_Who = dict[str, Any]  # `Credit`'s first fields


def _names(scope: Scope, pks: Sequence[int]) -> dict[int, tuple[str, str]]:
    """What breaks a tie on the numbers: code, then public id."""
    return {pk: (code, public_id) for pk, code, public_id in
            _scoped(scope, pks, ("pk", "code", "public_id"))}  # fmt: skip


def _scoped(scope: Scope, pks: Sequence[int], fields: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """`fields` of the scope's advocates `pks`, a chunk of ids per query: a group tied on the
    numbers can be tens of thousands of advocates, past SQLite's 32,766 parameters."""
    advocates = scope.of(Advocate.objects.all(), program="program_id")
    for chunk in db.chunks(list(pks)):
        yield from advocates.filter(pk__in=chunk).values_list(*fields)


def _credits(
    scope: Scope,
    friends: dict[int, float],
    first_friends: dict[int, int],
    revenue: dict[int, dict[str, int]],
    first_revenue: dict[int, dict[str, int]],
    touched: dict[int, int],
) -> Credits:
    """The raw computation's credits, every one built and sorted."""
    ids = touched.keys() | revenue.keys() | first_revenue.keys()
    credits = [
        Credit(
            **who,
            touched=touched.get(pk, 0),
            friends=friends.get(pk, 0.0),
            revenue=per_currency(revenue.get(pk, {})),
            first_touch_friends=first_friends.get(pk, 0),
            first_touch_revenue=per_currency(first_revenue.get(pk, {})),
        )
        for pk, who in _advocates(scope, sorted(ids))
    ]
    credits.sort(key=lambda c: (-c.friends, -c.first_touch_friends, c.code, c.advocate))
    return Credits.of(credits)
