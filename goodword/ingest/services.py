"""Business events in: one transaction per event, idempotent on the business's event id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from goodword.accounts.models import Workspace
from goodword.events import services as events
from goodword.ingest.models import Event
from goodword.ingest.schemas import EventIn
from goodword.lib import sql
from goodword.lib.errors import Invalid
from goodword.participants.models import Participant
from goodword.participants.services import upsert_participant
from goodword.programs.models import Program
from goodword.referrals import queries
from goodword.referrals import services as referrals
from goodword.referrals.models import OPEN_STATUSES, Referral
from goodword.rewards import services as rewards
from goodword.rewards.models import Reward
from goodword.rewards.tasks import approve_due_rewards_task


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    replayed: bool


def body_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# Events sent to POST /api/v1/events; integrations will record their own source.
SOURCE = "api"

# Every event runs these: plain SQL (see goodword.lib.sql for why).
_BY_KEY = (
    "SELECT body_hash, result FROM ingest_event WHERE workspace_id = %s AND idempotency_key = %s"
)
_BY_ID = (
    "SELECT body_hash, result FROM ingest_event "
    "WHERE workspace_id = %s AND source = %s AND external_id = %s"
)


def _stored(query: str, params: list[Any]) -> tuple[str, dict[str, Any]] | None:
    rows = sql.rows(query, params)
    if not rows:
        return None
    digest, result = rows[0]
    # SQLite hands JSON back as text, PostgreSQL's driver as text or parsed.
    return digest, json.loads(result) if isinstance(result, str) else result


def _replay(workspace: Workspace, data: EventIn, key: str | None, digest: str) -> Outcome | None:
    """Answer a duplicate from the first delivery's stored result."""
    if key is not None:
        stored = _stored(_BY_KEY, [workspace.pk, key])
        if stored is not None:
            if stored[0] != digest:
                raise Invalid(
                    "this Idempotency-Key was used with a different request body",
                    code="idempotency_key_reused",
                )
            return Outcome(stored[1], replayed=True)
    stored = _stored(_BY_ID, [workspace.pk, SOURCE, data.id])
    return Outcome(stored[1], replayed=True) if stored is not None else None


def record_event(
    *, workspace: Workspace, data: EventIn, now: datetime, idempotency_key: str | None = None
) -> Outcome:
    """Record a business event and act on it, exactly once.

    A duplicate (same event id, or same Idempotency-Key and body) returns the first result.
    Uniqueness is enforced by constraints: the event row goes in last, with its result, so of
    concurrent identical deliveries one commits and the others fail on the unique index, roll
    back everything they did, and read the winner's committed result.
    """
    payload = data.model_dump(mode="json")
    digest = body_hash(payload)
    replay = _replay(workspace, data, idempotency_key, digest)
    if replay is not None:
        return replay
    try:
        with transaction.atomic(), events.batched():
            event = Event(
                workspace=workspace,
                source=SOURCE,
                external_id=data.id,
                idempotency_key=idempotency_key,
                body_hash=digest,
                type=data.type,
                customer_external_id=data.customer.external_id,
                order_id=data.order.id if data.order else "",
                payload=payload,
                occurred_at=data.occurred_at or now,
                created_at=now,
            )
            event.result, granted = _act(event, data, now)
            event.pk = sql.insert(Event, sql.values_of(event))
            if any(reward.hold_until <= now for reward in granted):
                # Rewards without a hold are approved within seconds, not at the next sweep.
                transaction.on_commit(approve_due_rewards_task.enqueue)
    except IntegrityError:
        replay = _replay(workspace, data, idempotency_key, digest)
        if replay is None:
            raise
        return replay
    return Outcome(event.result, replayed=False)


