from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import CharField
from django.utils import timezone
from pydantic import BaseModel

from goodword.accounts.models import Workspace
from goodword.accounts.services import allow_domain
from goodword.events import services as events
from goodword.lib.errors import Conflict, Invalid
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


def in_currency(rewards: list[RewardSpec], currency: str) -> list[RewardSpec]:
    """Rewards (and their choices) in the program's currency where they name none; points
    keep theirs."""

    def fill(offer: Any) -> Any:
        if "currency" in offer.model_fields_set or offer.kind == "points":
            return offer
        return offer.model_copy(update={"currency": currency})

    return [
        fill(r).model_copy(update={"choices": [fill(c) for c in r.choices] if r.choices else None})
        for r in rewards
    ]


def _replace_rules(program: Program, rewards: list[RewardSpec]) -> None:
    RewardRule.objects.filter(program=program, is_active=True).update(is_active=False)
    RewardRule.objects.bulk_create(
        RewardRule(workspace_id=program.workspace_id, program=program, **rule_values(spec))
        for spec in in_currency(rewards, program.currency)
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


# The lifecycle: a draft goes live (or is dropped), a live program pauses and resumes, and any
# may end; ended is final. Only `active` redirects with a referral token and converts events
# (the link resolver and ingestion read `status`), so a draft, paused or ended program's link
# goes to the plain destination and its events count nothing.
TRANSITIONS: dict[str, frozenset[str]] = {
    Program.Status.DRAFT: frozenset({Program.Status.ACTIVE, Program.Status.ENDED}),
    Program.Status.ACTIVE: frozenset({Program.Status.PAUSED, Program.Status.ENDED}),
    Program.Status.PAUSED: frozenset({Program.Status.ACTIVE, Program.Status.ENDED}),
    Program.Status.ENDED: frozenset(),
}


def allowed_statuses(status: str) -> list[str]:
    """The statuses a program in `status` may move to, in lifecycle order."""
    return [s for s in Program.Status.values if s in TRANSITIONS.get(status, ())]


def check_transition(current: str, status: str) -> None:
    """Conflict (`invalid_transition`) unless a program may go from `current` to `status`;
    staying where it is is always allowed."""
    if status == current or status in TRANSITIONS.get(current, ()):
        return
    allowed = allowed_statuses(current)
    raise Conflict(
        f"a program that is {current} cannot become {status}"
        + (f"; it may become {' or '.join(allowed)}" if allowed else ": ended is final"),
        code="invalid_transition",
        details={"status": current, "allowed": allowed},
    )


def _claim_status(program: Program, status: str, now: datetime) -> str | None:
    """Move the program to `status` with a conditional update on the status it was read in,
    so two racing changes cannot both apply from the same state. Returns the status it left,
    or None when it already was in `status`."""
    for _ in range(3):
        if status == program.status:
            return None
        check_transition(program.status, status)
        was = program.status
        if Program.objects.filter(pk=program.pk, status=was).update(status=status, updated_at=now):
            program.status, program.updated_at = status, now
            return was
        # Another change got there first: judge the move again from where it is now.
        program.status = Program.objects.values_list("status", flat=True).get(pk=program.pk)
    raise Conflict("the program's status keeps changing; try again", code="invalid_transition")


def _status_changed(program: Program, was: str, *, version: int, actor: str | None) -> None:
    data: dict[str, Any] = {"from": was, "to": program.status, "version": version}
    if actor:
        data["actor"] = actor
    events.record(
        "program.status_changed",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data=data,
    )


@transaction.atomic
def change_program_status(
    *, program: Program, status: str, actor: str | None = None, now: datetime | None = None
) -> bool:
    """Move a program along its lifecycle (`TRANSITIONS`): Conflict `invalid_transition` for a
    move it does not allow, and nothing written. Returns False when it already was there.

    The status is part of the program's document, so a change is a new version.
    """
    was = _claim_status(program, status, now or timezone.now())
    if was is None:
        return False
    _status_changed(program, was, version=config.snapshot(program).number, actor=actor)
    return True


# What `save()` writes when a change leaves the status alone: never the status, which only
# `_claim_status` changes, so an edit made from a page read before a pause cannot undo it.
_SETTINGS = [
    f.name
    for f in Program._meta.concrete_fields
    if f.name not in ("id", "public_id", "workspace", "status", "created_at", "version")
]


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
    language: str = "",
    landing_page: bool = False,
    status: str = Program.Status.ACTIVE,
    tiers: TiersSpec | None = None,
    experiment: ExperimentSpec | None = None,
    eligibility: EligibilitySpec | None = None,
) -> Program:
    """A new program in any status (a copy of an ended one may be made ended); rewards that
    name no currency are in the program's."""
    _check_names(rewards, tiers, experiment)
    _allow_destination(workspace.pk, destination_url)
    program = Program(
        workspace=workspace,
        name=name,
        description=description,
        language=language,
        landing_page=landing_page,
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
    status: str | None = None,
    actor: str | None = None,
    **fields: Any,
) -> Program:
    """Change the given fields; `rewards` replaces the reward rules for future referrals;
    `status` moves the program along its lifecycle (Conflict if it may not, nothing written).

    An experiment, once set, keeps its variants' names: advocates were assigned to them.
    """
    if status is not None:
        check_transition(program.status, status)
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
    was = _claim_status(program, status, timezone.now()) if status is not None else None
    if status is not None and not fields and rewards is None and trigger is None:
        # Only the status: the lifecycle's own change (or nothing at all).
        if was is not None:
            _status_changed(program, was, version=config.snapshot(program).number, actor=actor)
        return program
    for name, value in fields.items():
        setattr(program, name, value)
    if trigger is not None:
        _apply_trigger(program, trigger)
    program.save(update_fields=_SETTINGS)
    if rewards is not None:
        _replace_rules(program, rewards)
    version = config.snapshot(program).number
    if was is not None:
        _status_changed(program, was, version=version, actor=actor)
    events.record(
        "program.updated",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data={"fields": sorted([*fields, *(["rewards"] if rewards is not None else [])]),
              "version": version},
    )  # fmt: skip
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
    status: str | None = None,
    actor: str | None = None,
    **fields: Any,
) -> Program:
    """Make the program's whole configuration this one, as its next version: what is left out
    (tiers, an experiment, eligibility) is removed. A `status` other than the program's moves
    it along its lifecycle (Conflict if it may not, nothing written); None keeps it."""
    if status is not None:
        check_transition(program.status, status)
    _check_names(rewards, tiers, experiment)
    _allow_destination(program.workspace_id, fields["destination_url"])
    was = _claim_status(program, status, timezone.now()) if status is not None else None
    for name, value in fields.items():
        setattr(program, name, value)
    program.tiers = tiers.model_dump() if tiers else {}
    program.experiment = experiment.model_dump() if experiment else {}
    program.eligibility = eligibility.model_dump(exclude_none=True) if eligibility else {}
    _apply_trigger(program, trigger)
    program.save(update_fields=_SETTINGS)
    _replace_rules(program, rewards)
    version = config.snapshot(program).number
    if was is not None:
        _status_changed(program, was, version=version, actor=actor)
    events.record(
        "program.updated",
        workspace_id=program.workspace_id,
        subject_id=program.public_id,
        data={"fields": ["config"], "version": version},
    )
    return program
