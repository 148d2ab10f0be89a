from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_api_key
from goodword.lib.signing import make_portal_token
from goodword.ops.demo import DEMO_NAME, seed
from goodword.ops.procs import run_all
from goodword.participants.models import Advocate

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
        url = f"http://{options['host']}:{options['port']}"
        if "SITE_URL" not in os.environ:
            # Links, share pages and the demo shop should point at the server this starts;
            # the child processes read SITE_URL from the environment.
            os.environ["SITE_URL"] = url
            settings.SITE_URL = url
        found = Workspace.objects.filter(name=DEMO_NAME).order_by("pk").first()
        creds = json.loads(path.read_text()) if path.exists() else None
        if found is None or creds is None or creds.get("workspace") != found.public_id:
            creds = _credentials(found)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(creds, f)
        workspace = Workspace.objects.get(public_id=creds["workspace"])
        self.stdout.write(
            "\nGoodword demo is ready.\n"
            f"  Dashboard: {url}/dashboard/\n"
            f"  Login:    {creds['login']}\n"
            f"  Password: {creds['password']}\n"
            f"  API key:  {creds['api_key']}\n"
            f"  API docs: {url}/api/v1/docs\n"
            f"  Alice's portal (the advocate): {_portal_link(workspace, url)}\n"
            f"  Alice's link (open it as her friend, in a private window): {url}/r/ALICE\n"
            f"  Data dir: {settings.DATA_DIR}\n"
        )
        self.stdout.flush()
        if options["no_serve"]:
            return
        web = ["web", "--host", options["host"], "--port", str(options["port"])]
        sys.exit(run_all([web, ["worker"], ["scheduler"]]))


def _portal_link(workspace: Workspace, url: str) -> str:
    """A fresh magic link to Alice's advocate portal (the demo's first advocate)."""
    alice = Advocate.objects.for_workspace(workspace).get(code="ALICE")
    return f"{url}/p/{make_portal_token(alice.public_id, int(time.time()))}"


@transaction.atomic
def _credentials(workspace: Workspace | None) -> dict[str, str]:
    """Seed the demo, or, when the database kept it but the data dir lost its credentials
    (a new data dir against the same DATABASE_URL), issue a new password and key for it
    instead of seeding a second demo. Atomic: a failed seed leaves no half-made workspace."""
    password = secrets.token_urlsafe(9)
    if workspace is None:
        workspace, key = seed(OWNER, password, site_url=settings.SITE_URL)
    else:
        _, key = create_api_key(workspace=workspace, name="demo")
        owner = get_user_model().objects.get(username=OWNER)
        owner.set_password(password)
        owner.save(update_fields=["password"])
    return {"login": OWNER, "password": password, "api_key": key, "workspace": workspace.public_id}
