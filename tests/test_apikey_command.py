from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from goodword.accounts.models import ApiKey
from tests.factories import Story


def run(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def test_create_list_revoke(story: Story) -> None:
    ws = story.acme.workspace.public_id
    created = run("create", ws, "--name", "checkout")
    secret = created.rsplit(" ", 1)[1].strip()
    assert secret.startswith("gw_sk_")
    assert not ApiKey.objects.filter(key_hash=secret).exists()  # only the hash is kept
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert Client().get("/api/v1/programs", **auth).status_code == 200
    listing = run("list", ws)
    assert secret not in listing
    assert listing.count("live") == 2
    key_id = created.split()[1].rstrip(".")
    assert run("revoke", key_id).startswith(f"Revoked {key_id}")
    assert Client().get("/api/v1/programs", **auth).status_code == 401
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke", key_id)
    with pytest.raises(CommandError, match="no workspace"):
        run("create", "ws_nope")
    assert ApiKey.objects.filter(workspace=story.acme.workspace).count() == 2
