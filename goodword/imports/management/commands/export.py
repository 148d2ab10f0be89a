"""`goodword export participants|referrals|rewards|payouts|audit --workspace ws_… [--output
FILE]`: a CSV file streamed from the database (docs/import-export.md)."""

from __future__ import annotations

import os
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goodword.imports import exports
from goodword.imports.management.commands._workspace import workspace_named


class Command(BaseCommand):
    # A data command: the system checks (a second of the URL and API set-up) are for serving.
    requires_system_checks: list[str] = []

    help = (
        "Export a workspace's participants, referrals, rewards, payouts or audit log as CSV "
        "(formulas neutralised; amounts in major units)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(exports.KINDS))
        parser.add_argument("--workspace", required=True, help="the workspace's id (ws_…)")
        parser.add_argument("--output", help="a file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_named(options["workspace"])
        path = options["output"]
        if not path:
            out = cast("IO[str]", self.stdout._out)
            count = exports.write(options["kind"], workspace, out)
            out.flush()
        else:
            # Written beside the target and renamed: a failed export leaves no half a file.
            partial = f"{path}.partial"
            try:
                with open(partial, "w", newline="", encoding="utf-8") as out:
                    count = exports.write(options["kind"], workspace, out)
                os.replace(partial, path)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        self.stderr.write(f"{count:,} rows of {options['kind']} exported")
