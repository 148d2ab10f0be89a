"""Text messages end to end: events in through the API, texts out to a local server playing
Twilio's Messages API (tests/receiver.py), STOP and START replies in through the signed webhook.

The cast: acme's program gives alice $10.00 and bob $5.00 of store credit when bob, whom alice
referred, buys (tests/factories.py). Both have a phone; bob has agreed to texts, alice not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from goodword.lib.signing import read_portal_token
from goodword.messaging import fanout, sending, texts
from goodword.messaging.models import JourneySetting, Message, MessagingSettings, Suppression
from goodword.participants.models import Participant
from goodword.programs.models import Program
from goodword.rewards.services import approve_due_rewards
from goodword.settings import _sms_api
from tests.factories import Api, Story, purchase
from tests.mailbox import Mailbox
from tests.receiver import Receiver

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "acme-test-auth-token"
SENDER = "+15005550006"
ALICE_PHONE = "+393331234567"
BOB_PHONE = "+393471234567"
CREATED = b'{"sid": "SM00000000000000000000000000000001", "status": "queued"}'
INBOUND = "/hooks/sms/inbound"
SITE = settings.SITE_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(settings: Any, outbound_loopback: None) -> Iterator[Receiver]:
    with Receiver() as r:
        settings.SMS_API = _sms_api(
            f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{r.port}?from=%2B15005550006"
        )
        r.respond(status=201, body=CREATED, headers={"Content-Type": "application/json"})
        yield r


def turn_on(api: Api, *, sms_enabled: bool = True) -> MessagingSettings:
    return MessagingSettings.objects.create(
        workspace=api.workspace, is_active=True, quiet_start=0, quiet_end=0, sms_enabled=sms_enabled
    )


def text_journeys(program_id: str, *journeys: str) -> None:
    program = Program.objects.get(public_id=program_id)
    for journey in journeys:
        JourneySetting.objects.create(
            workspace_id=program.workspace_id, program=program, journey=journey, sms=True
        )


def tick(at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        fanout.queue_messages(now=at)
        while sending.send_due(now=at):
            pass


def give_alice_a_phone(story: Story, **more: Any) -> None:
    body = {"external_id": "alice", "email": "alice@example.com", "name": "Alice",
            "attributes": {"phone": "+39 333 123 4567", **more}}  # fmt: skip
    assert story.acme.post("/participants", body).status_code in (200, 201)


def bob_buys(story: Story, event_id: str = "evt-bob-1", **attributes: Any) -> None:
    body = purchase(event_id, "bob", f"order-{event_id}", 2500, referral_code=story.alice["code"])
    body["customer"] = {**body["customer"], "name": "Bob Rossi", "attributes": attributes}
    with time_machine.travel(NOW, tick=False):
        response = story.acme.event(body)
    assert response.status_code in (200, 201), response.content


def texts_of(api: Api) -> dict[tuple[str, str], Message]:
    rows = Message.objects.for_workspace(api.workspace).filter(channel="sms")
    return {(m.journey, m.participant.external_id): m for m in rows.select_related("participant")}


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def signed(params: dict[str, str], token: str = TOKEN, url: str = SITE + INBOUND) -> str:
    """Twilio's signature, written here from its documentation, not with the adapter's code."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def reply(number: str, body: str, *, signature: str | None = None) -> Any:
    params = {"From": number, "To": SENDER, "Body": body, "MessageSid": "SM" + "1" * 32}
    sig = signed(params) if signature is None else signature
    return Client().post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=sig)


def stopped(api: Api) -> list[tuple[str, str, str]]:
    rows = Suppression.objects.for_workspace(api.workspace).filter(channel="sms")
    return sorted(rows.values_list("channel", "address", "reason"))


# Sending


