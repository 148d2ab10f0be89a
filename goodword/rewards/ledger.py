"""The double-entry ledger. `post_transaction` is its only writer.

Sign convention: a participant's `credit` account holds what they may spend (>= 0); their `debt`
account holds what a clawback could not take back (<= 0). The workspace's `rewards` and
`redemptions` accounts are the other side of every movement. Every transaction's entries sum to
zero; corrections are new transactions, never edits.

Credit that expires goes back to the `rewards` account it came from (an `expiry` transaction,
goodword/rewards/expiry.py), as a clawback does: that account then nets out what rewards really
cost, and the transaction kind tells expiry apart from refunds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from goodword.participants.models import Participant
from goodword.rewards.models import LedgerAccount, LedgerEntry, LedgerTransaction, Reward

Kind = LedgerAccount.Kind


class UnbalancedTransaction(Exception):
    pass


def account(
    *, workspace_id: int, kind: str, currency: str, participant: Participant | None = None
) -> LedgerAccount:
    acct, _ = LedgerAccount.objects.get_or_create(
        workspace_id=workspace_id,
        participant=participant,
        kind=kind,
        currency=currency,
    )
    return acct


def lock_account(acct: LedgerAccount) -> LedgerAccount:
    """Lock an account row for the rest of the transaction (PostgreSQL row lock; SQLite
    serialises write transactions, which BEGIN IMMEDIATE has already taken).

    FOR NO KEY UPDATE, not FOR UPDATE: lockers still queue on each other, but writing an entry
    that references a locked account (a foreign key check takes FOR KEY SHARE) does not wait.
    With FOR UPDATE, an approval (debt locked, writes credit) and a clawback (credit locked,
    writes debt) of the same participant deadlocked.
    """
    return LedgerAccount.objects.select_for_update(no_key=True).get(pk=acct.pk)


def balance(acct: LedgerAccount) -> int:
    total = LedgerEntry.objects.filter(account=acct).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def credit_entries(
    *, participant: Participant, currency: str, amount: int, source: str
) -> list[tuple[LedgerAccount, int]]:
    """Entries giving `amount` of credit from the workspace's `source` account; any debt
    takes its share first, as it does of every reward."""
    ws = participant.workspace_id
    debt = lock_account(
        account(workspace_id=ws, participant=participant, kind=Kind.DEBT, currency=currency)
    )
    settle = min(amount, -balance(debt))
    credit = account(workspace_id=ws, participant=participant, kind=Kind.CREDIT, currency=currency)
    origin = account(workspace_id=ws, kind=source, currency=currency)
    return [(origin, -amount), (debt, settle), (credit, amount - settle)]


def post_transaction(
    *,
    workspace_id: int,
    kind: str,
    key: str,
    entries: Sequence[tuple[LedgerAccount, int]],
    now: datetime,
    reward: Reward | None = None,
    memo: str = "",
) -> LedgerTransaction | None:
    """Post balanced entries once per `key`. Returns None when `key` was posted before."""
    if not connection.in_atomic_block:
        raise RuntimeError("post_transaction runs inside the caller's transaction")
    entries = [(acct, amount) for acct, amount in entries if amount != 0]
    per_currency: dict[str, int] = {}
    for acct, amount in entries:
        per_currency[acct.currency] = per_currency.get(acct.currency, 0) + amount
    if any(per_currency.values()) or not entries:
        raise UnbalancedTransaction(f"{key}: entries sum to {per_currency}")
    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                workspace_id=workspace_id,
                kind=kind,
                key=key,
                reward=reward,
                memo=memo,
                created_at=now,
            )
    except IntegrityError:
        return None
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=txn, account=acct, amount=amount, created_at=now)
        for acct, amount in entries
    )
    return txn


def participant_balances(
    participant: Participant, *, paid: bool = True
) -> dict[str, dict[str, int]]:
    """Per currency, as sums of entries: available credit, outstanding debt, and cash: owed
    (`payable`), in an approved payout batch (`paying`) and paid out to them (`paid`; left
    at 0 without its query when `paid` is False)."""
    rows = (
        LedgerEntry.objects.filter(account__participant=participant)
        .values("account__kind", "account__currency")
        .annotate(total=Sum("amount"))
    )
    out: dict[str, dict[str, int]] = {}

    def line(currency: str) -> dict[str, int]:
        zero = {"available": 0, "debt": 0, "payable": 0, "paying": 0, "paid": 0}
        return out.setdefault(currency, zero)

    for row in rows:
        slot = line(row["account__currency"])
        kind, total = row["account__kind"], int(row["total"])
        if kind == Kind.CREDIT:
            slot["available"] = total
        elif kind == Kind.DEBT:
            slot["debt"] = -total
        elif kind in (Kind.PAYABLE, Kind.PAYING):
            slot[kind] = total
    if not paid:
        return out
    # What was paid out sits in the workspace's `paid` account: the entries there of the
    # transactions that took it from this participant's `paying`.
    paid_out = (
        LedgerEntry.objects.filter(
            account__kind=Kind.PAID,
            account__workspace_id=participant.workspace_id,
            transaction__entries__account__participant=participant,
            transaction__entries__account__kind=Kind.PAYING,
        )
        .values("account__currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for cash in paid_out:
        line(cash["account__currency"])["paid"] = int(cash["total"])
    return out
