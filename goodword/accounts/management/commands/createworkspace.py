from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from goodword.accounts.services import create_workspace


class Command(BaseCommand):
    help = "Create a workspace with its owner and print its secret API key (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="owner's email; also their login")
        parser.add_argument("--password", help="owner's password for the staff area")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name or len(name) > 200:
            raise CommandError("NAME must be 1 to 200 characters")
        try:
            validate_email(options["owner"])
        except ValidationError:
            raise CommandError(
                f"--owner must be an email address, got {options['owner']!r}"
            ) from None
        workspace, key = create_workspace(
            name=name, owner_email=options["owner"], password=options["password"]
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "workspace": {"id": workspace.public_id, "name": workspace.name},
                        "api_key": key,
                    }
                )
            )
            return
        self.stdout.write(f"Workspace {workspace.name} ({workspace.public_id}) created.")
        self.stdout.write(f"API key (shown only once, keep it secret): {key}")
