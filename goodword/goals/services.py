"""Every write of a goal, for the API and the dashboard alike: the same checks, the same
named periods."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction

from goodword.accounts.models import Workspace
from goodword.analytics.scope import MAX_DAYS
from goodword.goals.models import Goal
from goodword.goals.progress import METRICS
from goodword.lib.errors import Invalid, NotFound
from goodword.lib.money import MAX_AMOUNT, is_currency
from goodword.programs.models import Program

# A named period, turned into dates on the day the goal is made (or changed).
PERIODS = {
    "this_month": "This month",
    "this_quarter": "This quarter",
    "this_year": "This year",
    "next_month": "Next month",
    "next_quarter": "Next quarter",
    "next_year": "Next year",
}


# Days a goal may cover: the day after the last must still be a date (`Scope.until`).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


class BadGoal(Invalid):
    """A goal that cannot be: 422 with the field and what to fix, as the API's other
    validation errors (`type` is a stable name for the problem)."""

    code = "validation_error"

    def __init__(self, field: str, problem: str, kind: str) -> None:
        super().__init__(
            f"{field}: {problem}", details=[{"loc": ["body", field], "msg": problem, "type": kind}]
        )
        self.field = field
        self.problem = problem
        self.kind = kind


def period_dates(period: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period around `today` (UTC days)."""
    if period not in PERIODS:
        raise BadGoal("period", f"must be one of {', '.join(PERIODS)}", "unknown_period")
    which, unit = period.split("_")
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    first_month = (today.month - 1) // months * months  # 0-based month the period starts in
    index = today.year * 12 + first_month + (months if which == "next" else 0)
    start = date(index // 12, index % 12 + 1, 1)
    after = index + months
    return start, date(after // 12, after % 12 + 1, 1) - timedelta(days=1)


def check_goal(
    *, name: str, metric: str, target: int, currency: str, start: date, end: date
) -> None:
    """Raise BadGoal for the first thing wrong, naming its field."""
    if not name.strip():
        raise BadGoal("name", "must not be empty", "name_required")
    if len(name) > 200:
        raise BadGoal("name", "must have at most 200 characters", "name_too_long")
    if metric not in METRICS:
        raise BadGoal("metric", f"must be one of {', '.join(METRICS)}", "unknown_metric")
    if METRICS[metric].is_money:
        if not currency:
            raise BadGoal(
                "currency",
                f"is required for {metric}: the currency of the target",
                "currency_required",
            )
        if not is_currency(currency):
            raise BadGoal(
                "currency", f"{currency!r} is not a currency code such as USD or EUR", "currency"
            )
    elif currency:
        raise BadGoal(
            "currency", f"{metric} is a count: leave the currency out", "currency_not_allowed"
        )
    if target <= 0:
        raise BadGoal("target", "must be greater than 0", "target_not_positive")
    if target > MAX_AMOUNT:
        raise BadGoal("target", f"must be at most {MAX_AMOUNT}", "target_too_large")
    for field, day in (("start", start), ("end", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise BadGoal(field, f"must be between {FIRST_DAY} and {LAST_DAY}", "date_out_of_range")
    if end < start:
        raise BadGoal("end", "must be on or after start", "period_backwards")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadGoal("end", f"must be at most {MAX_DAYS} days after start", "period_too_long")


def _same_workspace(workspace_id: int, program: Program | None) -> None:
    if program is not None and program.workspace_id != workspace_id:
        raise NotFound("no such program in this workspace")


@transaction.atomic
def create_goal(
    *,
    workspace: Workspace,
    name: str,
    metric: str,
    target: int,
    start: date,
    end: date,
    currency: str = "",
    program: Program | None = None,
    now: datetime,
) -> Goal:
    _same_workspace(workspace.pk, program)
    name = name.strip()
    check_goal(name=name, metric=metric, target=target, currency=currency, start=start, end=end)
    return Goal.objects.create(
        workspace=workspace,
        program=program,
        name=name,
        metric=metric,
        target=target,
        currency=currency,
        start=start,
        end=end,
        created_at=now,
        updated_at=now,
    )


# What `update_goal` may change.
CHANGEABLE = ("name", "metric", "target", "currency", "start", "end", "program")


@transaction.atomic
def update_goal(*, goal: Goal, now: datetime, **changes: Any) -> dict[str, tuple[Any, Any]]:
    """Change some of a goal's fields; return what changed as {field: (before, after)}.

    A goal that moves to a count metric drops its currency unless one is given (and refused).
    """
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise TypeError(f"not changeable: {sorted(unknown)}")
    if "program" in changes:
        _same_workspace(goal.workspace_id, changes["program"])
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    metric = changes.get("metric", goal.metric)
    if "currency" not in changes and metric in METRICS and not METRICS[metric].is_money:
        changes["currency"] = ""
    after = {name: changes.get(name, getattr(goal, name)) for name in CHANGEABLE}
    check_goal(
        name=after["name"],
        metric=after["metric"],
        target=after["target"],
        currency=after["currency"],
        start=after["start"],
        end=after["end"],
    )
    changed = {}
    for name, value in changes.items():
        before = getattr(goal, name)
        if before != value:
            changed[name] = (before, value)
            setattr(goal, name, value)
    if changed:
        goal.updated_at = now
        goal.save(update_fields=[*changed, "updated_at"])
    return changed


@transaction.atomic
def delete_goal(*, goal: Goal) -> bool:
    """Delete the goal; False when it was gone already."""
    deleted, _ = Goal.objects.filter(pk=goal.pk).delete()
    return bool(deleted)
