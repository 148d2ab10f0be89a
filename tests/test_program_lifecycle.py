"""A program's lifecycle: draft -> active -> paused -> ended, through the service and the API.

Only an active program's links carry a referral and its events convert; a draft behaves as a
paused program does. Ended is final. A move the lifecycle does not allow is a 409
`invalid_transition` and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from goodword.events.models import DomainEvent
from goodword.lib.errors import Conflict
from goodword.programs import services
from goodword.programs.models import Program, ProgramVersion
from goodword.public import links
from goodword.referrals.models import Referral
from tests.factories import PROGRAM, Story, enrol, make_program, purchase

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
STATUSES = ["draft", "active", "paused", "ended"]
ALLOWED = {
    ("draft", "active"),
    ("draft", "ended"),
    ("active", "paused"),
    ("active", "ended"),
    ("paused", "active"),
    ("paused", "ended"),
}


def program_in(story: Story, status: str) -> Program:
    """acme's program, put in `status` directly (the row, not the lifecycle)."""
    Program.objects.filter(public_id=story.program["id"]).update(status=status)
    return Program.objects.get(public_id=story.program["id"])


def status_events(program_id: str) -> list[dict[str, Any]]:
    rows = DomainEvent.objects.filter(name="program.status_changed", subject_id=program_id)
    return [e.data for e in rows.order_by("pk")]


def state(program_id: str) -> tuple[str, int, int]:
    program = Program.objects.get(public_id=program_id)
    versions = ProgramVersion.objects.filter(program=program).count()
    return program.status, program.version, versions


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("wanted", STATUSES)
def test_the_service_allows_exactly_the_lifecycle(story: Story, current: str, wanted: str) -> None:
    program = program_in(story, current)
    before = state(program.public_id)
    if (current, wanted) in ALLOWED:
        assert services.change_program_status(program=program, status=wanted, actor=None)
        assert state(program.public_id) == (wanted, before[1] + 1, before[2] + 1)
        assert status_events(program.public_id) == [
            {"from": current, "to": wanted, "version": before[1] + 1}
        ]
    elif current == wanted:
        assert not services.change_program_status(program=program, status=wanted)
        assert state(program.public_id) == before
        assert status_events(program.public_id) == []
    else:
        with pytest.raises(Conflict) as refused:
            services.change_program_status(program=program, status=wanted)
        assert refused.value.code == "invalid_transition"
        assert state(program.public_id) == before
        assert status_events(program.public_id) == []


def test_allowed_statuses_in_lifecycle_order() -> None:
    assert services.allowed_statuses("draft") == ["active", "ended"]
    assert services.allowed_statuses("active") == ["paused", "ended"]
    assert services.allowed_statuses("paused") == ["active", "ended"]
    assert services.allowed_statuses("ended") == []


