from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.services import create_api_key, revoke_api_key
from goodword.accounts.widget import rotate_widget_secret, widget_secret


class Command(BaseCommand):
    help = "List, create or revoke a workspace's API keys. A new key is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="list a workspace's keys (never the secrets)")
        listing.add_argument("workspace", help="workspace id (ws_…)")
        create = sub.add_parser("create", help="create a key and print its secret once")
        create.add_argument("workspace", help="workspace id (ws_…)")
        create.add_argument("--name", default="default")
        create.add_argument(
            "--kind",
            choices=["secret", "publishable"],
            default="secret",
            help="publishable: for the widget and refer-by-name in web pages, nothing else",
        )
        signing = sub.add_parser(
            "widget-secret", help="print the widget signing secret (owners' eyes only)"
        )
        signing.add_argument("workspace", help="workspace id (ws_…)")
        signing.add_argument(
            "--rotate", action="store_true", help="make a new one; the old works 24 hours"
        )
        revoke = sub.add_parser("revoke", help="revoke a key; it fails from the next request")
        revoke.add_argument("key", help="key id (key_…)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "revoke":
            key = ApiKey.objects.filter(public_id=options["key"]).first()
            if key is None:
                raise CommandError(f"no API key {options['key']!r}")
            if not revoke_api_key(key=key):
                raise CommandError(f"{key.public_id} was already revoked")
            self.stdout.write(f"Revoked {key.public_id} ({key.prefix}…).")
            return
        workspace = Workspace.objects.filter(public_id=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace {options['workspace']!r}")
        if action == "create":
            kind = options["kind"]
            key, raw = create_api_key(workspace=workspace, name=options["name"], kind=kind)
            if kind == "publishable":
                self.stdout.write(f"Created {key.public_id}. Publishable key: {raw}")
            else:
                self.stdout.write(f"Created {key.public_id}. Secret (shown only once): {raw}")
            return
        if action == "widget-secret":
            if options["rotate"]:
                self.stdout.write(rotate_widget_secret(workspace_id=workspace.pk))
            else:
                self.stdout.write(widget_secret(workspace_id=workspace.pk))
            return
        for key in ApiKey.objects.for_workspace(workspace).order_by("created_at"):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
            shown = key.publishable_value or f"{key.prefix}…"
            self.stdout.write(f"{key.public_id}  {shown}  {key.kind}  {key.name}  {state}")
