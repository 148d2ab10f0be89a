"""Checks of the workspace's messaging settings, one per field: a value that does not fit
raises `Invalid` with a stable code and a message that says what to send instead."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from goodword.lib.errors import Invalid
from goodword.messaging.journeys import LANGUAGES

MAX_WEEKLY_CAP = 50
MAX_FROM_NAME = 100
MAX_URL = 2000
MAX_POSTAL_ADDRESS = 300
SETTINGS_FIELDS = (
    "is_active",
    "from_name",
    "reply_to",
    "language",
    "time_zone",
    "brand_color",
    "logo_url",
    "weekly_cap",
    "quiet_start",
    "quiet_end",
    "require_consent",
    "postal_address",
    "sms_enabled",
    "phone_region",
)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Files in the zone database that are not zones a person lives in.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def clean_setting(name: str, value: Any) -> Any:
    check = _SETTING_CHECKS.get(name)
    if check is None:
        raise Invalid(
            f"{name} is not a messaging setting; the settings are: {', '.join(SETTINGS_FIELDS)}",
            code="unknown_setting",
            details={"field": name},
        )
    return check(name, value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(name, "true or false")
    return value


def integer(name: str, value: Any, low: int, high: int, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(name, "a whole number")
    if not low <= value <= high:
        raise Invalid(
            f"{name} must be from {low} to {high}; it is {value}",
            code=code,
            details={"field": name},
        )
    return value


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong_type(name, "a string")
    return value.strip()


def _wrong_type(name: str, kind: str) -> Invalid:
    return Invalid(f"{name} must be {kind}", code="invalid_setting", details={"field": name})


def _hour(name: str, value: Any) -> int:
    return integer(name, value, 0, 23, "invalid_hour")


def _weekly_cap(name: str, value: Any) -> int:
    return integer(name, value, 0, MAX_WEEKLY_CAP, "invalid_weekly_cap")


def _language(name: str, value: Any) -> str:
    language = _str(name, value).lower()
    if language not in LANGUAGES:
        raise unknown_language(language)
    return language


def unknown_language(language: str) -> Invalid:
    return Invalid(
        f"{language!r} is not a language messages are written in; use one of: "
        + ", ".join(LANGUAGES),
        code="unknown_language",
        details={"language": language, "languages": list(LANGUAGES)},
    )


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def _time_zone(name: str, value: Any) -> str:
    zone = _str(name, value)
    if zone not in _zones():
        raise Invalid(
            f"{zone!r} is not a time zone; use a name from the IANA database such as "
            "Europe/Rome or America/New_York",
            code="invalid_time_zone",
            details={"field": name},
        )
    return zone


def _color(name: str, value: Any) -> str:
    color = _str(name, value)
    if not _COLOR.fullmatch(color):
        raise Invalid(
            f"{name} must be a colour written #RRGGBB, such as #1f6f5c; it is {color!r}",
            code="invalid_color",
            details={"field": name},
        )
    return color.lower()


def _url(name: str, value: Any) -> str:
    url = _str(name, value)
    if not url:
        return ""
    try:
        if len(url) > MAX_URL:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise Invalid(
            f"{name} must be an http(s) URL of at most {MAX_URL:,} characters, such as "
            "https://shop.example.com/logo.png",
            code="invalid_url",
            details={"field": name},
        ) from None
    return url


def _email(name: str, value: Any) -> str:
    email = _str(name, value)
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(
            f"{name} must be an email address, such as help@shop.example.com",
            code="invalid_email",
            details={"field": name},
        ) from None
    return email


def _from_name(name: str, value: Any) -> str:
    text = _str(name, value)
    # A line break would end the From header early: a header injection, not a name.
    if len(text) > MAX_FROM_NAME or any(c in text for c in "\r\n\0"):
        raise Invalid(
            f"{name} must be one line of at most {MAX_FROM_NAME} characters",
            code="invalid_from_name",
            details={"field": name},
        )
    return text


def _postal_address(name: str, value: Any) -> str:
    # Lines are kept (an address has several); other control characters are not text.
    text = "\n".join(line.strip() for line in _str(name, value).splitlines() if line.strip())
    if len(text) > MAX_POSTAL_ADDRESS or any(ord(c) < 32 and c != "\n" for c in text):
        raise Invalid(
            f"{name} must be at most {MAX_POSTAL_ADDRESS} characters of text",
            code="invalid_postal_address",
            details={"field": name},
        )
    return text


def _phone_region(name: str, value: Any) -> str:
    region = _str(name, value).strip().upper()
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(
            f'{name} must be a country code such as IT, US or GB (ISO 3166 alpha-2), or ""',
            code="invalid_phone_region",
            details={"field": name},
        )
    return region


_SETTING_CHECKS = {
    "is_active": _bool,
    "require_consent": _bool,
    "sms_enabled": _bool,
    "phone_region": _phone_region,
    "from_name": _from_name,
    "reply_to": _email,
    "language": _language,
    "time_zone": _time_zone,
    "brand_color": _color,
    "logo_url": _url,
    "weekly_cap": _weekly_cap,
    "quiet_start": _hour,
    "quiet_end": _hour,
    "postal_address": _postal_address,
}
