from __future__ import annotations

from django.core.management.base import CommandError

from goodword.accounts.models import Workspace


def workspace_named(public_id: str) -> Workspace:
    """The workspace of a public id given on the command line (`--workspace ws_…`)."""
    try:
        return Workspace.objects.get(public_id=public_id)
    except Workspace.DoesNotExist:
        raise CommandError(f"no workspace {public_id!r} (give its id, ws_…)") from None
