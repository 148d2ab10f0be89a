"""SMS (Twilio's Messages API) and Slack webhooks against real servers on loopback, the
SMS_URL setting, phone numbers in E.164, carrier keywords and Twilio's request signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict

from goodword.lib.outbound import Blocked, OutboundError
from goodword.messaging.channels.errors import ChannelError
from goodword.messaging.channels.slack import check_slack_url, post_slack
from goodword.messaging.channels.sms import SentSms, send_sms, verify_twilio_signature
from goodword.messaging.phones import InvalidPhone, is_start, is_stop, normalize_phone
from goodword.settings import _sms_api
from tests.receiver import Receiver

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "alices-auth-token"
SENDER = "+15005550006"
MESSAGE_SID = "SM9d3e0d4c2e1b4a5f8a7c6b5d4e3f2a1b"
JSON = {"Content-Type": "application/json"}
CREATED = json.dumps({"sid": MESSAGE_SID, "status": "queued", "num_segments": "1"}).encode()
SLACK_HOOK = "services/T000/B000/XXXX"
LONG = "no service " + "x" * 109  # one line, no control characters, 120 characters at most


def twilio_error(code: int, message: str, status: int) -> bytes:
    more = f"https://www.twilio.com/docs/errors/{code}"
    answer = {"code": code, "message": message, "more_info": more, "status": status}
    return json.dumps(answer).encode()


@pytest.fixture
def loopback(outbound_loopback: None) -> None:
    """Receivers listen on loopback, which the guard refuses unless allowed (conftest)."""


@pytest.fixture
def twilio(settings: Any, loopback: None) -> Iterator[Receiver]:
    with Receiver() as r:
        url = f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{r.port}?from=%2B15005550006"
        settings.SMS_API = _sms_api(url)
        r.respond(status=201, body=CREATED, headers=JSON)
        yield r


@pytest.fixture
def slack(loopback: None) -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)


def failure(**kwargs: Any) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        send_sms(**{"to": "+393331234567", "body": "Ciao", "idempotency_key": "k", **kwargs})
    return caught.value


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMS: what Twilio receives ---------------------------------------------------------------


def test_sms_posts_the_form_twilio_expects(twilio: Receiver) -> None:
    to = normalize_phone("333 123 4567", region="IT")
    sent = send_sms(to=to, body="Ciao Alice, ecco: ALICE10 🎉", idempotency_key="mes_1:sms")

    assert sent == SentSms(provider_id=MESSAGE_SID)
    [request] = twilio.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert form(request.body) == {
        "To": ["+393331234567"],
        "From": ["+15005550006"],
        "Body": ["Ciao Alice, ecco: ALICE10 🎉"],
    }
    credentials = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["i-twilio-idempotency-token"] == "mes_1:sms"


def test_sms_through_a_messaging_service_sends_its_sid_not_a_from(
    twilio: Receiver, settings: Any
) -> None:
    url = f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{twilio.port}?messaging_service_sid=MG42"
    settings.SMS_API = _sms_api(url)
    send_sms(to="+12015550123", body="Hi Bob", idempotency_key="mes_2:sms")
    [request] = twilio.requests
    assert form(request.body) == {
        "To": ["+12015550123"],
        "MessagingServiceSid": ["MG42"],
        "Body": ["Hi Bob"],
    }


def test_a_2xx_without_a_sid_is_still_sent(twilio: Receiver) -> None:
    # Twilio took the message: sending it again would text the person twice.
    twilio.respond(status=201, body=b"<html>created</html>")
    assert send_sms(to=SENDER, body="x", idempotency_key="k") == SentSms(provider_id="")
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("to", ["333 123 4567", "00393331234567", "+0123456789", "+39"])
def test_a_number_not_in_e164_is_refused_before_any_request(twilio: Receiver, to: str) -> None:
    error = failure(to=to)
    assert (error.reason, error.retry) == ("the number is not in E.164 form (+ and digits)", False)
    assert twilio.requests == []


def test_a_blank_message_is_not_sent(twilio: Receiver) -> None:
    error = failure(body=" \n")
    assert (error.reason, error.retry) == ("the message is empty", False)
    assert twilio.requests == []


def test_sms_off_sends_nothing(twilio: Receiver, settings: Any) -> None:
    settings.SMS_API = _sms_api("")
    error = failure()
    assert (error.reason, error.retry) == ("SMS is not configured (SMS_URL is empty)", False)
    assert twilio.requests == []


# --- SMS: failures ----------------------------------------------------------------------------


def test_429_is_retried_after_the_time_asked(twilio: Receiver) -> None:
    body = twilio_error(20429, "Too Many Requests", 429)
    twilio.respond(status=429, body=body, headers={**JSON, "Retry-After": "7"})
    error = failure()
    assert (error.retry, error.status, error.retry_after) == (True, 429, 7)
    assert error.reason == "Twilio error 20429: Too Many Requests (HTTP 429)"
    assert error.unsubscribed is False


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried(twilio: Receiver, status: int) -> None:
    twilio.respond(status=status, body=b"upstream trouble")
    error = failure()
    assert (error.retry, error.status, error.provider_code) == (True, status, "")
    assert error.reason == f"the SMS API answered HTTP {status}"


def test_invalid_to_is_not_retried_and_carries_twilios_code(twilio: Receiver) -> None:
    message = "The 'To' number +15551234567 is not a valid phone number."
    twilio.respond(status=400, body=twilio_error(21211, message, 400), headers=JSON)
    error = failure(to="+15551234567")
    assert (error.retry, error.provider_code, error.unsubscribed) == (False, "21211", False)
    assert error.reason == f"Twilio error 21211: {message} (HTTP 400)"


def test_21610_marks_the_number_unsubscribed(twilio: Receiver) -> None:
    message = "Attempt to send to unsubscribed recipient"
    twilio.respond(status=400, body=twilio_error(21610, message, 400), headers=JSON)
    error = failure()
    assert (error.retry, error.provider_code, error.unsubscribed) == (False, "21610", True)
    assert (
        error.reason == "Twilio error 21610: Attempt to send to unsubscribed recipient (HTTP 400)"
    )


def test_bad_credentials_are_not_retried(twilio: Receiver) -> None:
    twilio.respond(status=401, body=twilio_error(20003, "Authenticate", 401), headers=JSON)
    error = failure()
    assert (error.retry, error.status, error.provider_code) == (False, 401, "20003")


def test_a_redirect_is_not_followed(twilio: Receiver) -> None:
    with Receiver() as elsewhere:
        twilio.respond(status=307, headers={"Location": elsewhere.url})
        error = failure()
        assert error.reason == "the SMS API answered with a redirect (HTTP 307), not followed"
        assert error.retry is False
        assert elsewhere.requests == []


def test_a_timeout_is_retried(twilio: Receiver) -> None:
    twilio.respond(status=201, body=CREATED, delay=5)
    started = time.monotonic()
    error = failure(timeout=0.3)
    assert time.monotonic() - started < 2
    assert (error.reason, error.retry) == (
        "the SMS API did not answer: timed out after 0.3 s",
        True,
    )
    assert isinstance(error.__cause__, OutboundError)


def test_a_refused_connection_is_retried(settings: Any, loopback: None) -> None:
    settings.SMS_API = _sms_api(f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{free_port()}?from=x")
    error = failure()
    assert (error.reason, error.retry) == ("the SMS API did not answer: connection refused", True)


def test_loopback_is_refused_unless_allowed_and_nothing_arrives(
    twilio: Receiver, settings: Any
) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = ()
    error = failure()
    assert error.reason == "the SMS API address is refused: the host is a loopback address"
    assert error.retry is False
    assert isinstance(error.__cause__, Blocked)
    assert (twilio.requests, twilio.cut_short) == ([], [])


# --- SMS_URL ----------------------------------------------------------------------------------


def test_sms_url_is_read_into_the_api_settings() -> None:
    assert _sms_api("") is None
    assert _sms_api(f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15005550006") == {
        "base_url": "https://api.twilio.com",
        "account_sid": SID,
        "auth_token": TOKEN,
        "from": "+15005550006",
        "messaging_service_sid": "",
    }
    # A bare + stays a + (a form decoder would read a space); a token may be %-encoded.
    assert _sms_api("twilio+http://AC1:a%2Fb%40c@127.0.0.1:8025/?from=+15005550006") == {
        "base_url": "http://127.0.0.1:8025",
        "account_sid": "AC1",
        "auth_token": "a/b@c",
        "from": "+15005550006",
        "messaging_service_sid": "",
    }
    assert _sms_api("twilio://AC1:t@api.twilio.com?messaging_service_sid=MG1") == {
        "base_url": "https://api.twilio.com",
        "account_sid": "AC1",
        "auth_token": "t",
        "from": "",
        "messaging_service_sid": "MG1",
    }


EXAMPLE = "twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15005550006"
ONE_OF = "one of from=<number or sender id> or messaging_service_sid=<MG…>"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://AC1:hunter2@api.twilio.com?from=1", f"SMS_URL must look like {EXAMPLE}"),
        (
            "twilio://api.twilio.com?from=1",
            f"SMS_URL needs the account SID, the auth token and the host: {EXAMPLE}",
        ),
        (
            "twilio://AC1@api.twilio.com?from=1",
            f"SMS_URL needs the account SID, the auth token and the host: {EXAMPLE}",
        ),
        ("twilio://AC1:hunter2@api.twilio.com", f"SMS_URL needs exactly {ONE_OF}"),
        (
            "twilio://AC1:hunter2@api.twilio.com?from=%2B1&messaging_service_sid=MG1",
            f"SMS_URL needs exactly {ONE_OF}",
        ),
        (
            "twilio://AC1:hunter2@api.twilio.com?form=%2B1",
            f"SMS_URL takes {ONE_OF}; 'form=%2B1' is not that",
        ),
        (
            "twilio://AC1:hunter2@api.twilio.com?from=",
            f"SMS_URL takes {ONE_OF}; 'from=' is not that",
        ),
        (
            "twilio://AC1:hunter2@api.twilio.com/2010-04-01?from=1",
            "SMS_URL takes no path: the API path is Twilio's own",
        ),
        (
            "twilio://AC1:hunter2@api.twilio.com:99999?from=1",
            "SMS_URL has a port that is not from 1 to 65535",
        ),
    ],
)
def test_a_bad_sms_url_stops_start_up_without_showing_the_token(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        _sms_api(url)
    assert str(caught.value) == message
    assert "hunter2" not in message


# --- Slack --------------------------------------------------------------------------------------


def test_slack_gets_the_text_and_blocks_as_json(slack: Receiver) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Alice* referred Bob"}}]
    post_slack(url=slack.url + SLACK_HOOK, text="Alice referred Bob — €10", blocks=blocks)
    [request] = slack.requests
    assert (request.method, request.path) == ("POST", "/" + SLACK_HOOK)
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {"text": "Alice referred Bob — €10", "blocks": blocks}


def test_slack_without_blocks_sends_only_text(slack: Receiver) -> None:
    post_slack(url=slack.url + SLACK_HOOK, text="hello")
    [request] = slack.requests
    assert json.loads(request.body) == {"text": "hello"}


@pytest.mark.parametrize(
    ("status", "body", "retry", "reason"),
    [
        (429, b"rate_limited", True, "the Slack URL answered HTTP 429: rate_limited"),
        (500, b"rollup_error", True, "the Slack URL answered HTTP 500: rollup_error"),
        (503, b"", True, "the Slack URL answered HTTP 503"),
        (400, b"invalid_payload", False, "the Slack URL answered HTTP 400: invalid_payload"),
        (403, b"action_prohibited", False, "the Slack URL answered HTTP 403: action_prohibited"),
        (404, b"no_service", False, "the Slack URL answered HTTP 404: no_service"),
        (
            410,
            b"channel_is_archived",
            False,
            "the Slack URL answered HTTP 410: channel_is_archived",
        ),
        (404, b"no\nservice\x00" + b"x" * 300, False, "the Slack URL answered HTTP 404: " + LONG),
    ],
)
def test_slack_failures(
    slack: Receiver, status: int, body: bytes, retry: bool, reason: str
) -> None:
    slack.respond(status=status, body=body, headers={"Retry-After": "30"})
    with pytest.raises(ChannelError) as caught:
        post_slack(url=slack.url + SLACK_HOOK, text="hi")
    error = caught.value
    assert (error.reason, error.retry, error.status) == (reason, retry, status)
    assert error.retry_after == 30
    assert len(slack.requests) == 1  # one attempt: retrying is the caller's decision


def test_slack_timeout_is_retried(slack: Receiver) -> None:
    slack.respond(delay=5)
    with pytest.raises(ChannelError) as caught:
        post_slack(url=slack.url + SLACK_HOOK, text="hi", timeout=0.3)
    assert caught.value.reason == "the Slack URL did not answer: timed out after 0.3 s"
    assert caught.value.retry is True


def test_slack_redirect_is_not_followed(slack: Receiver) -> None:
    with Receiver() as elsewhere:
        slack.respond(status=302, headers={"Location": elsewhere.url})
        with pytest.raises(ChannelError) as caught:
            post_slack(url=slack.url + SLACK_HOOK, text="hi")
        assert caught.value.retry is False
        assert elsewhere.requests == []


def test_slack_to_loopback_is_refused_unless_allowed(slack: Receiver, settings: Any) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = ()
    with pytest.raises(ChannelError) as caught:
        post_slack(url=slack.url + SLACK_HOOK, text="hi")
    assert caught.value.reason == "the Slack URL is refused: the host is a loopback address"
    assert caught.value.retry is False
    assert isinstance(caught.value.__cause__, Blocked)
    assert (slack.requests, slack.cut_short) == ([], [])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", None),
        ("https://chat.example.com/hooks/abc123", None),  # Mattermost
        ("https://discord.com/api/webhooks/1/abc/slack", None),
        ("http://hooks.slack.com/services/T000/B000/XXXX", "use an https URL"),
        ("hooks.slack.com/services/T000", "use an https URL"),
        ("https://127.0.0.1/hook", "the host is a loopback address"),
        ("https://10.0.0.7/hook", "the host is a private address"),
        ("https://169.254.169.254/latest", "the host is the cloud metadata address"),
        ("https://2130706433/hook", "the host 2130706433 is 127.0.0.1, a loopback address"),
        ("https://user:pw@hooks.slack.com/x", "no user:password in the URL"),
        ("https://hooks.slack.com/a b", "no spaces or control characters in the URL"),
    ],
)
def test_check_slack_url(settings: Any, url: str, reason: str | None) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = ()
    assert check_slack_url(url) == reason


# --- Phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("333 123 4567", "IT", "+393331234567"),
        ("333 123 4567", "it", "+393331234567"),
        ("+39 333 123 4567", None, "+393331234567"),
        ("0039 333 1234567", "IT", "+393331234567"),
        ("06 1234 5678", "IT", "+390612345678"),  # Rome: the leading 0 stays in Italy
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("+1 201 555 0123", "IT", "+12015550123"),  # a + wins over the region
        ("001 201 555 0123", "IT", "+12015550123"),  # Italy's international prefix
        ("  +44 20 7946 0958 ", None, "+442079460958"),
    ],
)
def test_normalize_phone(raw: str, region: str | None, e164: str) -> None:
    assert normalize_phone(raw, region=region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "IT", "the phone number is empty"),
        ("   ", "IT", "the phone number is empty"),
        ("banana", "IT", "this does not look like a phone number"),
        ("+39", None, "this does not look like a phone number"),
        ("333 123 4567", None, "write the number with its country code, such as +39 333 123 4567"),
        ("333 123 4567", "XX", "write the number with its country code, such as +39 333 123 4567"),
        ("+1 555 555 5555", None, "this is not a valid phone number for its country"),
        ("123", "US", "this is not a valid phone number for its country"),
        ("+39 333 1234567 1234567890", None, "the phone number is too long"),
        ("333 123 4567 ext. 5", "IT", "a number with an extension cannot receive text messages"),
    ],
)
def test_normalize_phone_refuses(raw: str, region: str | None, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw, region=region)
    assert (caught.value.reason, caught.value.code) == (reason, "invalid_phone")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("body", "stop"),
    [
        ("STOP", True),
        ("stop", True),
        ("  Stop \n", True),
        ("StopAll", True),
        ("unsubscribe", True),
        ("CANCEL", True),
        ("End", True),
        ("quit", True),
        ("REVOKE", True),
        ("optout", True),
        ("STOP PLEASE", False),
        ("please stop", False),
        ("stop.", False),
        ("STOP ALL", False),
        ("ANNULLA", False),  # not one of Twilio's keywords: see goodword/messaging/phones.py
        ("START", False),
        ("", False),
    ],
)
def test_is_stop(body: str, stop: bool) -> None:
    assert is_stop(body) is stop


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ("START", True),
        ("yes", True),
        (" Unstop\t", True),
        ("YES PLEASE", False),
        ("SI", False),
        ("STOP", False),
        ("", False),
    ],
)
def test_is_start(body: str, start: bool) -> None:
    assert is_start(body) is start


# --- Twilio's signature on inbound requests -----------------------------------------------------

# The example in Twilio's own request-validator tests (twilio-python, test_request_validator.py).
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_twilios_documented_example_verifies() -> None:
    assert verify_twilio_signature(DOC_URL, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", DOC_TOKEN)


def test_the_url_may_have_been_signed_with_or_without_its_port() -> None:
    with_port = DOC_URL.replace(".com", ".com:443")
    signed_with_port = "kvajT1Ptam85bY51eRf/AJRuM3w="  # Twilio's tests: the URL with :443
    assert verify_twilio_signature(with_port, DOC_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", DOC_TOKEN)
    assert verify_twilio_signature(DOC_URL, DOC_PARAMS, signed_with_port, DOC_TOKEN)


def test_repeated_parameters_count_every_value() -> None:
    params = QueryDict("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234")
    assert verify_twilio_signature(DOC_URL, params, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", DOC_TOKEN)


def test_an_inbound_stop_signed_by_us_verifies_and_a_changed_one_does_not() -> None:
    url = "https://goodword.example/messaging/sms/inbound?ws=acme"
    params = {"MessageSid": "SM1", "From": "+393331234567", "Body": "STOP"}
    # Computed here from the scheme: URL, then name+value sorted by name, HMAC-SHA1, base64.
    payload = url + "BodySTOP" + "From+393331234567" + "MessageSidSM1"
    digest = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()

    assert verify_twilio_signature(url, params, signature, TOKEN)
    assert not verify_twilio_signature(url, {**params, "Body": "START"}, signature, TOKEN)
    assert not verify_twilio_signature(url + "&x=1", params, signature, TOKEN)
    assert not verify_twilio_signature(url, params, signature, "another-token")
    assert not verify_twilio_signature(url, params, "", TOKEN)
    assert not verify_twilio_signature(url, params, "ünïcode", TOKEN)
    assert not verify_twilio_signature("https://goodword.example:x/", params, signature, TOKEN)
