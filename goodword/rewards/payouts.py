"""Cash rewards and payouts.

An approved cash reward is owed to its participant in their `payable` account. A payout batch
gathers, per currency, everyone owed at least a minimum; approving it moves each one's cash to
their `paying` account; the business pays outside Goodword (a PayPal or Wise file, see
`payout_exports`) and marks each payout paid (to the workspace's `paid` account) or failed
(back to `payable`). Every movement is a ledger transaction:

- a cash reward approved (`reward`, `reward:{pk}:approve`): rewards -a; debt +d (what is owed
  back, paid off first), payable +(a - d);
- a cash reward clawed back (`clawback`, `reward:{pk}:clawback[:refund]`): payable -t (what is
  there), debt -(a - t); rewards +a;
- a batch approved, per payout (`payout`, `payout:{pk}:approve`): payable -a, paying +a;
- a payout paid (`payout`, `payout:{pk}:paid`): paying -a, the workspace's paid +a;
- a payout failed (`payout`, `payout:{pk}:failed`): paying -a; debt +d, payable +(a - d).

The participant's `debt` account is the one credit uses: what a clawback could not take from
`payable` (the cash was paid out, or sits in an approved batch) is owed back, and the next
cash coming to the participant (a reward, or a failed payout's money) pays it off first.
Cash already payable is not taken for a debt that arises later (a credit clawback): only money
coming in settles debt. `payable` and `paying` never go below zero.

Locks: a clawback and a batch approval lock the participant's `payable` account before they
read it; money coming in (an approval, a failed payout) locks `debt` to settle it. Marking a
payout locks its batch first, so the payout that finishes a batch sees all the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum

from goodword.events import services as events
from goodword.lib.errors import Conflict
from goodword.participants.models import Participant
from goodword.programs.models import RewardRule
from goodword.rewards import ledger
from goodword.rewards.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutBatch,
    Reward,
)

Kind = LedgerAccount.Kind
TxnKind = LedgerTransaction.Kind
BatchStatus = PayoutBatch.Status
PayoutStatus = Payout.Status


def _participant_account(participant: Participant, kind: str, currency: str) -> LedgerAccount:
    return ledger.account(
        workspace_id=participant.workspace_id, participant=participant, kind=kind, currency=currency
    )


def _to_payable(
    participant: Participant, currency: str, amount: int
) -> list[tuple[LedgerAccount, int]]:
    """The participant's side of `amount` of cash coming to them: debt first, the rest payable
    (as `ledger.credit_entries` does for credit)."""
    debt = ledger.lock_account(_participant_account(participant, Kind.DEBT, currency))
    settle = min(amount, -ledger.balance(debt))
    payable = _participant_account(participant, Kind.PAYABLE, currency)
    return [(debt, settle), (payable, amount - settle)]


# Cash rewards: owed on approval, clawed back on a refund or a reversal.


def owe(reward: Reward, *, now: datetime) -> None:
    """An approved cash reward: owed to the participant in their payable account."""
    assert reward.amount is not None  # noqa: S101 - guaranteed by OfferSpec
    origin = ledger.account(
        workspace_id=reward.workspace_id, kind=Kind.REWARDS, currency=reward.currency
    )
    ledger.post_transaction(
        workspace_id=reward.workspace_id,
        kind=TxnKind.REWARD,
        key=f"reward:{reward.pk}:approve",
        entries=[
            (origin, -reward.amount),
            *_to_payable(reward.participant, reward.currency, reward.amount),
        ],
        reward=reward,
        now=now,
    )


def _clawed_back(reward: Reward) -> int:
    """What earlier clawbacks (partial refunds) already took back of this reward."""
    total = LedgerEntry.objects.filter(
        transaction__reward=reward,
        transaction__kind=TxnKind.CLAWBACK,
        account__kind=Kind.REWARDS,
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def lock_payables(rewards: Iterable[Reward]) -> None:
    """Lock the payable accounts of these rewards' cash in account order, the order a batch
    approval takes them in: a refund reversing two people's cash then cannot deadlock with it
    by locking them one by one in reward order."""
    accounts = {
        _participant_account(r.participant, Kind.PAYABLE, r.currency).pk
        for r in rewards
        if r.kind == RewardRule.Kind.CASH
    }
    for pk in sorted(accounts):
        LedgerAccount.objects.select_for_update(no_key=True).filter(pk=pk).exists()


def claw_back(
    reward: Reward, *, now: datetime, amount: int | None = None, refund: str = ""
) -> None:
    """Take back an approved cash reward, all that is left of it or `amount` (a partial
    refund's share): from payable what is there; the rest (cash already paid out or in an
    approved batch) becomes debt, which the participant's next cash pays off first."""
    assert reward.amount is not None  # noqa: S101 - guaranteed by a CheckConstraint
    participant, cur = reward.participant, reward.currency
    payable = ledger.lock_account(_participant_account(participant, Kind.PAYABLE, cur))
    left = reward.amount - _clawed_back(reward)
    amount = left if amount is None else min(amount, left)
    if amount <= 0:
        return
    taken = min(amount, ledger.balance(payable))
    debt = _participant_account(participant, Kind.DEBT, cur)
    origin = ledger.account(workspace_id=reward.workspace_id, kind=Kind.REWARDS, currency=cur)
    # One transaction per refund, keyed as credit's clawbacks are.
    key = f"reward:{reward.pk}:clawback" + (f":{refund}" if refund else "")
    posted = ledger.post_transaction(
        workspace_id=reward.workspace_id,
        kind=TxnKind.CLAWBACK,
        key=key,
        entries=[(payable, -taken), (debt, -(amount - taken)), (origin, amount)],
        reward=reward,
        now=now,
    )
    if posted is None:
        return
    extra = {"amount": amount, "refund": refund} if refund else {}
    events.record(
        "reward.clawed_back",
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={
            "referral": reward.referral.public_id if reward.referral else None,
            "debt": amount - taken,
            **extra,
        },
        now=now,
    )


