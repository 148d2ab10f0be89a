"""Friend invites: an advocate asks us to email a friend (`POST /programs/{id}/invites` with
`send_email`), and the friend gets one email, through a real SMTP server.

The cast: acme's program gives a friend $5.00 of store credit; alice (an advocate) invites
carol, who is nobody's participant. Time is frozen; quiet hours are off.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from goodword.events.models import DomainEvent
from goodword.messaging import fanout, unsubscribe
from goodword.messaging.models import Message, Suppression
from goodword.participants.models import Participant
from goodword.programs.models import Program
from goodword.referrals.models import Invite
from goodword.referrals.services import INVITES_PER_DAY
from tests.factories import Story, enrol
from tests.mailbox import Mailbox, parts
from tests.test_messaging_journeys import tick, turn_on

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SITE = settings.SITE_URL
HOST = urlsplit(SITE).hostname
CONSENT = "I know Carol and she is happy to hear from Acme."
NOTE = "Their espresso is the best in town."


def invite(story: Story, email: str = "carol@example.org", **extra: Any) -> Any:
    body = {"advocate": "alice", "email": email, **extra}
    return story.acme.post(f"/programs/{story.program['id']}/invites", body)


def emailed(story: Story, email: str = "carol@example.org", **extra: Any) -> Any:
    return invite(story, email, **{"note": NOTE, "consent": CONSENT, "send_email": True, **extra})


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def messages() -> Any:
    """The friend invites (the advocate's share reminder is queued too: tests/test_reminders.py)."""
    return Message.objects.filter(journey="friend_invite")


@pytest.fixture
def program(story: Story) -> Program:
    return Program.objects.get(public_id=story.program["id"])


@pytest.mark.django_db
def test_an_emailed_invite_reaches_the_friend_once(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        answer = emailed(story)
    assert answer.status_code == 201, answer.content
    out = answer.json()
    assert out == {
        "id": out["id"],
        "program": program.public_id,
        "advocate": "alice",
        "email": "carol@example.org",
        "note": NOTE,
        "send_email": True,
        "created_at": "2026-12-01T15:00:00Z",
    }
    assert Invite.objects.get().consent == CONSENT
    tick(NOW)
    tick(NOW + timedelta(seconds=10))  # inside the fan-out's re-read: the event is read again
    fanout.queue_messages(now=NOW + timedelta(seconds=11))

    message = messages().get()
    assert (message.journey, message.cause, message.participant_id) == (
        "friend_invite",
        f"friend_invite:{out['id']}",
        None,
    )
    assert (message.program_id, message.data, message.to) == (
        program.pk,
        {"invite": out["id"]},
        "carol@example.org",
    )
    assert (message.status, message.transactional, message.language) == ("sent", False, "en")
    [mail] = mailbox.messages
    assert mail["To"] == "carol@example.org"
    assert mail["Message-ID"] == f"<{message.public_id}@{HOST}>"
    assert mail["Subject"] == "A gift from Alice: $5.00 store credit"
    assert message.subject == mail["Subject"]
    text, html = parts(mail)
    code = story.alice["code"]
    assert "Alice thought you'd like Acme, and asked us to send you this invitation." in text
    assert f'"{NOTE}"' in text
    assert f"Accept the invitation: {SITE}/r/{code}" in text
    assert "<strong>Alice</strong> thought you" in html
    assert re.search(f'<p class="note"[^>]*>{NOTE}</p>', html)
    assert f'href="{SITE}/r/{code}"' in html
    assert "Hi there," in text  # the friend's name is not known
    link = str(mail["List-Unsubscribe"]).strip(" <>")
    assert link.startswith(f"{SITE}/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = unsubscribe.read(link.removeprefix(f"{SITE}/u/"))
    assert target == unsubscribe.Target(story.acme.workspace.pk, "email", "carol@example.org")
    assert link in html  # the footer's link names the friend too

    # The same friend again, with other words: the first invite, and nothing more sent.
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        again = emailed(story, "Carol@Example.org", note="Second try")
    assert again.status_code == 200
    assert again.json() == out
    tick(NOW + timedelta(minutes=5))
    assert messages().count() == 1
    assert len(mailbox.messages) == 1
    assert DomainEvent.objects.filter(name="invite.created").count() == 1


@pytest.mark.django_db
def test_an_invite_without_send_email_mails_nobody(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        answer = invite(story, note=NOTE)
    assert answer.status_code == 201
    assert (answer.json()["send_email"], answer.json()["note"]) == (False, NOTE)
    tick(NOW)
    row = Invite.objects.get()  # recorded for attribution, as before
    assert (row.email_normalized, row.send_email) == ("carol@example.org", False)
    assert messages().count() == 0
    assert mailbox.messages == []


@pytest.mark.django_db
@pytest.mark.parametrize("consent", [None, "", "   "])
def test_send_email_without_consent_is_refused(
    story: Story, mailbox: Mailbox, consent: str | None
) -> None:
    turn_on(story.acme)
    extra = {} if consent is None else {"consent": consent}
    with time_machine.travel(NOW, tick=False):
        answer = invite(story, note=NOTE, send_email=True, **extra)
    assert error_of(answer) == (400, "consent_required")
    assert answer.json()["error"]["message"].startswith(
        "send_email needs consent: send the consent text the advocate agreed to"
    )
    assert answer.json()["error"]["details"] == {"field": "consent"}
    tick(NOW)
    assert Invite.objects.count() == 0
    assert DomainEvent.objects.filter(name="invite.created").count() == 0
    assert mailbox.messages == []


@pytest.mark.django_db
def test_a_note_longer_than_500_characters_is_refused(story: Story) -> None:
    answer = invite(story, note="x" * 501, consent=CONSENT, send_email=True)
    assert error_of(answer) == (422, "validation_error")
    assert invite(story, note="x", unknown=True).status_code == 422  # extra fields: refused
    assert Invite.objects.count() == 0


@pytest.mark.django_db
def test_the_21st_emailed_invite_in_a_day_is_refused(story: Story) -> None:
    with time_machine.travel(NOW, tick=False):
        for n in range(INVITES_PER_DAY):
            assert emailed(story, f"friend{n}@example.org").status_code == 201
    with time_machine.travel(NOW + timedelta(hours=23, minutes=59), tick=False):
        answer = emailed(story, "friend20@example.org")
        repeat = emailed(story, "friend0@example.org")
        unsent = invite(story, "friend21@example.org")
    assert error_of(answer) == (429, "rate_limited")
    assert answer["Retry-After"] == "60"
    assert answer.json()["error"] == {
        "code": "rate_limited",
        "message": "at most 20 emailed invites per advocate in 24 hours; this advocate may "
        "send the next at 2026-12-02T15:00:00+00:00",
        "details": {"limit": 20, "retry_after": 60},
    }
    assert not Invite.objects.filter(email_normalized="friend20@example.org").exists()
    assert DomainEvent.objects.filter(name="invite.created").count() == 21
    assert repeat.status_code == 200  # an invite already made is returned, not refused
    assert unsent.status_code == 201  # attribution only: not limited

    with time_machine.travel(NOW + timedelta(hours=24), tick=False):
        assert emailed(story, "friend20@example.org").status_code == 201
    assert Invite.objects.filter(send_email=True).count() == 21


@pytest.mark.django_db
def test_an_unsubscribed_friend_gets_no_invite_from_anyone(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        emailed(story)
    tick(NOW)
    [mail] = mailbox.messages
    path = str(mail["List-Unsubscribe"]).strip(" <>").removeprefix(SITE)
    answer = Client().post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    row = Suppression.objects.get()
    assert (row.workspace_id, row.channel, row.address, row.reason) == (
        story.acme.workspace.pk,
        "email",
        "carol@example.org",
        "unsubscribed",
    )

    enrol(story.acme, program.public_id, "dave", name="Dave Bianchi")
    later = NOW + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        answer = emailed(story, "Carol@Example.org", advocate="dave")
    assert answer.status_code == 201
    tick(later)
    second = messages().get(cause=f"friend_invite:{answer.json()['id']}")
    assert (second.status, second.skip_reason, second.subject) == ("skipped", "unsubscribed", "")
    assert len(mailbox.messages) == 1


@pytest.mark.django_db
def test_the_weekly_cap_counts_what_an_address_was_sent(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme, weekly_cap=1)
    enrol(story.acme, program.public_id, "dave", name="Dave Bianchi")
    with time_machine.travel(NOW, tick=False):
        first = emailed(story)
    tick(NOW)
    with time_machine.travel(NOW + timedelta(days=6), tick=False):
        second = emailed(story, advocate="dave")
    tick(NOW + timedelta(days=6))
    statuses = {m.cause.split(":")[1]: (m.status, m.skip_reason) for m in messages().order_by("pk")}
    assert statuses == {
        first.json()["id"]: ("sent", ""),
        second.json()["id"]: ("skipped", "frequency_cap"),
    }
    assert len(mailbox.to("carol@example.org")) == 1


@pytest.mark.django_db
def test_a_hostile_note_is_shown_not_run(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    note = '<script>alert("x")</script> {{ workspace.name | upcase }} {% if true %}IF{% endif %}'
    with time_machine.travel(NOW, tick=False):
        assert emailed(story, note=note + "\nBye").status_code == 201
    tick(NOW)
    text, html = (part.replace("\r\n", "\n") for part in parts(mailbox.messages[0]))  # CRLF
    assert "<script>" not in html
    shown = re.search('<p class="note"[^>]*>(.*?)</p>', html, re.DOTALL)
    assert shown is not None
    assert shown[1] == (
        '&lt;script&gt;alert("x")&lt;/script&gt; '
        "{{ workspace.name | upcase }} {% if true %}IF{% endif %}<br>\nBye"
    )
    assert f'"{note}\nBye"' in text  # plain text: as written
    for part in (text, html):
        assert "ACME" not in part  # the note's Liquid was not evaluated
        assert "IF{%" in part


@pytest.mark.django_db
def test_the_friend_gets_the_advocates_language(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    story.acme.post("/participants", {"external_id": "alice", "attributes": {"language": "it"}})
    with time_machine.travel(NOW, tick=False):
        emailed(story)
    tick(NOW)
    message = messages().get()
    assert message.language == "it"
    assert message.subject == "Un regalo da Alice: 5,00 $ di credito"
    assert 'lang="it"' in message.html


@pytest.mark.django_db
def test_a_test_advocates_invite_is_not_sent(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    Participant.objects.filter(external_id="alice").update(test=True)
    with time_machine.travel(NOW, tick=False):
        emailed(story)
    tick(NOW)
    message = messages().get()
    assert (message.status, message.skip_reason) == ("skipped", "test_customer")
    assert mailbox.messages == []


@pytest.mark.django_db
def test_another_workspace_cannot_invite_on_this_program(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        answer = story.globex.post(
            f"/programs/{story.program['id']}/invites",
            {
                "advocate": "alice",
                "email": "carol@example.org",
                "note": NOTE,
                "consent": CONSENT,
                "send_email": True,
            },
        )
    assert error_of(answer) == (404, "not_found")
    tick(NOW)
    assert Invite.objects.count() == 0
    assert messages().count() == 0
    assert mailbox.messages == []