def test_pause_through_the_api_records_who_did_it(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    answer = story.acme.patch(path, {"status": "paused"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "paused"
    key = story.acme.workspace.apikey_set.get()
    assert status_events(story.program["id"]) == [
        {"from": "active", "to": "paused", "version": 2, "actor": f"api_key:{key.public_id}"}
    ]
    # The same status again: nothing to do, nothing recorded.
    assert story.acme.patch(path, {"status": "paused"}).status_code == 200
    assert state(story.program["id"]) == ("paused", 2, 2)
    assert len(status_events(story.program["id"])) == 1


def test_ended_is_final_through_the_api(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    assert story.acme.patch(path, {"status": "ended"}).status_code == 200
    before = story.acme.get(path).json()
    for wanted in ("active", "paused", "draft"):
        answer = story.acme.patch(path, {"status": wanted})
        assert answer.status_code == 409
        assert answer.json() == {
            "error": {
                "code": "invalid_transition",
                "message": f"a program that is ended cannot become {wanted}: ended is final",
                "details": {"status": "ended", "allowed": []},
            }
        }
    assert story.acme.get(path).json() == before
    assert state(story.program["id"]) == ("ended", 2, 2)


def test_a_refused_move_changes_nothing_else_in_the_same_patch(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    before = story.acme.get(path).json()
    answer = story.acme.patch(path, {"name": "Renamed", "hold_days": 1, "status": "draft"})
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == (
        "a program that is active cannot become draft; it may become paused or ended"
    )
    assert story.acme.get(path).json() == before
    assert state(story.program["id"]) == ("active", 1, 1)
    assert DomainEvent.objects.filter(name="program.updated").count() == 0


def test_a_patch_with_a_move_and_settings_makes_one_version(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    answer = story.acme.patch(path, {"hold_days": 3, "status": "paused"})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["hold_days"]) == ("paused", 3)
    assert state(story.program["id"]) == ("paused", 2, 2)
    assert status_events(story.program["id"])[0]["version"] == 2
    updated = DomainEvent.objects.get(name="program.updated", subject_id=story.program["id"])
    assert updated.data == {"fields": ["hold_days"], "version": 2}


def test_put_config_keeps_the_status_it_leaves_out_and_checks_one_it_names(story: Story) -> None:
    path = f"/programs/{story.program['id']}"
    assert story.acme.patch(path, {"status": "paused"}).status_code == 200
    kept = story.acme.put(f"{path}/config", {**PROGRAM, "hold_days": 2})
    assert kept.status_code == 200, kept.content
    assert kept.json()["config"]["status"] == "paused"
    refused = story.acme.put(f"{path}/config", {**PROGRAM, "hold_days": 9, "status": "draft"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert story.acme.get(f"{path}/config").json()["config"]["hold_days"] == 2
    resumed = story.acme.put(f"{path}/config", {**PROGRAM, "status": "active"})
    assert resumed.status_code == 200
    assert resumed.json()["config"]["status"] == "active"


def test_a_change_read_before_a_pause_does_not_undo_it(story: Story) -> None:
    """A settings change made from a row read while active leaves the pause in place."""
    stale = Program.objects.get(public_id=story.program["id"])
    assert story.acme.patch(f"/programs/{story.program['id']}", {"status": "paused"}).json()
    services.update_program(program=stale, hold_days=5)
    assert Program.objects.get(pk=stale.pk).status == "paused"
    assert Program.objects.get(pk=stale.pk).hold_days == 5


def test_a_move_from_a_stale_row_is_judged_from_the_status_now(story: Story) -> None:
    stale = Program.objects.get(public_id=story.program["id"])
    assert story.acme.patch(f"/programs/{story.program['id']}", {"status": "ended"}).json()
    with pytest.raises(Conflict):
        services.change_program_status(program=stale, status="paused")
    assert state(story.program["id"]) == ("ended", 2, 2)


def test_a_draft_links_to_the_plain_destination_and_converts_nothing(story: Story) -> None:
    acme = story.acme
    draft = make_program(acme, name="Draft", status="draft")
    code = enrol(acme, draft["id"], "dora")["code"]
    answer = Client().get(f"/r/{code}", HTTP_USER_AGENT=BROWSER)
    assert answer.status_code == 302
    assert answer["Location"] == "https://shop.acme.test/welcome"
    event = acme.event(purchase("p-1", "bob", "o-1", 2500, referral_code=code)).json()
    assert (event["attribution"], event["referrals"], event["rewards"]) == (
        "program_inactive",
        [],
        [],
    )
    assert Referral.objects.filter(program__public_id=draft["id"]).count() == 0

    # Activated, the same link carries a referral.
    assert acme.patch(f"/programs/{draft['id']}", {"status": "active"}).status_code == 200
    links.forget()
    live = Client().get(f"/r/{code}", HTTP_USER_AGENT=BROWSER)
    assert "gw_ref=" in live["Location"]


def test_status_change_bumps_updated_at(story: Story) -> None:
    with time_machine.travel(T0, tick=False):
        program = Program.objects.get(public_id=story.program["id"])
        services.change_program_status(program=program, status="paused")
    assert Program.objects.get(pk=program.pk).updated_at == T0


def test_another_workspace_cannot_move_a_program(story: Story) -> None:
    answer = story.globex.patch(f"/programs/{story.program['id']}", {"status": "ended"})
    assert answer.status_code == 404
    assert state(story.program["id"]) == ("active", 1, 1)
    assert status_events(story.program["id"]) == []
