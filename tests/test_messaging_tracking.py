"""A provider's tracking webhook (anymail) suppresses addresses that bounce or complain: real
Postmark and SendGrid payloads posted to /hooks/email/<esp>/tracking/ with basic auth."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from goodword.accounts.models import Workspace
from goodword.messaging.models import Message, Suppression
from tests.factories import Story

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SECRET = "goodword:s3cret-webhook"  # noqa: S105
POSTMARK = "/hooks/email/postmark/tracking/"
SENDGRID = "/hooks/email/sendgrid/tracking/"


@pytest.fixture
def hooks(settings: Any) -> Any:
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL_WEBHOOK_SECRET = [SECRET]
    return settings


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(url: str, payload: Any, **headers: str) -> Any:
    return Client().post(url, json.dumps(payload), content_type="application/json", **headers)


def sent(workspace: Workspace, to: str, provider_id: str = "") -> Message:
    return Message.objects.create(
        workspace=workspace,
        journey="thank_you",
        cause=f"thank_you:{to}:{provider_id}",
        to=to,
        status=Message.Status.SENT,
        provider_id=provider_id,
        created_at=NOW,
        sent_at=NOW,
    )


def rows() -> list[tuple[str, str, str, str]]:
    return sorted(
        (s.workspace.name, s.channel, s.address, s.reason)
        for s in Suppression.objects.select_related("workspace")
    )


def postmark_bounce(message: Message | None, **change: Any) -> dict[str, Any]:
    """Postmark's bounce webhook, as its documentation shows it."""
    event = {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "Test",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"gw_message": message.public_id} if message else {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "Bob@Example.NET",
        "From": "goodword@refer.acme.test",
        "BouncedAt": "2026-12-01T15:03:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Thank you",
    }
    return {**event, **change}


def postmark_complaint(message: Message) -> dict[str, Any]:
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "Test",
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "Metadata": {"gw_message": message.public_id},
        "ServerID": 1234,
        "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details",
        "Email": "bob@example.net",
        "From": "goodword@refer.acme.test",
        "BouncedAt": "2026-12-01T15:05:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Thank you",
    }


@pytest.mark.django_db
def test_a_hard_bounce_suppresses_the_address_in_its_workspace_only(
    story: Story, hooks: Any
) -> None:
    acme, globex = story.acme.workspace, story.globex.workspace
    bounced = sent(acme, "bob@example.net")
    same_address = sent(globex, "bob@example.net")

    answer = post(POSTMARK, postmark_bounce(bounced), **auth())

    assert answer.status_code == 200
    assert rows() == [("Acme", "email", "bob@example.net", "bounced")]
    bounced.refresh_from_db()
    assert (bounced.status, bounced.error) == (
        "sent",
        "bounced: The server was unable to deliver your message (ex: unknown user, mailbox "
        "not found).",
    )
    same_address.refresh_from_db()
    assert same_address.error == ""

    again = post(POSTMARK, postmark_bounce(bounced), **auth())  # providers retry webhooks
    assert again.status_code == 200
    assert rows() == [("Acme", "email", "bob@example.net", "bounced")]


@pytest.mark.django_db
def test_an_event_with_only_the_providers_id_finds_the_message(story: Story, hooks: Any) -> None:
    message = sent(story.globex.workspace, "bob@example.net", provider_id="pm-1")
    sent(story.acme.workspace, "bob@example.net", provider_id="pm-2")
    answer = post(POSTMARK, postmark_bounce(None, MessageID="pm-1"), **auth())
    assert answer.status_code == 200
    assert rows() == [("Globex", "email", "bob@example.net", "bounced")]
    message.refresh_from_db()
    assert message.error.startswith("bounced: ")


@pytest.mark.django_db
def test_a_complaint_replaces_an_unsubscribe(story: Story, hooks: Any) -> None:
    message = sent(story.acme.workspace, "bob@example.net")
    Suppression.objects.create(
        workspace=story.acme.workspace,
        channel="email",
        address="bob@example.net",
        reason="unsubscribed",
        created_at=NOW,
    )
    answer = post(POSTMARK, postmark_complaint(message), **auth())
    assert answer.status_code == 200
    assert rows() == [("Acme", "email", "bob@example.net", "complained")]
    message.refresh_from_db()
    assert message.error == "complained: The subscriber explicitly marked this message as spam."


@pytest.mark.parametrize(
    "change",
    [
        {"Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce"},
        {"Type": "Transient", "TypeCode": 2, "Name": "Message delayed"},
        {"Type": "DnsError", "TypeCode": 2048, "Name": "DNS error"},
        {"RecordType": "Delivery", "Type": None},
        {"Email": "mallory@example.org"},  # not the address the message went to
    ],
)
@pytest.mark.django_db
def test_soft_bounces_and_other_events_suppress_nothing(
    story: Story, hooks: Any, change: dict[str, Any]
) -> None:
    message = sent(story.acme.workspace, "bob@example.net")
    answer = post(POSTMARK, postmark_bounce(message, **change), **auth())
    assert answer.status_code == 200
    assert rows() == []
    message.refresh_from_db()
    assert message.error == ""


