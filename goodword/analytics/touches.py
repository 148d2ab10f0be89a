"""A converted friend's touches and each advocate's share of the conversion: the part of
attribution (`goodword.analytics.attribution`, whose docstring defines the terms) that the raw
computation and the rollups (`rollup_attribution`) both run, so their shares are the same
floats.

Only conversions where an event named another advocate of the program by then are looked at
here ("candidates"); every other conversion is its referral advocate's whole under every model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from goodword.analytics import queries
from goodword.analytics.scope import add_to
from goodword.ingest.models import Event
from goodword.lib.errors import Invalid
from goodword.referrals.models import Referral

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
class Conversion:
    pk: int
    workspace: int
    advocate: int
    live: bool  # counts as a converted friend (not reversed)
    customer: str
    program: int
    converted_at: datetime
    first_touch_at: datetime
    window: timedelta


def day_of(at: datetime) -> date:
    """The UTC day of a conversion (the periods' days)."""
    return at.astimezone(UTC).date()


def others(c: Conversion, touches: dict[tuple[str, int], list[Touch]]) -> list[Touch]:
    """The friend's touches that count for this conversion (within the program's window),
    or none when no other advocate than the referral's is among them. Pure."""
    counted = [
        t
        for t in touches.get((c.customer, c.program), ())
        if c.converted_at - c.window <= t.at <= c.converted_at
    ]
    if not {t.advocate for t in counted} - {c.advocate}:
        return []  # the other advocate's touch was outside the window: one advocate
    return counted


def shares_of(model: str, c: Conversion, counted: Sequence[Touch]) -> dict[int, float]:
    """`shares` of a multi-touch conversion: the referral's own touch and the counted ones."""
    own = Touch(c.advocate, c.first_touch_at, 0)
    return shares(model, locked=c.advocate, touches=[own, *counted], converted_at=c.converted_at)


def candidates(conversions: QuerySet[Referral]) -> list[Conversion]:
    """The conversions of `conversions` where an event of the friend named another advocate
    of the program by the conversion (the window is checked in Python, per program), by pk."""
    other = Event.objects.filter(
        ~Q(advocate_id=OuterRef("advocate_id")),
        workspace_id=OuterRef("workspace_id"),
        customer_external_id=OuterRef("referee__external_id"),
        advocate__program_id=OuterRef("program_id"),
        occurred_at__lte=OuterRef("converted_at"),
        touched_at__lte=OuterRef("converted_at"),
    )
    rows = (
        conversions
        .filter(Exists(other))
        .annotate(live=ExpressionWrapper(queries.LIVE, output_field=BooleanField()))
        .values_list(
            "pk", "workspace_id", "advocate_id", "live", "referee__external_id", "program_id",
            "converted_at", "clicked_at", "created_at", "program__attribution_days",
        )
        .order_by("pk")
    )  # fmt: skip
    out = []
    for pk, ws, adv, live, customer, program, converted, clicked, created, days in rows:
        assert converted is not None  # noqa: S101 - `conversions` are those with a conversion
        out.append(
            Conversion(pk, ws, adv, bool(live), customer, program, converted, clicked or created,
                       timedelta(days=days))
        )  # fmt: skip
    return out


def net_by_referral(
    conversions: QuerySet[Referral], pks: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Net revenue (gross less what was refunded so far) of these referrals' orders."""
    out: dict[int, dict[str, int]] = {}
    for chunk in chunks(pks):
        for r in queries.revenue_by(conversions.filter(pk__in=chunk), "pk"):
            if r["order_currency"]:
                net = int(r["gross"]) - int(r["refunded"])
                add_to(out.setdefault(r["pk"], {}), [(r["order_currency"], net)])
    return out


def touches_of(
    workspace_id: int, conversions: Sequence[Conversion]
) -> dict[tuple[str, int], list[Touch]]:
    """The friends' touches from their events that happened by the conversion, by (customer,
    program): a friend converts at most once per program (one live referral each). Each list
    is in event order, so the shares of a conversion are the same floats wherever computed."""
    converted_at = {(c.customer, c.program): c.converted_at for c in conversions}
    out: dict[tuple[str, int], list[Touch]] = {}
    for chunk in chunks(sorted({c.customer for c in conversions})):
        rows = (
            Event.objects.for_workspace(workspace_id)
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
    for found in out.values():
        found.sort(key=lambda t: t.order)
    return out


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`items` in slices small enough for one `IN (...)` on every database."""
    for first in range(0, len(items), size):
        yield items[first : first + size]
