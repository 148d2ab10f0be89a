from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, Sum

from goodword.events import services as events
from goodword.lib.errors import Conflict, Invalid
from goodword.participants.models import Participant
from goodword.programs import counters
from goodword.programs.models import RewardRule
from goodword.referrals import services as referrals
from goodword.referrals.models import Referral
from goodword.rewards import choice, coupons, expiry, fulfilment, ledger, payouts
from goodword.rewards.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Redemption,
    Reward,
)

Kind = LedgerAccount.Kind
# Kinds kept in the participant's credit account (points in the pseudo-currency PTS).
LEDGER_KINDS = (RewardRule.Kind.CREDIT, RewardRule.Kind.POINTS)


def _record(name: str, reward: Reward, now: datetime, **data: object) -> None:
    events.record(
        name,
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        # A manual reward (POST /participants/{id}/rewards) has no referral.
        data={"referral": reward.referral.public_id if reward.referral else None, **data},
        now=now,
    )


@transaction.atomic
def approve_reward(reward: Reward, *, now: datetime, **event_data: object) -> bool:
    """Approve a held reward and deliver it by its kind (`issue`). A choice the beneficiary
    has not made closes with the default (`reward.chosen`, `by: "default"`).

    `event_data` is added to `reward.approved` (a manual approval's `actor` and `early`).
    Returns False when another worker got there first or the reward left `pending`.
    """
    # Lock the referral before the reward, the order a refund takes them in
    # (`reverse_referral_rewards`); the other order deadlocks the two on PostgreSQL.
    if reward.referral_id is not None:
        Referral.objects.select_for_update(no_key=True).filter(pk=reward.referral_id).exists()
    # What it gives as it is now: a choice or a partial refund may have changed it since it was
    # loaded (the sweeper loads many at once).
    _lock_offer(reward)
    # A choice still open when the reward is approved (its deadline passed, or approved early
    # by hand) closes with the default.
    closing = {"choices": None, "choose_by": None} if reward.choices is not None else {}
    expiry_dates = expiry.dates(reward, approved_at=now)
    claimed = Reward.objects.filter(pk=reward.pk, status=Reward.Status.PENDING).update(
        status=Reward.Status.APPROVED, approved_at=now, **expiry_dates, **closing
    )
    if not claimed:
        return False
    # Set in memory what the claim wrote: refresh_from_db would also drop the participant and
    # referral the sweeper loaded with the reward, a query each per reward.
    reward.status, reward.approved_at = Reward.Status.APPROVED, now
    for name, value in {**expiry_dates, **closing}.items():
        setattr(reward, name, value)
    with events.batched():
        if closing:
            actor = event_data.get("actor")
            by_hand = {"actor": actor} if actor else {}
            choice.record_chosen(reward, now=now, by="default", **by_hand)
        issue(reward, now=now, **event_data)
        if reward.referral is not None:
            referrals.mark_rewarded(reward.referral, now=now)
    return True


def _lock_offer(reward: Reward) -> None:
    """Lock a reward and read what it gives now: the beneficiary may have chosen, or a partial
    refund shrunk it, since it was loaded. Both claim the row while pending, so once locked here
    it cannot change before this approval claims it."""
    row = (
        Reward.objects.select_for_update(no_key=True)
        .filter(pk=reward.pk)
        .values(*_OFFER_FIELDS)
        .get()
    )
    for name, value in row.items():
        setattr(reward, name, value)


_OFFER_FIELDS = ("kind", "amount", "percent_off", "currency", "details", "choices", "choose_by")


def _approved_data(reward: Reward) -> dict[str, object]:
    """What `reward.approved` says the reward gives, for whoever delivers it."""
    return {
        "kind": reward.kind,
        "amount": reward.amount,
        "percent_off": reward.percent_off,
        "currency": reward.currency,
        "details": reward.details,
        "participant": reward.participant.public_id,
        "external_id": reward.participant.external_id,
    }


