"""The goal form: what `POST /goals` takes, with the target typed in major units for money
metrics and a named period or two dates. The checks are the service's (`goals.services`),
each complaint put next to its field."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from goodword.goals import services
from goodword.goals.models import Goal
from goodword.goals.progress import METRICS
from goodword.lib import money
from goodword.lib.money import MAX_AMOUNT, parse_major
from goodword.programs.models import Program

CUSTOM = "custom"


class GoalForm(forms.Form):
    name = forms.CharField(max_length=200)
    metric = forms.ChoiceField(choices=[(k, m.label) for k, m in METRICS.items()])
    target = forms.CharField(max_length=32)
    currency = forms.CharField(required=False, max_length=3)
    program = forms.ChoiceField(required=False)
    period = forms.ChoiceField(
        choices=[*services.PERIODS.items(), (CUSTOM, "From and to these dates")],
        initial="this_quarter",
    )
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To (included)")

    def __init__(self, *args: Any, workspace_id: int, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.programs = {
            p.public_id: p for p in Program.objects.for_workspace(workspace_id).order_by("name")
        }
        program = self.fields["program"]
        assert isinstance(program, forms.ChoiceField)  # noqa: S101 - declared above
        program.choices = [("", "Every program")] + [
            (p.public_id, p.name) for p in self.programs.values()
        ]
        self.values: dict[str, Any] = {}

    @classmethod
    def of(cls, goal: Goal, *, today: date) -> GoalForm:
        """The form filled with a goal as it is, its target in major units."""
        target = money.major(goal.target, goal.currency) if goal.currency else str(goal.target)
        initial = {
            "name": goal.name,
            "metric": goal.metric,
            "target": target,
            "currency": goal.currency,
            "program": goal.program.public_id if goal.program else "",
            "period": CUSTOM,
            # As a date input takes them (a date object would be shown in the locale's words).
            "start": goal.start.isoformat(),
            "end": goal.end.isoformat(),
        }
        return cls(initial=initial, workspace_id=goal.workspace_id, today=today)

    def clean_currency(self) -> str:
        return str(self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        metric = data.get("metric")
        if metric is None or "target" not in data:
            return data
        currency = data.get("currency", "")
        is_money = METRICS[metric].is_money
        if is_money and not currency:
            self.add_error("currency", "Enter the currency of the target, such as USD.")
            return data
        try:
            target = _target(str(data["target"]), currency if is_money else None)
        except ValueError as error:
            self.add_error("target", str(error))
            return data
        dates = self._dates(data)
        if dates is None:
            return data
        self.values = {
            "name": str(data.get("name", "")),
            "metric": metric,
            "target": target,
            "currency": currency if is_money else "",
            "start": dates[0],
            "end": dates[1],
            "program": self.programs.get(data.get("program") or ""),
        }
        try:
            services.check_goal(**{k: v for k, v in self.values.items() if k != "program"})
        except services.BadGoal as error:
            self.add_error(error.field if error.field in self.fields else None, _sentence(error))
            self.values = {}
        return data

    def _dates(self, data: dict[str, Any]) -> tuple[date, date] | None:
        period = data.get("period")
        if period is None:
            return None
        if period != CUSTOM:
            return services.period_dates(period, self.today)
        start, end = data.get("start"), data.get("end")
        for name, value in (("start", start), ("end", end)):
            if value is None and name not in self.errors:
                self.add_error(name, "Enter a date such as 2026-03-31, or choose a named period.")
        return (start, end) if start and end else None


def _target(text: str, currency: str | None) -> int:
    """A count, or an amount in major units of `currency`."""
    text = text.strip()
    if currency is not None:
        return parse_major(text, currency)
    cleaned = text.replace(",", "")
    if not cleaned.isdigit():
        raise ValueError("Enter a whole number such as 200.")
    value = int(cleaned)
    if value > MAX_AMOUNT:
        raise ValueError("That target is too large.")
    return value


def _sentence(error: services.BadGoal) -> str:
    text = error.problem.replace("start", "the first day")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
