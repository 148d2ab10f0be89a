"""Publishable keys and the widget signing secret in the dashboard and the command line."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from goodword.accounts.models import ApiKey, Workspace
from goodword.accounts.widget import widget_secret
from tests.dashboard import audits, staff
from tests.dashboard import markup as text
from tests.factories import Story

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")


def test_a_publishable_key_is_made_and_shown_with_its_snippet(story: Story) -> None:
    client = staff(story.acme.workspace, "admin")
    answer = client.post("/dashboard/api-keys/new/", {"name": "site", "kind": "publishable"})
    assert answer.status_code == 200
    raw = re.search(r'value="(gw_pk_[\w-]+)"', text(answer))
    assert raw
    key = ApiKey.objects.get(name="site")
    assert (key.kind, key.publishable_value) == ("publishable", raw.group(1))
    assert f'data-key="{raw.group(1)}"' in text(answer)
    # Publishable keys are listed whole; secret keys by their prefix only.
    listed = text(client.get("/dashboard/api-keys/"))
    assert raw.group(1) in listed
    assert audits()[-1][1:4] == (
        "api_key.create",
        key.public_id,
        {"name": "site", "prefix": key.prefix, "kind": "publishable"},
    )


def test_an_unknown_kind_is_400_and_makes_nothing(story: Story) -> None:
    client = staff(story.acme.workspace, "owner")
    answer = client.post("/dashboard/api-keys/new/", {"name": "site", "kind": "root"})
    assert answer.status_code == 400
    assert not ApiKey.objects.filter(name="site").exists()


def test_owners_and_admins_see_and_rotate_the_signing_secret(story: Story) -> None:
    ws = story.acme.workspace
    client = staff(ws, "owner")
    page = client.get("/dashboard/api-keys/")
    assert "no-store" in page["Cache-Control"]
    secret = widget_secret(workspace_id=ws.pk)
    assert secret in text(page)
    confirm = client.get("/dashboard/api-keys/widget-secret/rotate/")
    assert confirm.status_code == 200
    assert Workspace.objects.get(pk=ws.pk).widget_secret == secret
    done = client.post("/dashboard/api-keys/widget-secret/rotate/")
    assert done.status_code == 302
    workspace = Workspace.objects.get(pk=ws.pk)
    assert workspace.widget_secret != secret
    assert workspace.widget_secret_previous == secret
    assert audits()[-1][1:3] == ("widget_secret.rotate", ws.public_id)


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_other_roles_never_see_or_rotate_it(story: Story, role: str) -> None:
    ws = story.acme.workspace
    secret = widget_secret(workspace_id=ws.pk)
    client = staff(ws, role)
    assert client.get("/dashboard/api-keys/").status_code == 403
    assert client.post("/dashboard/api-keys/widget-secret/rotate/").status_code == 403
    assert Workspace.objects.get(pk=ws.pk).widget_secret == secret


def test_command_line_makes_publishable_keys_and_shows_the_secret(
    story: Story, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = story.acme.workspace
    call_command("apikey", "create", ws.public_id, "--kind", "publishable", "--name", "site")
    raw = capsys.readouterr().out.rsplit(" ", 1)[1].strip()
    assert raw.startswith("gw_pk_")
    call_command("apikey", "list", ws.public_id)
    assert raw in capsys.readouterr().out
    call_command("apikey", "widget-secret", ws.public_id)
    first = capsys.readouterr().out.strip()
    assert first == widget_secret(workspace_id=ws.pk)
    call_command("apikey", "widget-secret", ws.public_id, "--rotate")
    second = capsys.readouterr().out.strip()
    assert second.startswith("gw_wss_")
    assert second != first
