from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from goodword.lib import stopping
from goodword.webhooks import dispatch, fanout


class Command(BaseCommand):
    help = (
        "Deliver outbound webhooks: fan out new domain events to the endpoints and send due "
        "messages, in a loop until SIGTERM (the scheduler also delivers, a pass per sweep)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="fan out and send one pass, then exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            queued = fanout.queue_messages()
            attempts = dispatch.deliver_due()
            self.stdout.write(f"queued {queued}, attempted {attempts}")
            return
        dispatch.run(stopping=stopping.on_signals().is_set)
