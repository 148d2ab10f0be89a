"""The messaging API: the message log, the workspace's settings, each program's journeys and
templates (versions, previews on sample data), suppressions; the exact codes of bad input with
nothing written; and 404 for another workspace's program and message ids."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings

from goodword.api.v1.messaging import JourneyName
from goodword.events.models import DomainEvent
from goodword.messaging import defaults
from goodword.messaging.models import (
    PROGRAM_JOURNEYS,
    Journey,
    JourneySetting,
    Message,
    MessageTemplate,
    MessagingSettings,
    Suppression,
)
from goodword.participants.models import Participant
from tests.factories import Api, Story
from tests.shared import row_counts

pytestmark = pytest.mark.usefixtures("rows_match_the_catalogue")

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
STAMP = "2026-03-10T12:00:00Z"
DEFAULTS = {
    "is_active": False,
    "from_name": "",
    "reply_to": "",
    "language": "en",
    "time_zone": "UTC",
    "brand_color": "#1f6f5c",
    "logo_url": "",
    "weekly_cap": 3,
    "quiet_start": 21,
    "quiet_end": 8,
    "require_consent": False,
    "postal_address": "",
    "sms_enabled": False,
    "phone_region": "",
    "sms_configured": False,
    "updated_at": None,
}


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def delete(api: Api, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {api.key}")


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code
    return body


def recorded(story: Story, name: str) -> list[tuple[str, dict[str, Any]]]:
    rows = DomainEvent.objects.filter(workspace=story.acme.workspace, name=name).order_by("pk")
    return [(e.subject_id, e.data) for e in rows]


def actor(api: Api) -> str:
    from goodword.accounts.models import ApiKey

    return f"api_key:{ApiKey.objects.get(workspace=api.workspace).public_id}"


# Settings


def test_settings_read_as_defaults_then_change(story: Story) -> None:
    acme = story.acme
    assert acme.get("/messaging").json() == DEFAULTS
    assert not MessagingSettings.objects.exists()  # reading writes nothing
    change = {
        "is_active": True,
        "from_name": "Acme Coffee",
        "reply_to": "help@acme.test",
        "language": "it",
        "time_zone": "Europe/Rome",
        "brand_color": "#AA3300",
        "logo_url": "https://shop.acme.test/logo.png",
        "weekly_cap": 2,
        "quiet_start": 22,
        "quiet_end": 7,
        "require_consent": True,
        "postal_address": "  Acme Coffee Ltd \n\n 12 Roast Street\r\nSpringfield ",
        "sms_enabled": True,
        "phone_region": " gb ",
    }
    with at(NOW):
        answer = acme.patch("/messaging", change)
    expected = {
        **change,
        "brand_color": "#aa3300",
        "postal_address": "Acme Coffee Ltd\n12 Roast Street\nSpringfield",
        "phone_region": "GB",
        "sms_configured": False,
        "updated_at": STAMP,
    }
    assert answer.status_code == 200, answer.content
    assert answer.json() == expected
    assert acme.get("/messaging").json() == expected
    with at(NOW + timedelta(hours=1)):
        assert acme.patch("/messaging", {"weekly_cap": 2}).json() == expected  # no change
    ws = acme.workspace.public_id
    assert recorded(story, "messaging.updated") == [
        (ws, {"fields": sorted(change), "actor": actor(acme)})
    ]
    assert story.globex.get("/messaging").json() == DEFAULTS


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"brand_color": "red"}, "invalid_color"),
        ({"brand_color": "#12345"}, "invalid_color"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"time_zone": "localtime"}, "invalid_time_zone"),
        ({"language": "fr"}, "unknown_language"),
        ({"quiet_start": 24}, "invalid_hour"),
        ({"quiet_end": -1}, "invalid_hour"),
        ({"weekly_cap": 51}, "invalid_weekly_cap"),
        ({"logo_url": "ftp://shop.acme.test/logo.png"}, "invalid_url"),
        ({"logo_url": "javascript:alert(1)"}, "invalid_url"),
        ({"reply_to": "not an address"}, "invalid_email"),
        ({"from_name": "Acme\r\nBcc: all@example.com"}, "invalid_from_name"),
        ({"from_name": "x" * 101}, "invalid_from_name"),
        ({"postal_address": "x" * 301}, "invalid_postal_address"),
        ({"postal_address": "12 Roast St\x1b[31m"}, "invalid_postal_address"),
        ({"postal_address": 12}, "validation_error"),
        # One bad value spoils the lot: the good one is not written either.
        ({"brand_color": "#000000", "time_zone": "Nowhere"}, "invalid_time_zone"),
        ({"is_active": "yes"}, "validation_error"),
        ({"weekly_cap": "3"}, "validation_error"),
        ({"is_active": None}, "validation_error"),
        ({"colour": "#000000"}, "validation_error"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(
    story: Story, change: dict[str, Any], code: str
) -> None:
    acme = story.acme
    with at(NOW):
        assert acme.patch("/messaging", {"from_name": "Acme"}).status_code == 200
    before = acme.get("/messaging").json()
    events = DomainEvent.objects.count()
    body = error(acme.patch("/messaging", change), 422, code)
    assert body["message"]
    assert acme.get("/messaging").json() == before
    assert DomainEvent.objects.count() == events


def test_a_bad_setting_names_what_to_write(story: Story) -> None:
    body = error(story.acme.patch("/messaging", {"brand_color": "red"}), 422, "invalid_color")
    assert body == {
        "code": "invalid_color",
        "message": "brand_color must be a colour written #RRGGBB, such as #1f6f5c; it is 'red'",
        "details": {"field": "brand_color"},
    }
    assert not MessagingSettings.objects.exists()


# Journeys


def journey_json(journey: str, name: str, transactional: bool, **over: Any) -> dict[str, Any]:
    return {
        "journey": journey,
        "name": name,
        "transactional": transactional,
        "is_active": True,
        "delay_days": 0,
        "min_nps": None,
        "is_default": True,
        "updated_at": None,
        "sms": False,
        **over,
    }


ALL_DEFAULT = [
    journey_json("referral_request", "Referral request", False),
    journey_json("reward_earned", "Reward earned", True),
    journey_json("reward_approved", "Reward approved", True),
    journey_json("reward_fulfilled", "Reward fulfilled", True),
    journey_json("reward_reversed", "Reward reversed", True),
    journey_json("reward_expiring", "Credit expiring", True),
    journey_json("thank_you", "Thank-you note", False),
    journey_json("friend_invite", "Friend invite", False),
    journey_json("remind_share", "Share reminder", False, delay_days=3),
    journey_json("remind_friend", "Friend reminder", False, delay_days=5),
    journey_json("coupon_expiring", "Coupon expiring", True, delay_days=3),
]


def test_journeys_show_defaults_then_their_setting(story: Story) -> None:
    acme, program = story.acme, story.program["id"]
    assert acme.get(f"/programs/{program}/journeys").json() == {"data": ALL_DEFAULT}
    body = {"is_active": True, "delay_days": 3, "min_nps": 9}
    with at(NOW):
        answer = acme.put(f"/programs/{program}/journeys/referral_request", body)
    asked = journey_json(
        "referral_request",
        "Referral request",
        False,
        delay_days=3,
        min_nps=9,
        is_default=False,
        updated_at=STAMP,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == asked
    with at(NOW):
        off = acme.put(f"/programs/{program}/journeys/thank_you", {"is_active": False})
    thanks = journey_json(
        "thank_you", "Thank-you note", False, is_active=False, is_default=False, updated_at=STAMP
    )
    assert off.json() == thanks
    expected = [asked, *ALL_DEFAULT[1:6], thanks, *ALL_DEFAULT[7:]]
    assert acme.get(f"/programs/{program}/journeys").json() == {"data": expected}
    # The same setting again changes nothing and records nothing.
    assert acme.put(f"/programs/{program}/journeys/thank_you", {"is_active": False}).json() == (
        thanks
    )
    assert recorded(story, "program.messaging_updated") == [
        (program, {"journey": "referral_request", "language": None, "version": None,
                   "fields": ["delay_days", "min_nps"], "actor": actor(acme)}),
        (program, {"journey": "thank_you", "language": None, "version": None,
                   "fields": ["is_active"], "actor": actor(acme)}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("journey", "body", "code"),
    [
        ("thank_you", {"min_nps": 9}, "not_for_journey"),
        ("thank_you", {"min_nps": 0}, "not_for_journey"),
        ("reward_earned", {"delay_days": 2}, "not_for_journey"),
        ("referral_request", {"delay_days": 366}, "invalid_delay"),
        ("referral_request", {"delay_days": -1}, "invalid_delay"),
        ("referral_request", {"min_nps": 11}, "invalid_min_nps"),
        ("birthday", {"is_active": False}, "unknown_journey"),
        ("referral_request", {"is_active": "no"}, "validation_error"),
        ("referral_request", {"delay": 3}, "validation_error"),
    ],
)
def test_bad_journey_settings_are_refused(
    story: Story, journey: str, body: dict[str, Any], code: str
) -> None:
    acme, program = story.acme, story.program["id"]
    answer = acme.put(f"/programs/{program}/journeys/{journey}", body)
    error(answer, 422, code)
    assert not JourneySetting.objects.exists()
    assert acme.get(f"/programs/{program}/journeys").json() == {"data": ALL_DEFAULT}


def test_min_nps_elsewhere_says_what_to_do(story: Story) -> None:
    path = f"/programs/{story.program['id']}/journeys/thank_you"
    body = error(story.acme.put(path, {"min_nps": 9, "delay_days": 1}), 422, "not_for_journey")
    assert body["message"] == (
        "delay_days only applies to referral_request, remind_share, remind_friend and "
        "coupon_expiring, and min_nps to referral_request; leave them out for thank_you"
    )


# Templates

OWN = {
    "subject": "{{ recipient.first_name }}, share {{ brand.name }}",
    "html": "<p>Your code: {{ advocate.code }}</p>",
    "text": "Your code: {{ advocate.code }}",
    "sms": "Code {{ advocate.code }}",
}


def template_path(story: Story, journey: str = "referral_request", language: str = "en") -> str:
    return f"/programs/{story.program['id']}/templates/{journey}/{language}"


def test_templates_list_every_journey_and_language(story: Story) -> None:
    acme = story.acme
    with at(NOW):
        saved = acme.put(template_path(story, "thank_you", "it"), {"subject": "Grazie!"}).json()
    rows = acme.get(f"/programs/{story.program['id']}/templates").json()["data"]
    assert [(r["journey"], r["language"]) for r in rows] == [
        (j, lang) for j in PROGRAM_JOURNEYS for lang in ("en", "it")
    ]
    own = [r for r in rows if r["source"] == "own"]
    assert own == [
        {
            "journey": "thank_you",
            "language": "it",
            "segment": "",
            "source": "own",
            "id": saved["id"],
            "version": 1,
            "updated_at": STAMP,
        }
    ]
    assert {(r["id"], r["version"], r["updated_at"]) for r in rows if r not in own} == {
        (None, None, None)
    }


def test_a_template_is_saved_versioned_and_deleted(story: Story) -> None:
    acme, path = story.acme, template_path(story)
    default = {p: defaults.default_template("referral_request", "en", p) for p in OWN}
    assert acme.get(path).json() == {
        "journey": "referral_request",
        "language": "en",
        "segment": "",
        "source": "default",
        "id": None,
        "version": None,
        **default,
        "default": default,
        "created_at": None,
        "updated_at": None,
    }
    with at(NOW):
        first = acme.put(path, OWN)
    assert first.status_code == 200, first.content
    template = MessageTemplate.objects.get()
    assert template.public_id.startswith("tpl_")
    expected = {
        "journey": "referral_request",
        "language": "en",
        "segment": "",
        "source": "own",
        "id": template.public_id,
        "version": 1,
        **OWN,
        "default": default,
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    assert first.json() == expected
    later = NOW + timedelta(hours=1)
    with at(later):
        second = acme.put(path, {**OWN, "sms": ""}).json()
    assert second == {**expected, "sms": "", "version": 2, "updated_at": "2026-03-10T13:00:00Z"}
    with at(later + timedelta(hours=1)):
        assert acme.put(path, {**OWN, "sms": ""}).json() == second  # the same words: no change
    assert acme.get(path).json() == second

    assert delete(acme, path).status_code == 204
    assert not MessageTemplate.objects.exists()
    assert acme.get(path).json()["source"] == "default"
    assert delete(acme, path).status_code == 204  # already the default
    ref = {"journey": "referral_request", "language": "en", "actor": actor(acme)}
    assert recorded(story, "program.messaging_updated") == [
        (story.program["id"], {**ref, "fields": ["html", "sms", "subject", "text"], "version": 1}),
        (story.program["id"], {**ref, "fields": ["sms"], "version": 2}),
        (story.program["id"], {**ref, "fields": ["html", "subject", "text"], "version": None}),
    ]


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        (
            {"html": "<p>Hi</p>\n{% if %}x{% endif %}"},
            "the html part cannot be used: line 2: missing expression",
            {"part": "html", "reason": "line 2: missing expression"},
        ),
        (
            {"subject": "Hi", "text": "one\ntwo {% endfor %}"},
            "the text part cannot be used: line 2: unexpected tag 'endfor'",
            {"part": "text", "reason": "line 2: unexpected tag 'endfor'"},
        ),
        (
            {"subject": "{{ recipient.name | shout }}"},
            "the subject part cannot be used: line 1: unknown filter 'shout'",
            {"part": "subject", "reason": "line 1: unknown filter 'shout'"},
        ),
        (
            {"sms": "{% include 'x' %}"},
            "the sms part cannot be used: line 1: the 'include' tag is not available in "
            "message templates",
            {"part": "sms", "reason": "line 1: the 'include' tag is not available in message "
             "templates"},
        ),
    ],
)  # fmt: skip
def test_bad_liquid_is_refused_with_its_part_and_line(
    story: Story, body: dict[str, str], message: str, details: dict[str, str]
) -> None:
    acme, path = story.acme, template_path(story)
    with at(NOW):
        acme.put(path, OWN)
    before = acme.get(path).json()
    events = DomainEvent.objects.count()
    answer = error(acme.put(path, body), 422, "template_invalid")
    assert answer == {"code": "template_invalid", "message": message, "details": details}
    assert acme.get(path).json() == before  # version 1, the words as they were
    assert DomainEvent.objects.count() == events
    preview = error(acme.post(path + "/preview", body), 422, "template_invalid")
    assert preview["message"] == message


def test_a_segment_has_its_own_wording_beside_everyones(story: Story) -> None:
    acme, path = story.acme, template_path(story)
    vip = {
        "subject": "VIP {{ recipient.first_name }}",
        "html": "<p>For our best: {{ advocate.code }}</p>",
    }
    with at(NOW):
        assert acme.put(path, OWN).status_code == 200
        answer = acme.put(path + "?segment=vip", vip)
    assert answer.status_code == 200, answer.content
    saved = answer.json()
    assert (saved["segment"], saved["source"], saved["version"]) == ("vip", "own", 1)
    assert (saved["subject"], saved["text"]) == (vip["subject"], "")
    assert acme.get(path).json()["subject"] == OWN["subject"]  # everyone's is untouched
    assert acme.get(path + "?segment=gold").json()["source"] == "default"  # none of its own

    rows = acme.get(f"/programs/{story.program['id']}/templates").json()["data"]
    mine = [(r["journey"], r["language"], r["segment"], r["source"]) for r in rows]
    at_en = mine.index(("referral_request", "en", "", "own"))
    assert mine[at_en + 1] == ("referral_request", "en", "vip", "own")
    assert len(rows) == 2 * len(PROGRAM_JOURNEYS) + 1

    shown = acme.post(path + "/preview?segment=vip", {}).json()
    assert shown["subject"] == "VIP Alice"
    assert shown["template"] == f"{saved['id']}:1"
    assert acme.post(path + "/preview?segment=gold", {}).json()["subject"] == "Alice, share Acme"

    assert delete(acme, path + "?segment=vip").status_code == 204
    assert list(MessageTemplate.objects.values_list("segment", flat=True)) == [""]
    ws = story.program["id"]
    assert [d.get("segment", "") for _, d in recorded(story, "program.messaging_updated")] == [
        "",
        "vip",
        "vip",
    ]
    assert all(subject == ws for subject, _ in recorded(story, "program.messaging_updated"))

    bad = acme.put(path + "?segment=" + "x" * 65, vip)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_segment")
    assert story.globex.get(path + "?segment=vip").status_code == 404


@pytest.mark.parametrize(
    ("journey", "language", "body", "code"),
    [
        ("birthday", "en", OWN, "unknown_journey"),
        ("referral_request", "fr", OWN, "unknown_language"),
        ("referral_request", "en", {}, "template_empty"),
        ("referral_request", "en", {"subject": "  ", "html": ""}, "template_empty"),
        ("thank_you", "en", {"sms": "Thanks!"}, "not_for_journey"),
        ("referral_request", "en", {**OWN, "footer": "x"}, "validation_error"),
        ("referral_request", "en", {"subject": 3}, "validation_error"),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_written(
    story: Story, journey: str, language: str, body: dict[str, Any], code: str
) -> None:
    acme = story.acme
    before = row_counts()
    error(acme.put(template_path(story, journey, language), body), 422, code)
    assert row_counts() == before


def test_reading_an_unknown_journey_or_language_names_them(story: Story) -> None:
    acme = story.acme
    body = error(acme.get(template_path(story, "birthday")), 422, "unknown_journey")
    assert body["message"].startswith("'birthday' is not a journey; the journeys are: referral_")
    body = error(acme.get(template_path(story, language="de")), 422, "unknown_language")
    assert body["message"] == "'de' is not a language messages are written in; use one of: en, it"


def test_preview_renders_the_parts_sent_on_sample_data(story: Story) -> None:
    acme, path = story.acme, template_path(story)
    answer = acme.post(path + "/preview", OWN)
    assert answer.status_code == 200, answer.content
    shown = answer.json()
    assert {k: v for k, v in shown.items() if k != "html"} == {
        "subject": "Alice, share Acme",
        # As sent: the footer (the workspace, and the sample's unsubscribe link) below.
        "text": f"Your code: ALICE10\n\n-- \nAcme\nUnsubscribe: {settings.SITE_URL}/u/sample",
        "sms": "Code ALICE10 Reply STOP to opt out.",  # a marketing text says how to stop
        "template": "preview",
    }
    assert shown["html"].startswith("<!DOCTYPE html>")  # the whole email, styles inlined
    assert "Your code: ALICE10</p>" in shown["html"]
    assert not MessageTemplate.objects.exists()  # a preview saves nothing
    assert not Participant.objects.filter(name="Alice Example").exists()


def test_preview_without_parts_renders_the_saved_or_the_default_wording(story: Story) -> None:
    acme, path = story.acme, template_path(story)
    default = acme.post(path + "/preview", {}).json()
    assert default["template"] == "default"
    # The program's own offer, in words, and Alice's sample code.
    assert "$10.00 store credit" in default["text"]
    assert "ALICE10" in default["text"]
    assert "ALICE10" in default["html"]
    with at(NOW):
        acme.put(path, {"subject": "Hello {{ recipient.name }}"})
    saved = acme.post(path + "/preview", {}).json()
    template = MessageTemplate.objects.get()
    assert saved["template"] == f"{template.public_id}:1"
    assert saved["subject"] == "Hello Alice Example"
    assert saved["html"] == default["html"]  # the parts left empty are the default's,
    assert "ALICE10" in saved["text"]  # and the plain text is made from the HTML
    italian = acme.post(template_path(story, language="it") + "/preview", {}).json()
    assert "10,00 $" in italian["text"]


@pytest.mark.parametrize("journey", [j.value for j in PROGRAM_JOURNEYS])
@pytest.mark.parametrize("language", ["en", "it"])
def test_every_default_previews(story: Story, journey: str, language: str) -> None:
    shown = story.acme.post(template_path(story, journey, language) + "/preview", {})
    assert shown.status_code == 200, shown.content
    body = shown.json()
    assert body["subject"]
    assert body["text"]
    assert (body["sms"] != "") == (journey in defaults.SMS_JOURNEYS)


def test_preview_of_a_reward_notice_describes_the_reward(story: Story) -> None:
    path = template_path(story, "reward_earned")
    with at(NOW):
        shown = story.acme.post(
            path + "/preview", {"subject": "{{ reward.description }} by {{ reward.final_on }}"}
        )
    assert shown.json()["subject"] == "$10.00 store credit by 24 March 2026"


# The message log


def message(story: Story, minutes: int, **fields: Any) -> Message:
    alice = Participant.objects.get(workspace=story.acme.workspace, external_id="alice")
    row = {
        "workspace": story.acme.workspace,
        "participant": alice,
        "journey": "referral_request",
        "cause": f"referral_request:{minutes}",
        "created_at": NOW + timedelta(minutes=minutes),
        "next_attempt_at": NOW + timedelta(minutes=minutes),
        **fields,
    }
    return Message.objects.create(**row)


def message_json(m: Message, **over: Any) -> dict[str, Any]:
    return {
        "id": m.public_id,
        "program": None,
        "participant": "alice",
        "journey": "referral_request",
        "channel": "email",
        "transactional": False,
        "referral": None,
        "reward": None,
        "to": "",
        "language": "",
        "status": "pending",
        "skip_reason": None,
        "error": None,
        "attempts": 0,
        "subject": "",
        "template": "",
        "created_at": m.created_at.isoformat().replace("+00:00", "Z"),
        "next_attempt_at": m.created_at.isoformat().replace("+00:00", "Z"),
        "sent_at": None,
        **over,
    }


def test_messages_list_newest_first_with_filters(story: Story) -> None:
    acme = story.acme
    first = message(story, 0)
    skipped = message(
        story, 1, journey="thank_you", status="skipped", skip_reason="frequency_cap",
        referral_public_id="ref_1", next_attempt_at=None,
    )  # fmt: skip
    sent = message(
        story, 2, journey="reward_earned", transactional=True, status="sent",
        reward_public_id="rwd_1", referral_public_id="ref_1", to="alice@example.com",
        language="en", subject="You earned $10.00", attempts=1, template="default",
        sent_at=NOW + timedelta(minutes=3), next_attempt_at=None,
    )  # fmt: skip
    page = acme.get("/messages", limit=2).json()
    sent_json = message_json(
        sent, journey="reward_earned", transactional=True, status="sent", reward="rwd_1",
        referral="ref_1", to="alice@example.com", language="en", subject="You earned $10.00",
        attempts=1, template="default", next_attempt_at=None, sent_at="2026-03-10T12:03:00Z",
    )  # fmt: skip
    skipped_json = message_json(
        skipped, journey="thank_you", status="skipped", skip_reason="frequency_cap",
        referral="ref_1", next_attempt_at=None,
    )  # fmt: skip
    assert page == {"data": [sent_json, skipped_json], "next_cursor": skipped.public_id}
    rest = acme.get("/messages", limit=2, cursor=skipped.public_id).json()
    assert rest == {"data": [message_json(first)], "next_cursor": None}

    def ids(**query: str) -> list[str]:
        return [m["id"] for m in acme.get("/messages", **query).json()["data"]]

    assert ids(referral="ref_1") == [sent.public_id, skipped.public_id]
    assert ids(journey="thank_you") == [skipped.public_id]
    assert ids(status="pending") == [first.public_id]
    assert ids(participant="alice") == [sent.public_id, skipped.public_id, first.public_id]
    alice = Participant.objects.get(workspace=story.acme.workspace, external_id="alice")
    assert ids(participant=alice.public_id) == ids(participant="alice")
    assert ids(participant="bob") == []
    error(acme.get("/messages", journey="birthday"), 422, "validation_error")
    error(acme.get("/messages", status="lost"), 422, "validation_error")


def test_a_message_shows_what_it_said(story: Story) -> None:
    sent = message(
        story, 0, status="sent", to="alice@example.com", subject="Hi", text="Hello Alice",
        html="<p>Hello Alice</p>", sent_at=NOW, next_attempt_at=None, attempts=1,
        program_id=None,
    )  # fmt: skip
    answer = story.acme.get(f"/messages/{sent.public_id}")
    assert answer.json() == {
        **message_json(
            sent, status="sent", to="alice@example.com", subject="Hi", attempts=1,
            sent_at=STAMP, next_attempt_at=None,
        ),
        "text": "Hello Alice",
        "html": "<p>Hello Alice</p>",
    }  # fmt: skip
    failed = message(story, 1, status="failed", error="refused: 550 no such user", attempts=8)
    assert story.acme.get(f"/messages/{failed.public_id}").json()["error"] == (
        "refused: 550 no such user"
    )
    assert story.acme.get(f"/messages/{failed.public_id}").json()["next_attempt_at"] is None


# Suppressions


def test_suppressions_are_added_listed_and_removed(story: Story) -> None:
    acme = story.acme
    with at(NOW):
        added = acme.post("/suppressions", {"address": " Alice.Smith+promo@GoogleMail.com "})
    row = {
        "channel": "email",
        "address": "alicesmith@gmail.com",
        "reason": "unsubscribed",
        "created_at": STAMP,
    }
    assert added.status_code == 201, added.content
    assert added.json() == row
    # Known already: 200, and a bounce replaces an unsubscribe.
    again = acme.post("/suppressions", {"address": "alicesmith@gmail.com", "reason": "bounced"})
    assert again.status_code == 200
    assert again.json() == {**row, "reason": "bounced"}
    with at(NOW + timedelta(minutes=1)):
        text = {"channel": "sms", "address": "+39 333 123 4567", "reason": "stopped"}
        assert acme.post("/suppressions", text).status_code == 201
    phone = {
        "channel": "sms",
        "address": "+393331234567",
        "reason": "stopped",
        "created_at": "2026-03-10T12:01:00Z",
    }
    bounced = {**row, "reason": "bounced"}
    assert acme.get("/suppressions").json() == {"data": [phone, bounced], "next_cursor": None}
    assert acme.get("/suppressions", limit=1).json() == {
        "data": [phone],
        "next_cursor": "sms:+393331234567",
    }
    assert acme.get("/suppressions", limit=1, cursor="sms:+393331234567").json() == {
        "data": [bounced],
        "next_cursor": None,
    }
    assert acme.get("/suppressions", channel="email").json()["data"] == [bounced]
    found = acme.get("/suppressions", address="Alice.Smith@gmail.com").json()
    assert found["data"] == [bounced]
    assert story.globex.get("/suppressions").json() == {"data": [], "next_cursor": None}

    assert delete(acme, "/suppressions/email/Alice.Smith@gmail.com").status_code == 204
    assert delete(acme, "/suppressions/sms/+393331234567").status_code == 204
    assert not Suppression.objects.exists()
    error(delete(acme, "/suppressions/email/alicesmith@gmail.com"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"address": "not an address"}, "invalid_email"),
        ({"channel": "sms", "address": "12"}, "invalid_phone"),
        ({"channel": "sms", "address": "333 123 4567"}, "invalid_phone"),
        ({"channel": "fax", "address": "alice@example.com"}, "unknown_channel"),
        ({"address": "alice@example.com", "reason": "annoyed"}, "unknown_reason"),
        ({"address": "alice@example.com", "note": "x"}, "validation_error"),
    ],
)
def test_bad_suppressions_are_refused(story: Story, body: dict[str, Any], code: str) -> None:
    error(story.acme.post("/suppressions", body), 422, code)
    assert not Suppression.objects.exists()


def test_a_bad_suppression_cursor_is_refused(story: Story) -> None:
    error(story.acme.get("/suppressions", cursor="email:nobody@x.test"), 400, "invalid_cursor")
    error(story.acme.get("/suppressions", limit=0), 400, "invalid_limit")


# Another workspace


def test_globex_gets_404_for_acme_ids_and_acme_is_unchanged(story: Story) -> None:
    acme, globex, program = story.acme, story.globex, story.program["id"]
    with at(NOW):
        acme.put(template_path(story), OWN)
        acme.put(f"/programs/{program}/journeys/thank_you", {"is_active": False})
        acme.post("/suppressions", {"address": "alice@example.com"})
    sent = message(story, 0, status="sent", subject="Secret", text="Secret words")
    before = row_counts(acme.workspace)
    template = acme.get(template_path(story)).json()
    prg = f"/programs/{program}"
    tpl = template_path(story)
    for response in (
        globex.get(f"/messages/{sent.public_id}"),
        globex.get(f"{prg}/journeys"),
        globex.put(f"{prg}/journeys/thank_you", {"is_active": True}),
        globex.get(f"{prg}/templates"),
        globex.get(tpl),
        globex.put(tpl, {"subject": "Pwned"}),
        globex.post(f"{tpl}/preview", {}),
        delete(globex, tpl),
        delete(globex, "/suppressions/email/alice@example.com"),
    ):
        error(response, 404, "not_found")
        assert "Secret" not in response.content.decode()
    assert globex.get("/messages").json() == {"data": [], "next_cursor": None}
    assert globex.get("/messages", participant="alice").json()["data"] == []
    assert row_counts(acme.workspace) == before
    assert acme.get(tpl).json() == template
    assert JourneySetting.objects.get().is_active is False


def test_the_journey_filter_knows_every_journey() -> None:
    assert set(typing.get_args(JourneyName)) == set(Journey.values)
