"""The default wording of every journey, in every language we write (`defaults/<lang>/`).

A program without its own template for a journey and language gets these. They are Liquid like
a merchant's own, rendered in the same sandbox, so a merchant can start from a copy.
"""

from __future__ import annotations

import functools
from pathlib import Path

from goodword.messaging.models import PROGRAM_JOURNEYS, Journey

FOLDER = Path(__file__).parent / "defaults"
LANGUAGES = ("en", "it")
JOURNEYS = tuple(j.value for j in PROGRAM_JOURNEYS)
PARTS = ("subject", "html", "text", "sms")
# The journeys that may go by text message; the others have no `sms` part.
SMS_JOURNEYS = frozenset(
    {
        Journey.REFERRAL_REQUEST,
        Journey.REWARD_EARNED,
        Journey.REWARD_FULFILLED,
        Journey.FRIEND_INVITE,
        Journey.REWARD_APPROVED,
    }
)
# The journeys a program may send by text (`JourneySetting.sms`). A friend invite has an
# `sms` part for the advocate to send from their own phone, but we only ever email a friend:
# we hold no consent of theirs to be texted.
SMS_SENT = SMS_JOURNEYS - {Journey.FRIEND_INVITE}


def default_template(journey: str, language: str, part: str) -> str:
    """The default Liquid source of one part of `journey` in `language` (English for a language
    we do not write). KeyError for an unknown journey or part, or `sms` of a journey that is
    not sent by text."""
    if journey not in JOURNEYS or part not in PARTS:
        raise KeyError(f"{journey}.{part}")
    if part == "sms" and journey not in SMS_JOURNEYS:
        raise KeyError(f"{journey}.{part}")
    return _read(language if language in LANGUAGES else "en", journey, part)


@functools.cache
def _read(language: str, journey: str, part: str) -> str:
    # Trailing newlines are the editor's, not the message's (a subject is one line).
    return (FOLDER / language / f"{journey}.{part}.liquid").read_text(encoding="utf-8").rstrip("\n")
