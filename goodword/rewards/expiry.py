"""Credit expiry: which credit a movement out takes, what is left of a reward when it expires,
and the sweeps that announce and expire it. Points expire the same way: they are credit in the
pseudo-currency PTS, with accounts of their own.

The rule. A participant's credit in one currency is made of lots, one per movement in (a
reward's approval, net of any debt it paid off; a positive adjustment). Every movement out
takes from the lots:

- a redemption or a negative adjustment takes from the lot that expires soonest; lots that
  never expire go last, and lots that expire together go oldest first;
- a clawback (a refund) or the expiry of a reward takes from that reward's own lot first; what
  it takes beyond (a refund of credit already spent) is taken like a redemption.

When `expires_at` passes, what is left of that reward's lot expires, and nothing else: an
`expiry` transaction moves it from the participant's credit back to the workspace's `rewards`
account, the account it came from. The lots add up to the balance, so an expiry never takes the
balance below zero, never takes what redemptions already took, and never touches credit that
does not expire.

The lots are not stored: they are replayed from the credit account's entries, in transaction
order. Every movement out locks the credit account before it posts, so movements out replay in
the order they happened; a movement in does not take that lock and may replay slightly before
it committed, which can only give earlier movements out more to take from, never less.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from goodword.events import services as events
from goodword.participants.models import Participant
from goodword.programs.models import RewardRule
from goodword.rewards import ledger
from goodword.rewards.models import LedgerAccount, LedgerEntry, LedgerTransaction, Reward

Kind = LedgerAccount.Kind
_NEVER = datetime.max.replace(tzinfo=UTC)
# Points are kept like credit, in their own currency (PTS), and expire like it.
_EXPIRING = (RewardRule.Kind.CREDIT, RewardRule.Kind.POINTS)


@dataclass(frozen=True)
class Movement:
    """One entry of a credit account: `amount` in (> 0) or out (< 0), and the reward of its
    transaction, if any, with that reward's expiry."""

    amount: int
    reward_id: int | None = None
    expires_at: datetime | None = None


@dataclass
class Lot:
    """Credit that came in with one movement, and what is `left` of it."""

    reward_id: int | None
    expires_at: datetime | None
    seq: int
    left: int


def _spending_order(lot: Lot) -> tuple[datetime, int]:
    return (lot.expires_at or _NEVER, lot.seq)


def replay(movements: Iterable[Movement]) -> list[Lot]:
    """Replay one credit account's movements into its lots, in spending order. Pure.

    A movement out that finds less than it takes (a balance below zero: drift, which
    `check_ledger` reports) empties the lots and the rest is ignored.
    """
    lots: list[Lot] = []
    own: dict[int, Lot] = {}
    for seq, move in enumerate(movements):
        if move.amount > 0:
            lot = Lot(move.reward_id, move.expires_at, seq, move.amount)
            bisect.insort(lots, lot, key=_spending_order)
            if move.reward_id is not None:
                own[move.reward_id] = lot
            continue
        need = -move.amount
        first = own.get(move.reward_id) if move.reward_id is not None else None
        for lot in [first, *lots] if first is not None else lots:
            taken = min(need, lot.left)
            lot.left -= taken
            need -= taken
            if not need:
                break
    return lots


def left_of(lots: Iterable[Lot], reward_id: int) -> int:
    """What is left of a reward's credit: what its expiry would take."""
    return sum(lot.left for lot in lots if lot.reward_id == reward_id)


def soonest(lots: Iterable[Lot]) -> tuple[int, datetime] | None:
    """The credit that expires soonest: its amount (all lots expiring at that moment) and when."""
    expiring = [lot for lot in lots if lot.expires_at is not None and lot.left > 0]
    if not expiring:
        return None
    at = min(lot.expires_at for lot in expiring if lot.expires_at is not None)
    return sum(lot.left for lot in expiring if lot.expires_at == at), at


def movements(credit: LedgerAccount) -> list[Movement]:
    rows = (
        LedgerEntry.objects.filter(account=credit)
        .order_by("transaction_id", "pk")
        .values_list("amount", "transaction__reward_id", "transaction__reward__expires_at")
    )
    return [Movement(amount, reward_id, expires_at) for amount, reward_id, expires_at in rows]


def dates(reward: Reward, *, approved_at: datetime) -> dict[str, datetime | None]:
    """The expiry fields to set on `reward` approved at `approved_at`: none unless it is credit
    or points from a rule with `expires_days`. The rule's values when it is approved apply."""
    if reward.kind not in _EXPIRING or reward.rule is None:
        return {}
    days, notice = reward.rule.expires_days, reward.rule.expiry_notice_days
    if not days:
        return {}
    expires_at = approved_at + timedelta(days=days)
    notice_at = expires_at - timedelta(days=notice) if notice else None
    return {"expires_at": expires_at, "expiry_notice_at": notice_at}


