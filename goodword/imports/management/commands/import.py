"""`goodword import participants|orders FILE --workspace ws_…`: stream a CSV file in, a batch a
transaction; running it again on the same file continues where it stopped
(docs/import-export.md)."""

from __future__ import annotations

import os
import sys
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goodword.accounts.models import Workspace
from goodword.imports import runs
from goodword.imports.management.commands._workspace import workspace_named
from goodword.imports.models import Import
from goodword.lib.errors import DomainError


class Command(BaseCommand):
    # A data command: the system checks (a second of the URL and API set-up) are for serving.
    requires_system_checks: list[str] = []

    help = (
        "Import participants or past orders from a CSV file; bad rows go to FILE.errors.csv. "
        "Run it again on the same file to continue after a crash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=Import.Kind.values)
        parser.add_argument("file", help="a CSV file, UTF-8, with a header row")
        parser.add_argument("--workspace", required=True, help="the workspace's id (ws_…)")
        parser.add_argument(
            "--with-rewards", action="store_true",
            help="orders: decide them like live events (attribution, referrals, rewards)",
        )  # fmt: skip
        parser.add_argument("--errors", help="where bad rows go (default FILE.errors.csv)")
        parser.add_argument(
            "--batch-size", type=int,
            help=f"rows a commit (participants {runs.PEOPLE_BATCH:,}; orders {runs.BATCH:,} on "
            f"PostgreSQL, {runs.SQLITE_BATCH:,} on SQLite)",
        )  # fmt: skip
        parser.add_argument(
            "--progress", choices=["auto", "always", "never"], default="auto",
            help="a progress bar on stderr (auto: when it is a terminal)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        workspace = workspace_named(options["workspace"])
        path = options["file"]
        errors = runs.ErrorFile(options["errors"] or f"{path}.errors.csv")
        try:
            with open(path, "rb") as stream:
                summary = self._run(workspace, path, stream, errors, options)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            errors.close()
        self._report(summary, errors)

    def _run(
        self, workspace: Workspace, path: str, stream: Any, errors: runs.ErrorFile,
        options: dict[str, Any],
    ) -> runs.Summary:  # fmt: skip
        show = options["progress"] == "always" or (
            options["progress"] == "auto" and sys.stderr.isatty()
        )
        common = {
            "workspace": workspace, "kind": options["kind"], "stream": stream,
            "file_name": os.path.basename(path), "with_rewards": options["with_rewards"],
            "errors": errors, "batch_size": options["batch_size"],
        }  # fmt: skip
        if not show:
            return runs.run(**common)
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        size = stream.seek(0, 2)
        stream.seek(0)
        columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(
            "[progress.description]{task.description}", *columns,
            console=Console(file=cast("IO[str]", self.stderr._out)),
        ) as bar:  # fmt: skip
            task = bar.add_task(f"{options['kind']}", total=size)

            def moved(done: int, imp: Import) -> None:
                bar.update(task, completed=done, description=f"{imp.rows:,} rows")

            return runs.run(**common, progress=moved)

    def _report(self, s: runs.Summary, errors: runs.ErrorFile) -> None:
        if s.already_done:
            self.stdout.write(f"{s.id}: this file was imported already; nothing to do.")
        elif s.resumed_after:
            self.stdout.write(f"{s.id}: continued after line {s.resumed_after:,}.")
        unchanged = "unchanged" if s.kind == Import.Kind.PARTICIPANTS else "already known"
        self.stdout.write(
            f"{s.id} {s.kind}: {s.rows:,} rows read up to line {s.line:,}; "
            f"{s.created:,} created, {s.updated:,} updated, {s.skipped:,} {unchanged}, "
            f"{s.failed:,} refused"
        )
        if s.failed:
            self.stdout.write(f"refused rows, with line and reason: {errors.path}")
