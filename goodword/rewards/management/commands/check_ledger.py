from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Sum

from goodword.accounts.models import Workspace
from goodword.rewards.models import LedgerAccount, LedgerEntry, LedgerTransaction

Kind = LedgerAccount.Kind


class Command(BaseCommand):
    help = (
        "Check the ledger of every workspace: each transaction sums to zero per currency, no "
        "credit account is below zero, no debt account above it. Exits non-zero on any drift."
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
