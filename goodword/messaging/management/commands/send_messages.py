from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from goodword.lib import stopping
from goodword.messaging import fanout, sending


class Command(BaseCommand):
    help = (
        "Send messages: queue those of new domain events and purchases, and send the due ones, "
        "in a loop until SIGTERM (the scheduler also sends, in a thread of its own)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="queue, send all that is due, then exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            queued = fanout.queue_messages()
            claimed = 0
            while batch := sending.send_due():
                claimed += batch
            self.stdout.write(f"queued {queued}, claimed {claimed}")
            return
        sending.run(stopping=stopping.on_signals().is_set)
