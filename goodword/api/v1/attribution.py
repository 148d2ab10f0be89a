"""`GET /attribution`: who gets the credit for converted friends under first-touch, last-touch,
linear or time-decay attribution. The numbers come from `goodword.analytics.attribution`; this
module only shapes them (docs/analytics.md, "Attribution models")."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from goodword.analytics.attribution import MODELS, Attribution, attribution, parse_model
from goodword.api.v1.analytics import MoneyOut, PeriodOut, WorkspaceStatsIn, scope_of
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.schemas import ERRORS
from goodword.programs.models import Program

router = Router(tags=["analytics"])


class AttributionIn(WorkspaceStatsIn):
    model: str | None = Field(
        default=None, description=f"one of {', '.join(MODELS)}; first_touch when left out"
    )


class CreditOut(Schema):
    advocate: str
    participant: str
    code: str
    name: str
    external_id: str
    touched: int = Field(description="converted friends this advocate touched")
    friends: float = Field(description="converted friends credited under the model (fractions)")
    revenue: list[MoneyOut] = Field(description="net revenue credited under the model")
    first_touch_friends: int
    first_touch_revenue: list[MoneyOut]


class AttributionOut(Schema):
    model: str
    program: str | None
    period: PeriodOut
    half_life_days: int = Field(description="time-decay: a touch's weight halves every this")
    friends: int = Field(description="converted friends in the period: the sum of `friends`")
    revenue: list[MoneyOut] = Field(description="their net revenue: the sum of `revenue`")
    multi_touch: int = Field(description="conversions touched by more than one advocate")
    advocates: list[CreditOut]


def render(a: Attribution) -> dict[str, Any]:
    def money(items: Any) -> list[dict[str, Any]]:
        return [{"currency": m.currency, "amount": m.amount} for m in items]

    return {
        "model": a.model,
        "half_life_days": a.half_life_days,
        "friends": a.friends,
        "revenue": money(a.revenue),
        "multi_touch": a.multi_touch,
        "advocates": [
            {
                **vars(c),
                "revenue": money(c.revenue),
                "first_touch_revenue": money(c.first_touch_revenue),
            }
            for c in a.credits
        ],
    }


@router.get("/attribution", response={200: AttributionOut, **ERRORS})
def get_attribution(request: HttpRequest, query: Query[AttributionIn]) -> dict[str, Any]:
    """Credit per advocate for the friends converted in the period, under one model."""
    model = parse_model(query.model)
    chosen = None
    if query.program:
        qs = Program.objects.for_workspace(workspace_of(request))
        chosen = get_object_or_404(qs, public_id=query.program)
    scope = scope_of(request, query, chosen)
    return {
        "program": chosen.public_id if chosen else None,
        "period": {"start": scope.start, "end": scope.end},
        **render(attribution(scope, model)),
    }
