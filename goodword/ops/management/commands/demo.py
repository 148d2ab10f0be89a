from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.accounts.services import create_api_key
from goodword.lib.codes import normalize_code
from goodword.ops.demo import DEMO_NAME, seed
from goodword.ops.procs import run_all
from goodword.participants import portal
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
        self.stdout.write(
            "\nGoodword demo is ready.\n"
            f"  Dashboard: {url}/dashboard/\n"
            f"  Login:    {creds['login']}\n"
            f"  Password: {creds['password']}\n"
            f"  API key:  {creds['api_key']}\n"
            f"  API docs: {url}/api/v1/docs\n"
            f"{_portal_line(workspace_id=creds['workspace'])}"
            f"  Alice's link (open it as her friend, in a private window): {url}/r/ALICE\n"
            f"  Data dir: {settings.DATA_DIR}\n"
        )
        self.stdout.flush()
        if options["no_serve"]:
            return
        web = ["web", "--host", options["host"], "--port", str(options["port"])]
        sys.exit(run_all([web, ["worker"], ["scheduler"]]))


def _portal_line(*, workspace_id: str) -> str:
    """A fresh magic link to the portal of the demo's advocate ALICE (docs/sharing-portal.md)."""
    alice = Advocate.objects.filter(
        workspace__public_id=workspace_id, code_normalized=normalize_code("ALICE")
    ).first()
    if alice is None:
        return ""
    return f"  Alice's portal (open on a phone): {portal.make_link(alice, timezone.now()).url}\n"


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
