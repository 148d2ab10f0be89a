"""Reminders end to end: the cause in through the API, the reminder out through the real sender
to a real SMTP server, at its time and not before, and never once the person acted.

The cast: acme's program (tests/factories.py) gives alice $10.00 and a friend $5.00 of credit;
dave joins at NOW and is reminded to share; bob, alice's friend, signs up and is reminded of
his offer; a coupon program gives bob a coupon that expires 10 days after it is issued.
Alice joined when the story was made, long before NOW: her own enrolment is too old to remind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from goodword.messaging import fanout, journeys
from goodword.messaging.journeys import Facts, Manners, Recipient, decide
from goodword.messaging.models import Message, MessagingCursor, Suppression
from goodword.participants.models import Participant
from goodword.referrals.clicklog import ingest_clicks
from goodword.rewards.models import Reward
from goodword.rewards.services import approve_due_rewards
from tests.factories import Api, Story, enrol, make_program, purchase, signup
from tests.mailbox import Mailbox, parts
from tests.test_messaging_journeys import portal_of, tick, turn_on

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
SITE = settings.SITE_URL


def reminders(journey: str) -> list[Message]:
    return list(Message.objects.filter(journey=journey).order_by("pk"))


def mail_of(mailbox: Mailbox, message: Message) -> list[Any]:
    host = SITE.split("//")[1].split(":")[0].split("/")[0]
    return [m for m in mailbox.messages if m["Message-ID"] == f"<{message.public_id}@{host}>"]


def dave_joins(story: Story) -> dict[str, Any]:
    with time_machine.travel(NOW, tick=False):
        return enrol(story.acme, story.program["id"], "dave", name="Dave Bianchi")


def set_delay(api: Api, program: str, journey: str, days: int, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        answer = api.put(f"/programs/{program}/journeys/{journey}", {"delay_days": days})
    assert answer.status_code == 200, answer.content
    assert answer.json()["delay_days"] == days


# Share reminder.


@pytest.mark.django_db
def test_share_reminder_goes_once_after_three_days_not_before(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    dave = dave_joins(story)
    tick(NOW)
    [message] = reminders("remind_share")  # alice's own enrolment is too old: none for her
    assert (message.status, message.next_attempt_at) == ("pending", NOW + 3 * DAY)
    assert message.cause == f"remind_share:{dave['id']}"
    assert message.transactional is False

    tick(NOW + 3 * DAY - MINUTE)
    assert mailbox.messages == []
    tick(NOW + 3 * DAY)
    tick(NOW + 4 * DAY)
    message.refresh_from_db()
    assert (message.status, message.to, message.language) == ("sent", "dave@example.com", "en")
    [mail] = mailbox.messages
    text, html = parts(mail)
    assert mail["Subject"] == "Your link is ready: share it and get $10.00 store credit"
    assert text.startswith("Hi Dave,")
    assert f"Share your link: {SITE}/p/adv_" in text  # their portal, by a magic link
    assert portal_of(text) == dave["id"]
    assert f'href="{SITE}/p/adv_' in html
    assert str(mail["List-Unsubscribe"]).strip().startswith(f"<{SITE}/u/")

    # Reading every event again queues nothing twice.
    MessagingCursor.objects.update(done=0, seen=0, seen_at=None)
    with time_machine.travel(NOW + 5 * DAY, tick=False):
        fanout.queue_messages(now=NOW + 5 * DAY)
    assert Message.objects.filter(journey="remind_share").count() == 1
    tick(NOW + 6 * DAY)
    assert len(mailbox.messages) == 1


def share_by_click(story: Story, code: str) -> None:
    Client().get(f"/r/{code}", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    assert ingest_clicks() == 1


def share_by_invite(story: Story, code: str) -> None:
    body = {"advocate": "dave", "email": "erin@example.org"}
    answer = story.acme.post(f"/programs/{story.program['id']}/invites", body)
    assert answer.status_code == 201, answer.content


def share_by_referral(story: Story, code: str) -> None:
    answer = story.acme.event(signup("s-erin", "erin", referral_code=code))
    assert answer.status_code in (200, 201), answer.content


def share_by_share_event(story: Story, code: str) -> None:
    """A share reported through the API (the portal and widget record the same rows)."""
    body = {"program": story.program["id"], "advocate": "dave", "channel": "whatsapp"}
    answer = story.acme.post("/shares", body)
    assert answer.status_code == 201, answer.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "share", [share_by_click, share_by_invite, share_by_referral, share_by_share_event]
)
def test_share_reminder_stops_once_they_shared(story: Story, mailbox: Mailbox, share: Any) -> None:
    turn_on(story.acme)
    dave = dave_joins(story)
    tick(NOW)
    with time_machine.travel(NOW + DAY, tick=False):
        share(story, dave["code"])
    tick(NOW + 3 * DAY)
    [message] = reminders("remind_share")
    assert (message.status, message.skip_reason, message.to) == ("skipped", "acted", "")
    assert mail_of(mailbox, message) == []
    assert mailbox.to("dave@example.com") == []


@pytest.mark.django_db
def test_a_longer_delay_applies_to_a_queued_reminder(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    dave_joins(story)
    tick(NOW)
    set_delay(story.acme, story.program["id"], "remind_share", 5, NOW + DAY)
    tick(NOW + 3 * DAY)
    [message] = reminders("remind_share")
    assert (message.status, message.next_attempt_at, message.attempts) == (
        "pending",
        NOW + 5 * DAY,
        0,
    )
    assert mailbox.messages == []
    tick(NOW + 5 * DAY)
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(mailbox.to("dave@example.com")) == 1


@pytest.mark.django_db
def test_a_shorter_delay_brings_queued_reminders_forward(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    dave_joins(story)
    tick(NOW)
    set_delay(story.acme, story.program["id"], "remind_share", 1, NOW + 12 * timedelta(hours=1))
    tick(NOW + DAY - MINUTE)
    assert mailbox.messages == []
    [message] = reminders("remind_share")
    assert (message.status, message.next_attempt_at) == ("pending", NOW + DAY)
    tick(NOW + DAY)
    message.refresh_from_db()
    assert (message.status, message.sent_at) == ("sent", NOW + DAY)


@pytest.mark.django_db
def test_a_test_customer_or_an_unsubscribed_advocate_is_not_reminded(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    dave_joins(story)
    with time_machine.travel(NOW, tick=False):
        enrol(story.acme, story.program["id"], "tess", name="Tess")
    Participant.objects.filter(external_id="tess").update(test=True)
    Suppression.objects.create(
        workspace=story.acme.workspace,
        channel="email",
        address="dave@example.com",
        reason="unsubscribed",
        created_at=NOW,
    )
    tick(NOW)
    tick(NOW + 3 * DAY)
    outcome = {
        m.participant.external_id: (m.status, m.skip_reason)
        for m in Message.objects.filter(journey="remind_share").select_related("participant")
    }
    assert outcome == {
        "dave": ("skipped", "unsubscribed"),
        "tess": ("skipped", "test_customer"),
    }
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_program_that_turned_the_reminder_off_queues_none(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    answer = story.acme.put(
        f"/programs/{story.program['id']}/journeys/remind_share", {"is_active": False}
    )
    assert answer.json()["delay_days"] == 3  # left out: the default
    dave_joins(story)
    tick(NOW)
    tick(NOW + 3 * DAY)
    assert reminders("remind_share") == []
    assert mailbox.messages == []


# Friend reminder.


def bob_signs_up(story: Story, **attributes: Any) -> None:
    body = signup("s-bob", "bob", referral_code=story.alice["code"])
    body["customer"] = {**body["customer"], "name": "Bob Rossi", "attributes": attributes}
    with time_machine.travel(NOW, tick=False):
        answer = story.acme.event(body)
    assert answer.status_code in (200, 201), answer.content


@pytest.mark.django_db
def test_friend_reminder_in_the_friends_language_after_five_days(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    bob_signs_up(story, language="it")
    tick(NOW)
    [message] = reminders("remind_friend")
    assert (message.participant.external_id, message.next_attempt_at) == ("bob", NOW + 5 * DAY)
    tick(NOW + 5 * DAY - MINUTE)
    assert mailbox.to("bob@example.net") == []
    tick(NOW + 5 * DAY)
    tick(NOW + 6 * DAY)
    message.refresh_from_db()
    assert (message.status, message.to, message.language) == ("sent", "bob@example.net", "it")
    [mail] = mail_of(mailbox, message)
    assert len(mailbox.to("bob@example.net")) == 1
    text, html = parts(mail)
    text = text.replace("\r\n", "\n")
    assert mail["Subject"] == "Il tuo regalo da Alice ti aspetta ancora: 5,00 $ di credito"
    assert text.startswith("Ciao Bob,\n\nAlice ti ha consigliato Acme")
    assert f"Ritira il tuo regalo: {SITE}/r/{story.alice['code']}" in text
    assert f'href="{SITE}/r/{story.alice["code"]}"' in html
    assert "Ritira il tuo regalo</a>" in html
    assert str(mail["List-Unsubscribe"]).strip().startswith(f"<{SITE}/u/")


@pytest.mark.django_db
def test_friend_reminder_stops_once_the_friend_bought(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    bob_signs_up(story)
    tick(NOW)
    with time_machine.travel(NOW + 2 * DAY, tick=False):
        body = purchase("p-bob", "bob", "order-bob", 2500)
        assert story.acme.event(body).status_code in (200, 201)
    tick(NOW + 5 * DAY)
    [message] = reminders("remind_friend")
    assert (message.status, message.skip_reason) == ("skipped", "acted")
    assert mail_of(mailbox, message) == []


@pytest.mark.django_db
def test_an_unsubscribed_friend_is_not_reminded(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    bob_signs_up(story, marketing_consent=False)
    tick(NOW)
    tick(NOW + 5 * DAY)
    [message] = reminders("remind_friend")
    assert (message.status, message.skip_reason) == ("skipped", "no_consent")
    assert mailbox.to("bob@example.net") == []


# Coupon expiring.


def coupon_story(story: Story) -> tuple[dict[str, Any], str]:
    """bob bought through alice's code in a program that gives friends a $5.00 coupon valid
    10 days; it is issued at NOW. Returns the program and the code."""
    coupon = {"beneficiary": "friend", "kind": "coupon", "amount": 500, "currency": "USD",
              "coupon": {"expires_days": 10}}  # fmt: skip
    with time_machine.travel(NOW - DAY, tick=False):
        prg = make_program(story.acme, rewards=[coupon], hold_days=0, name="Coupons")
        alice = enrol(story.acme, prg["id"], "alice")
        body = purchase("p-bob", "bob", "order-bob", 2500, referral_code=alice["code"])
        body["customer"]["name"] = "Bob Rossi"
        assert story.acme.event(body).status_code in (200, 201)
    with time_machine.travel(NOW, tick=False):
        approve_due_rewards(now=NOW)
    reward = Reward.objects.get(participant__external_id="bob", kind="coupon")
    assert (reward.status, reward.coupon_expires_at) == ("fulfilled", NOW + 10 * DAY)
    return prg, reward.coupon_code


@pytest.mark.django_db
def test_coupon_reminder_three_days_before_it_expires(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    _, code = coupon_story(story)
    # bob unsubscribed from marketing: a coupon's expiry is about his own reward, and goes.
    Suppression.objects.create(
        workspace=story.acme.workspace,
        channel="email",
        address="bob@example.net",
        reason="unsubscribed",
        created_at=NOW,
    )
    tick(NOW)
    [message] = reminders("coupon_expiring")
    assert (message.next_attempt_at, message.transactional) == (NOW + 7 * DAY, True)
    tick(NOW + 7 * DAY - MINUTE)
    assert mail_of(mailbox, message) == []
    tick(NOW + 7 * DAY)
    tick(NOW + 8 * DAY)
    message.refresh_from_db()
    assert message.status == "sent"
    [mail] = mail_of(mailbox, message)
    text, _ = parts(mail)
    assert mail["Subject"] == f"Your coupon {code} expires on 11 March 2027"
    assert f"Your code: {code}" in text
    assert "It gives you: $5.00 off" in text
    assert mail["List-Unsubscribe"] is None


@pytest.mark.django_db
def test_coupon_reminder_stops_once_the_coupon_was_used(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    _, code = coupon_story(story)
    tick(NOW)
    with time_machine.travel(NOW + 3 * DAY, tick=False):
        body = purchase("p-bob-2", "bob", "order-bob-2", 3000)
        body["order"]["coupons"] = [code]
        assert story.acme.event(body).status_code in (200, 201)
    assert Reward.objects.get(coupon_code=code).coupon_used_at is not None
    tick(NOW + 7 * DAY)
    [message] = reminders("coupon_expiring")
    assert (message.status, message.skip_reason) == ("skipped", "acted")
    assert mail_of(mailbox, message) == []


@pytest.mark.django_db
def test_a_longer_coupon_notice_reminds_sooner(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    prg, _ = coupon_story(story)
    tick(NOW)
    set_delay(story.acme, prg["id"], "coupon_expiring", 5, NOW + DAY)
    [message] = reminders("coupon_expiring")
    message.refresh_from_db()
    assert message.next_attempt_at == NOW + DAY  # brought forward, to be decided again
    tick(NOW + DAY)
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == ("pending", NOW + 5 * DAY)
    tick(NOW + 5 * DAY)
    message.refresh_from_db()
    assert (message.status, message.sent_at) == ("sent", NOW + 5 * DAY)


# The delays in the API.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("journey", "body", "code"),
    [
        ("remind_share", {"delay_days": 0}, "invalid_delay"),
        ("remind_friend", {"delay_days": 366}, "invalid_delay"),
        ("coupon_expiring", {"min_nps": 9}, "not_for_journey"),
    ],
)
def test_a_bad_reminder_delay_is_refused(
    story: Story, journey: str, body: dict[str, Any], code: str
) -> None:
    answer = story.acme.put(f"/programs/{story.program['id']}/journeys/{journey}", body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)
    listed = story.acme.get(f"/programs/{story.program['id']}/journeys").json()["data"]
    assert {j["journey"]: j["delay_days"] for j in listed if j["journey"] == journey} == {
        journey: journeys.default_delay(journey)
    }


@pytest.mark.django_db
def test_another_workspace_cannot_set_a_reminder(story: Story) -> None:
    path = f"/programs/{story.program['id']}/journeys/remind_share"
    answer = story.globex.put(path, {"delay_days": 7})
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
    assert (
        story.acme.get(f"/programs/{story.program['id']}/journeys").json()["data"][8]["delay_days"]
        == 3
    )


# The decision, table-driven.

_MANNERS = Manners(
    is_active=True,
    journey_active=True,
    min_nps=None,
    require_consent=False,
    weekly_cap=3,
    quiet_start=0,
    quiet_end=0,
    time_zone="UTC",
    language="en",
)
_DAVE = Recipient("dave@example.com", "", "", False, None, None, "")


@pytest.mark.parametrize(
    ("facts", "send", "skip", "later"),
    [
        ({"due_at": NOW}, True, "", None),
        ({"due_at": NOW + DAY}, False, "", NOW + DAY),
        ({"due_at": NOW + DAY, "acted": True}, False, "acted", None),
        ({"due_at": NOW, "superseded": True}, False, "superseded", None),
        ({"due_at": NOW - DAY, "too_late_at": NOW}, False, "expired", None),
        ({"due_at": NOW - DAY, "too_late_at": NOW + MINUTE}, True, "", None),
    ],
)
def test_decide_a_reminder(facts: dict[str, Any], send: bool, skip: str, later: Any) -> None:
    verdict = decide(
        Facts(
            journey="remind_share",
            now=NOW,
            recipient=_DAVE,
            manners=_MANNERS,
            suppressed="",
            sent_this_week=0,
            **facts,
        )
    )
    assert (verdict.send, verdict.skip, verdict.later) == (send, skip, later)
