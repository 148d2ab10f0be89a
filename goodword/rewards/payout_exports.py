"""Payment files for an approved payout batch: PayPal Payouts, Wise batch, and a generic CSV.

Amounts are written in major units with the currency's ISO 4217 decimals (10.50 USD, 1050 JPY,
1.050 KWD), never as floats. PayPal's and Wise's files list the payouts still to pay, and need
each recipient's email: a payout whose participant has none is refused (409 `missing_email`,
naming them) rather than left out, so a file never looks complete while someone is missing.
Give them an email (`POST /participants`) or mark the payout failed, then export again. The
generic CSV lists every payout of the batch, email or not.

Every cell is guarded against CSV (formula) injection: a cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from goodword.lib.errors import Conflict
from goodword.lib.money import major
from goodword.lib.sheets import to_csv
from goodword.rewards.models import Payout, PayoutBatch

Format = Literal["paypal", "wise", "csv"]


@dataclass(frozen=True)
class Line:
    """One payout as the files need it."""

    payout: str
    participant: str  # the participant's external id
    email: str
    name: str
    amount: int
    currency: str
    status: str
    reference: str


def lines_of(batch: PayoutBatch) -> list[Line]:
    payouts = Payout.objects.filter(batch=batch).select_related("participant").order_by("pk")
    return [
        Line(
            payout=p.public_id,
            participant=p.participant.external_id,
            email=p.participant.email,
            name=p.participant.name,
            amount=p.amount,
            currency=p.currency,
            status=p.status,
            reference=p.reference,
        )
        for p in payouts
    ]


def paypal(lines: Sequence[Line], *, note: str) -> str:
    """PayPal Payouts' upload file: no header; recipient email, amount, currency, customer id
    (our payout id, to match PayPal's report back), note to recipient, wallet."""
    return to_csv(
        [ln.email, major(ln.amount, ln.currency), ln.currency, ln.payout, note, "PAYPAL"]
        for ln in lines
    )


WISE_HEADER = (
    "name",
    "recipientEmail",
    "paymentReference",
    "receiverType",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
)


def wise(lines: Sequence[Line]) -> str:
    """Wise's "send by email" batch template. The amount is fixed in the target currency
    (`amountCurrency` "target": the recipient gets exactly what is owed), paid from the same
    currency: no conversion."""
    rows: list[Sequence[str]] = [WISE_HEADER]
    rows += [
        (
            ln.name or ln.participant,
            ln.email,
            ln.payout,
            "PRIVATE",
            "target",
            major(ln.amount, ln.currency),
            ln.currency,
            ln.currency,
        )
        for ln in lines
    ]
    return to_csv(rows)


GENERIC_HEADER = (
    "payout_id",
    "participant_external_id",
    "email",
    "name",
    "amount_minor",
    "amount",
    "currency",
    "status",
    "reference",
)


def generic(lines: Sequence[Line]) -> str:
    rows: list[Sequence[str]] = [GENERIC_HEADER]
    rows += [
        (
            ln.payout,
            ln.participant,
            ln.email,
            ln.name,
            str(ln.amount),
            major(ln.amount, ln.currency),
            ln.currency,
            ln.status,
            ln.reference,
        )
        for ln in lines
    ]
    return to_csv(rows)


def export(batch: PayoutBatch, fmt: Format) -> str:
    """The batch's file in `fmt`. 409 `invalid_state` before approval (nothing is fixed yet),
    and for PayPal or Wise once nothing is left to pay; 409 `missing_email` as above."""
    allowed = [PayoutBatch.Status.APPROVED]
    if fmt == "csv":
        allowed.append(PayoutBatch.Status.CLOSED)
    if batch.status not in allowed:
        which = "an approved or closed" if fmt == "csv" else "an approved"
        raise Conflict(
            f"payout batch {batch.public_id} is {batch.status}: only {which} batch can be "
            f"exported as {fmt}",
            code="invalid_state",
            details={"status": batch.status},
        )
    lines = lines_of(batch)
    if fmt == "csv":
        return generic(lines)
    to_pay = [ln for ln in lines if ln.status == Payout.Status.APPROVED]
    missing = [ln for ln in to_pay if not ln.email]
    if missing:
        raise Conflict(
            f"{len(missing)} payout(s) to pay have no recipient email: give the participant an "
            "email, or mark the payout failed, then export again",
            code="missing_email",
            details={
                "payouts": [{"id": ln.payout, "participant": ln.participant} for ln in missing]
            },
        )
    if fmt == "paypal":
        return paypal(to_pay, note=f"Referral rewards from {batch.workspace.name}")
    return wise(to_pay)
