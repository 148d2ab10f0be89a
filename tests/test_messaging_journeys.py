"""Journeys end to end: events in through the API, messages out through a real SMTP server.

The cast: acme's program gives alice $10.00 and bob $5.00 of store credit when bob, whom alice
referred, buys for at least $20.00 (tests/factories.py). Time is frozen; quiet hours are off
unless a test turns them on.
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

from goodword.lib.signing import read_portal_token
from goodword.messaging import fanout, sending
from goodword.messaging.models import JourneySetting, Message, MessagingSettings, Suppression
from goodword.participants.models import Participant
from goodword.programs.models import Program
from tests.factories import Api, Story, purchase
from tests.mailbox import Mailbox, parts

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SITE = settings.SITE_URL
HOST = urlsplit(SITE).hostname


def turn_on(api: Api, **manners: Any) -> MessagingSettings:
    return MessagingSettings.objects.create(
        workspace=api.workspace,
        is_active=True,
        quiet_start=manners.pop("quiet_start", 0),
        quiet_end=manners.pop("quiet_end", 0),
        **manners,
    )


def tick(at: datetime) -> int:
    """One pass of the sender's loop at `at`: queue, then send everything due."""
    with time_machine.travel(at, tick=False):
        fanout.queue_messages(now=at)
        sent = 0
        while claimed := sending.send_due(now=at):
            sent += claimed
        return sent


def bob_buys(story: Story, amount: int = 2500, **customer: Any) -> None:
    body = purchase("evt-bob-1", "bob", "order-1", amount, referral_code=story.alice["code"])
    body["customer"] = {**body["customer"], "name": "Bob Rossi", **customer}
    response = story.acme.event(body)
    assert response.status_code in (200, 201), response.content


def journeys_of(api: Api) -> dict[tuple[str, str], Message]:
    return {
        (m.journey, m.participant.external_id if m.participant else ""): m
        for m in Message.objects.for_workspace(api.workspace).select_related("participant")
    }


@pytest.fixture
def program(story: Story) -> Program:
    return Program.objects.get(public_id=story.program["id"])


