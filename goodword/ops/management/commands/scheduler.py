from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from goodword.ops.scheduler import run_forever


class Command(BaseCommand):
    help = "Run the sweepers in a loop (approve due rewards, ingest clicks)."

    def handle(self, *args: Any, **options: Any) -> None:
        run_forever()
