"""The fulfilment queue: approved rewards the business delivers itself (a free product, a gift
card, a donation, anything `custom`), each waiting in a `Fulfilment` row until it is done.

A queued reward is `pending_fulfilment` from its approval; marking it done (here, through
`POST /fulfilments/{id}/done` or `POST /rewards/{id}/fulfil`, both through `complete`) makes
it `fulfilled` and closes its row with the business's reference. Reversing it first cancels
the row: nothing is left to deliver.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from goodword.events import services as events
from goodword.lib.errors import Conflict
from goodword.programs.models import RewardRule
from goodword.referrals.models import Referral
from goodword.rewards.models import Fulfilment, Reward

Status = Fulfilment.Status


def queue(reward: Reward, *, now: datetime, waiting_for: str = "") -> Fulfilment:
    """An approved reward of a queued kind: wait for the business to deliver it.

    Runs in the approval's transaction, which has claimed the reward: it is `approved` here.
    """
    Reward.objects.filter(pk=reward.pk, status=Reward.Status.APPROVED).update(
        status=Reward.Status.PENDING_FULFILMENT
    )
    reward.status = Reward.Status.PENDING_FULFILMENT
    fulfilment = Fulfilment.objects.create(
        workspace_id=reward.workspace_id, reward=reward, waiting_for=waiting_for, created_at=now
    )
    _record(
        "fulfilment.queued",
        fulfilment,
        reward,
        now,
        participant=reward.participant.public_id,
        kind=reward.kind,
    )
    return fulfilment


def cancel(reward: Reward, *, now: datetime) -> None:
    """A reversed reward: what was still to deliver is not delivered. A fulfilment already done
    stays done (the product was sent)."""
    pending = Fulfilment.objects.filter(reward_id=reward.pk, status=Status.PENDING)
    fulfilment = pending.first()
    if fulfilment is not None and pending.filter(pk=fulfilment.pk).update(status=Status.CANCELLED):
        _record("fulfilment.cancelled", fulfilment, reward, now)


def close(fulfilment: Fulfilment, reward: Reward, *, reference: str, now: datetime) -> None:
    """Close a pending fulfilment that what it waited for has closed (a pool's code came, the
    `reference`); its reward was fulfilled by the caller."""
    done = Fulfilment.objects.filter(pk=fulfilment.pk, status=Status.PENDING)
    if done.update(status=Status.DONE, reference=reference, done_at=now):
        _record("fulfilment.done", fulfilment, reward, now, reference=reference, actor=None)


@transaction.atomic
def complete(reward: Reward, *, reference: str, actor: str, now: datetime) -> bool:
    """Mark a reward fulfilled with the business's `reference`: an `approved` one (credit
    delivered outside Goodword, say), or a `pending_fulfilment` one, whose pending Fulfilment
    is closed with it. Cash is refused: payout batches pay it.

    Returns False when the reward is in neither status (the caller says why). Raises Conflict,
    writing nothing, for a coupon that waits for its pool's codes: those arrive, not a reference.
    """
    if reward.kind == RewardRule.Kind.CASH:
        # Marking it here would leave it owed in `payable`, to be paid again by a batch.
        raise Conflict(
            f"reward {reward.public_id} is cash: it is paid through payout batches "
            "(POST /payout-batches), whose payouts are marked paid",
            code="paid_through_payouts",
        )
    # The reward before its fulfilment row: the order a reversal takes them in.
    for previous in (Reward.Status.APPROVED, Reward.Status.PENDING_FULFILMENT):
        claimed = Reward.objects.filter(pk=reward.pk, status=previous).update(
            status=Reward.Status.FULFILLED, fulfilled_at=now, fulfilment_reference=reference
        )
        if claimed:
            break
    else:
        return False
    fulfilment = Fulfilment.objects.filter(reward_id=reward.pk, status=Status.PENDING).first()
    if fulfilment is not None:
        if fulfilment.waiting_for:
            raise Conflict(
                f"reward {reward.public_id} waits for codes in its coupon pool: it is fulfilled "
                "when they arrive",
                code="invalid_state",
                details={"status": str(previous), "waiting_for": fulfilment.waiting_for},
            )
        Fulfilment.objects.filter(pk=fulfilment.pk).update(
            status=Status.DONE, reference=reference, actor=actor, done_at=now
        )
        _record("fulfilment.done", fulfilment, reward, now, reference=reference, actor=actor)
    referral = reward.referral.public_id if reward.referral is not None else None
    events.record(
        "reward.fulfilled",
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={"referral": referral, "reference": reference, "actor": actor},
        now=now,
    )
    return True


@transaction.atomic
def mark_done(*, fulfilment: Fulfilment, reference: str, actor: str, now: datetime) -> None:
    """Close a pending fulfilment with the business's reference: its reward is `fulfilled`.

    A second call, or one after the reward was reversed, is a 409 and writes nothing.
    """
    reward = fulfilment.reward
    # The referral before the reward: the order approvals and refunds take them in.
    if reward.referral_id is not None:
        Referral.objects.select_for_update(no_key=True).filter(pk=reward.referral_id).exists()
    if not complete(reward, reference=reference, actor=actor, now=now):
        raise _refused(fulfilment)


def _refused(fulfilment: Fulfilment) -> Conflict:
    status = Fulfilment.objects.values_list("status", flat=True).get(pk=fulfilment.pk)
    if status == Status.DONE:
        message = f"fulfilment {fulfilment.public_id} is already done"
    elif status == Status.CANCELLED:
        message = f"fulfilment {fulfilment.public_id} is cancelled: its reward was reversed"
    else:
        message = f"fulfilment {fulfilment.public_id}'s reward is no longer waiting for it"
    return Conflict(message, code="invalid_state", details={"status": status})


def _record(
    name: str, fulfilment: Fulfilment, reward: Reward, now: datetime, **data: object
) -> None:
    events.record(
        name,
        workspace_id=reward.workspace_id,
        subject_id=fulfilment.public_id,
        data={"reward": reward.public_id, **data},
        now=now,
    )
