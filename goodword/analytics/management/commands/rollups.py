from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from goodword.analytics import rollups


class Command(BaseCommand):
    help = (
        "Bring the dashboard's rollups up to date (the scheduler does this every sweep); "
        "--rebuild recomputes them all from the rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="recompute from scratch")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["rebuild"]:
            done = rollups.rebuild()
            what = f"{done['rows']:,} rows of daily sums"
        else:
            done = rollups.refresh()
            what = f"{done['days']:,} program-days"
        self.stdout.write(
            f"rolled up {done['referrals']:,} referrals, {done['rewards']:,} rewards and {what} "
            f"in {time.monotonic() - started:.1f} s"
        )