def test_a_referral_request_and_reward_notices_go_by_text(
    story: Story, twilio: Receiver, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    text_journeys(story.program["id"], "referral_request", "reward_earned")
    give_alice_a_phone(story)  # no sms_consent: notices only
    bob_buys(story, phone="347 123 4567", sms_consent=True)  # no country code: not textable
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob")
    bob.attributes = {**bob.attributes, "phone": BOB_PHONE}
    bob.save(update_fields=["attributes"])
    tick(NOW)
    tick(NOW + timedelta(minutes=1))  # read again: nothing more

    sent = texts_of(story.acme)
    assert sorted((k, m.status, m.skip_reason) for k, m in sent.items()) == [
        (("referral_request", "bob"), "sent", ""),
        (("reward_earned", "alice"), "sent", ""),
        (("reward_earned", "bob"), "sent", ""),
    ]
    assert len(twilio.requests) == 3
    by_id = {r.headers["i-twilio-idempotency-token"]: r for r in twilio.requests}
    assert set(by_id) == {m.public_id for m in sent.values()}
    advocate = bob.advocate_set.get()
    # The referral request carries Bob's own portal link: read back from the text sent.
    request_body = form(by_id[sent[("referral_request", "bob")].public_id].body)["Body"]
    found = re.search(rf"{re.escape(SITE)}/p/(\S+) ", request_body)
    assert found is not None, request_body
    token = read_portal_token(found[1])
    assert token is not None
    assert token.advocate_id == advocate.public_id
    portal_link = found[0].strip()
    expected = {
        ("referral_request", "bob"): (
            BOB_PHONE,
            f"Acme: thanks for your order! Share your link and get $10.00 store credit when a "
            f"friend orders: {portal_link} Reply STOP to opt out.",
        ),
        ("reward_earned", "alice"): (
            ALICE_PHONE,
            "Acme: good news, you've earned a reward ($10.00 store credit). It will be "
            "confirmed on 15 December 2026.",
        ),
        ("reward_earned", "bob"): (
            BOB_PHONE,
            "Acme: good news, you've earned a reward ($5.00 store credit). It will be "
            "confirmed on 15 December 2026.",
        ),
    }
    auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    for key, (to, body) in expected.items():
        message = sent[key]
        request = by_id[message.public_id]
        assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
        assert request.headers["authorization"] == auth
        assert form(request.body) == {"To": to, "From": SENDER, "Body": body}
        assert (message.to, message.text, message.subject, message.html) == (to, body, "", "")
        assert (message.template, message.language) == ("default", "en")
        assert message.provider_id == "SM00000000000000000000000000000001"
    # Email goes on as before, beside the texts.
    assert Message.objects.filter(channel="email", status="sent").count() == 4
    assert len(mailbox.messages) == 4


def test_marketing_texts_need_sms_consent_notices_do_not(story: Story, twilio: Receiver) -> None:
    turn_on(story.acme)
    text_journeys(story.program["id"], "referral_request", "reward_earned")
    bob_buys(story, phone=BOB_PHONE, marketing_consent=True)  # consent to email is not to texts
    tick(NOW)
    sent = texts_of(story.acme)
    assert sorted((k, m.status, m.skip_reason) for k, m in sent.items()) == [
        (("referral_request", "bob"), "skipped", "no_sms_consent"),
        (("reward_earned", "alice"), "skipped", "no_phone"),
        (("reward_earned", "bob"), "sent", ""),
    ]
    assert [form(r.body)["To"] for r in twilio.requests] == [BOB_PHONE]


def test_sms_off_anywhere_sends_nothing(story: Story, twilio: Receiver, settings: Any) -> None:
    # The workspace's switch off: no text is even queued.
    turn_on(story.acme, sms_enabled=False)
    text_journeys(story.program["id"], "referral_request", "reward_earned")
    bob_buys(story, phone=BOB_PHONE, sms_consent=True)
    tick(NOW)
    assert texts_of(story.acme) == {}
    # Turned on, queued, then SMS_URL gone before they are due: skipped, nothing sent.
    MessagingSettings.objects.filter(workspace=story.acme.workspace).update(sms_enabled=True)
    bob_buys(story, "evt-bob-2", phone=BOB_PHONE, sms_consent=True)
    with time_machine.travel(NOW, tick=False):
        fanout.queue_messages(now=NOW + timedelta(minutes=2))
    assert {m.status for m in texts_of(story.acme).values()} == {"pending"}
    settings.SMS_API = None
    tick(NOW + timedelta(minutes=2))
    assert {(m.status, m.skip_reason) for m in texts_of(story.acme).values()} == {
        ("skipped", "sms_off")
    }
    assert twilio.requests == []


def test_a_journey_not_sent_by_text_queues_no_text(story: Story, twilio: Receiver) -> None:
    turn_on(story.acme)  # sms_enabled, but no journey of the program sends by text
    bob_buys(story, phone=BOB_PHONE, sms_consent=True)
    tick(NOW)
    assert texts_of(story.acme) == {}
    assert twilio.requests == []


def test_an_unsubscribed_number_21610_is_stopped_for_good(story: Story, twilio: Receiver) -> None:
    turn_on(story.acme)
    text_journeys(story.program["id"], "reward_earned", "reward_approved")
    twilio.respond(
        status=400,
        body=b'{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}',
        headers={"Content-Type": "application/json"},
    )
    bob_buys(story, phone=BOB_PHONE)
    tick(NOW)
    earned = texts_of(story.acme)[("reward_earned", "bob")]
    assert (earned.status, earned.attempts, earned.to) == ("failed", 1, BOB_PHONE)
    assert earned.error.startswith("Twilio error 21610: Attempt to send to unsubscribed")
    assert stopped(story.acme) == [("sms", BOB_PHONE, "stopped")]
    assert stopped(story.globex) == []
    # The next notice to that number is not even tried.
    twilio.respond(status=201, body=CREATED)
    before = len(twilio.requests)
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        assert approve_due_rewards(now=NOW + timedelta(days=15)) == 2
    tick(NOW + timedelta(days=15))
    approved = texts_of(story.acme)[("reward_approved", "bob")]
    assert (approved.status, approved.skip_reason) == ("skipped", "stopped")
    assert len(twilio.requests) == before


def test_a_text_over_1600_characters_fails_as_a_template_and_is_not_sent(
    story: Story, twilio: Receiver
) -> None:
    turn_on(story.acme)
    text_journeys(story.program["id"], "reward_earned")
    path = f"/programs/{story.program['id']}/templates/reward_earned/en"
    long = "{% for i in (1..200) %}0123456789{% endfor %}"
    assert story.acme.put(path, {"sms": long}).status_code == 200
    bob_buys(story, phone=BOB_PHONE)
    tick(NOW)
    earned = texts_of(story.acme)[("reward_earned", "bob")]
    assert (earned.status, earned.error) == (
        "failed",
        "template: the text message is 2,000 characters long; at most 1,600",
    )
    assert twilio.requests == []


def test_segments() -> None:
    assert texts.segments("") == 0
    assert texts.segments("a" * 160) == 1
    assert texts.segments("a" * 161) == 2
    assert texts.segments("€" * 80) == 1  # two units each in GSM's extension table
    assert texts.segments("è" * 160) == 1  # Italian accents are GSM
    assert texts.segments("ä" + "ś" * 70) == 2  # outside GSM: UCS-2, 70 then 67 a segment


# Replies


def _texted(api: Api, number: str) -> None:
    """A text this workspace sent to `number` (what makes a STOP reach it)."""
    Message.objects.create(
        workspace=api.workspace, journey="reward_earned", channel="sms", cause=f"x:{number}",
        to=number, status="sent", created_at=NOW,
    )  # fmt: skip


def test_stop_with_twilios_signature_stops_every_workspace_that_texted_the_number(
    story: Story, settings: Any
) -> None:
    settings.SMS_API = _sms_api(f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15005550006")
    _texted(story.acme, BOB_PHONE)
    _texted(story.globex, BOB_PHONE)
    _texted(story.globex, ALICE_PHONE)
    answer = reply(BOB_PHONE, " stop\n")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/xml"
    assert answer.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert stopped(story.acme) == [("sms", BOB_PHONE, "stopped")]
    assert stopped(story.globex) == [("sms", BOB_PHONE, "stopped")]
    assert reply(BOB_PHONE, "STOP").status_code == 200  # Twilio retried: nothing more
    assert Suppression.objects.count() == 2
    # Each workspace sees and manages its own row only.
    listed = story.globex.get("/suppressions", channel="sms").json()["data"]
    assert [(s["address"], s["reason"]) for s in listed] == [(BOB_PHONE, "stopped")]
    assert (
        story.globex.client.delete(
            f"/api/v1/suppressions/sms/{ALICE_PHONE}",
            HTTP_AUTHORIZATION=f"Bearer {story.globex.key}",
        ).status_code
        == 404
    )
    assert (
        story.globex.client.delete(
            f"/api/v1/suppressions/sms/{BOB_PHONE}", HTTP_AUTHORIZATION=f"Bearer {story.globex.key}"
        ).status_code
        == 204
    )
    assert stopped(story.acme) == [("sms", BOB_PHONE, "stopped")]  # acme's is untouched
    assert stopped(story.globex) == []


@pytest.mark.parametrize(
    "signature",
    ["", "bm90IGEgc2lnbmF0dXJl", "signed with another token"],
)
def test_a_reply_without_twilios_signature_is_refused(
    story: Story, settings: Any, signature: str
) -> None:
    settings.SMS_API = _sms_api(f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15005550006")
    _texted(story.acme, BOB_PHONE)
    if signature == "signed with another token":
        params = {"From": BOB_PHONE, "To": SENDER, "Body": "STOP", "MessageSid": "SM" + "1" * 32}
        signature = signed(params, token="mallorys-token")
    answer = reply(BOB_PHONE, "STOP", signature=signature)
    assert answer.status_code == 403
    assert Suppression.objects.count() == 0


def test_a_changed_body_breaks_the_signature(story: Story, settings: Any) -> None:
    settings.SMS_API = _sms_api(f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15005550006")
    _texted(story.acme, BOB_PHONE)
    params = {"From": BOB_PHONE, "To": SENDER, "Body": "hello", "MessageSid": "SM" + "1" * 32}
    answer = Client().post(
        INBOUND, {**params, "Body": "STOP"}, HTTP_X_TWILIO_SIGNATURE=signed(params)
    )
    assert answer.status_code == 403
    assert Suppression.objects.count() == 0


def test_start_lifts_only_stops(story: Story, settings: Any) -> None:
    settings.SMS_API = _sms_api(f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15005550006")
    _texted(story.acme, BOB_PHONE)
    _texted(story.acme, ALICE_PHONE)
    assert (
        story.acme.post(
            "/suppressions", {"channel": "sms", "address": ALICE_PHONE, "reason": "complained"}
        ).status_code
        == 201
    )
    assert reply(BOB_PHONE, "STOP").status_code == 200
    assert reply(ALICE_PHONE, "STOP").status_code == 200  # a complaint stays a complaint
    assert reply(BOB_PHONE, "hello").status_code == 200  # not a keyword: nothing
    assert stopped(story.acme) == [
        ("sms", ALICE_PHONE, "complained"),
        ("sms", BOB_PHONE, "stopped"),
    ]
    assert reply(BOB_PHONE, "Start").status_code == 200
    assert reply(ALICE_PHONE, "UNSTOP").status_code == 200
    assert stopped(story.acme) == [("sms", ALICE_PHONE, "complained")]
    assert reply(BOB_PHONE, "START").status_code == 200  # again: nothing to lift


def test_the_webhook_is_not_there_without_sms_url(story: Story, settings: Any) -> None:
    settings.SMS_API = None
    _texted(story.acme, BOB_PHONE)
    assert reply(BOB_PHONE, "STOP").status_code == 404
    assert Client().get(INBOUND).status_code == 405
    assert Suppression.objects.count() == 0


# Settings through the API


def test_journey_sms_flag_and_workspace_switch_in_the_api(story: Story, twilio: Receiver) -> None:
    acme, prg = story.acme, story.program["id"]
    answer = acme.put(f"/programs/{prg}/journeys/reward_earned", {"sms": True})
    assert answer.status_code == 200, answer.content
    assert answer.json()["sms"] is True
    assert JourneySetting.objects.get(journey="reward_earned").sms is True
    refused = acme.put(f"/programs/{prg}/journeys/thank_you", {"sms": True})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "not_for_journey"
    refused = acme.put(f"/programs/{prg}/journeys/friend_invite", {"sms": True})
    assert refused.json()["error"]["code"] == "not_for_journey"
    assert not JourneySetting.objects.filter(journey__in=["thank_you", "friend_invite"]).exists()
    assert (
        story.globex.put(f"/programs/{prg}/journeys/reward_earned", {"sms": True}).status_code
        == 404
    )
    got = acme.patch("/messaging", {"sms_enabled": True}).json()
    assert (got["sms_enabled"], got["sms_configured"]) == (True, True)
    assert story.globex.get("/messaging").json()["sms_enabled"] is False
    bad = acme.patch("/messaging", {"sms_enabled": "yes"})
    assert bad.status_code == 422


def test_a_local_number_is_read_in_the_workspaces_country(story: Story, twilio: Receiver) -> None:
    # Without a country, "333 123 4567" is no number to text; with IT it is Italian; Globex,
    # which has no country, still skips its own local numbers.
    found = turn_on(story.acme)
    text_journeys(story.program["id"], "reward_earned")
    give_alice_a_phone(story)
    bob_buys(story, phone="333 765 4321")
    tick(NOW)
    assert sorted((k, m.status, m.skip_reason) for k, m in texts_of(story.acme).items()) == [
        (("reward_earned", "alice"), "sent", ""),
        (("reward_earned", "bob"), "skipped", "no_phone"),
    ]
    answer = story.acme.patch("/messaging", {"phone_region": "it"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["phone_region"] == "IT"
    found.refresh_from_db()
    assert found.phone_region == "IT"
    body = purchase("evt-carol", "carol", "order-carol", 2500, referral_code=story.alice["code"])
    body["customer"] = {**body["customer"], "attributes": {"phone": "333 555 0101"}}
    with time_machine.travel(NOW, tick=False):
        assert story.acme.event(body).status_code in (200, 201)
    tick(NOW + timedelta(minutes=1))
    assert sorted(form(r.body)["To"] for r in twilio.requests) == [
        "+393331234567",  # Alice's first reward
        "+393331234567",  # and her second, for Carol
        "+393335550101",  # Carol's own
    ]
    assert story.globex.get("/messaging").json()["phone_region"] == ""
    bad = story.acme.patch("/messaging", {"phone_region": "Italy"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_phone_region"
    found.refresh_from_db()
    assert found.phone_region == "IT"