@pytest.mark.django_db
def test_an_event_for_no_message_of_ours_is_logged_and_left(
    story: Story, hooks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sent(story.acme.workspace, "bob@example.net", provider_id="pm-1")
    with caplog.at_level(logging.INFO, logger="goodword.messaging.tracking"):
        answer = post(POSTMARK, postmark_bounce(None, MessageID="not-ours"), **auth())
        unknown_id = post(
            POSTMARK,
            postmark_bounce(None, Metadata={"gw_message": "mes_nosuchmessage"}),
            **auth(),
        )
    assert (answer.status_code, unknown_id.status_code) == (200, 200)
    assert rows() == []
    assert [r.getMessage() for r in caplog.records] == [
        "email tracking: Postmark bounced event for no message of ours (not-ours)",
        "email tracking: Postmark bounced event for no message of ours "
        "(883953f4-6105-42a2-a16a-77a8eac79483)",
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth("goodword:wrong"),
        auth("someone:s3cret-webhook"),
        {"HTTP_AUTHORIZATION": "Bearer s3cret-webhook"},
    ],
)
@pytest.mark.django_db
def test_a_wrong_secret_is_refused_and_writes_nothing(
    story: Story, hooks: Any, headers: dict[str, str]
) -> None:
    message = sent(story.acme.workspace, "bob@example.net")
    answer = post(POSTMARK, postmark_bounce(message), **headers)
    assert answer.status_code == 400
    assert rows() == []
    message.refresh_from_db()
    assert message.error == ""


@pytest.mark.django_db
def test_webhooks_answer_404_without_a_secret_or_for_another_provider(
    story: Story, hooks: Any
) -> None:
    message = sent(story.acme.workspace, "bob@example.net")
    sendgrid = [{"email": "bob@example.net", "event": "bounce", "type": "bounce"}]
    assert post(SENDGRID, sendgrid, **auth()).status_code == 404  # postmark is configured
    assert post("/hooks/email/mandrill/tracking/", {}, **auth()).status_code == 404
    hooks.ANYMAIL_WEBHOOK_SECRET = []
    assert post(POSTMARK, postmark_bounce(message), **auth()).status_code == 404
    hooks.ANYMAIL_WEBHOOK_SECRET = [SECRET]
    hooks.EMAIL_PROVIDER = ""
    assert post(POSTMARK, postmark_bounce(message), **auth()).status_code == 404
    assert rows() == []


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
@pytest.mark.django_db
def test_sendgrid_events_suppress_by_their_reason(story: Story, hooks: Any) -> None:
    hooks.EMAIL_PROVIDER = "sendgrid"
    acme = story.acme.workspace
    messages = {
        to: sent(acme, to)
        for to in [
            "bounced@example.net",
            "blocked@example.net",
            "spam@example.net",
            "dropped@example.net",
            "policy@example.net",
            "unsub@example.net",
            "opened@example.net",
        ]
    }

    def event(to: str, kind: str, **more: Any) -> dict[str, Any]:
        # SendGrid's event webhook, as its documentation shows it; our metadata (custom_args)
        # comes merged into each event.
        return {
            "email": to,
            "timestamp": 1764601200,
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": kind,
            "category": ["thank_you"],
            "sg_event_id": f"sg-{to}",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "gw_message": messages[to].public_id,
            **more,
        }

    payload = [
        event(
            "bounced@example.net",
            "bounce",
            reason="500 unknown recipient",
            status="5.0.0",
            type="bounce",
        ),
        event(
            "blocked@example.net", "bounce", reason="450 try later", status="4.0.0", type="blocked"
        ),
        event("spam@example.net", "spamreport"),
        event("dropped@example.net", "dropped", reason="Bounced Address", status="5.0.0"),
        event("policy@example.net", "dropped", reason="Invalid SMTPAPI header", status="5.0.0"),
        event("unsub@example.net", "unsubscribe"),
        event("opened@example.net", "open", useragent="Mozilla/5.0"),
    ]
    answer = post(SENDGRID, payload, **auth())
    assert answer.status_code == 200
    assert rows() == [
        ("Acme", "email", "bounced@example.net", "bounced"),
        ("Acme", "email", "dropped@example.net", "bounced"),
        ("Acme", "email", "spam@example.net", "complained"),
        ("Acme", "email", "unsub@example.net", "unsubscribed"),
    ]
    errors = {to: Message.objects.get(pk=m.pk).error for to, m in messages.items()}
    assert errors == {
        "bounced@example.net": "bounced: 500 unknown recipient",
        "blocked@example.net": "",
        "spam@example.net": "complained",
        "dropped@example.net": "rejected (bounced)",
        "policy@example.net": "rejected (other)",
        "unsub@example.net": "unsubscribed",
        "opened@example.net": "",
    }
    assert Suppression.objects.filter(workspace=story.globex.workspace).count() == 0
