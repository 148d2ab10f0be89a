"""A program's whole configuration as one JSON document: what `POST /programs` takes.

`export` reads it back from the rows, so export -> import gives the same program; `snapshot`
keeps it as the program's next version.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from goodword.programs.models import Program, ProgramVersion, RewardRule
from goodword.programs.rules import RULE_FIELDS


def rule(rule: RewardRule) -> dict[str, Any]:
    """A rule as its RewardSpec, without what was left out."""
    out = {}
    for name in RULE_FIELDS:
        value = getattr(rule, name)
        if value in (None, "", {}, []):
            continue
        out[name] = value.isoformat().replace("+00:00", "Z") if name.endswith("_at") else value
    return out


def export(program: Program) -> dict[str, Any]:
    """The program's configuration, in the shape of `POST /programs`."""
    rules = RewardRule.objects.filter(program=program, is_active=True).order_by("pk")
    config: dict[str, Any] = {
        "name": program.name,
        "description": program.description,
        "destination_url": program.destination_url,
        "status": program.status,
        "currency": program.currency,
        "trigger": {
            "event": program.trigger_event,
            "min_amount": program.min_amount,
            "first_purchase_only": program.first_purchase_only,
        },
        "rewards": [rule(r) for r in rules],
        "hold_days": program.hold_days,
        "attribution_days": program.attribution_days,
    }
    if program.trigger_event == Program.Trigger.SIGNUP:
        del config["trigger"]["min_amount"]
    for name in ("language", "landing_page", "tiers", "experiment", "eligibility"):
        if getattr(program, name):
            config[name] = getattr(program, name)
    return config


def snapshot(program: Program) -> ProgramVersion:
    """Keep the program's configuration as its next version; call after each change, inside
    its transaction. The number comes from the row, not from `program` (which may have been
    read before another change): the increment locks the row until the transaction ends."""
    Program.objects.filter(pk=program.pk).update(version=F("version") + 1)
    program.version = Program.objects.values_list("version", flat=True).get(pk=program.pk)
    return ProgramVersion.objects.create(
        workspace_id=program.workspace_id,
        program=program,
        number=program.version,
        config=export(program),
        created_at=timezone.now(),
    )