# Payout batches.


def _batch_refused(batch: PayoutBatch, action: str) -> Conflict:
    """409 `invalid_state`, naming the status the batch is in now."""
    status = PayoutBatch.objects.values_list("status", flat=True).get(pk=batch.pk)
    if status == action:
        message = f"payout batch {batch.public_id} is already {action}"
    elif action == "approved" and status == BatchStatus.CLOSED:
        message = f"payout batch {batch.public_id} is already approved (now closed)"
    else:
        message = f"payout batch {batch.public_id} is {status}: only a draft batch can be {action}"
    return Conflict(message, code="invalid_state", details={"status": status})


def _record_batch(name: str, batch: PayoutBatch, now: datetime, **data: object) -> None:
    events.record(
        name, workspace_id=batch.workspace_id, subject_id=batch.public_id, data=data, now=now
    )


def owed(*, workspace_id: int, currency: str, min_amount: int) -> list[tuple[int, int]]:
    """(participant pk, payable balance) of everyone owed at least `min_amount` (and more than
    nothing) in `currency`, in account order."""
    rows = (
        LedgerAccount.objects.filter(
            workspace_id=workspace_id,
            kind=Kind.PAYABLE,
            currency=currency,
            participant__isnull=False,
        )
        .annotate(total=Sum("ledgerentry__amount"))
        .filter(total__gte=max(min_amount, 1))
        .order_by("pk")
        .values_list("participant_id", "total")
    )
    return [(int(participant), int(total)) for participant, total in rows]


