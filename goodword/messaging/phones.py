"""Phone numbers: one spelling (E.164) for every number we store or text, and the carrier
keywords by which a recipient opts out of texts or back in.

The keywords are Twilio's defaults for long codes and toll-free numbers (its Messaging
Service "Advanced Opt-Out" starts from the same English lists): on these Twilio itself blocks
further texts to the number and answers 21610 to any later send, and it still forwards the
reply to the inbound webhook, so our own list stays in step with what Twilio enforces.
Twilio has no Italian keywords by default (a recipient in Italy replies STOP too); keywords a
merchant adds in Advanced Opt-Out reach us as a 21610 on the next send
(`ChannelError.unsubscribed`).
"""

from __future__ import annotations

import phonenumbers

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})


class InvalidPhone(ValueError):
    """Not a phone number we can text. `reason` says why in plain words."""

    code = "invalid_phone"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_phone(raw: str, *, region: str | None) -> str:
    """Return `raw` as E.164 (`+393331234567`) or raise InvalidPhone.

    A number without a leading + (or 00) is read as a national number of `region` (ISO 3166
    alpha-2, "IT"); without a region it must carry its country code. The number must be
    valid for its country, not only of a plausible length, and have no extension.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhone("the phone number is empty")
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(_parse_reason(exc)) from None
    if number.extension:
        raise InvalidPhone("a number with an extension cannot receive text messages")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("this is not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        return "write the number with its country code, such as +39 333 123 4567"
    if exc.error_type in (
        phonenumbers.NumberParseException.TOO_SHORT_NSN,
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "the phone number is too short"
    if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
        return "the phone number is too long"
    return "this does not look like a phone number"


def is_stop(body: str) -> bool:
    """Whether an inbound text is an opt-out keyword: the whole message, any case, blanks
    around it ignored. " Stop\\n" is one; "STOP PLEASE" is not (nor at Twilio), and neither is
    "stop." (the keyword must match exactly)."""
    return body.strip().upper() in OPT_OUT_KEYWORDS


def is_start(body: str) -> bool:
    """Whether an inbound text is an opt-in keyword (START, YES, UNSTOP), read as `is_stop`."""
    return body.strip().upper() in OPT_IN_KEYWORDS


# Where a participant's phone number is kept among their attributes, first found wins (the
# dashboard's contact cards read the same names).
PHONE_KEYS = ("phone", "phone_number", "mobile", "tel")


def phone_of(attributes: object, *, region: str | None = None) -> str:
    """The participant's number to text, in E.164, or "" when they have none we can text (no
    phone attribute, or one that is not a valid number; without `region`, a number must carry
    its country code)."""
    if not isinstance(attributes, dict):
        return ""
    for key in PHONE_KEYS:
        raw = attributes.get(key)
        if raw:
            try:
                return normalize_phone(str(raw), region=region)
            except InvalidPhone:
                return ""
    return ""
