"""Text messages through Twilio's Messages API (or anything that speaks it), and the check
of the signature Twilio puts on the requests it sends us.

`settings.SMS_API` (parsed from SMS_URL at start-up) says where and as whom; None means SMS is
off. Every call goes through `goodword.lib.outbound`, the one guarded HTTP client.

Delivery is at-least-once. We send our idempotency key as `I-Twilio-Idempotency-Token`, but
that is the header Twilio puts on its own webhooks to us: as far as we know its Messages API
does not deduplicate requests by it. A request whose answer is lost (a timeout after Twilio
took it) is retried by the caller and the recipient may get the text twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.datastructures import MultiValueDict

from goodword.lib import outbound
from goodword.messaging.channels.errors import ChannelError, retry_after, should_retry

TIMEOUT = 10.0
# A message resource is about 1.5 KB of JSON; room to spare so the sid is never cut off.
MAX_ANSWER = 64 * 1024
UNSUBSCRIBED = "21610"  # "Attempt to send to unsubscribed recipient" (the number sent STOP)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class SentSms:
    provider_id: str  # Twilio's message sid ("SM…"); "" if a 2xx answer did not carry one


def is_enabled() -> bool:
    """Whether SMS is configured (SMS_URL set)."""
    return bool(getattr(settings, "SMS_API", None))


def send_sms(*, to: str, body: str, idempotency_key: str, timeout: float = TIMEOUT) -> SentSms:
    """Send one text to `to` (E.164, see `phones.normalize_phone`); raise ChannelError.

    Nothing is sent when SMS is off, `to` is not E.164 or `body` is blank (retry=False).
    """
    api = getattr(settings, "SMS_API", None)
    if not api:
        raise ChannelError("SMS is not configured (SMS_URL is empty)", retry=False)
    if not _E164.fullmatch(to):
        raise ChannelError("the number is not in E.164 form (+ and digits)", retry=False)
    if not body.strip():
        raise ChannelError("the message is empty", retry=False)
    url = (
        f"{api['base_url']}/2010-04-01/Accounts/{quote(api['account_sid'], safe='')}/Messages.json"
    )
    sender = (
        {"From": api["from"]}
        if api["from"]
        else {"MessagingServiceSid": api["messaging_service_sid"]}
    )
    form = urlencode({"To": to, **sender, "Body": body}).encode()
    headers = {
        "Authorization": _basic_auth(api["account_sid"], api["auth_token"]),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "I-Twilio-Idempotency-Token": idempotency_key,
    }
    response = _post(url, body=form, headers=headers, timeout=timeout)
    if 200 <= response.status < 300:
        return SentSms(provider_id=_answer(response.body).get("sid", ""))
    raise _failure(response)


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> outbound.Response:
    """Post through the guard, turning its refusals and failures into ChannelError."""
    try:
        return outbound.post(url, body=body, headers=headers, timeout=timeout, max_body=MAX_ANSWER)
    except outbound.Blocked as exc:
        raise ChannelError(f"the SMS API address is refused: {exc.reason}", retry=False) from exc
    except outbound.OutboundError as exc:
        raise ChannelError(f"the SMS API did not answer: {exc.reason}", retry=True) from exc


def _answer(body: bytes) -> dict[str, str]:
    """The string fields of a JSON answer ({} when it is not a JSON object)."""
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    # Twilio's error `code` is a JSON number; booleans (ints to Python) and nulls are left out.
    return {
        k: str(v)
        for k, v in data.items()
        if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
    }


def _failure(response: outbound.Response) -> ChannelError:
    """The ChannelError for a non-2xx answer, with Twilio's code and message when given."""
    answer = _answer(response.body)
    code, message = answer.get("code", ""), answer.get("message", "")
    if code:
        reason = f"Twilio error {code}: {message or 'no message'} (HTTP {response.status})"
    elif 300 <= response.status < 400:
        reason = f"the SMS API answered with a redirect (HTTP {response.status}), not followed"
    else:
        reason = f"the SMS API answered HTTP {response.status}"
    return ChannelError(
        reason,
        retry=should_retry(response.status),
        unsubscribed=code == UNSUBSCRIBED,
        provider_code=code,
        status=response.status,
        retry_after=retry_after(response.headers),
    )


def verify_twilio_signature(
    url: str, params: Mapping[str, str], signature: str, auth_token: str
) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) signs this request.

    Twilio signs the full URL it called (with the query) followed by every POST parameter's
    name and value, sorted by name, with HMAC-SHA1 keyed by the auth token, in base64. Like
    Twilio's own libraries, accept the URL with or without its port, since Twilio may have
    signed either. `url` is the public one Twilio was given (https, before any proxy), not
    the one this process saw. A Django QueryDict (`request.POST`) keeps repeated names: all
    their values count, sorted.
    """
    try:
        urls = _signed_urls(url)
    except ValueError:
        return False
    given = signature.encode()
    return any(
        hmac.compare_digest(_twilio_signature(u, params, auth_token).encode(), given) for u in urls
    )


def _twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    payload = [url]
    for name in sorted(set(params)):
        if isinstance(params, MultiValueDict):
            values = sorted(set(params.getlist(name)))
        else:
            values = [params[name]]
        payload.extend(name + value for value in values)
    digest = hmac.new(auth_token.encode(), "".join(payload).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _signed_urls(url: str) -> tuple[str, str]:
    """The URL as given and its twin: without the port if it has one, else with the default
    port (raise ValueError for a port that is not a number)."""
    parts = urlsplit(url)
    port = parts.port
    host = parts.netloc
    if port is not None:
        return url, urlunsplit(parts._replace(netloc=host[: host.rfind(":")]))
    default = 443 if parts.scheme == "https" else 80
    return url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))
