"""`GET /programs/{id}/experiment`: a program's experiment read as one, from
`goodword.analytics.experiments` (docs/analytics.md, "Experiments"). A program without an
experiment answers 200 with no variants and the verdict `no_experiment`: the program exists,
and a client reads every program the same way."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from goodword.analytics import experiments
from goodword.analytics.experiments import Comparison, Experiment, Lift, Variant
from goodword.analytics.intervals import Interval
from goodword.api.v1.analytics import MoneyOut, PeriodIn, PeriodOut, scope_of
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS
from goodword.programs.models import Program

router = Router(tags=["analytics"])

VERDICTS = "no_experiment, not_enough_data, no_difference or difference (some variant differs)"


class IntervalOut(Schema):
    value: float = Field(description="the estimate")
    low: float | None = Field(description="the 95 % interval's low end; null when none")
    high: float | None = Field(description="the 95 % interval's high end; null when none")


class ComparisonOut(Schema):
    against: str = Field(description="the control: the experiment's first variant")
    difference: IntervalOut | None = Field(
        description="this variant's conversion rate minus the control's (Newcombe's interval)"
    )
    verdict: str = Field(description="not_enough_data, better, worse or no_difference")
    text: str


class VariantOut(Schema):
    name: str
    weight: int | None = Field(description="in the experiment now; null if no longer in it")
    advocates: int = Field(description="enrolled by the end of the period")
    friends: int = Field(description="who came in the period through these advocates")
    converted: int = Field(description="of those friends, converted by now and not reversed")
    conversion_rate: IntervalOut | None = Field(description="converted / friends (Wilson)")
    converted_per_advocate: IntervalOut | None = Field(
        description="converted / advocates (normal approximation of the mean)"
    )
    revenue: list[MoneyOut] = Field(description="the converting orders, net of refunds")
    reward_cost: list[MoneyOut] = Field(description="their rewards, pending to fulfilled")
    cost_per_converted: list[MoneyOut]
    comparison: ComparisonOut | None = Field(description="null for the control")


class RevenueLiftOut(Schema):
    currency: str
    holdout: int | None = Field(description="net revenue of friends per holdout advocate")
    treated: int | None = Field(description="net revenue of friends per advocate in the program")
    lift: int | None = Field(description="treated minus holdout, minor units")
    low: int | None
    high: int | None


class LiftOut(Schema):
    holdout_advocates: int
    treated_advocates: int
    holdout_customers: int = Field(description="friends who bought within their window")
    treated_customers: int
    holdout_per_advocate: float | None
    treated_per_advocate: float | None
    customers: IntervalOut | None = Field(description="incremental customers per advocate")
    revenue: list[RevenueLiftOut]
    verdict: str = Field(description="not_enough_data, lift, negative or no_difference")
    text: str


class ExperimentOut(Schema):
    program: str
    experiment: str | None = Field(description="the experiment's name; null without one")
    period: PeriodOut
    control: str | None
    minimum_friends: int = Field(description="per variant, before a verdict on conversion")
    minimum_advocates: int = Field(description="per arm, before a verdict on the lift")
    variants: list[VariantOut]
    holdout: LiftOut | None = Field(description="null without a holdout")
    verdict: str = Field(description=VERDICTS)
    text: str = Field(description="the verdict in plain words")


def _interval(i: Interval | None, places: int = 4) -> dict[str, Any] | None:
    if i is None:
        return None

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, places)

    return {"value": r(i.value), "low": r(i.low), "high": r(i.high)}


def _money(items: Any) -> list[dict[str, Any]]:
    return [{"currency": m.currency, "amount": m.amount} for m in items]


def _comparison(c: Comparison | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "against": c.against,
        "difference": _interval(c.difference),
        "verdict": c.verdict,
        "text": c.text,
    }


def _variant(v: Variant) -> dict[str, Any]:
    return {
        "name": v.name,
        "weight": v.weight,
        "advocates": v.advocates,
        "friends": v.friends,
        "converted": v.converted,
        "conversion_rate": _interval(v.conversion),
        "converted_per_advocate": _interval(v.per_advocate),
        "revenue": _money(v.revenue),
        "reward_cost": _money(v.cost),
        "cost_per_converted": _money(v.cost_per_converted),
        "comparison": _comparison(v.comparison),
    }


def _lift(lift: Lift | None) -> dict[str, Any] | None:
    if lift is None:
        return None
    return {
        "holdout_advocates": lift.holdout_advocates,
        "treated_advocates": lift.treated_advocates,
        "holdout_customers": lift.holdout_customers,
        "treated_customers": lift.treated_customers,
        "holdout_per_advocate": lift.holdout_per_advocate,
        "treated_per_advocate": lift.treated_per_advocate,
        "customers": _interval(lift.customers),
        "revenue": [vars(r) for r in lift.revenue],
        "verdict": lift.verdict,
        "text": lift.text,
    }


def render_experiment(program: Program, e: Experiment) -> dict[str, Any]:
    return {
        "program": program.public_id,
        "experiment": e.name or None,
        "period": {"start": e.scope.start, "end": e.scope.end},
        "control": e.control or None,
        "minimum_friends": experiments.MIN_FRIENDS,
        "minimum_advocates": experiments.MIN_ADVOCATES,
        "variants": [_variant(v) for v in e.variants],
        "holdout": _lift(e.holdout),
        "verdict": e.verdict,
        "text": e.text,
    }


@router.get("/programs/{program_id}/experiment", response={200: ExperimentOut, **ERRORS})
def program_experiment(
    request: HttpRequest, program_id: str, period: Query[PeriodIn]
) -> dict[str, Any]:
    """The program's experiment for a period: each variant's conversion and cost with 95 %
    intervals, each against the control with a verdict, and the holdout's lift."""
    program = get_object_or_404(
        Program.objects.for_workspace(workspace_of(request)), public_id=program_id
    )
    scope = scope_of(request, period, program)
    return render_experiment(program, experiments.experiment(scope, program))
