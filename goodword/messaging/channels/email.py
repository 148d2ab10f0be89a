"""Email through Django's mail backends (SMTP from `EMAIL_URL`, or an anymail provider).

The `Message-ID` is the message's own (`<mes_…@host>`), the same at every try, so a send that
is repeated after a crash carries the id of the first, and providers and mail clients that
de-duplicate by it show one. Non-transactional messages carry `List-Unsubscribe` with the
one-click `List-Unsubscribe-Post` of RFC 8058.

Through a provider (anymail), the provider's own id for the message is what we keep, and our id
goes along as the metadata `gw_message`, so that its tracking webhooks (bounces, complaints;
`messaging/tracking.py`) name the message whichever id they carry.
"""

from __future__ import annotations

import secrets
import smtplib
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from goodword.messaging.channels.errors import ChannelError, should_retry

METADATA_KEY = "gw_message"  # short: Postmark takes metadata names of up to 20 characters


@dataclass(frozen=True)
class Email:
    message_id: str  # our public id
    to: str
    from_name: str
    reply_to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str  # "" for transactional messages


def connection() -> Any:
    """One connection for a claim's messages (SMTP keeps its session open between them)."""
    return get_connection(fail_silently=False)


def headers(email: Email) -> dict[str, str]:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    out = {"Message-ID": f"<{email.message_id}@{host}>"}
    if email.unsubscribe_url:
        out["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        out["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return out


def send(email: Email, *, conn: Any) -> str:
    """Send one email; return the provider's id for it (the Message-ID for SMTP). Raise
    ChannelError: `retry` for what may work later (a connection, a 4xx of SMTP)."""
    mail = _Mail(
        subject=email.subject,
        body=email.text,
        from_email=formataddr((email.from_name, settings.DEFAULT_FROM_EMAIL)),
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers=headers(email),
        connection=conn,
    )
    mail.attach_alternative(email.html, "text/html")
    mail.metadata = {METADATA_KEY: email.message_id}  # type: ignore[attr-defined]  # anymail's
    try:
        mail.send()
    # Before OSError: anymail's API errors are requests' HTTPErrors, which are OSErrors.
    except AnymailRecipientsRefused:
        raise ChannelError(
            f"refused by {_esp(conn)}: the address is invalid or inactive", retry=False
        ) from None
    except AnymailAPIError as exc:
        raise _api_error(conn, exc) from None
    except AnymailError as exc:  # a message the provider's API cannot carry
        raise ChannelError(
            f"{_esp(conn)} cannot send it: {exc.args[0] if exc.args else exc}", retry=False
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        raise ChannelError(
            f"refused by the mail server: {code} {_text(reason)}", retry=code < 500
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise ChannelError(
            f"mail server answered {exc.smtp_code} {_text(exc.smtp_error)}",
            retry=exc.smtp_code < 500,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors
        raise ChannelError(f"could not reach the mail server: {exc}", retry=True) from None
    return _provider_id(mail, email) or headers(email)["Message-ID"]


def _provider_id(mail: EmailMultiAlternatives, email: Email) -> str:
    """The provider's id of the message to `email.to` (anymail); "" through SMTP."""
    status = getattr(mail, "anymail_status", None)
    if status is None:
        return ""
    if isinstance(status.message_id, str):
        return status.message_id
    recipient = (status.recipients or {}).get(email.to)  # a set: ids per recipient differ
    return str(getattr(recipient, "message_id", None) or "")


def _esp(conn: Any) -> str:
    return str(getattr(conn, "esp_name", "") or "the email provider")


def _api_error(conn: Any, exc: AnymailAPIError) -> ChannelError:
    """retry for no answer, 408, 429 and 5xx; not for other 4xx (a bad key, a refused sender)."""
    status = exc.status_code
    if status is None:
        cause = exc.__cause__ or exc
        return ChannelError(f"{_esp(conn)} did not answer: {cause}", retry=True)
    said = ""
    response = exc.response
    if response is not None:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            said = str(answer.get("Message") or answer.get("message") or answer.get("errors") or "")
    return ChannelError(
        f"{_esp(conn)} answered HTTP {status}" + (f": {said}" if said else ""),
        retry=should_retry(status),
        status=status,
    )


class _Mail(EmailMultiAlternatives):
    def message(self, **kwargs: Any) -> Any:
        msg = super().message(**kwargs)
        if msg.is_multipart():
            # Chosen once the parts exist, random, so no part can hold it: the standard
            # library's own choice compiles a regular expression per message to search the
            # parts for it (measured: a sixth of the MIME message's cost).
            msg.set_boundary(f"===============gw{secrets.token_hex(16)}==")
        return msg


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
