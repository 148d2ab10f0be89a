"""How far along a goal is: its number so far (from `goodword.analytics`, the same definitions
as the Overview and `GET /stats`), and whether the pace so far reaches the target.

The pace is a straight line: the number so far over the days begun (today counts as begun),
carried to the end of the period. `pace()` is pure; `progress()` loads the number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from goodword.analytics import activity, money
from goodword.analytics.scope import Money, Scope
from goodword.goals.models import Goal


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str  # what one of it is, for sentences ("referred customers", "money")
    is_money: bool
    # True for a budget: the goal is to stay at or under the target.
    is_ceiling: bool
    definition: str


M = Goal.Metric
METRICS: dict[str, Metric] = {
    M.REFERRED_CUSTOMERS: Metric(
        "Referred customers",
        "referred customers",
        is_money=False,
        is_ceiling=False,
        definition="friends converted in the period, not reversed since (the funnel's converted)",
    ),
    M.REFERRALS: Metric(
        "Friends who came",
        "friends",
        is_money=False,
        is_ceiling=False,
        definition="friends who signed up or bought through an advocate in the period",
    ),
    M.CLICKS: Metric(
        "Clicks",
        "clicks",
        is_money=False,
        is_ceiling=False,
        definition="clicks on advocates' links in the period",
    ),
    M.ADVOCATES_SHARING: Metric(
        "Advocates sharing",
        "advocates",
        is_money=False,
        is_ceiling=False,
        definition="advocates with a click or a friend who came in the period",
    ),
    M.REVENUE: Metric(
        "Revenue, net of refunds",
        "money",
        is_money=True,
        is_ceiling=False,
        definition="converting orders of the friends converted in the period, less what was "
        "refunded of them, in the goal's currency",
    ),
    M.REWARD_COST: Metric(
        "Reward cost (a budget)",
        "money",
        is_money=True,
        is_ceiling=True,
        definition="rewards earned in the period, pending, approved or fulfilled, at their "
        "value in the goal's currency: the goal is to stay within the target",
    ),
}
MONEY_METRICS = frozenset(name for name, m in METRICS.items() if m.is_money)


class Status:
    UPCOMING = "upcoming"  # the period has not begun
    ON_TRACK = "on_track"  # at this pace the target is met at the end
    BEHIND = "behind"  # at this pace it is not
    MET = "met"  # reached (a budget: the period ended within it)
    MISSED = "missed"  # the period ended short (a budget: it was overspent)


@dataclass(frozen=True)
class Progress:
    value: int  # a count, or minor units of the goal's currency
    percent: float  # value / target * 100, one decimal; may pass 100
    status: str
    days_total: int
    days_elapsed: int  # days begun, today included (0 before the start, all after the end)
    days_left: int  # days from today to the end, both included (0 after the end)
    current_per_day: float | None  # value / days_elapsed; None before the start
    projected: int | None  # value at the end at the current pace; None before the start
    needed_per_day: float | None  # (target - value) / days_left; None when met or over
    as_of: date


def pace(
    *, value: int, target: int, start: date, end: date, today: date, ceiling: bool
) -> Progress:
    """Where a goal stands on `today`. Pure: no database, no clock."""
    total = (end - start).days + 1
    elapsed = min(max((today - start).days + 1, 0), total)
    left = min(max((end - today).days + 1, 0), total)
    projected = None
    per_day = None
    if elapsed:
        # value * total / elapsed, halves rounded up (values are never negative)
        projected = (2 * value * total + elapsed) // (2 * elapsed)
        per_day = round(value / elapsed, 2)
    to_go = target - value
    # To reach the target, or (a budget) what may still be spent a day.
    needed = None
    if left and (to_go > 0 or (ceiling and to_go == 0)):
        needed = round(to_go / left, 2)
    return Progress(
        value=value,
        percent=round(value * 100 / target, 1),
        status=_status(
            value, target, projected, today=today, start=start, end=end, ceiling=ceiling
        ),
        days_total=total,
        days_elapsed=elapsed,
        days_left=left,
        current_per_day=per_day,
        projected=projected,
        needed_per_day=needed,
        as_of=today,
    )


def _status(
    value: int, target: int, projected: int | None, *, today: date, start: date, end: date,
    ceiling: bool,
) -> str:  # fmt: skip
    if ceiling:
        if value > target:
            return Status.MISSED
        if today < start:
            return Status.UPCOMING
        if today > end:
            return Status.MET
        return Status.ON_TRACK if projected is not None and projected <= target else Status.BEHIND
    if value >= target:
        return Status.MET
    if today < start:
        return Status.UPCOMING
    if today > end:
        return Status.MISSED
    return Status.ON_TRACK if projected is not None and projected >= target else Status.BEHIND


def today_utc() -> date:
    return datetime.now(UTC).date()


def scope_of(goal: Goal) -> Scope:
    return Scope(goal.workspace_id, goal.program_id, goal.start, goal.end)


def _amount(amounts: Iterable[Money], currency: str) -> int:
    return sum(m.amount for m in amounts if m.currency == currency)


class Numbers:
    """The analytics numbers of each scope, computed once however many goals read them."""

    def __init__(self) -> None:
        self.funnels: dict[Scope, activity.Funnel] = {}
        self.revenues: dict[Scope, money.Revenue] = {}
        self.costs: dict[Scope, money.Costs] = {}

    def measure(self, goal: Goal) -> int:
        """The goal's number over its whole period (nothing after its end is counted)."""
        scope = scope_of(goal)
        if goal.metric == M.REVENUE:
            if scope not in self.revenues:
                self.revenues[scope] = money.revenue(scope)
            return _amount(self.revenues[scope].net, goal.currency)
        if goal.metric == M.REWARD_COST:
            if scope not in self.costs:
                self.costs[scope] = money.costs(scope)
            return _amount(self.costs[scope].cost, goal.currency)
        if scope not in self.funnels:
            self.funnels[scope] = activity.funnel(scope)
        funnel = self.funnels[scope]
        counts = {
            M.REFERRED_CUSTOMERS: funnel.converted,
            M.REFERRALS: funnel.referrals,
            M.CLICKS: funnel.clicks,
            M.ADVOCATES_SHARING: funnel.sharing,
        }
        return counts[M(goal.metric)]


def progress(goal: Goal, *, today: date | None = None) -> Progress:
    return progress_of([goal], today=today)[goal.pk]


def progress_of(goals: Iterable[Goal], *, today: date | None = None) -> dict[int, Progress]:
    """Each goal's progress by primary key; goals of the same program and period share one
    computation of each analytics number."""
    day = today or today_utc()
    numbers = Numbers()
    return {
        goal.pk: pace(
            value=numbers.measure(goal),
            target=goal.target,
            start=goal.start,
            end=goal.end,
            today=day,
            ceiling=METRICS[goal.metric].is_ceiling,
        )
        for goal in goals
    }
