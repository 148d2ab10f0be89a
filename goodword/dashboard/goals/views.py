"""Goals: the list with each goal's progress, and making, changing and deleting one. The same
services as `/goals` in the API (`goodword.goals.services`); every change in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit
from goodword.dashboard.goals.forms import GoalForm
from goodword.dashboard.lists import listing
from goodword.goals import services
from goodword.goals.models import Goal
from goodword.goals.progress import METRICS, Metric, Progress, Status, progress_of, today_utc
from goodword.lib import money

BADGES = {
    Status.UPCOMING: "",
    Status.ON_TRACK: "ok",
    Status.BEHIND: "warn",
    Status.MET: "ok",
    Status.MISSED: "bad",
}
WORDS = {
    Status.UPCOMING: "Not started",
    Status.ON_TRACK: "On track",
    Status.BEHIND: "Behind",
    Status.MET: "Met",
    Status.MISSED: "Missed",
}


@dataclass(frozen=True)
class GoalRow:
    goal: Goal
    progress: Progress
    metric: Metric

    def _amount(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        if self.goal.currency:
            return money.display(round(value), self.goal.currency)
        return f"{value:,.2f}".removesuffix(".00") if isinstance(value, float) else f"{value:,}"

    @property
    def value(self) -> str:
        return self._amount(self.progress.value)

    @property
    def target(self) -> str:
        return self._amount(self.goal.target)

    @property
    def projected(self) -> str:
        return self._amount(self.progress.projected)

    @property
    def needed(self) -> str:
        return self._amount(self.progress.needed_per_day)

    @property
    def bar(self) -> int:
        """The bar's fill, in whole percent (a bar stops at 100)."""
        return min(int(self.progress.percent), 100)

    @property
    def badge(self) -> str:
        return BADGES[self.progress.status]

    @property
    def status(self) -> str:
        if self.metric.is_ceiling and self.progress.status == Status.MISSED:
            return "Over budget"
        return WORDS[self.progress.status]


def rows_of(goals: list[Goal], today: date) -> list[GoalRow]:
    found = progress_of(goals, today=today)
    return [GoalRow(g, found[g.pk], METRICS[g.metric]) for g in goals]


def _list_page(
    request: HttpRequest, form: GoalForm | None = None, status: int = 200
) -> HttpResponse:
    today = today_utc()
    found = listing(
        request,
        Goal.objects.for_workspace(request.workspace).select_related("program"),  # type: ignore[attr-defined]
        search=("name", "public_id"),
        sorts=("created_at", "name", "end"),
    )
    context = {
        "title": "Goals",
        "listing": found,
        "rows": rows_of(found.rows, today),
        "today": today,
        "form": form or _new_form(request, today),
    }
    return render(request, "dashboard/goals/list.html", context, status=status)


def _new_form(request: HttpRequest, today: date, data: Any = None) -> GoalForm:
    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    initial = {"period": "this_quarter", "metric": "referred_customers"}
    return GoalForm(data, initial=initial, workspace_id=workspace_id, today=today)


@staff(Can.VIEW)
def goals(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "public_id"):
        return value.public_id
    return value


@require_POST
@staff(Can.MANAGE)
def create(request: HttpRequest) -> HttpResponse:
    form = _new_form(request, today_utc(), request.POST)
    if not form.is_valid() or not form.values:
        return _list_page(request, form, status=400)
    with transaction.atomic():
        goal = services.create_goal(
            workspace=request.workspace,  # type: ignore[attr-defined]
            now=timezone.now(),
            **form.values,
        )
        audit(
            request,
            "goal.create",
            goal.public_id,
            **{name: _jsonable(value) for name, value in form.values.items()},
        )
    messages.success(request, f"Goal “{goal.name}” added.")
    return redirect("dashboard:goals")


def _get(request: HttpRequest, goal_id: str) -> Goal:
    qs = Goal.objects.for_workspace(request.workspace).select_related("program")  # type: ignore[attr-defined]
    goal: Goal = get_object_or_404(qs, public_id=goal_id)
    return goal


def _edit_page(request: HttpRequest, goal: Goal, form: GoalForm, status: int = 200) -> HttpResponse:
    [row] = rows_of([goal], form.today)
    context = {"title": f"Goal {goal.name}", "goal": goal, "row": row, "form": form}
    return render(request, "dashboard/goals/edit.html", context, status=status)


@staff(Can.MANAGE)
def edit(request: HttpRequest, goal_id: str) -> HttpResponse:
    goal = _get(request, goal_id)
    today = today_utc()
    if request.method != "POST":
        return _edit_page(request, goal, GoalForm.of(goal, today=today))
    form = GoalForm(request.POST, workspace_id=goal.workspace_id, today=today)
    if not form.is_valid() or not form.values:
        return _edit_page(request, goal, form, status=400)
    with transaction.atomic():
        changed = services.update_goal(goal=goal, now=timezone.now(), **form.values)
        if changed:
            shown = {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changed.items()}
            audit(request, "goal.change", goal.public_id, name=goal.name, changes=shown)
    if changed:
        messages.success(request, f"Goal “{goal.name}” saved.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("dashboard:goals")


@staff(Can.MANAGE)
def delete(request: HttpRequest, goal_id: str) -> HttpResponse:
    goal = _get(request, goal_id)
    if request.method != "POST":
        context = {
            "title": "Delete a goal",
            "question": f"Delete the goal “{goal.name}”?",
            "detail": "Its numbers stay in analytics; only the target and its progress go.",
            "action": reverse("dashboard:goal_delete", args=[goal.public_id]),
            "button": "Delete",
            "back": reverse("dashboard:goals"),
        }
        return render(request, "dashboard/team/confirm.html", context)
    with transaction.atomic():
        deleted = services.delete_goal(goal=goal)
        if deleted:
            audit(request, "goal.delete", goal.public_id, name=goal.name, metric=goal.metric)
    messages.success(request, f"Goal “{goal.name}” deleted.")
    return redirect("dashboard:goals")
