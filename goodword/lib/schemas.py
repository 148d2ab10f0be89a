"""Small pydantic types shared by the API and the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from goodword.lib.money import MAX_AMOUNT, is_currency

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError("must be an email address like name@example.com")
    return value


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True)]
PositiveAmount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, strict=True)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(max_length=200)]


def _utc(value: datetime) -> datetime:
    # Stored in UTC: PostgreSQL refuses offsets beyond +-15:59 (pydantic allows +-23:59), and
    # an instant near year 1 or 9999 can fall outside the calendar once moved to UTC.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a moment between the years 1 and 9999 (UTC)") from None


# A moment in time; one without an offset is taken as UTC.
Timestamp = Annotated[datetime, AfterValidator(_utc)]