def _act(event: Event, data: EventIn, now: datetime) -> tuple[dict[str, Any], list[Reward]]:
    customer = data.customer
    participant, new_participant = upsert_participant(
        workspace=event.workspace_id,
        external_id=customer.external_id,
        email=customer.email,
        name=customer.name,
        likely_new=data.type == "signup",
    )
    touch, attribution = referrals.find_touch(
        workspace_id=event.workspace_id,
        referral_code=data.referral_code,
        ref_token=data.ref_token,
        email=customer.email if data.type != "refund" else None,
        now=now,
    )
    granted: list[Reward] = []
    notes: dict[str, str] = {}
    touched: list[Referral] = []
    if data.type == "refund":
        touched = _refund(event, now)
    else:
        if touch is not None:
            referral = referrals.open_referral(
                touch=touch, referee=participant, now=now, new_referee=new_participant
            )
            touched = [referral]
            if referral.advocate_id != touch.advocate.pk:
                attribution = "locked_to_first_advocate"
        if data.type == "signup":
            granted = _convert_on_signup(touched, now)
        else:
            granted = _convert_on_purchase(
                event, data, participant, touched, now, notes, new_participant=new_participant
            )
    result = {
        "id": event.public_id,
        "event_id": event.external_id,
        "type": event.type,
        "participant": participant.external_id,
        "attribution": attribution,
        "referrals": [_referral_summary(r, notes.get(r.public_id, "")) for r in touched],
        "rewards": [_reward_summary(r) for r in granted],
    }
    return result, granted


def _convert_on_signup(touched: list[Referral], now: datetime) -> list[Reward]:
    granted = []
    for referral in touched:
        if referral.program.trigger_event == Program.Trigger.SIGNUP and referrals.convert_referral(
            referral, now=now
        ):
            granted += rewards.grant_rewards(referral, now=now)
    return granted


def _convert_on_purchase(
    event: Event,
    data: EventIn,
    participant: Participant,
    touched: list[Referral],
    now: datetime,
    notes: dict[str, str],
    *,
    new_participant: bool = False,
) -> list[Reward]:
    order = data.order
    if order is None or order.amount is None or order.currency is None:
        raise RuntimeError("EventIn guarantees a purchase has a complete order")
    # A participant inserted by this very transaction cannot be anyone's referee yet.
    if not touched and not new_participant:
        touched += queries.open_referrals(event.workspace_id, participant)
    touched_open = [referral for referral in touched if referral.status in OPEN_STATUSES]
    # Only an order that could convert a referral needs to be checked for an earlier refund.
    refunded = bool(touched_open) and _refunded(event.workspace_id, order.id)
    granted = []
    for referral in touched_open:
        reason = (
            "refunded"
            if refunded
            else referrals.purchase_rejection(
                referral,
                referee=participant,
                amount=order.amount,
                currency=order.currency,
                now=now,
            )
        )
        if reason:
            notes[referral.public_id] = reason
        elif referrals.convert_referral(
            referral,
            now=now,
            order_id=order.id,
            amount=order.amount,
            currency=order.currency,
        ):
            granted += rewards.grant_rewards(referral, now=now)
    sql.execute(
        "UPDATE participants_participant SET purchase_count = purchase_count + 1, "
        "first_purchase_at = COALESCE(first_purchase_at, %s) WHERE id = %s",
        [connection.ops.adapt_datetimefield_value(now), participant.pk],
    )
    return granted


def _refunded(workspace_id: int, order_id: str) -> bool:
    """Was the order refunded before its purchase event arrived (webhooks come out of order)?"""
    found = sql.rows(
        "SELECT 1 FROM ingest_event WHERE workspace_id = %s AND type = %s AND order_id = %s",
        [workspace_id, Event.Type.REFUND, order_id],
    )
    return bool(found)


def _refund(event: Event, now: datetime) -> list[Referral]:
    touched = list(
        Referral.objects.select_related("program").filter(
            workspace_id=event.workspace_id,
            order_id=event.order_id,
            status__in=(Referral.Status.CONVERTED, Referral.Status.REWARDED),
        )
    )
    for referral in touched:
        # Keeps `referral` in step with what it writes: no reload needed for the result.
        rewards.reverse_referral_rewards(referral, now=now, reason="refund")
    return touched


def _referral_summary(referral: Referral, note: str) -> dict[str, Any]:
    return {
        "id": referral.public_id,
        "status": referral.status,
        "reject_reason": referral.reject_reason or None,
        "note": note or None,
    }


def _reward_summary(reward: Reward) -> dict[str, Any]:
    return {
        "id": reward.public_id,
        "beneficiary": reward.beneficiary,
        "kind": reward.kind,
        "amount": reward.amount,
        "percent_off": reward.percent_off,
        "currency": reward.currency,
        "status": reward.status,
        "hold_until": reward.hold_until.isoformat(),
    }
