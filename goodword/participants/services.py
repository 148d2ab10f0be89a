from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.decisions import experiments
from goodword.events import services as events
from goodword.lib import sql
from goodword.lib.codes import generate_code, is_valid_vanity, normalize_code
from goodword.lib.emails import normalize_email
from goodword.lib.errors import Conflict, Invalid
from goodword.lib.ids import new_par_id
from goodword.lib.urls import host_allowed, url_host
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program


# No savepoint when nested: event ingestion calls this inside its own transaction, and a
# failure here fails that whole transaction anyway.
@transaction.atomic(savepoint=False)
def upsert_participant(
    *,
    workspace: Workspace | int,
    external_id: str,
    email: str | None = None,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
    likely_new: bool = False,
) -> tuple[Participant, bool]:
    """Create or update a participant by `external_id`; fields left as None are unchanged.

    `likely_new` (a signup, say) tries the insert before the lookup: one statement, not two,
    when the guess is right, and the same answer either way.
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    values: dict[str, Any] = {}
    if email is not None:
        values["email"] = email.strip()
        values["email_normalized"] = normalize_email(email)
    if name is not None:
        values["name"] = name
    participant, created = _get_or_insert(workspace_id, external_id, values, likely_new)
    if not created:
        changed = [k for k, v in values.items() if getattr(participant, k) != v]
        for key in changed:
            setattr(participant, key, values[key])
        given = attributes or {}
        keys = _changed_keys(participant.attributes, given)
        if keys:
            participant.attributes = {**participant.attributes, **given}
            changed.append("attributes")
        if changed:
            participant.save(update_fields=[*changed, "updated_at"])
            # Names only: the values are personal data the event log need not copy. The
            # rollups read this to recompute the advocates' segments.
            fields = sorted(k for k in changed if k != "email_normalized")
            events.record(
                "participant.updated",
                workspace_id=workspace_id,
                subject_id=participant.public_id,
                data={"fields": fields, "attributes": keys},
            )
    elif attributes:
        participant.attributes = attributes
        participant.save(update_fields=["attributes"])
    if created:
        events.record(
            "participant.created", workspace_id=workspace_id, subject_id=participant.public_id
        )
    return participant, created


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The keys of `new` whose values differ from `old`'s, sorted. Compared as JSON: in
    Python `True == 1`, but the attribute `true` is not `1` to a rule or a segment."""

    def text(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    return sorted(k for k, v in new.items() if k not in old or text(old[k]) != text(v))


_FIELDS = (
    "id",
    "public_id",
    "workspace_id",
    "external_id",
    "email",
    "email_normalized",
    "name",
    "attributes",
    "purchase_count",
    "first_purchase_at",
    "created_at",
    "updated_at",
)
_BY_EXTERNAL_ID = sql.select(Participant, _FIELDS, "workspace_id = %s AND external_id = %s")


def _get_or_insert(
    workspace_id: int, external_id: str, values: dict[str, Any], likely_new: bool
) -> tuple[Participant, bool]:
    """Every event runs this, so it is plain SQL (see goodword.lib.sql). A concurrent insert
    of the same external_id makes ours a no-op; the row it committed is read instead."""
    if not likely_new:
        found = sql.fetch(Participant, _FIELDS, _BY_EXTERNAL_ID, [workspace_id, external_id])
        if found:
            return found[0], False
    now = timezone.now()
    row = {
        "public_id": new_par_id(),
        "workspace_id": workspace_id,
        "external_id": external_id,
        "email": values.get("email", ""),
        "email_normalized": values.get("email_normalized", ""),
        "name": values.get("name", ""),
        "attributes": {},
        "purchase_count": 0,
        "first_purchase_at": None,
        "created_at": now,
        "updated_at": now,
    }
    pk = sql.insert(Participant, row, on_conflict_skip=True)
    if pk is None:
        return sql.fetch(Participant, _FIELDS, _BY_EXTERNAL_ID, [workspace_id, external_id])[
            0
        ], False
    participant = Participant(id=pk, **row)
    participant._state.adding = False
    return participant, True


def _check_override(workspace: Workspace, url: str) -> None:
    host = url_host(url)
    if host is None or not host_allowed(host, list(workspace.allowed_domains or [])):
        raise Invalid(
            "destination_url must be an http(s) URL on one of the workspace's allowed domains "
            f"({', '.join(workspace.allowed_domains or []) or 'none yet'})",
            code="destination_not_allowed",
        )


def ineligibility(program: Program, participant: Participant, now: datetime) -> str:
    """Why the program's eligibility keeps this participant out, or "" when it does not."""
    rule = program.eligibility or {}
    who = rule.get("who", "everyone")
    if who == "customers":
        first = participant.first_purchase_at
        if first is None:
            return "only customers who have bought may, and they have not yet"
        days = rule.get("min_days_as_customer")
        if days and now - first < timedelta(days=days):
            return f"only customers of at least {days} days may"
    if who == "promoters" and (participant.nps_score is None or participant.nps_score < 9):
        return "only promoters may (a latest NPS score of 9 or 10)"
    if who == "listed" and participant.external_id not in rule.get("external_ids", ()):
        return "only the listed customers may"
    return ""


def _variant(program: Program, participant: Participant) -> str:
    """The program's experiment variant for this participant: sticky, as it is a hash of the
    experiment and the participant."""
    test = program.experiment
    if not test:
        return ""
    variants = [(v["name"], v["weight"]) for v in test["variants"]]
    key = f"{program.public_id}:{test['name']}"
    return experiments.assign(key, participant.public_id, variants, test["holdout_percent"])


@transaction.atomic
def enrol_advocate(
    *,
    program: Program,
    participant: Participant,
    code: str | None = None,
    destination_url: str | None = None,
) -> tuple[Advocate, bool]:
    """Enrol a participant in a program with a code. Enrolling twice returns the first."""
    existing = Advocate.objects.filter(program=program, participant=participant).first()
    if existing is not None:
        return existing, False
    why = ineligibility(program, participant, timezone.now())
    if why:
        raise Conflict(
            f"{participant.external_id!r} may not advocate in this program: {why}",
            code="not_eligible",
            details={"eligibility": program.eligibility},
        )
    if code is not None and not is_valid_vanity(code):
        raise Invalid(
            "code must be 3-32 letters, digits, '-' or '_', starting with a letter or digit",
            code="invalid_code",
        )
    if destination_url:
        _check_override(program.workspace, destination_url)
    for _ in range(8):
        candidate = code or generate_code(participant.name or participant.external_id)
        try:
            with transaction.atomic():
                advocate = Advocate.objects.create(
                    workspace_id=program.workspace_id,
                    program=program,
                    participant=participant,
                    code=candidate,
                    code_normalized=normalize_code(candidate),
                    destination_override=destination_url or "",
                    variant=_variant(program, participant),
                )
        except IntegrityError:
            # Either the code is taken or a concurrent call enrolled the same participant.
            existing = Advocate.objects.filter(program=program, participant=participant).first()
            if existing is not None:
                return existing, False
            if code is not None:
                raise Conflict(f"the code {code!r} is already taken", code="code_taken") from None
            continue
        events.record(
            "advocate.enrolled",
            workspace_id=program.workspace_id,
            subject_id=advocate.public_id,
            data={"program": program.public_id, "code": advocate.code},
        )
        if advocate.variant:
            events.record(
                "experiment.assigned",
                workspace_id=program.workspace_id,
                subject_id=advocate.public_id,
                data={
                    "program": program.public_id,
                    "experiment": program.experiment["name"],
                    "variant": advocate.variant,
                },
            )
        return advocate, True
    raise Conflict("could not find a free code; try again", code="code_exhausted")