@transaction.atomic
def create_batch(
    *, workspace_id: int, currency: str, min_amount: int, actor: str, now: datetime
) -> PayoutBatch:
    """Propose a draft batch: one payout per participant owed at least `min_amount`, of all
    they are owed now. Nothing moves in the ledger until it is approved.

    Raises 409 `nothing_to_pay` when nobody is owed that much.
    """
    rows = owed(workspace_id=workspace_id, currency=currency, min_amount=min_amount)
    if not rows:
        raise Conflict(
            f"no participant is owed at least {max(min_amount, 1)} {currency} (minor units)",
            code="nothing_to_pay",
            details={"currency": currency, "min_amount": min_amount},
        )
    batch = PayoutBatch.objects.create(
        workspace_id=workspace_id,
        currency=currency,
        min_amount=min_amount,
        created_by=actor,
        created_at=now,
    )
    Payout.objects.bulk_create(
        Payout(
            workspace_id=workspace_id,
            batch=batch,
            participant_id=participant,
            amount=amount,
            currency=currency,
        )
        for participant, amount in rows
    )
    _record_batch(
        "payout_batch.created",
        batch,
        now,
        currency=currency,
        min_amount=min_amount,
        payouts=len(rows),
        amount=sum(amount for _, amount in rows),
        actor=actor,
    )
    return batch


@transaction.atomic
def approve_batch(*, batch: PayoutBatch, actor: str, now: datetime) -> PayoutBatch:
    """Approve a draft batch: move each payout's cash from payable to paying.

    The claim is a conditional update: a second or concurrent approval finds the batch no
    longer a draft (409) and moves nothing. Each payable account is locked and read again: a
    clawback since the draft may have lowered it; a payout then pays what is left, and one
    left with nothing is dropped (named in `payout_batch.approved`). A batch whose payouts
    were all dropped closes at once.
    """
    claimed = PayoutBatch.objects.filter(pk=batch.pk, status=BatchStatus.DRAFT).update(
        status=BatchStatus.APPROVED, approved_by=actor, approved_at=now
    )
    if not claimed:
        raise _batch_refused(batch, "approved")
    payouts = list(batch.payouts.select_related("participant"))
    accounts = {
        p.pk: _participant_account(p.participant, Kind.PAYABLE, batch.currency) for p in payouts
    }
    dropped, lowered, total = [], [], 0
    # Lock in a fixed order (account pk), as every other locker of several accounts does.
    for payout in sorted(payouts, key=lambda p: accounts[p.pk].pk):
        payable = ledger.lock_account(accounts[payout.pk])
        amount = min(ledger.balance(payable), payout.amount)
        if amount <= 0:
            dropped.append(payout.participant.public_id)
            payout.delete()
            continue
        if amount < payout.amount:
            lowered.append(payout.public_id)
        Payout.objects.filter(pk=payout.pk).update(status=PayoutStatus.APPROVED, amount=amount)
        paying = _participant_account(payout.participant, Kind.PAYING, batch.currency)
        ledger.post_transaction(
            workspace_id=batch.workspace_id,
            kind=TxnKind.PAYOUT,
            key=f"payout:{payout.pk}:approve",
            entries=[(payable, -amount), (paying, amount)],
            memo=payout.public_id,
            now=now,
        )
        total += amount
    _record_batch(
        "payout_batch.approved",
        batch,
        now,
        payouts=len(payouts) - len(dropped),
        amount=total,
        dropped=sorted(dropped),
        lowered=sorted(lowered),
        actor=actor,
    )
    _close_if_done(batch, now=now, actor=actor)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def cancel_batch(*, batch: PayoutBatch, actor: str, now: datetime) -> PayoutBatch:
    """Throw away a draft batch. Nothing had moved; its payouts stay as a record, in draft."""
    claimed = PayoutBatch.objects.filter(pk=batch.pk, status=BatchStatus.DRAFT).update(
        status=BatchStatus.CANCELLED
    )
    if not claimed:
        raise _batch_refused(batch, "cancelled")
    _record_batch("payout_batch.cancelled", batch, now, actor=actor)
    batch.refresh_from_db()
    return batch


