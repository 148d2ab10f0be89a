from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from goodword.analytics.summary import summary
from goodword.api.v1.analytics import PeriodIn, StatsOut, render_stats, scope_of
from goodword.api.v1.auth import workspace_of
from goodword.api.v1.pagination import paginate
from goodword.api.v1.rewards import actor_of
from goodword.api.v1.schemas import ERRORS, PatchIn, Unset
from goodword.messaging import brand_services
from goodword.programs import config, services
from goodword.programs.models import Program, ProgramVersion
from goodword.programs.rules import (
    MAX_RULES,
    RULE_FIELDS,
    EligibilitySpec,
    ExperimentSpec,
    RewardSpec,
    TiersSpec,
    TriggerSpec,
    check_rewards,
)
from goodword.programs.schemas import ProgramIn, ProgramLanguage, ProgramStatus
from goodword.rewards import coupons

router = Router(tags=["programs"])


class BrandIn(Schema):
    color: Annotated[str, Field(strict=True, max_length=7)] = Field(
        default="", description='#RRGGBB, or "" for the workspace\'s'
    )
    logo_url: Annotated[str, Field(strict=True, max_length=2000)] = Field(
        default="", description='an http(s) URL, or "" for the workspace\'s'
    )


class BrandOut(Schema):
    color: str = Field(description="the program's own colour; \"\": the workspace's")
    logo_url: str = Field(description="the program's own logo; \"\": the workspace's")


class ProgramPatch(PatchIn):
    name: Annotated[str, Field(min_length=1, max_length=200)] | Unset = None
    destination_url: Annotated[str, Field(max_length=2000)] | Unset = None
    rewards: Annotated[list[RewardSpec], Field(min_length=1, max_length=MAX_RULES)] | Unset = None
    trigger: TriggerSpec | Unset = None
    hold_days: Annotated[int, Field(ge=0, le=3650, strict=True)] | Unset = None
    attribution_days: Annotated[int, Field(ge=1, le=3650, strict=True)] | Unset = None
    description: Annotated[str, Field(max_length=2000)] | Unset = None
    language: ProgramLanguage | Unset = Field(default=None, description='"en", "it" or ""')
    landing_page: bool | Unset = Field(
        default=None, description="links open the friend's landing page (docs/sharing-landing.md)"
    )
    status: ProgramStatus | Unset = None
    tiers: TiersSpec | Unset = None
    experiment: ExperimentSpec | Unset = None
    eligibility: EligibilitySpec | Unset = None
    brand: BrandIn | Unset = Field(
        default=None, description="its own colour and logo over the workspace's"
    )

    _rewards = field_validator("rewards")(lambda v: v if v is None else check_rewards(v))


class TriggerOut(Schema):
    event: str
    min_amount: int | None
    first_purchase_only: bool


class RuleOut(Schema):
    name: str
    beneficiary: str
    kind: str
    amount: int | None
    percent_off: int | None
    percent_of_order: int | None
    currency: str
    coupon: dict[str, Any] | None
    sku: str | None
    cause: str | None
    description: str | None
    trigger: str
    event_name: str | None
    recurring_months: int | None
    max_total: int | None
    choices: list[dict[str, Any]] | None
    choice_days: int | None
    refund_policy: str
    conditions: dict[str, Any]
    caps: list[dict[str, Any]]
    milestone: dict[str, Any] | None
    hold_days: int | None
    expires_days: int | None
    expiry_notice_days: int | None
    starts_at: datetime | None
    ends_at: datetime | None


class ProgramOut(Schema):
    id: str
    name: str
    description: str
    destination_url: str
    language: str = Field(description="its messages' language; \"\": the workspace's")
    landing_page: bool = Field(description="links open the friend's landing page first")
    status: str
    currency: str
    trigger: TriggerOut
    rewards: list[RuleOut]
    hold_days: int
    attribution_days: int
    tiers: dict[str, Any] | None
    experiment: dict[str, Any] | None
    eligibility: dict[str, Any]
    brand: BrandOut
    created_at: datetime
    updated_at: datetime


class ProgramList(Schema):
    data: list[ProgramOut]
    next_cursor: str | None


def render_program(program: Program) -> dict[str, Any]:
    rules = [r for r in program.rules.all() if r.is_active]
    return {
        "id": program.public_id,
        "name": program.name,
        "description": program.description,
        "destination_url": program.destination_url,
        "language": program.language,
        "landing_page": program.landing_page,
        "status": program.status,
        "currency": program.currency,
        "trigger": {
            "event": program.trigger_event,
            "min_amount": program.min_amount,
            "first_purchase_only": program.first_purchase_only,
        },
        "rewards": [
            {name: _shown(name, getattr(r, name)) for name in RULE_FIELDS}
            for r in sorted(rules, key=lambda r: r.pk)
        ],
        "hold_days": program.hold_days,
        "attribution_days": program.attribution_days,
        "tiers": program.tiers or None,
        "experiment": program.experiment or None,
        "eligibility": program.eligibility or {"who": "everyone"},
        "brand": _brand(program),
        "created_at": program.created_at,
        "updated_at": program.updated_at,
    }


