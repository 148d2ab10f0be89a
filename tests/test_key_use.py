from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from goodword.accounts.models import ApiKey
from tests.factories import Story

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)  # after the story was made


def test_key_use_is_noted_once_a_minute(story: Story) -> None:
    key = ApiKey.objects.get(workspace=story.acme.workspace)
    assert key.last_used_at is not None  # the story's own calls
    with time_machine.travel(T0, tick=False):
        assert story.acme.get("/programs").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == T0
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        assert story.acme.get("/programs").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == T0
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert story.acme.get("/programs").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == T0 + timedelta(seconds=61)
    # globex's key is not touched by acme's calls
    assert ApiKey.objects.get(workspace=story.globex.workspace).last_used_at != T0


def test_workspace_change_is_recorded_and_only_real_changes_count(story: Story) -> None:
    from goodword.events.models import DomainEvent

    r = story.acme.patch("/workspace", {"allowed_domains": ["shop.acme.test", "acme.test"]})
    assert r.status_code == 200
    assert r.json()["allowed_domains"] == ["acme.test", "shop.acme.test"]
    again = story.acme.patch("/workspace", {"allowed_domains": ["acme.test", "shop.acme.test"]})
    assert again.status_code == 200
    recorded = DomainEvent.objects.filter(name="workspace.updated")
    assert [(e.workspace_id, e.data) for e in recorded] == [
        (story.acme.workspace.pk, {"fields": ["allowed_domains"]})
    ]
