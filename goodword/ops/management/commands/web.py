from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from granian.constants import Interfaces
from granian.server import Server


def _default_threads() -> int:
    # SQLite has one writer at a time: more threads per process only queue on its lock.
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    return int(os.environ.get("GOODWORD_WEB_THREADS") or (1 if sqlite else 8))


class Command(BaseCommand):
    help = "Run the web server (granian, WSGI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("GOODWORD_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("GOODWORD_PORT", "8000"))
        )
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("GOODWORD_WEB_WORKERS", "1"))
        )
        parser.add_argument("--threads", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        Server(
            "goodword.wsgi:application",
            address=options["host"],
            port=options["port"],
            interface=Interfaces.WSGI,
            workers=options["workers"],
            blocking_threads=options["threads"] or _default_threads(),
            static_path_route=["/static"],
            static_path_mount=[Path(settings.STATIC_ROOT)],
            log_access=False,
        ).serve()