@pytest.mark.django_db
def test_a_conversion_tells_each_person_once(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    tick(NOW + timedelta(minutes=1))  # read again: nothing more

    sent = journeys_of(story.acme)
    # Each advocate's share reminder waits its 3 days (tests/test_reminders.py).
    waiting = sorted(k for k in sent if k[0] == "remind_share")
    assert waiting == [("remind_share", "alice"), ("remind_share", "bob")]
    sent = {k: m for k, m in sent.items() if k[0] != "remind_share"}
    assert sorted(sent) == [
        ("referral_request", "bob"),
        ("reward_earned", "alice"),
        ("reward_earned", "bob"),
        ("thank_you", "alice"),
    ]
    assert {m.status for m in sent.values()} == {"sent"}
    assert len(mailbox.messages) == 4
    assert len(mailbox.to("alice@example.com")) == 2
    assert len(mailbox.to("bob@example.net")) == 2

    earned = sent[("reward_earned", "alice")]
    mail = next(
        m
        for m in mailbox.to("alice@example.com")
        if m["Message-ID"].startswith("<" + earned.public_id)
    )
    text, html = parts(mail)
    assert mail["Message-ID"] == f"<{earned.public_id}@{HOST}>"
    assert mail["List-Unsubscribe"] is None  # a reward notice is transactional
    assert "$10.00" in text
    assert "$10.00" in html
    assert "15 December 2026" in text  # the 14-day hold ends then
    assert earned.subject == mail["Subject"]
    assert (earned.to, earned.language) == ("alice@example.com", "en")

    thanks = sent[("thank_you", "alice")]
    mail = next(
        m
        for m in mailbox.to("alice@example.com")
        if m is not None and m["Message-ID"] == f"<{thanks.public_id}@{HOST}>"
    )
    assert str(mail["List-Unsubscribe"]).strip().startswith(f"<{SITE}/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, _ = parts(mail)
    assert "Bob" in text
    assert "/r/" not in text  # no promotion in a thank-you

    ask = sent[("referral_request", "bob")]
    text, html = parts(
        mailbox.to("bob@example.net")[
            [m["Message-ID"] for m in mailbox.to("bob@example.net")].index(
                f"<{ask.public_id}@{HOST}>"
            )
        ]
    )
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob")
    code = bob.advocate_set.get().code  # enrolled to be asked
    # The advocate's portal, by a magic link made for them (docs/sharing-portal.md).
    assert portal_of(text) == bob.advocate_set.get().public_id
    assert f"code {code}" in text
    assert f'href="{SITE}/r/{code}"' in html  # the personal link


def portal_of(text: str) -> str | None:
    """The advocate a message's portal link (`/p/<token>`) signs in, if it has one."""
    found = re.search(rf"{re.escape(SITE)}/p/(adv_[a-z0-9]+\.[a-z0-9]+\.[A-Za-z0-9_-]+)", text)
    read = read_portal_token(found.group(1)) if found else None
    return read.advocate_id if read else None


@pytest.mark.django_db
def test_messaging_off_queues_nothing(story: Story, mailbox: Mailbox) -> None:
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    assert Message.objects.count() == 0
    assert mailbox.messages == []


@pytest.mark.django_db
def test_turned_off_journey_is_skipped_not_sent(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    JourneySetting.objects.create(
        workspace=story.acme.workspace, program=program, journey="thank_you", is_active=False
    )
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    thanks = journeys_of(story.acme)[("thank_you", "alice")]
    assert (thanks.status, thanks.skip_reason) == ("skipped", "journey_off")
    assert len(mailbox.to("alice@example.com")) == 1  # the reward notice only


@pytest.mark.django_db
def test_business_programs_ask_after_their_delay(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    JourneySetting.objects.create(
        workspace=story.acme.workspace, program=program, journey="referral_request", delay_days=30
    )
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    ask = journeys_of(story.acme)[("referral_request", "bob")]
    assert ask.status == "pending"
    assert ask.next_attempt_at == NOW + timedelta(days=30)
    tick(NOW + timedelta(days=29, hours=23))
    ask.refresh_from_db()
    assert ask.status == "pending"
    assert len(mailbox.to("bob@example.net")) == 1  # the reward notice only

    tick(NOW + timedelta(days=30))
    ask.refresh_from_db()
    assert ask.status == "sent"
    assert len(mailbox.to("bob@example.net")) == 2


@pytest.mark.django_db
def test_promoters_only_asks_no_one_else(story: Story, program: Program, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    JourneySetting.objects.create(
        workspace=story.acme.workspace, program=program, journey="referral_request", min_nps=9
    )
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
        story.acme.event(
            {
                "id": "nps-carol",
                "type": "nps",
                "score": 10,
                "customer": {"external_id": "carol", "email": "carol@example.net"},
            }
        )
        story.acme.event(purchase("evt-carol-1", "carol", "order-c1", 3000))
    tick(NOW)
    sent = journeys_of(story.acme)
    assert (
        sent[("referral_request", "bob")].status,
        sent[("referral_request", "bob")].skip_reason,
    ) == ("skipped", "not_promoter")
    assert sent[("referral_request", "carol")].status == "sent"
    assert not Participant.objects.get(
        external_id="bob", workspace=story.acme.workspace
    ).advocate_set.exists()


@pytest.mark.django_db
def test_quiet_hours_wait_for_the_recipients_morning(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme, quiet_start=21, quiet_end=8)
    late = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Rome
    with time_machine.travel(late, tick=False):
        bob_buys(story, attributes={"time_zone": "Europe/Rome"})
    tick(late)
    sent = journeys_of(story.acme)
    ask = sent[("referral_request", "bob")]
    assert ask.status == "pending"
    assert ask.next_attempt_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Rome
    assert ask.attempts == 0
    assert sent[("reward_earned", "bob")].status == "sent"  # transactional: no quiet hours
    tick(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    ask.refresh_from_db()
    assert ask.status == "sent"


@pytest.mark.django_db
def test_weekly_cap_skips_what_is_over_it(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme, weekly_cap=1)
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
        # alice buys too: asked to refer, and thanked, two marketing messages in one week
        story.acme.event(purchase("evt-alice-1", "alice", "order-a1", 3000))
    tick(NOW)
    sent = journeys_of(story.acme)
    alice = [sent[("thank_you", "alice")], sent[("referral_request", "alice")]]
    assert sorted((m.status, m.skip_reason) for m in alice) == [
        ("sent", ""),
        ("skipped", "frequency_cap"),
    ]
    assert sent[("reward_earned", "alice")].status == "sent"  # transactional: not capped


@pytest.mark.django_db
def test_unsubscribe_stops_marketing_but_not_reward_notices(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    ask = journeys_of(story.acme)[("referral_request", "bob")]
    link = next(m for m in mailbox.to("bob@example.net") if m["List-Unsubscribe"])[
        "List-Unsubscribe"
    ].strip(" <>")
    path = link.removeprefix(SITE)
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert b"b***@example.net" in page.content
    assert not Suppression.objects.exists()  # a GET (a link scanner) unsubscribes nobody

    answer = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    row = Suppression.objects.get()
    assert (row.workspace_id, row.channel, row.address, row.reason) == (
        story.acme.workspace.pk,
        "email",
        "bob@example.net",
        "unsubscribed",
    )
    assert client.post(path).status_code == 200  # twice: still one row
    assert Suppression.objects.count() == 1
    assert ask.status == "sent"

    # bob refers dave: his thank-you is marketing (skipped), his reward notice is not (sent)
    bob = Participant.objects.get(workspace=story.acme.workspace, external_id="bob")
    code = bob.advocate_set.get().code
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        story.acme.event(purchase("evt-dave-1", "dave", "order-d1", 2500, referral_code=code))
    before = len(mailbox.to("bob@example.net"))
    tick(NOW + timedelta(days=1))
    sent = journeys_of(story.acme)
    assert (sent[("thank_you", "bob")].status, sent[("thank_you", "bob")].skip_reason) == (
        "skipped",
        "unsubscribed",
    )
    assert len(mailbox.to("bob@example.net")) == before + 1


@pytest.mark.django_db
def test_a_tampered_unsubscribe_link_is_refused(story: Story) -> None:
    from goodword.messaging import unsubscribe

    token = unsubscribe.token(story.acme.workspace.pk, "email", "bob@example.net")
    client = Client()
    assert client.post(f"/u/{token[:-2]}xx").status_code == 404
    assert client.get("/u/nonsense").status_code == 404
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_italian_recipients_get_italian(story: Story, mailbox: Mailbox) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        bob_buys(story, attributes={"language": "it-IT"})
    tick(NOW)
    earned = journeys_of(story.acme)[("reward_earned", "bob")]
    assert earned.language == "it"
    assert 'lang="it"' in earned.html
    assert "15 dicembre 2026" in earned.text


@pytest.mark.django_db
def test_a_programs_language_is_for_those_whose_own_is_not_known(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme)  # the workspace writes English
    path = f"/programs/{story.program['id']}"
    changed = story.acme.patch(path, {"language": "it"})
    assert (changed.status_code, changed.json()["language"]) == (200, "it")
    refused = story.acme.patch(path, {"language": "fr"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert story.acme.get(path).json()["language"] == "it"  # nothing changed by the refusal
    with time_machine.travel(NOW, tick=False):
        bob_buys(story, attributes={"language": "en"})
    tick(NOW)
    sent = journeys_of(story.acme)
    assert sent[("reward_earned", "bob")].language == "en"  # his own
    assert sent[("reward_earned", "alice")].language == "it"  # none: the program's
    assert "Ciao Alice" in sent[("reward_earned", "alice")].text


@pytest.mark.django_db
def test_refused_recipient_fails_and_a_busy_server_is_tried_again(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    mailbox.refuse["alice@example.com"] = "550 5.1.1 no such user"
    mailbox.refuse["bob@example.net"] = "451 4.3.0 try again later"
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
    tick(NOW)
    sent = journeys_of(story.acme)
    alice = sent[("reward_earned", "alice")]
    assert alice.status == "failed"
    assert alice.error == "refused by the mail server: 550 5.1.1 no such user"
    bob = sent[("reward_earned", "bob")]
    assert (bob.status, bob.attempts) == ("pending", 1)
    assert bob.next_attempt_at == NOW + timedelta(minutes=1)
    assert mailbox.messages == []

    del mailbox.refuse["bob@example.net"]
    tick(NOW + timedelta(minutes=1))
    bob.refresh_from_db()
    assert (bob.status, bob.attempts) == ("sent", 2)
    alice.refresh_from_db()
    assert alice.status == "failed"  # not tried again


def _queue_notices(api: Api, program: Program, count: int) -> None:
    people = Participant.objects.bulk_create(
        [
            Participant(
                workspace=api.workspace, external_id=f"q{count}-{i}", email=f"q{i}@example.net"
            )
            for i in range(count)
        ]
    )
    Message.objects.bulk_create(
        Message(
            workspace=api.workspace,
            program=program,
            participant=p,
            journey="reward_approved",
            transactional=True,
            cause=f"reward_approved:q{count}-{i}",
            next_attempt_at=NOW,
            created_at=NOW,
        )
        for i, p in enumerate(people)
    )


@pytest.mark.django_db
def test_a_claim_reads_its_facts_once_whatever_its_size(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    """Per message only its outcome is written: templates, rules and the rest are read once
    per claim (a lookup per message was a fifth of the sender's CPU)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from goodword.messaging.models import MessageTemplate

    turn_on(story.acme)
    MessageTemplate.objects.create(
        workspace=story.acme.workspace,
        program=program,
        journey="reward_approved",
        language="en",
        subject="Yours: {{ reward.description }}",
        created_at=NOW,
        updated_at=NOW,
    )
    counts = []
    for size in (2, 6):
        _queue_notices(story.acme, program, size)
        with CaptureQueriesContext(connection) as queries:
            assert sending.send_due(now=NOW) == size
        counts.append(len(queries))
    assert counts[1] - counts[0] == 4  # one outcome write per message, nothing else
    assert {m["Subject"] for m in mailbox.messages} == {"Yours:"}
    assert len(mailbox.messages) == 8


@pytest.mark.django_db
def test_footer_has_the_postal_address_and_dates_are_the_recipients_days(
    story: Story, mailbox: Mailbox
) -> None:
    turn_on(story.acme, postal_address="12 Roast Street\nSpringfield")
    with time_machine.travel(NOW, tick=False):
        # 15:00 UTC plus the 14-day hold is 05:00 the next day on Kiritimati (UTC+14).
        bob_buys(story, attributes={"time_zone": "Pacific/Kiritimati"})
    tick(NOW)
    sent = journeys_of(story.acme)

    def mail_of(message: Message) -> tuple[str, str]:
        found = [m for m in mailbox.messages if m["Message-ID"] == f"<{message.public_id}@{HOST}>"]
        assert len(found) == 1
        text, html = parts(found[0])
        return text.replace("\r\n", "\n"), html

    text, html = mail_of(sent[("reward_earned", "bob")])
    assert "16 December 2026" in text
    assert "15 December 2026" not in text
    assert text.endswith(f"\n\n-- \n{story.acme.workspace.name}\n12 Roast Street\nSpringfield")
    assert "12 Roast Street<br>Springfield" in html
    assert "Unsubscribe" not in text  # transactional: nothing to unsubscribe from

    text, _ = mail_of(sent[("reward_earned", "alice")])
    assert "15 December 2026" in text  # no time zone of her own: the workspace's (UTC)

    text, html = mail_of(sent[("thank_you", "alice")])
    foot = text.rsplit("\n-- \n", 1)[1].splitlines()
    assert foot[:3] == [story.acme.workspace.name, "12 Roast Street", "Springfield"]
    assert foot[3].startswith(f"Unsubscribe: {SITE}/u/")
    assert f'href="{foot[3].removeprefix("Unsubscribe: ")}"' in html


@pytest.mark.django_db
def test_a_paused_program_asks_nobody_but_still_tells_people_about_their_rewards(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    turn_on(story.acme)
    with time_machine.travel(NOW, tick=False):
        bob_buys(story)
        fanout.queue_messages(now=NOW)  # queued while the program ran
    Program.objects.filter(pk=program.pk).update(status=Program.Status.PAUSED)
    tick(NOW)
    outcome = {key: (m.status, m.skip_reason) for key, m in journeys_of(story.acme).items()}
    assert outcome == {
        ("referral_request", "bob"): ("skipped", "program_paused"),
        ("thank_you", "alice"): ("skipped", "program_paused"),
        ("reward_earned", "alice"): ("sent", ""),
        ("reward_earned", "bob"): ("sent", ""),
        ("remind_share", "alice"): ("pending", ""),  # due in 3 days; skipped then, if paused
    }
    assert sorted(m["To"] for m in mailbox.messages) == ["alice@example.com", "bob@example.net"]


@pytest.mark.django_db
def test_a_segment_gets_the_programs_wording_for_it(
    story: Story, program: Program, mailbox: Mailbox
) -> None:
    from goodword.messaging import services

    turn_on(story.acme)
    for segment, subject in (
        ("", "For everyone"),
        ("vip", "Just for you, {{ recipient.first_name }}"),
    ):
        services.save_template(
            program=program,
            journey="referral_request",
            language="en",
            segment=segment,
            subject=subject,
            html="",
            text="",
            sms="",
            actor=None,
        )
    with time_machine.travel(NOW, tick=False):
        bob_buys(story, attributes={"segment": "vip"})
        carol = purchase("evt-carol-1", "carol", "order-2", 2500)
        carol["customer"] = {**carol["customer"], "attributes": {"segment": "gold"}}
        assert story.acme.event(carol).status_code in (200, 201)
    tick(NOW)
    asks = {
        m.participant.external_id: m.subject
        for m in Message.objects.filter(journey="referral_request").select_related("participant")
    }
    assert asks == {"bob": "Just for you, Bob", "carol": "For everyone"}
    ids = {f"<{m.public_id}@{HOST}>" for m in Message.objects.filter(journey="referral_request")}
    sent = sorted(m["Subject"] for m in mailbox.messages if m["Message-ID"] in ids)
    assert sent == ["For everyone", "Just for you, Bob"]
