"""Composed reads of rewards used by more than one caller (the API and the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from goodword.participants.models import Participant
from goodword.rewards import expiry, ledger
from goodword.rewards.models import Reward


@dataclass(frozen=True)
class BalanceLine:
    """One currency of a participant's balance, in minor units (or points)."""

    currency: str
    available: int
    pending: int  # credit and points still in their hold
    debt: int
    payable: int
    paying: int
    paid: int
    next_expiry: tuple[int, datetime] | None  # the credit that expires soonest: (amount, when)

    @property
    def cash_owed(self) -> int:
        """Cash owed to them and not yet paid: outside a payout batch, or in one."""
        return self.payable + self.paying


@dataclass(frozen=True)
class HeldLine:
    """One currency of what a participant may spend now and what is still in its hold."""

    currency: str
    available: int
    pending: int


def available_and_pending(participant: Participant) -> list[HeldLine]:
    """`balances`' available and pending per currency, the same currencies, in two queries
    instead of four (the advocate portal shows only these): no cash paid out, no expiry.
    A currency paid out has entries in the participant's own `paying` account, so the
    currencies are `balances`' too."""
    lines = ledger.participant_balances(participant, paid=False)
    held = _held(participant)
    return [
        HeldLine(cur, lines.get(cur, {}).get("available", 0), held.get(cur, 0))
        for cur in sorted(set(lines) | set(held))
    ]


def _held(participant: Participant) -> dict[str, int]:
    """Credit and points still in their hold, per currency."""
    pending = (
        Reward.objects.for_workspace(participant.workspace_id)
        .filter(
            participant=participant, status=Reward.Status.PENDING, kind__in=("credit", "points")
        )
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["currency"]: int(row["total"] or 0) for row in pending}


def balances(participant: Participant) -> list[BalanceLine]:
    """The participant's balances per currency, sorted by currency: the ledger's sums
    (`ledger.participant_balances`), credit and points still in their hold, and the credit
    that expires soonest. `GET /participants/{id}/balance` and the participant's page show
    these."""
    lines = ledger.participant_balances(participant)
    held = _held(participant)
    expiring = expiry.next_expiries(participant)
    return [
        BalanceLine(
            currency=cur,
            available=lines.get(cur, {}).get("available", 0),
            pending=held.get(cur, 0),
            debt=lines.get(cur, {}).get("debt", 0),
            payable=lines.get(cur, {}).get("payable", 0),
            paying=lines.get(cur, {}).get("paying", 0),
            paid=lines.get(cur, {}).get("paid", 0),
            next_expiry=expiring.get(cur),
        )
        for cur in sorted(set(lines) | set(held))
    ]
