"""Email through a provider's API (django-anymail): EMAIL_URL read into anymail's settings, a
real send by the sender to a local stand-in of Postmark's API, and the provider's answers
turned into retry or failure.

The stand-in is `tests/receiver.py` on loopback: `postmark+http://TOKEN@127.0.0.1:<port>`
points anymail's POSTMARK_API_URL at it.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from goodword.lib import email_providers
from goodword.messaging import fanout, sending
from goodword.messaging.models import Message, MessagingSettings
from tests.factories import Story, purchase
from tests.receiver import Answer, Receiver, Request

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SITE = settings.SITE_URL
HOST = urlsplit(SITE).hostname
TOKEN = "pm-server-token"  # noqa: S105 - the stand-in's


# EMAIL_URL


@pytest.mark.parametrize(
    ("url", "backend", "anymail"),
    [
        (
            "postmark://SERVER%2FTOKEN@",
            "postmark",
            {
                "POSTMARK_SERVER_TOKEN": "SERVER/TOKEN",
                "POSTMARK_API_URL": "https://api.postmarkapp.com/",
            },
        ),
        (
            "postmark://T@?message_stream=broadcast",
            "postmark",
            {
                "POSTMARK_SERVER_TOKEN": "T",
                "POSTMARK_API_URL": "https://api.postmarkapp.com/",
                "POSTMARK_MESSAGE_STREAM": "broadcast",
            },
        ),
        (
            "sendgrid://SG.abc.def@",
            "sendgrid",
            {"SENDGRID_API_KEY": "SG.abc.def", "SENDGRID_API_URL": "https://api.sendgrid.com/v3/"},
        ),
        (
            "mailgun://key-1@?domain=mg.example.com&region=eu&webhook_signing_key=whk",
            "mailgun",
            {
                "MAILGUN_API_KEY": "key-1",
                "MAILGUN_API_URL": "https://api.eu.mailgun.net/v3",
                "MAILGUN_SENDER_DOMAIN": "mg.example.com",
                "MAILGUN_WEBHOOK_SIGNING_KEY": "whk",
            },
        ),
        (
            "mailgun://key-1@",
            "mailgun",
            {"MAILGUN_API_KEY": "key-1", "MAILGUN_API_URL": "https://api.mailgun.net/v3"},
        ),
        (
            "brevo://xkeysib-1@",
            "brevo",
            {"BREVO_API_KEY": "xkeysib-1", "BREVO_API_URL": "https://api.brevo.com/v3/"},
        ),
        (
            "mailjet://public:private@",
            "mailjet",
            {
                "MAILJET_API_KEY": "public",
                "MAILJET_SECRET_KEY": "private",
                "MAILJET_API_URL": "https://api.mailjet.com/v3.1/",
            },
        ),
        (
            "sparkpost://sp-key@?region=eu",
            "sparkpost",
            {
                "SPARKPOST_API_KEY": "sp-key",
                "SPARKPOST_API_URL": "https://api.eu.sparkpost.com/api/v1/",
            },
        ),
        (
            "postmark+http://T@127.0.0.1:8025",
            "postmark",
            {"POSTMARK_SERVER_TOKEN": "T", "POSTMARK_API_URL": "http://127.0.0.1:8025/"},
        ),
    ],
)
def test_a_provider_url_sets_anymail(url: str, backend: str, anymail: dict[str, Any]) -> None:
    configured = email_providers.provider_settings(url)
    assert configured.backend == f"anymail.backends.{backend}.EmailBackend"
    assert configured.anymail == {"REQUESTS_TIMEOUT": 30, **anymail}


def test_ses_takes_its_region_and_needs_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"boto3": object()}
    monkeypatch.setattr(email_providers.importlib.util, "find_spec", lambda name: found.get(name))
    configured = email_providers.provider_settings("ses://?region=eu-west-1&configuration_set=gw")
    assert configured.backend == "anymail.backends.amazon_ses.EmailBackend"
    assert configured.anymail == {
        "REQUESTS_TIMEOUT": 30,
        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"},
        "AMAZON_SES_CONFIGURATION_SET_NAME": "gw",
    }
    del found["boto3"]
    with pytest.raises(ImproperlyConfigured) as failed:
        email_providers.provider_settings("ses://?region=eu-west-1")
    assert str(failed.value) == (
        'EMAIL_URL ses:// needs boto3: install Goodword with pip install "goodword[ses]"'
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postmark://",
            "EMAIL_URL for Postmark needs the server token before the @; write it like postmark://SERVER_TOKEN@",
        ),
        (
            "mailjet://public@",
            "EMAIL_URL for Mailjet needs the api key and secret key before the @; write it like mailjet://API_KEY:SECRET_KEY@",
        ),
        (
            "ses://KEY@?region=eu-west-1",
            "EMAIL_URL for Amazon SES takes no credentials in the URL: boto3 finds them in the"
            " AWS environment; write it like ses://?region=eu-west-1",
        ),
        (
            "ses://",
            "EMAIL_URL for Amazon SES needs the AWS region, such as ?region=eu-west-1; write it"
            " like ses://?region=eu-west-1",
        ),
        (
            "mailgun://k@?region=mars",
            "EMAIL_URL for Mailgun takes region=us or region=eu, not 'mars'; write it like mailgun://API_KEY@?domain=mg.example.com&region=eu",
        ),
        (
            "mailgun://k@?domain=",
            "EMAIL_URL for Mailgun has an empty domain=; write it like mailgun://API_KEY@?domain=mg.example.com&region=eu",
        ),
        (
            "mailgun://k@?sender=x",
            "EMAIL_URL for Mailgun does not take sender= (it takes: region, domain,"
            " webhook_signing_key); write it like mailgun://API_KEY@?domain=mg.example.com&region=eu",
        ),
        (
            "brevo://k@?region=eu",
            "EMAIL_URL for Brevo does not take region=; write it like brevo://API_KEY@",
        ),
        (
            "postmark://T@/email",
            "EMAIL_URL for Postmark takes no path; write it like postmark://SERVER_TOKEN@",
        ),
        (
            "postmark://T@host:99999",
            "EMAIL_URL for Postmark has a port that is not from 1 to 65535; write it like postmark://SERVER_TOKEN@",
        ),
    ],
)
def test_a_wrong_provider_url_says_what_to_write(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as failed:
        email_providers.provider_settings(url)
    assert str(failed.value) == message


# Sending through a stand-in of Postmark's API


@pytest.fixture
def postmark(settings: Any) -> Any:
    with Receiver() as api:
        configured = email_providers.provider_settings(
            f"postmark+http://{TOKEN}@127.0.0.1:{api.port}"
        )
        settings.EMAIL_BACKEND = configured.backend
        settings.EMAIL_PROVIDER = "postmark"
        settings.ANYMAIL = configured.anymail
        api.reply = accepted
        yield api


def accepted(request: Request) -> Answer:
    """Postmark's answer to a message it took: its id, made from ours so a test can tell."""
    sent = json.loads(request.body)
    ours = sent["Metadata"]["gw_message"]
    answer = {
        "To": sent["To"],
        "SubmittedAt": "2026-12-01T15:00:00.0000000Z",
        "MessageID": f"pm-{ours}",
        "ErrorCode": 0,
        "Message": "OK",
    }
    return Answer(status=200, body=json.dumps(answer).encode())


