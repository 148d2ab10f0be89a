from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goodword.analytics import rollups
from goodword.ops.seed import seed


class Command(BaseCommand):
    help = (
        "Create a workspace with a large generated history (referrals, clicks, events, "
        "rewards) for benchmarking the dashboard and analytics at scale."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--referrals", type=int, default=10_000, help="friends referred")
        parser.add_argument(
            "--events", type=int, default=50_000, help="events in all (the rest are purchases "
            "of customers who came by no referral)",
        )  # fmt: skip
        parser.add_argument("--days", type=int, default=365, help="history spread over days")
        parser.add_argument("--seed", type=int, default=1, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("referrals", "days"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        if options["events"] < 0:
            raise CommandError("--events must not be negative")
        started = time.monotonic()
        made = seed(
            referrals=options["referrals"],
            events=options["events"],
            days=options["days"],
            random_seed=options["seed"],
            progress=lambda line: self.stderr.write(line),
        )
        self.stdout.write(
            f"workspace {made.workspace.public_id} ({made.workspace.name}), "
            f"program {made.program.public_id}, in {time.monotonic() - started:.0f} s"
        )
        for table, count in sorted(made.rows.items()):
            self.stdout.write(f"  {table}: {count:,} rows")
        started = time.monotonic()
        done = rollups.rebuild()  # the rows came with no domain events to roll up from
        self.stdout.write(
            f"rollups rebuilt ({done['referrals']:,} referrals, {done['rewards']:,} rewards) "
            f"in {time.monotonic() - started:.1f} s"
        )
        self.stdout.write(f"API key (shown once): {made.api_key}")
