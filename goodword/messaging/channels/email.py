"""Email through Django's mail backends (SMTP from `EMAIL_URL`, or an anymail provider).

The `Message-ID` is the message's own (`<mes_…@host>`), the same at every try, so a send that
is repeated after a crash carries the id of the first, and providers and mail clients that
de-duplicate by it show one. Non-transactional messages carry `List-Unsubscribe` with the
one-click `List-Unsubscribe-Post` of RFC 8058.
"""

from __future__ import annotations

import secrets
import smtplib
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from goodword.messaging.channels.errors import ChannelError


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
    try:
        mail.send()
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
    status = getattr(mail, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    return str(provider_id or headers(email)["Message-ID"])


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