def send_one(story: Story) -> Message:
    """Turn acme's messaging on, let bob buy, and send what is due: alice's thank-you and
    reward notice and bob's; return alice's thank-you (marketing: it carries List-Unsubscribe)."""
    MessagingSettings.objects.create(
        workspace=story.acme.workspace, is_active=True, quiet_start=0, quiet_end=0
    )
    body = purchase("evt-bob-1", "bob", "order-1", 2500, referral_code=story.alice["code"])
    with time_machine.travel(NOW, tick=False):
        assert story.acme.event(body).status_code in (200, 201)
        fanout.queue_messages(now=NOW)
        while sending.send_due(now=NOW):
            pass
    return Message.objects.get(workspace=story.acme.workspace, journey="thank_you")


@pytest.mark.django_db
def test_the_sender_posts_each_message_to_the_provider(story: Story, postmark: Receiver) -> None:
    thanks = send_one(story)
    # Alice's share reminder waits its 3 days: not part of this send.
    messages = Message.objects.for_workspace(story.acme.workspace).exclude(journey="remind_share")
    assert sorted(m.status for m in messages) == ["sent"] * 4
    assert [m.provider_id for m in messages] == [f"pm-{m.public_id}" for m in messages]
    assert len(postmark.requests) == 4

    posted = {json.loads(r.body)["Metadata"]["gw_message"]: r for r in postmark.requests}
    request = posted[thanks.public_id]
    assert (request.method, request.path) == ("POST", "/email")
    assert request.headers["x-postmark-server-token"] == TOKEN
    assert request.headers["content-type"] == "application/json"
    unsubscribe = json.loads(request.body)["Headers"][1]["Value"]
    assert unsubscribe.startswith(f"<{SITE}/u/")
    assert json.loads(request.body) == {
        "From": f"Acme <{settings.DEFAULT_FROM_EMAIL}>",
        "To": "alice@example.com",
        "Subject": thanks.subject,
        "TextBody": thanks.text,
        "HtmlBody": thanks.html,
        "Headers": [
            {"Name": "Message-ID", "Value": f"<{thanks.public_id}@{HOST}>"},
            {"Name": "List-Unsubscribe", "Value": unsubscribe},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ],
        "Metadata": {"gw_message": thanks.public_id},
    }
    assert thanks.text.startswith("Hi Alice,\n")
    assert thanks.html.startswith("<!DOCTYPE html>")

    notice = messages.get(journey="reward_earned", participant__external_id="alice")
    assert json.loads(posted[notice.public_id].body)["Headers"] == [
        {"Name": "Message-ID", "Value": f"<{notice.public_id}@{HOST}>"}
    ]  # transactional: no List-Unsubscribe


