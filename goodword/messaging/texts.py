"""What a text message says: the journey's `sms` part, rendered in the same sandbox as email
(`render.py`) on the same data (`content.template_data`), then finished for a phone.

Length. A text travels in segments: 160 characters of the GSM 7-bit alphabet (153 each once
there are several), or 70 (67) when any character is outside it (most emoji, many accents
other than Italian's è é à ì ò ù, curly quotes). Carriers bill by segment, and Twilio refuses
a body over 1,600 characters, so a longer text is a template failure here, before any send.
`segments()` says how many a text takes; the defaults fit in one or two.

Marketing texts (the referral request) must say how to stop them: when the rendered words do
not mention STOP, "Reply STOP to opt out." (in the message's language) is added at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext

from goodword.messaging import content, defaults, render
from goodword.messaging.models import TRANSACTIONAL, MessageTemplate

MAX_LENGTH = 1600  # Twilio's limit on a Message's Body
_STOP = re.compile(r"\bSTOP\b")
# The GSM 03.38 basic alphabet, and its extension table (each of those counts twice).
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class RenderedSms:
    body: str
    template: str  # "default", or "tpl_…:<version>"


def segments(text: str) -> int:
    """How many SMS segments `text` takes (0 for an empty text)."""
    if not text:
        return 0
    if all(c in _GSM or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, part = 160, 153
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)


def render_sms(ctx: content.Context) -> RenderedSms:
    """The text of a message: the program's own `sms` part for its language, else the
    default; raise render.TemplateFailed when it cannot be rendered, is empty or too long."""
    program_id = ctx.program.pk if ctx.program else None
    own: MessageTemplate | None = None
    if program_id and ctx.templates is not None:
        own = content.own_template(
            ctx.templates, program_id, ctx.journey, ctx.language, ctx.segment
        )
    elif program_id:
        own = (
            MessageTemplate.objects.filter(
                program_id=program_id,
                journey=ctx.journey,
                language=ctx.language,
                segment__in={ctx.segment, ""},
            )
            .order_by("-segment")
            .first()
        )
    if own is not None and own.sms.strip():
        source, name = own.sms, f"{own.public_id}:{own.version}"
    else:
        source, name = defaults.default_template(ctx.journey, ctx.language, "sms"), "default"
    body = render.render(
        source,
        content.template_data(ctx),
        html=False,
        key=f"{name}:{ctx.journey}:{ctx.language}:sms",
    )
    return RenderedSms(finish(body, journey=ctx.journey, language=ctx.language), name)


def finish(body: str, *, journey: str, language: str) -> str:
    """The rendered words made ready to send: trimmed, the opt-out line added to a marketing
    text that lacks one; TemplateFailed when empty or over `MAX_LENGTH`."""
    text = body.strip()
    if not text:
        raise render.TemplateFailed("the text message is empty")
    if journey in defaults.SMS_SENT and journey not in TRANSACTIONAL and not _STOP.search(text):
        text = f"{text} {opt_out_line(language)}"
    if len(text) > MAX_LENGTH:
        raise render.TemplateFailed(
            f"the text message is {len(text):,} characters long; at most {MAX_LENGTH:,}"
        )
    return text


def opt_out_line(language: str) -> str:
    with translation.override(language):
        return gettext("Reply STOP to opt out.")
