"""Text messages in the dashboard: the workspace switch (with a note when SMS_URL is not set),
each journey's "Also send by text", and texts in the message log."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from goodword.messaging.models import JourneySetting, Message, MessagingSettings
from goodword.programs.models import Program
from goodword.settings import _sms_api
from tests.dashboard import markup, readable, staff
from tests.factories import make_api, make_program

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
NOT_CONFIGURED = "SMS_URL is not configured on this installation"
SMS_URL = "twilio://AC0123456789abcdef0123456789abcdef:t@api.twilio.com?from=%2B15005550006"

pytestmark = pytest.mark.django_db


def test_the_workspace_switch_and_the_note_without_sms_url(settings: Any) -> None:
    acme = make_api("Acme")
    owner = staff(acme.workspace, "owner")
    settings.SMS_API = None
    page = owner.get("/dashboard/messaging/")
    assert 'name="sms_enabled"' in markup(page)
    assert NOT_CONFIGURED in readable(page)
    answer = owner.post("/dashboard/messaging/save/", {"sms_enabled": "on", "language": "en",
                        "time_zone": "UTC", "brand_color": "#1f6f5c", "weekly_cap": "3",
                        "quiet_start": "21", "quiet_end": "8"})  # fmt: skip
    assert answer.status_code == 302
    assert MessagingSettings.objects.get(workspace=acme.workspace).sms_enabled is True
    settings.SMS_API = _sms_api(SMS_URL)
    assert NOT_CONFIGURED not in readable(owner.get("/dashboard/messaging/"))


def test_journeys_that_may_go_by_text_have_the_box_and_save_it(settings: Any) -> None:
    settings.SMS_API = _sms_api(SMS_URL)
    acme, globex = make_api("Acme"), make_api("Globex")
    program = Program.objects.get(public_id=make_program(acme)["id"])
    owner = staff(acme.workspace, "owner")
    base = f"/dashboard/programs/{program.public_id}/messages/"
    page = markup(owner.get(base))
    boxes = sorted(set(re.findall(r'name="(\w+)-sms"', page)))
    assert boxes == ["referral_request", "reward_approved", "reward_earned", "reward_fulfilled"]
    answer = owner.post(f"{base}reward_earned/", {"reward_earned-is_active": "on",
                        "reward_earned-sms": "on"})  # fmt: skip
    assert answer.status_code == 302
    row = JourneySetting.objects.get()
    assert (row.journey, row.is_active, row.sms) == ("reward_earned", True, True)
    # The workspace has texts off: the page says so next to the box.
    assert "Text messages are off for the workspace" in readable(owner.get(base))
    # A journey never sent by text ignores the box; another workspace gets 404.
    owner.post(f"{base}thank_you/", {"thank_you-is_active": "on", "thank_you-sms": "on"})
    assert not JourneySetting.objects.filter(journey="thank_you", sms=True).exists()
    other = staff(globex.workspace, "owner")
    answer = other.post(f"{base}reward_earned/", {"reward_earned-is_active": "on"})
    assert answer.status_code == 404
    assert JourneySetting.objects.get(journey="reward_earned").sms is True


def test_the_log_and_a_messages_page_show_a_text() -> None:
    acme = make_api("Acme")
    text = Message.objects.create(
        workspace=acme.workspace, journey="reward_earned", channel="sms", cause="c:1",
        to="+393471234567", status="sent", text="Acme: good news", created_at=NOW,
        transactional=True,
    )  # fmt: skip
    owner = staff(acme.workspace, "owner")
    log = markup(owner.get("/dashboard/messages/"))
    assert '<span class="badge">text</span>' in log
    page = readable(owner.get(f"/dashboard/messages/{text.public_id}/"))
    assert "Text message (SMS)" in page
    assert "Acme: good news" in page
    assert "The email" not in page