def _credit_account(reward: Reward) -> LedgerAccount:
    return ledger.account(
        workspace_id=reward.workspace_id,
        participant=reward.participant,
        kind=Kind.CREDIT,
        currency=reward.currency,
    )


@transaction.atomic
def expire_reward(reward: Reward, *, now: datetime) -> int | None:
    """Expire what is left of a reward's credit once its `expires_at` has passed.

    Returns the amount expired (0 when all of it was spent or taken back: nothing is posted),
    or None when it is not due, already settled, or held by another transaction (a refund):
    the next sweep settles it then.
    """
    # The credit account, then the reward without waiting. A refund locks the reward, then
    # the credit account (and reversing several rewards of a referral, the next reward after
    # that): waiting here for a locked reward while holding the account could close a cycle.
    credit = ledger.lock_account(_credit_account(reward))
    due = Reward.objects.filter(pk=reward.pk, expired_at__isnull=True, expires_at__lte=now)
    if not due.select_for_update(no_key=True, skip_locked=True).exists():
        return None
    due.update(expired_at=now)
    reward.expired_at = now
    amount = min(left_of(replay(movements(credit)), reward.pk), ledger.balance(credit))
    if amount <= 0:
        return 0
    ws, cur = reward.workspace_id, reward.currency
    rewards_acct = ledger.account(workspace_id=ws, kind=Kind.REWARDS, currency=cur)
    posted = ledger.post_transaction(
        workspace_id=ws,
        kind=LedgerTransaction.Kind.EXPIRY,
        key=f"reward:{reward.pk}:expire",
        entries=[(credit, -amount), (rewards_acct, amount)],
        reward=reward,
        now=now,
    )
    assert posted is not None  # noqa: S101 - the claim above lets one transaction through
    _record("credit.expired", reward, now, amount=amount)
    return amount


@transaction.atomic
def announce_expiry(reward: Reward, *, now: datetime) -> bool:
    """Announce, once, credit that will expire (`credit.expiring`, for messages).

    Returns False when already announced or not due. Nothing is announced when nothing of the
    reward is left, or when its expiry has already passed (the sweep was late).
    """
    claimed = Reward.objects.filter(
        pk=reward.pk, expiry_notified_at__isnull=True, expiry_notice_at__lte=now
    ).update(expiry_notified_at=now)
    if not claimed:
        return False
    reward.expiry_notified_at = now
    if reward.expires_at is None or reward.expires_at <= now:
        return True
    amount = left_of(replay(movements(_credit_account(reward))), reward.pk)
    if amount > 0:
        _record("credit.expiring", reward, now, amount=amount, expires_at=_iso(reward.expires_at))
    return True


def expire_due_credit(*, now: datetime, limit: int = 500) -> int:
    """The sweeper: settle the expiry of every reward whose `expires_at` has passed. Safe to run
    anywhere, any number of times at once: each settlement claims its row. Returns how many
    rewards it settled.

    A reward reversed after approval is settled too, with nothing: its clawback took its own
    credit first. Settling it keeps it out of the sweep's queue (the `reward_expiry_due` index).
    """
    due = list(
        Reward.objects.filter(expired_at__isnull=True, expires_at__lte=now)
        .select_related("participant")
        .order_by("expires_at", "pk")[:limit]
    )
    return sum(expire_reward(reward, now=now) is not None for reward in due)


def announce_expiring_credit(*, now: datetime, limit: int = 500) -> int:
    """The sweeper: announce every reward whose `expiry_notice_at` has passed, once."""
    due = list(
        Reward.objects.filter(expiry_notified_at__isnull=True, expiry_notice_at__lte=now)
        .select_related("participant")
        .order_by("expiry_notice_at", "pk")[:limit]
    )
    return sum(announce_expiry(reward, now=now) for reward in due)


def next_expiries(participant: Participant) -> dict[str, tuple[int, datetime]]:
    """Per currency, the participant's credit that expires soonest: (amount, when)."""
    currencies = set(
        Reward.objects.filter(
            participant=participant, expires_at__isnull=False, expired_at__isnull=True
        ).values_list("currency", flat=True)
    )
    if not currencies:
        return {}
    accounts = LedgerAccount.objects.filter(
        participant=participant, kind=Kind.CREDIT, currency__in=currencies
    )
    out = {}
    for acct in accounts:
        if (found := soonest(replay(movements(acct)))) is not None:
            out[acct.currency] = found
    return out


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record(name: str, reward: Reward, now: datetime, **data: object) -> None:
    events.record(
        name,
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={
            "reward": reward.public_id,
            "participant": reward.participant.public_id,
            "currency": reward.currency,
            **data,
        },
        now=now,
    )