@pytest.mark.parametrize(
    ("status", "answer", "state", "error"),
    [
        (500, b'{"ErrorCode":0,"Message":"busy"}', "pending", "Postmark answered HTTP 500: busy"),
        (429, b"slow down", "pending", "Postmark answered HTTP 429"),
        (
            401,
            b'{"ErrorCode":10,"Message":"No Account or Server API tokens were supplied."}',
            "failed",
            "Postmark answered HTTP 401: No Account or Server API tokens were supplied.",
        ),
        (
            422,
            b'{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked'
            b" as inactive.\\nFound inactive addresses: alice@example.com.\\nInactive recipients"
            b' are ones that have generated a hard bounce or a spam complaint."}',
            "failed",
            "refused by Postmark: the address is invalid or inactive",
        ),
    ],
)
@pytest.mark.django_db
def test_provider_answers_are_retried_or_failed(
    story: Story, postmark: Receiver, status: int, answer: bytes, state: str, error: str
) -> None:
    postmark.reply = None
    postmark.respond(status=status, body=answer)
    thanks = send_one(story)
    assert (thanks.status, thanks.error, thanks.provider_id) == (state, error, "")
    if state == "pending":
        assert (thanks.attempts, thanks.next_attempt_at) == (1, NOW + timedelta(minutes=1))
    else:
        assert thanks.next_attempt_at is None


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_is_tried_again(story: Story, settings: Any) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    configured = email_providers.provider_settings(f"postmark+http://{TOKEN}@127.0.0.1:{port}")
    settings.EMAIL_BACKEND = configured.backend
    settings.ANYMAIL = configured.anymail
    thanks = send_one(story)
    assert thanks.status == "pending"
    assert thanks.error.startswith("Postmark did not answer: ")
    assert thanks.next_attempt_at == NOW + timedelta(minutes=1)
