"""What a number is about: a workspace, maybe one program, maybe a period; and the small value
types every analytics function returns (money per currency, rates)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from goodword.lib.errors import Invalid

# Scopes made while it is set compute from the rows (`computed_raw`).
_RAW: ContextVar[bool] = ContextVar("analytics_raw", default=False)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A period longer than this is refused: the daily series would be too long to draw or send.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Scope:
    """A workspace, optionally one program, and optionally a period of whole days.

    Days are UTC calendar days of business time (`occurred_at` of the events, a click's
    time), from `start` to `end`, both included. No `start` means since the beginning; no `end`
    means up to now and on.
    """

    workspace_id: int
    program_id: int | None = None
    start: date | None = None
    end: date | None = None
    # Compute every number from the rows, not the rollups: the reference the rollups are
    # tested against (and benchmarked against).
    raw: bool = field(default_factory=_RAW.get)

    @property
    def since(self) -> datetime | None:
        return datetime.combine(self.start, time(), tzinfo=UTC) if self.start else None

    @property
    def until(self) -> datetime | None:
        """The first instant after the period (exclusive), or None."""
        if self.end is None:
            return None
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def within(self, field: str) -> Q:
        """`field` (a datetime) falls in the period."""
        q = Q()
        if self.since is not None:
            q &= Q(**{f"{field}__gte": self.since})
        if self.until is not None:
            q &= Q(**{f"{field}__lt": self.until})
        return q

    def by_end(self, field: str) -> Q:
        """`field` (a datetime) is before the end of the period."""
        return Q(**{f"{field}__lt": self.until}) if self.until is not None else Q()

    def of(self, qs: QuerySet[Any], program: str = "program_id") -> QuerySet[Any]:
        """Rows of this workspace (and program, when one is chosen)."""
        qs = qs.filter(workspace_id=self.workspace_id)
        if self.program_id is not None:
            qs = qs.filter(**{program: self.program_id})
        return qs


@contextmanager
def computed_raw() -> Iterator[None]:
    """Every scope made inside computes from the rows: the benchmark renders the same page or
    stats call this way as its reference."""
    token = _RAW.set(True)
    try:
        yield
    finally:
        _RAW.reset(token)


class BadPeriod(Invalid):
    """A `from` or `to` that is not a date, or a period that runs backwards (422)."""

    code = "validation_error"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(
            f"query parameter {field!r}: {problem}",
            details=[{"loc": ["query", field], "msg": problem, "type": "period"}],
        )
        self.field = field
        self.problem = problem


def parse_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """`from` and `to` as people and clients send them (YYYY-MM-DD, both optional); raises
    `BadPeriod` naming the field when one is not a date or the period runs backwards."""
    days: dict[str, date | None] = {}
    for name, text in (("from", start), ("to", end)):
        if text is None or text.strip() == "":
            days[name] = None
            continue
        try:
            if not _DAY.fullmatch(text.strip()):
                raise ValueError(text)
            days[name] = date.fromisoformat(text.strip())
        except ValueError:
            raise BadPeriod(name, "must be a date such as 2026-03-01") from None
    first, last = days["from"], days["to"]
    if first is not None and last is not None:
        if first > last:
            raise BadPeriod("from", "must be on or before `to`")
        if (last - first).days + 1 > MAX_DAYS:
            raise BadPeriod("to", f"must be at most {MAX_DAYS} days after `from`")
    return first, last


@dataclass(frozen=True)
class Money:
    """An amount in minor units of one currency. Amounts of two currencies are never added."""

    currency: str
    amount: int


def per_currency(totals: dict[str, int]) -> tuple[Money, ...]:
    return tuple(Money(currency, int(totals[currency])) for currency in sorted(totals))


def add_to(totals: dict[str, int], rows: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    for currency, amount in rows:
        totals[currency] = totals.get(currency, 0) + int(amount or 0)
    return totals


def rate(part: int, whole: int) -> float | None:
    """`part / whole` to four decimal places (0.3333), or None when `whole` is 0."""
    return round(part / whole, 4) if whole else None


def per(amount: int, count: int) -> int | None:
    """`amount / count` in whole minor units, halves rounded away from zero; None for 0."""
    if not count:
        return None
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) + count) // (2 * count))