def issue(reward: Reward, *, now: datetime, **event_data: object) -> None:
    """Deliver an approved reward by its kind, and record `reward.approved` (and what follows:
    `reward.fulfilled` for a coupon issued at once). `event_data` goes on `reward.approved`.

    Credit and points are posted to the ledger; cash is owed in the payable account until a
    payout pays it; a coupon gets its code; every other kind waits in the fulfilment queue.
    """
    if reward.kind in LEDGER_KINDS:
        assert reward.amount is not None  # noqa: S101 - guaranteed by OfferSpec
        ledger.post_transaction(
            workspace_id=reward.workspace_id,
            kind=LedgerTransaction.Kind.REWARD,
            key=f"reward:{reward.pk}:approve",
            entries=ledger.credit_entries(
                participant=reward.participant,
                currency=reward.currency,
                amount=reward.amount,
                source=Kind.REWARDS,
            ),
            reward=reward,
            now=now,
        )
        _record("reward.approved", reward, now, **_approved_data(reward), **event_data)
    elif reward.kind == RewardRule.Kind.CASH:
        payouts.owe(reward, now=now)
        _record("reward.approved", reward, now, **_approved_data(reward), **event_data)
    elif reward.kind == RewardRule.Kind.COUPON:
        _record("reward.approved", reward, now, **_approved_data(reward), **event_data)
        coupons.issue(reward, now=now, actor=str(event_data.get("actor", "")))
    else:
        _record("reward.approved", reward, now, **_approved_data(reward), **event_data)
        fulfilment.queue(reward, now=now)


def approve_due_rewards(*, now: datetime, limit: int = 500) -> int:
    """The sweeper: approve rewards whose hold has ended. Safe to run anywhere, any number of
    times at once: each approval claims its row."""
    due = list(
        Reward.objects.filter(status=Reward.Status.PENDING, hold_until__lte=now)
        # A choice still open waits for the beneficiary, past the hold if need be.
        .filter(Q(choose_by__isnull=True) | Q(choose_by__lte=now))
        .select_related("referral", "participant", "rule")
        .order_by("hold_until", "pk")[:limit]
    )
    return sum(approve_reward(reward, now=now) for reward in due)


