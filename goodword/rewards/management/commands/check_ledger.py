from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Sum

from goodword.accounts.models import Workspace
from goodword.rewards.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutBatch,
)

Kind = LedgerAccount.Kind


class Command(BaseCommand):
    help = (
        "Check the ledger of every workspace: each transaction sums to zero per currency, no "
        "credit, payable or paying account is below zero, no debt account above it, and each "
        "closed payout batch's payouts add up to what the ledger moved. Exits non-zero on any "
        "drift."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Three grouped queries over the whole ledger rather than three per workspace: the
        # check stays cheap with thousands of workspaces. The ledger is append-only, so
        # sums of entries are the balances; nothing else is trusted.
        problems: dict[int, list[str]] = defaultdict(list)
        unbalanced = (
            LedgerEntry.objects.values(
                "transaction__workspace_id", "transaction__key", "account__currency"
            )
            .annotate(total=Sum("amount"))
            .exclude(total=0)
            .order_by("transaction__workspace_id", "transaction_id", "account__currency")
        )
        for row in unbalanced:
            problems[row["transaction__workspace_id"]].append(
                f"transaction {row['transaction__key']!r} sums to {row['total']} "
                f"{row['account__currency']}, not 0"
            )
        for kind, wrong_sign, word in (
            (Kind.CREDIT, {"total__lt": 0}, "below zero"),
            (Kind.DEBT, {"total__gt": 0}, "above zero"),
            (Kind.PAYABLE, {"total__lt": 0}, "below zero"),
            (Kind.PAYING, {"total__lt": 0}, "below zero"),
        ):
            accounts = (
                LedgerAccount.objects.filter(kind=kind, participant__isnull=False)
                .annotate(total=Sum("ledgerentry__amount"))
                .filter(**wrong_sign)
                .values("workspace_id", "participant__external_id", "currency", "total")
                .order_by("workspace_id", "pk")
            )
            for acct in accounts:
                problems[acct["workspace_id"]].append(
                    f"{kind} account of participant {acct['participant__external_id']!r} is "
                    f"{word}: {acct['total']} {acct['currency']}"
                )
        for workspace_id, problem in closed_batch_problems():
            problems[workspace_id].append(problem)
        counts = {
            row["workspace_id"]: row["n"]
            for row in LedgerTransaction.objects.values("workspace_id")
            .annotate(n=Count("pk"))
            .order_by()
        }
        workspaces = list(Workspace.objects.order_by("pk").values_list("pk", "public_id", "name"))
        for pk, public_id, name in workspaces:
            found = problems.get(pk, [])
            status = f"{len(found)} problem(s)" if found else "ok"
            self.stdout.write(f"{name} ({public_id}): {counts.get(pk, 0)} transactions, {status}")
            for problem in found:
                self.stdout.write(f"  {problem}")
        total = sum(len(found) for found in problems.values())
        if total:
            raise CommandError(f"ledger drift: {total} problem(s) in {len(problems)} workspace(s)")
        self.stdout.write(
            f"Ledger OK: {len(workspaces)} workspace(s), {sum(counts.values())} transactions"
        )


def closed_batch_problems() -> list[tuple[int, str]]:
    """Each closed batch: every payout paid or failed, and what the ledger moved for them
    (`payout:{pk}:approve` into paying, `:paid` or `:failed` out of it) equal to their
    amounts, in all and for what was paid."""
    moved = {
        row["transaction__key"]: int(row["total"])
        for row in LedgerEntry.objects.filter(
            transaction__kind=LedgerTransaction.Kind.PAYOUT, account__kind=Kind.PAYING
        )
        .values("transaction__key")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    batches: dict[tuple[int, str], dict[str, int]] = {}
    out: list[tuple[int, str]] = []
    payouts = (
        Payout.objects.filter(batch__status=PayoutBatch.Status.CLOSED)
        .values_list(
            "pk", "public_id", "status", "amount", "batch__workspace_id", "batch__public_id"
        )
        .order_by("batch_id", "pk")
    )
    for pk, public_id, status, amount, workspace_id, batch_id in payouts:
        sums = batches.setdefault((workspace_id, batch_id), defaultdict(int))
        if status not in (Payout.Status.PAID, Payout.Status.FAILED):
            out.append((workspace_id, f"payout {public_id} of closed batch {batch_id} is {status}"))
            continue
        sums["payouts"] += amount
        sums["moved_in"] += moved.get(f"payout:{pk}:approve", 0)
        sums["moved_out"] -= moved.get(f"payout:{pk}:{status}", 0)
        if status == Payout.Status.PAID:
            sums["paid"] += amount
            sums["paid_out"] -= moved.get(f"payout:{pk}:paid", 0)
    for (workspace_id, batch_id), sums in batches.items():
        for what, expected, found in (
            ("moved into paying", sums["payouts"], sums["moved_in"]),
            ("moved out of paying", sums["payouts"], sums["moved_out"]),
            ("paid out", sums["paid"], sums["paid_out"]),
        ):
            if expected != found:
                out.append(
                    (
                        workspace_id,
                        f"closed payout batch {batch_id}: its payouts add up to {expected}, "
                        f"the ledger {what} {found}",
                    )
                )
    return out
