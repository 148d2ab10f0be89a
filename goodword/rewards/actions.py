"""Manual actions on rewards and credit: what staff do by hand, through the API or the dashboard.

Each action claims its row with a conditional update (or a row lock where it must know the
status to choose a path), writes in one transaction, and records a domain event naming its
`actor`: `api_key:<key public id>` or `user:<id>`. A refused action raises a DomainError and
writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from goodword.events import services as events
from goodword.lib.errors import Conflict, Invalid
from goodword.participants.models import Participant
from goodword.programs import counters
from goodword.programs.models import Program
from goodword.programs.rules import OfferSpec
from goodword.referrals.models import Referral
from goodword.rewards import choice, fulfilment, ledger, services
from goodword.rewards.models import (
    CreditAdjustment,
    LedgerAccount,
    LedgerTransaction,
    Reward,
    new_adj_id,
)

Kind = LedgerAccount.Kind
Status = Reward.Status


def api_key_actor(public_id: str) -> str:
    return f"api_key:{public_id}"


def _reloaded(reward: Reward) -> Reward:
    return Reward.objects.select_related("program", "referral", "participant").get(pk=reward.pk)


# The statuses in which each action has already been done (a coupon is fulfilled on approval).
_DONE = {
    "approved": (Status.APPROVED, Status.PENDING_FULFILMENT, Status.FULFILLED),
    "rejected": (Status.REJECTED,),
    "reversed": (Status.REVERSED,),
    "fulfilled": (Status.FULFILLED,),
}


REVERSIBLE = (Status.PENDING, Status.APPROVED, Status.PENDING_FULFILMENT, Status.FULFILLED)


def _refused(reward: Reward, action: str, allowed: str, hint: str = "") -> Conflict:
    """409 `invalid_state`, naming the status the reward is in now."""
    status = Reward.objects.values_list("status", flat=True).get(pk=reward.pk)
    if status in _DONE[action]:
        suffix = f" (now {status})" if status != action else ""
        message = f"reward {reward.public_id} is already {action}{suffix}"
    else:
        message = f"reward {reward.public_id} is {status}: only {allowed} reward can be {action}"
        message += hint
    return Conflict(message, code="invalid_state", details={"status": status})


def _record(name: str, reward: Reward, now: datetime, **data: object) -> None:
    referral = reward.referral.public_id if reward.referral is not None else None
    events.record(
        name,
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={"referral": referral, **data},
        now=now,
    )


def _lock_referral(reward: Reward) -> None:
    # The referral before the reward: the order approvals and refunds take them in.
    if reward.referral_id is not None:
        Referral.objects.select_for_update(no_key=True).filter(pk=reward.referral_id).exists()


# The actions on one reward.


@transaction.atomic
def approve_reward_early(*, reward: Reward, actor: str, now: datetime) -> Reward:
    """Approve a pending reward now, before its hold ends: delivered by its kind (credit posted,
    coupon issued, ...). A choice still open closes with the default (`reward.chosen`).

    A second call, or one racing it, finds the reward no longer pending: 409, nothing posted.
    """
    early = now < reward.hold_until
    if not services.approve_reward(reward, now=now, actor=actor, early=early):
        raise _refused(reward, "approved", "a pending")
    return _reloaded(reward)


@transaction.atomic
def reject_reward(*, reward: Reward, reason: str, actor: str, now: datetime) -> Reward:
    """Reject a reward in its hold: it is never paid."""
    _lock_referral(reward)
    claimed = Reward.objects.filter(pk=reward.pk, status=Status.PENDING).update(
        status=Status.REJECTED, rejected_at=now, status_reason=reason
    )
    if not claimed:
        raise _refused(reward, "rejected", "a pending", "; reverse an approved one")
    counters.forget_reward(reward)
    _record("reward.rejected", reward, now, reason=reason, actor=actor)
    return _reloaded(reward)


@transaction.atomic
def reverse_reward_by_hand(*, reward: Reward, reason: str, actor: str, now: datetime) -> Reward:
    """Reverse a reward: cancelled if pending, its credit clawed back if approved or fulfilled
    (what the balance lacks becomes debt)."""
    _lock_referral(reward)
    was = (
        Reward.objects.select_for_update(no_key=True)
        .filter(pk=reward.pk)
        .values_list("status", flat=True)
        .get()
    )
    if was not in REVERSIBLE:
        raise _refused(reward, "reversed", "a pending, approved or fulfilled")
    if reward.source == Reward.Source.MANUAL:
        Reward.objects.filter(pk=reward.pk).update(status=Status.REVERSED, reversed_at=now)
        services.undo(reward, now=now)
        _record("reward.reversed", reward, now, was=was, reason=reason, actor=actor)
    else:
        reversed_ = services.reverse_reward(reward, now=now, reason=reason, actor=actor)
        assert reversed_  # noqa: S101 - the row is locked in a status it reverses from
    Reward.objects.filter(pk=reward.pk).update(status_reason=reason)
    return _reloaded(reward)


@transaction.atomic
def fulfil_reward(*, reward: Reward, reference: str, actor: str, now: datetime) -> Reward:
    """Mark a reward fulfilled outside Goodword, keeping the business's reference: an approved
    one, or one waiting in the fulfilment queue (its Fulfilment is closed with it)."""
    _lock_referral(reward)
    if not fulfilment.complete(reward, reference=reference, actor=actor, now=now):
        raise _refused(reward, "fulfilled", "an approved")
    return _reloaded(reward)


# Manual credit: rewards granted by hand, and adjustments.


def _check_spec(offer: OfferSpec) -> None:
    """What a reward granted by hand may not give, beyond what `OfferSpec` checks."""
    if offer.percent_of_order is not None:
        raise Invalid(
            "a reward granted by hand has no order to take a percentage of: give `amount`"
        )


@transaction.atomic
def grant_reward(
    *,
    participant: Participant,
    offer: OfferSpec,
    reason: str,
    actor: str,
    now: datetime,
    program: Program | None = None,
) -> Reward:
    """Grant a reward by hand, approved at once and delivered by its kind (`services.issue`):
    credit and points posted to the ledger (any debt takes its share first), cash owed, a
    coupon issued with a fresh code, any other kind queued for fulfilment."""
    _check_spec(offer)
    reward = Reward.objects.create(
        workspace_id=participant.workspace_id,
        program=program,
        source=Reward.Source.MANUAL,
        participant=participant,
        kind=offer.kind,
        amount=offer.amount,
        percent_off=offer.percent_off,
        currency=offer.currency,
        details=choice.details_of(offer.model_dump(exclude_none=True)),
        reason=reason,
        status=Status.APPROVED,
        hold_until=now,
        created_at=now,
        approved_at=now,
    )
    with events.batched():
        events.record(
            "reward.granted_manually",
            workspace_id=reward.workspace_id,
            subject_id=reward.public_id,
            data={
                "participant": participant.public_id,
                "program": program.public_id if program else None,
                "kind": reward.kind,
                "amount": reward.amount,
                "percent_off": reward.percent_off,
                "currency": reward.currency,
                "details": reward.details,
                "reason": reason,
                "actor": actor,
            },
            now=now,
        )
        services.issue(reward, now=now, actor=actor)
    return _reloaded(reward)


@transaction.atomic
def adjust_credit(
    *,
    participant: Participant,
    amount: int,
    currency: str,
    reason: str,
    actor: str,
    now: datetime,
    key: str = "",
) -> tuple[CreditAdjustment, bool]:
    """Add credit (`amount` > 0; any debt is paid off first) or take it (`amount` < 0; never
    below an available balance of zero: Conflict `insufficient_balance`).

    Idempotent on `key`: a retry returns the first adjustment (False); the same key with other
    values is refused. The participant's account is locked before the key is checked again
    and the balance read, so concurrent adjustments queue.
    """
    if amount == 0:
        raise Invalid("an adjustment's amount must not be 0")
    ws = participant.workspace_id
    if key and (first := _first_with_key(ws, key, participant, amount, currency)) is not None:
        return first, False
    if amount > 0:
        entries = ledger.credit_entries(
            participant=participant, currency=currency, amount=amount, source=Kind.ADJUSTMENTS
        )
    else:
        credit = ledger.lock_account(
            ledger.account(
                workspace_id=ws, participant=participant, kind=Kind.CREDIT, currency=currency
            )
        )
        available = ledger.balance(credit)
        if available < -amount:
            raise Conflict(
                f"the available balance is {available} {currency}, less than {-amount}",
                code="insufficient_balance",
                details={"available": available, "currency": currency},
            )
        sink = ledger.account(workspace_id=ws, kind=Kind.ADJUSTMENTS, currency=currency)
        entries = [(credit, amount), (sink, -amount)]
    # Again after the lock: a concurrent retry with the same key may have committed.
    if key and (first := _first_with_key(ws, key, participant, amount, currency)) is not None:
        return first, False
    public_id = new_adj_id()
    txn = ledger.post_transaction(
        workspace_id=ws,
        kind=LedgerTransaction.Kind.ADJUSTMENT,
        key=f"adjustment:{key or public_id}",
        entries=entries,
        memo=reason[:200],
        now=now,
    )
    if txn is None:
        # A retry locking the other account (credit, not debt) committed the key meanwhile.
        first = _first_with_key(ws, key, participant, amount, currency)
        assert first is not None  # noqa: S101 - only a committed adjustment posts its key
        return first, False
    adjustment = CreditAdjustment.objects.create(
        public_id=public_id,
        workspace_id=ws,
        participant=participant,
        amount=amount,
        currency=currency,
        reason=reason,
        key=key,
        actor=actor,
        transaction=txn,
        created_at=now,
    )
    events.record(
        "credit.adjusted",
        workspace_id=ws,
        subject_id=public_id,
        data={
            "participant": participant.public_id,
            "amount": amount,
            "currency": currency,
            "reason": reason,
            "actor": actor,
        },
        now=now,
    )
    return adjustment, True


def _first_with_key(
    workspace_id: int, key: str, participant: Participant, amount: int, currency: str
) -> CreditAdjustment | None:
    first = (
        CreditAdjustment.objects.filter(workspace_id=workspace_id, key=key)
        .select_related("participant", "transaction")
        .first()
    )
    if first is not None and (first.participant_id, first.amount, first.currency) != (
        participant.pk,
        amount,
        currency,
    ):
        raise Invalid(
            f"key {key!r} was already used for another adjustment", code="idempotency_conflict"
        )
    return first