def _clawed_back(reward: Reward) -> int:
    """What earlier clawbacks (partial refunds) and its expiry already took back of this reward:
    a refund after the expiry claws back only what the participant spent of it."""
    total = LedgerEntry.objects.filter(
        transaction__reward=reward,
        transaction__kind__in=(LedgerTransaction.Kind.CLAWBACK, LedgerTransaction.Kind.EXPIRY),
        account__kind=Kind.REWARDS,
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def _claw_back(
    reward: Reward, *, now: datetime, amount: int | None = None, refund: str = ""
) -> None:
    """Take back approved credit, all that is left of it or `amount` (a partial refund's
    share): from the balance what is there, the rest as debt."""
    assert reward.amount is not None  # noqa: S101 - guaranteed by a CheckConstraint
    ws, cur, participant = reward.workspace_id, reward.currency, reward.participant
    credit = ledger.lock_account(
        ledger.account(workspace_id=ws, participant=participant, kind=Kind.CREDIT, currency=cur)
    )
    left = reward.amount - _clawed_back(reward)
    amount = left if amount is None else min(amount, left)
    if amount <= 0:
        return
    taken = min(amount, ledger.balance(credit))
    debt = ledger.account(workspace_id=ws, participant=participant, kind=Kind.DEBT, currency=cur)
    rewards_acct = ledger.account(workspace_id=ws, kind=Kind.REWARDS, currency=cur)
    # One transaction per refund: each partial refund is its own adjustment in the ledger.
    key = f"reward:{reward.pk}:clawback" + (f":{refund}" if refund else "")
    ledger.post_transaction(
        workspace_id=ws,
        kind=LedgerTransaction.Kind.CLAWBACK,
        key=key,
        entries=[(credit, -taken), (debt, -(amount - taken)), (rewards_acct, amount)],
        reward=reward,
        now=now,
    )
    extra = {"amount": amount, "refund": refund} if refund else {}
    _record("reward.clawed_back", reward, now, debt=amount - taken, **extra)


@transaction.atomic
def claw_back_part(reward: Reward, *, amount: int, refund: str, now: datetime) -> bool:
    """A partial refund shrank an approved (or fulfilled) credit, points or cash reward by
    `amount`: take that back. Other kinds are delivered whole (a coupon issued keeps its value);
    a reversed reward has nothing left to take.
    """
    locked = Reward.objects.select_for_update(no_key=True).filter(pk=reward.pk)
    status = locked.values_list("status", flat=True).first()
    if status not in (Reward.Status.APPROVED, Reward.Status.FULFILLED):
        return False
    if reward.kind in LEDGER_KINDS:
        _claw_back(reward, now=now, amount=amount, refund=refund)
    elif reward.kind == RewardRule.Kind.CASH:
        payouts.claw_back(reward, now=now, amount=amount, refund=refund)
    else:
        return False
    return True


@transaction.atomic
def shrink_pending_reward(reward: Reward, *, amount: int, refund: str, now: datetime) -> bool:
    """A partial refund lowered a reward still in its hold to `amount`."""
    was = reward.amount
    changed = Reward.objects.filter(pk=reward.pk, status=Reward.Status.PENDING).update(
        amount=amount
    )
    if changed and was is not None:
        reward.amount = amount
        _record("reward.adjusted", reward, now, amount=amount, was=was, reason="refund")
    return bool(changed)


@transaction.atomic
def reverse_reward(reward: Reward, *, now: datetime, **event_data: object) -> bool:
    """Reverse a reward: before issue it is simply cancelled; after, credit is clawed back.

    `event_data` is added to `reward.reversed` (a manual reversal's `reason` and `actor`).

    Each step claims the row from one known status, so a concurrent approval cannot slip
    between reading the status and acting on it.
    """
    for previous in (
        Reward.Status.PENDING,
        Reward.Status.APPROVED,
        Reward.Status.PENDING_FULFILMENT,
        Reward.Status.FULFILLED,
    ):
        claimed = Reward.objects.filter(pk=reward.pk, status=previous).update(
            status=Reward.Status.REVERSED, reversed_at=now
        )
        if claimed:
            break
    else:
        return False
    counters.forget_reward(reward)
    if previous != Reward.Status.PENDING:
        undo(reward, now=now)
    _record("reward.reversed", reward, now, was=str(previous), **event_data)
    return True


def undo(reward: Reward, *, now: datetime) -> None:
    """Take back what approving `reward` gave (it has just been reversed)."""
    # Credit is in the ledger from approval on, also once marked fulfilled by hand.
    if reward.kind in LEDGER_KINDS:
        _claw_back(reward, now=now)
    elif reward.kind == RewardRule.Kind.CASH:
        payouts.claw_back(reward, now=now)
    elif reward.kind == RewardRule.Kind.COUPON:
        coupons.revoke(reward, now=now)
    else:
        fulfilment.cancel(reward, now=now)


@transaction.atomic
def reverse_referral_rewards(referral: Referral, *, now: datetime, reason: str) -> int:
    if not referrals.reverse_referral(referral, now=now, reason=reason):
        return 0
    rewards = list(
        Reward.objects.filter(referral=referral).select_related("participant").order_by("pk")
    )
    for reward in rewards:
        reward.referral = referral  # the caller's instance, not a copy loaded again
    payouts.lock_payables(rewards)
    return sum(reverse_reward(reward, now=now) for reward in rewards)


@transaction.atomic
def redeem_credit(
    *, participant: Participant, order_id: str, amount: int, currency: str, now: datetime
) -> tuple[Redemption, bool]:
    """Spend credit on an order. Idempotent on `order_id`; raises Conflict when short.

    The credit account row is locked before the balance is read, so concurrent redemptions
    queue and the balance can never go below zero.
    """
    existing = Redemption.objects.filter(
        workspace_id=participant.workspace_id, order_id=order_id
    ).first()
    if existing is not None:
        _check_same_redemption(existing, participant, amount, currency)
        return existing, False
    ws = participant.workspace_id
    credit = ledger.lock_account(
        ledger.account(
            workspace_id=ws, participant=participant, kind=Kind.CREDIT, currency=currency
        )
    )
    # Re-check after taking the lock: a concurrent retry of the same order may have committed.
    existing = Redemption.objects.filter(workspace_id=ws, order_id=order_id).first()
    if existing is not None:
        _check_same_redemption(existing, participant, amount, currency)
        return existing, False
    available = ledger.balance(credit)
    if available < amount:
        raise Conflict(
            f"the available balance is {available} {currency}, less than {amount}",
            code="insufficient_balance",
            details={"available": available, "currency": currency},
        )
    sink = ledger.account(workspace_id=ws, kind=Kind.REDEMPTIONS, currency=currency)
    txn = ledger.post_transaction(
        workspace_id=ws,
        kind=LedgerTransaction.Kind.REDEMPTION,
        key=f"redemption:{order_id}",
        entries=[(credit, -amount), (sink, amount)],
        now=now,
    )
    assert txn is not None  # noqa: S101 - the redemption row and its key are both unique
    redemption = Redemption.objects.create(
        workspace_id=ws,
        participant=participant,
        order_id=order_id,
        amount=amount,
        currency=currency,
        transaction=txn,
        created_at=now,
    )
    events.record(
        "credit.redeemed",
        workspace_id=ws,
        subject_id=redemption.public_id,
        data={"participant": participant.public_id, "amount": amount, "currency": currency},
        now=now,
    )
    return redemption, True


def _check_same_redemption(
    existing: Redemption, participant: Participant, amount: int, currency: str
) -> None:
    if (existing.participant_id, existing.amount, existing.currency) != (
        participant.pk,
        amount,
        currency,
    ):
        raise Invalid(
            f"order {existing.order_id!r} was already redeemed with different values",
            code="idempotency_conflict",
        )
