from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from goodword.accounts.models import Workspace
from goodword.ops.demo import DEMO_NAME, seed
from goodword.ops.procs import run_all

OWNER = "owner@demo.goodword.local"


class Command(BaseCommand):
    help = "Migrate, seed a demo workspace (once), and run web + worker + scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="seed and print, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        # The demo's login and key are kept in the data dir so a second run prints them again.
        path = Path(settings.DATA_DIR) / "demo.json"
        if path.exists() and Workspace.objects.filter(name=DEMO_NAME).exists():
            creds = json.loads(path.read_text())
        else:
            password = secrets.token_urlsafe(9)
            workspace, key = seed(OWNER, password)
            creds = {
                "login": OWNER,
                "password": password,
                "api_key": key,
                "workspace": workspace.public_id,
            }
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(creds, f)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            "\nGoodword demo is ready.\n"
            f"  Dashboard (staff area): {url}/admin/\n"
            f"  Login:    {creds['login']}\n"
            f"  Password: {creds['password']}\n"
            f"  API key:  {creds['api_key']}\n"
            f"  API docs: {url}/api/v1/docs\n"
            f"  Try a referral link: {url}/r/ALICE\n"
            f"  Data dir: {settings.DATA_DIR}\n"
        )
        self.stdout.flush()
        if options["no_serve"]:
            return
        web = ["web", "--host", options["host"], "--port", str(options["port"])]
        sys.exit(run_all([web, ["worker"], ["scheduler"]]))
