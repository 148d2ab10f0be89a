from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from goodword.ops.procs import run_all


class Command(BaseCommand):
    help = "Run web + task worker + scheduler in one command."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        web = ["web"]
        if options["host"]:
            web += ["--host", options["host"]]
        if options["port"]:
            web += ["--port", str(options["port"])]
        sys.exit(run_all([web, ["worker"], ["scheduler"]]))
