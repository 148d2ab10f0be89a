from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import CharField
from pydantic import BaseModel

from goodword.accounts.models import Workspace
from goodword.accounts.services import allow_domain
from goodword.events import services as events
from goodword.lib.errors import Invalid
from goodword.lib.urls import url_host
from goodword.programs import config
from goodword.programs.models import Program, RewardRule
from goodword.programs.rules import (
    RULE_FIELDS,
    CouponSpec,
    EligibilitySpec,
    ExperimentSpec,
    RewardSpec,
    TiersSpec,
    TriggerSpec,
    check_names,
)


def _allow_destination(workspace_id: int, url: str) -> None:
    """Validate a program destination and allow its host for the workspace's links.

    Only callers holding the workspace's API key (or staff) reach here, so the host they name
    is trusted; link-level overrides must stay within the hosts allowed this way.
    """
    host = url_host(url)
    if host is None:
        raise Invalid(
            "destination_url must be an absolute http(s) URL without credentials",
            code="invalid_destination",
        )
    allow_domain(workspace_id=workspace_id, host=host)


def rule_values(spec: RewardSpec) -> dict[str, Any]:
    """A rule's columns from its spec: nested specs as JSON without the options left out,
    text left out as ""."""
    values: dict[str, Any] = {}
    for name in RULE_FIELDS:
        value = getattr(spec, name)
        if isinstance(value, BaseModel):
            value = _stored(value)
        elif isinstance(value, list):
            value = [_stored(v) for v in value]
        elif value is None and isinstance(RewardRule._meta.get_field(name), CharField):
            value = ""
        values[name] = value
    return values


def _stored(spec: BaseModel) -> dict[str, Any]:
    """A nested spec as kept: without what is empty, and a coupon's options only as given
    (its defaults would contradict its `pool` when the exported configuration comes back)."""
    if isinstance(spec, CouponSpec):
        return spec.model_dump(exclude_none=True, exclude_unset=True)
    value = spec.model_dump(exclude_none=True)
    coupon = getattr(spec, "coupon", None)
    if coupon is not None:
        value["coupon"] = _stored(coupon)
    return value


def _replace_rules(program: Program, rewards: list[RewardSpec]) -> None:
    RewardRule.objects.filter(program=program, is_active=True).update(is_active=False)
    RewardRule.objects.bulk_create(
        RewardRule(workspace_id=program.workspace_id, program=program, **rule_values(spec))
        for spec in rewards
    )


def _named(conditions: dict[str, Any]) -> RewardSpec:
    """A stand-in rule naming the tiers and variants a stored rule's conditions name."""
    return RewardSpec.model_validate(
        {"beneficiary": "advocate", "kind": "credit", "amount": 1, "conditions": conditions}
    )


def _check_names(
    rewards: list[RewardSpec], tiers: TiersSpec | None, experiment: ExperimentSpec | None
) -> None:
    try:
        check_names(rewards, tiers, experiment)
    except ValueError as exc:
        raise Invalid(str(exc), code="validation_error") from None


def _apply_trigger(program: Program, trigger: TriggerSpec) -> None:
    program.trigger_event = trigger.event
    program.min_amount = trigger.min_amount
    program.first_purchase_only = trigger.first_purchase_only


@transaction.atomic
def create_program(
    *,
    workspace: Workspace,
    name: str,
    destination_url: str,
    rewards: list[RewardSpec],
    trigger: TriggerSpec,
    hold_days: int = 30,
    attribution_days: int = 30,
    currency: str = "USD",
    description: str = "",
    status: str = Program.Status.ACTIVE,
    tiers: TiersSpec | None = None,
    experiment: ExperimentSpec | None = None,
    eligibility: EligibilitySpec | None = None,
) -> Program:
    _check_names(rewards, tiers, experiment)
    _allow_destination(workspace.pk, destination_url)
    program = Program(
        workspace=workspace,
        name=name,
        description=description,
        destination_url=destination_url,
        status=status,
        currency=currency,
        hold_days=hold_days,
        attribution_days=attribution_days,
        tiers=tiers.model_dump() if tiers else {},
        experiment=experiment.model_dump() if experiment else {},
        eligibility=eligibility.model_dump(exclude_none=True) if eligibility else {},
    )
    _apply_trigger(program, trigger)
    program.save()
    _replace_rules(program, rewards)
    config.snapshot(program)
    events.record(
        "program.created",
        workspace_id=workspace.pk,
        subject_id=program.public_id,
        data={"version": program.version},
    )
    return program


@transaction.atomic
def update_program(
    *,
    program: Program,
    rewards: list[RewardSpec] | None = None,
    trigger: TriggerSpec | None = None,
    tiers: TiersSpec | None = None,
    experiment: ExperimentSpec | None = None,
    eligibility: EligibilitySpec | None = None,
    **fields: Any,
) -> Program:
    """Change the given fields; `rewards` replaces the reward rules for future referrals.

    An experiment, once set, keeps its variants' names: advocates were assigned to them.
    """
    if rewards is not None or tiers is not None or experiment is not None:
        ladder = tiers or (TiersSpec.model_validate(program.tiers) if program.tiers else None)
        test = experiment or (
            ExperimentSpec.model_validate(program.experiment) if program.experiment else None
        )
        if rewards is None:
            named = RewardRule.objects.filter(program=program, is_active=True)
            _check_names([_named(r.conditions) for r in named], ladder, test)
        else:
            _check_names(rewards, ladder, test)
    if tiers is not None:
        fields["tiers"] = tiers.model_dump()
    if experiment is not None:
        fields["experiment"] = experiment.model_dump()
    if eligibility is not None:
        fields["eligibility"] = eligibility.model_dump(exclude_none=True)
    if "destination_url" in fields:
        _allow_destination(program.workspace_id, fields["destination_url"])
    for name, value in fields.items():
        setattr(program, name, value)
    if trigger is not None:
        _apply_trigger(program, trigger)
    program.save()
    if rewards is not None:
        _replace_rules(program, rewards)
    events.record(
        "program.updated",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data={
            "fields": sorted([*fields, *(["rewards"] if rewards is not None else [])]),
            "version": config.snapshot(program).number,
        },
    )
    return program


@transaction.atomic
def replace_configuration(
    *,
    program: Program,
    rewards: list[RewardSpec],
    trigger: TriggerSpec,
    tiers: TiersSpec | None,
    experiment: ExperimentSpec | None,
    eligibility: EligibilitySpec | None,
    **fields: Any,
) -> Program:
    """Make the program's whole configuration this one, as its next version: what is left out
    (tiers, an experiment, eligibility) is removed."""
    _check_names(rewards, tiers, experiment)
    _allow_destination(program.workspace_id, fields["destination_url"])
    for name, value in fields.items():
        setattr(program, name, value)
    program.tiers = tiers.model_dump() if tiers else {}
    program.experiment = experiment.model_dump() if experiment else {}
    program.eligibility = eligibility.model_dump(exclude_none=True) if eligibility else {}
    _apply_trigger(program, trigger)
    program.save()
    _replace_rules(program, rewards)
    events.record(
        "program.updated",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data={"fields": ["config"], "version": config.snapshot(program).number},
    )
    return program