def _claim_payout(payout: Payout, *, action: str, **fields: object) -> None:
    """Lock the payout's batch, then claim the payout from `approved`; 409 otherwise."""
    # The batch row first: payouts of one batch marked at once queue here, so the one that
    # finishes the batch sees the others' statuses and closes it.
    PayoutBatch.objects.select_for_update(no_key=True).filter(pk=payout.batch_id).exists()
    claimed = Payout.objects.filter(pk=payout.pk, status=PayoutStatus.APPROVED).update(**fields)
    if claimed:
        # What its batch's approval made of it: that may have lowered it after a clawback,
        # since this payout was loaded.
        payout.amount = Payout.objects.values_list("amount", flat=True).get(pk=payout.pk)
        return
    status = Payout.objects.values_list("status", flat=True).get(pk=payout.pk)
    if status == action:
        message = f"payout {payout.public_id} is already {action}"
    elif status == PayoutStatus.DRAFT:
        batch_status = PayoutBatch.objects.values_list("status", flat=True).get(pk=payout.batch_id)
        message = (
            f"payout {payout.public_id} is in a {batch_status} batch: only a payout of an "
            f"approved batch can be marked {action}"
        )
    else:
        message = (
            f"payout {payout.public_id} is {status}: only an approved payout can be marked {action}"
        )
    raise Conflict(message, code="invalid_state", details={"status": status})


def _record_payout(name: str, payout: Payout, now: datetime, **data: object) -> None:
    events.record(
        name,
        workspace_id=payout.workspace_id,
        subject_id=payout.public_id,
        data={
            "batch": payout.batch.public_id,
            "participant": payout.participant.public_id,
            "amount": payout.amount,
            "currency": payout.currency,
            **data,
        },
        now=now,
    )


@transaction.atomic
def mark_paid(*, payout: Payout, reference: str, actor: str, now: datetime) -> Payout:
    """The business paid this payout (`reference`: its PayPal or bank transaction id)."""
    _claim_payout(payout, action="paid", status=PayoutStatus.PAID, reference=reference, paid_at=now)
    paying = _participant_account(payout.participant, Kind.PAYING, payout.currency)
    paid = ledger.account(
        workspace_id=payout.workspace_id, kind=Kind.PAID, currency=payout.currency
    )
    ledger.post_transaction(
        workspace_id=payout.workspace_id,
        kind=TxnKind.PAYOUT,
        key=f"payout:{payout.pk}:paid",
        entries=[(paying, -payout.amount), (paid, payout.amount)],
        memo=payout.public_id,
        now=now,
    )
    _record_payout("payout.paid", payout, now, reference=reference, actor=actor)
    _close_if_done(payout.batch, now=now, actor=actor)
    payout.refresh_from_db()
    return payout


@transaction.atomic
def mark_failed(*, payout: Payout, reason: str, actor: str, now: datetime) -> Payout:
    """The payment did not go through: the cash is owed again (payable), debt paid off first."""
    _claim_payout(
        payout, action="failed", status=PayoutStatus.FAILED, failure_reason=reason, failed_at=now
    )
    paying = _participant_account(payout.participant, Kind.PAYING, payout.currency)
    ledger.post_transaction(
        workspace_id=payout.workspace_id,
        kind=TxnKind.PAYOUT,
        key=f"payout:{payout.pk}:failed",
        entries=[
            (paying, -payout.amount),
            *_to_payable(payout.participant, payout.currency, payout.amount),
        ],
        memo=payout.public_id,
        now=now,
    )
    _record_payout("payout.failed", payout, now, reason=reason, actor=actor)
    _close_if_done(payout.batch, now=now, actor=actor)
    payout.refresh_from_db()
    return payout


def _close_if_done(batch: PayoutBatch, *, now: datetime, actor: str) -> None:
    """Close an approved batch once none of its payouts is still to pay."""
    counts = Payout.objects.filter(batch=batch).aggregate(
        open=Count("pk", filter=Q(status=PayoutStatus.APPROVED)),
        paid=Count("pk", filter=Q(status=PayoutStatus.PAID)),
        failed=Count("pk", filter=Q(status=PayoutStatus.FAILED)),
        amount=Sum("amount", filter=Q(status=PayoutStatus.PAID)),
    )
    if counts["open"]:
        return
    closed = PayoutBatch.objects.filter(pk=batch.pk, status=BatchStatus.APPROVED).update(
        status=BatchStatus.CLOSED, closed_at=now
    )
    if closed:
        _record_batch(
            "payout_batch.closed",
            batch,
            now,
            paid=counts["paid"],
            failed=counts["failed"],
            amount=int(counts["amount"] or 0),
            actor=actor,
        )
