"""Goals: a target for one number over a period, with its progress in every answer (the number
from `goodword.analytics`, the pace from `goodword.goals.progress`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import model_validator

from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.goals import services
from goodword.goals.models import Goal
from goodword.goals.progress import METRICS, Progress, progress, today_utc
from goodword.lib.schemas import Currency
from goodword.programs.models import Program

router = Router(tags=["goals"])

MetricName = Literal[
    "referred_customers", "referrals", "clicks", "advocates_sharing", "revenue", "reward_cost"
]
PeriodName = Literal[
    "this_month", "this_quarter", "this_year", "next_month", "next_quarter", "next_year"
]
Target = Annotated[int, Field(strict=True, description="a count, or minor units of `currency`")]
GoalName = Annotated[str, Field(min_length=1, max_length=200)]
PERIOD = "a named period, turned into `start` and `end` (UTC days) when the goal is saved"


class GoalIn(Schema):
    model_config = {"extra": "forbid"}

    name: GoalName
    metric: MetricName
    target: Target
    currency: Currency | None = Field(default=None, description="required for money metrics")
    program: str | None = Field(default=None, description="a program's id; all when left out")
    start: date | None = Field(default=None, description="first day (UTC), with `end`")
    end: date | None = Field(default=None, description="last day, included")
    period: PeriodName | None = Field(default=None, description=PERIOD)

    @model_validator(mode="after")
    def _one_period(self) -> Self:
        dates = self.start is not None or self.end is not None
        if self.period is not None and dates:
            raise ValueError("send either `period` or `start` and `end`, not both")
        if self.period is None and (self.start is None or self.end is None):
            raise ValueError(
                "send `start` and `end` (YYYY-MM-DD), or a `period` such as this_quarter"
            )
        return self

    def dates(self, today: date) -> tuple[date, date]:
        """The period asked for: its two dates, or the named period's around `today`."""
        if self.start is not None and self.end is not None:
            return self.start, self.end
        return services.period_dates(str(self.period), today)


class GoalPatch(PatchIn):
    name: GoalName | Unset = None
    metric: MetricName | Unset = None
    target: Target | Unset = None
    currency: Currency | Unset = None
    program: str | Unset = Field(default=None, description='a program\'s id, or "" for all')
    start: date | Unset = None
    end: date | Unset = None
    period: PeriodName | Unset = Field(default=None, description=PERIOD)

    @model_validator(mode="after")
    def _one_period(self) -> Self:
        if self.period is not None and (self.start is not None or self.end is not None):
            raise ValueError("send either `period` or `start` and `end`, not both")
        return self


class ProgressOut(Schema):
    value: int = Field(description="the number so far: a count, or minor units of `currency`")
    percent: float = Field(description="value / target * 100; may pass 100")
    status: str = Field(description="upcoming, on_track, behind, met or missed")
    days_total: int
    days_elapsed: int = Field(description="days of the period begun, today included")
    days_left: int = Field(description="days from today to `end`, both included")
    current_per_day: float | None = Field(description="value / days_elapsed")
    projected: int | None = Field(description="the value at `end` at the current pace")
    needed_per_day: float | None = Field(
        description="what each day left needs to reach the target (a budget: may still spend)"
    )
    as_of: date


class GoalOut(Schema):
    id: str
    name: str
    metric: str
    program: str | None
    target: int
    currency: str | None
    start: date
    end: date
    is_budget: bool = Field(description="reward_cost: the goal is to stay within the target")
    progress: ProgressOut
    created_at: datetime
    updated_at: datetime


class GoalList(Schema):
    data: list[GoalOut]
    next_cursor: str | None


def render_goal(goal: Goal, found: Progress | None = None) -> dict[str, Any]:
    return {
        "id": goal.public_id,
        "name": goal.name,
        "metric": goal.metric,
        "program": goal.program.public_id if goal.program else None,
        "target": goal.target,
        "currency": goal.currency or None,
        "start": goal.start,
        "end": goal.end,
        "is_budget": METRICS[goal.metric].is_ceiling,
        "progress": found or progress(goal),
        "created_at": goal.created_at,
        "updated_at": goal.updated_at,
    }


def _goals(request: HttpRequest) -> Any:
    return Goal.objects.for_workspace(workspace_of(request)).select_related("program")


def get_goal(request: HttpRequest, goal_id: str) -> Goal:
    goal: Goal = get_object_or_404(_goals(request), public_id=goal_id)
    return goal


def _program(request: HttpRequest, program_id: str) -> Program:
    program: Program = get_object_or_404(
        Program.objects.for_workspace(workspace_of(request)), public_id=program_id
    )
    return program


@router.post("/goals", response={201: GoalOut, **ERRORS})
def create_goal(request: HttpRequest, body: GoalIn) -> Status[dict[str, Any]]:
    start, end = body.dates(today_utc())
    goal = services.create_goal(
        workspace=workspace_of(request),
        program=_program(request, body.program) if body.program else None,
        name=body.name,
        metric=body.metric,
        target=body.target,
        currency=body.currency or "",
        start=start,
        end=end,
        now=timezone.now(),
    )
    return Status(201, render_goal(get_goal(request, goal.public_id)))


@router.get("/goals", response={200: GoalList, **ERRORS})
def list_goals(
    request: HttpRequest, cursor: str | None = None, limit: int = 20, program: str | None = None
) -> dict[str, Any]:
    qs = _goals(request)
    if program:
        qs = qs.filter(program=_program(request, program))
    return paginate(qs, cursor=cursor, limit=limit, render=render_goal)


@router.get("/goals/{goal_id}", response={200: GoalOut, **ERRORS})
def read_goal(request: HttpRequest, goal_id: str) -> dict[str, Any]:
    return render_goal(get_goal(request, goal_id))


@router.patch("/goals/{goal_id}", response={200: GoalOut, **ERRORS})
def change_goal(request: HttpRequest, goal_id: str, body: GoalPatch) -> dict[str, Any]:
    goal = get_goal(request, goal_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"program", "period"})
    if "program" in body.model_fields_set:
        changes["program"] = _program(request, str(body.program)) if body.program else None
    if body.period is not None:
        changes["start"], changes["end"] = services.period_dates(body.period, today_utc())
    services.update_goal(goal=goal, now=timezone.now(), **changes)
    return render_goal(get_goal(request, goal_id))


@router.delete("/goals/{goal_id}", response={204: None, **ERRORS})
def delete_goal(request: HttpRequest, goal_id: str) -> Status[None]:
    services.delete_goal(goal=get_goal(request, goal_id))
    return Status(204, None)