def _brand(program: Program) -> dict[str, str]:
    try:
        own = program.brand
    except ObjectDoesNotExist:
        return {"color": "", "logo_url": ""}
    return {"color": own.color, "logo_url": own.logo_url}


# What a rule's empty values are shown as (the rest as null).
_EMPTY: dict[str, Any] = {"name": "", "conditions": {}, "caps": []}


def _shown(name: str, value: Any) -> Any:
    return _EMPTY.get(name) if value in (None, "", {}, []) else value


def get_program(request: HttpRequest, program_id: str) -> Program:
    qs = Program.objects.for_workspace(workspace_of(request)).prefetch_related("rules")
    return get_object_or_404(qs.select_related("brand"), public_id=program_id)


@router.post("/programs", response={201: ProgramOut, **ERRORS})
def create_program(request: HttpRequest, body: ProgramIn) -> Status[dict[str, Any]]:
    coupons.check_pools(workspace_id=workspace_of(request).pk, rewards=body.rewards)
    program = services.create_program(
        workspace=workspace_of(request), status=body.status, **body.arguments()
    )
    return Status(201, render_program(get_program(request, program.public_id)))


@router.get("/programs", response={200: ProgramList, **ERRORS})
def list_programs(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = 20,
    status: ProgramStatus | None = None,
) -> dict[str, Any]:
    qs = Program.objects.for_workspace(workspace_of(request)).prefetch_related("rules")
    qs = qs.select_related("brand")
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, cursor=cursor, limit=limit, render=render_program)


@router.get("/programs/{program_id}", response={200: ProgramOut, **ERRORS})
def read_program(request: HttpRequest, program_id: str) -> dict[str, Any]:
    return render_program(get_program(request, program_id))


@router.patch("/programs/{program_id}", response={200: ProgramOut, **ERRORS})
def change_program(request: HttpRequest, program_id: str, body: ProgramPatch) -> dict[str, Any]:
    program = get_program(request, program_id)
    if body.rewards:
        coupons.check_pools(workspace_id=program.workspace_id, rewards=body.rewards)
    fields = body.model_dump(
        exclude_unset=True,
        exclude={"rewards", "trigger", "tiers", "experiment", "eligibility", "status", "brand"},
    )
    with transaction.atomic():  # a bad brand leaves the other changes unwritten too
        services.update_program(
            program=program,
            rewards=body.rewards or None,
            trigger=body.trigger,
            tiers=body.tiers,
            experiment=body.experiment,
            eligibility=body.eligibility,
            status=body.status,
            actor=actor_of(request),
            **fields,
        )
        if body.brand is not None:
            brand_services.set_program_brand(
                program=program, color=body.brand.color, logo_url=body.brand.logo_url
            )
    return render_program(get_program(request, program_id))


class ConfigOut(Schema):
    program: str
    version: int
    config: dict[str, Any] = Field(description="the document `POST /programs` takes")
    created_at: datetime | None


class VersionList(Schema):
    data: list[ConfigOut]


@router.get("/programs/{program_id}/config", response={200: ConfigOut, **ERRORS})
def read_configuration(request: HttpRequest, program_id: str) -> dict[str, Any]:
    """The program's whole configuration as one document: `POST /programs` makes a copy of
    it, `PUT` here makes it the program's next version."""
    program = get_program(request, program_id)
    return {
        "program": program.public_id,
        "version": program.version,
        "config": config.export(program),
        "created_at": program.updated_at,
    }


@router.put("/programs/{program_id}/config", response={200: ConfigOut, **ERRORS})
def replace_configuration(request: HttpRequest, program_id: str, body: ProgramIn) -> dict[str, Any]:
    """Replace the whole configuration, validated like `POST /programs`, as a new version;
    what the document leaves out (tiers, an experiment, eligibility) is removed."""
    program = get_program(request, program_id)
    coupons.check_pools(workspace_id=program.workspace_id, rewards=body.rewards)
    services.replace_configuration(
        program=program,
        # Left out, the status stays; given, it moves along the lifecycle (409 if it may not).
        status=body.status if "status" in body.model_fields_set else None,
        actor=actor_of(request),
        **body.arguments(),
    )
    return read_configuration(request, program_id)


@router.get("/programs/{program_id}/versions", response={200: VersionList, **ERRORS})
def list_versions(request: HttpRequest, program_id: str) -> dict[str, Any]:
    """Every version of the program's configuration, newest first."""
    program = get_program(request, program_id)
    versions = ProgramVersion.objects.for_workspace(workspace_of(request)).filter(program=program)
    return {
        "data": [
            {
                "program": program.public_id,
                "version": v.number,
                "config": v.config,
                "created_at": v.created_at,
            }
            for v in versions.order_by("-number")
        ]
    }


@router.get("/programs/{program_id}/stats", response={200: StatsOut, **ERRORS})
def program_stats(request: HttpRequest, program_id: str, period: Query[PeriodIn]) -> dict[str, Any]:
    """The program's numbers (`goodword.analytics`, docs/analytics.md), for a period."""
    program = get_program(request, program_id)
    stats = render_stats(summary(scope_of(request, period, program)))
    return {"program": program.public_id, **stats}
