"""What a provider's `translate.py` gives back: our event documents for one delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class Refused(Exception):
    """The delivery cannot be translated (malformed JSON, a field missing): the item fails,
    visible with this message."""


@dataclass
class Translated:
    """The events (`ingest.schemas.EventIn` documents) a delivery means, the participants it
    names (Segment's identify), or why it means nothing to us (`ignored`).

    A refund's `customer` may be None: the order's purchase names it (a Shopify refund does
    not say whose order it was); `inbox` looks it up."""

    events: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    ignored: str = ""
    # Messages of a delivery that carries many (a Segment batch) refused one by one, each
    # naming its message and why: the delivery's other messages are still recorded, and the
    # item fails with these as its error. (`Refused` is for a delivery refused as a whole.)
    errors: list[str] = field(default_factory=list)


def parse_object(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
        raise Refused("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise Refused("the body is not a JSON object")
    return document


def text(value: Any) -> str | None:
    """A provider's id or string field as text (Shopify's ids are JSON numbers); None when it
    is missing or empty, or holds a NUL (an escaped one in JSON), which PostgreSQL cannot store in
    text: the field is then missing, on either database."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    out = str(value).strip()
    return out if out and "\x00" not in out else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
