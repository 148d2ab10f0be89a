"""Segment calls (the tracking API spec) as our events.

A `track` whose event name is mapped in the connection's options (defaults: `Signed Up`,
`Order Completed`, `Order Refunded`) is a signup, purchase or refund; amounts there are in
major units (`total`, else `revenue`) of `currency` (else the connection's
`default_currency`, else USD) and become minor units. Attribution: `properties.referral_code`,
`properties.gw_ref` (the signed token), `properties.coupon` (Segment's e-commerce spec). An
`identify` with a `userId` updates the participant; `page`, `screen`, `group`, `alias` and
unmapped tracks mean nothing to us. The event id is the message's `messageId`, which
Segment's libraries keep across retries. A connection with `"test": true` sends test events.

Each message of a batch stands alone: one that cannot be read (a track with no user, a
revenue that is not a number, an unknown currency) is reported in `Translated.errors` by its
index and `messageId`, and the batch's other messages go on (as the inbox refuses, by id, an
event whose field our schema refuses, such as an email that is not one). Segment's libraries
drop a batch answered 400 (they retry 408, 429 and most 5xx), so refusing a whole batch for
one message would lose the good ones with it: every call stored is answered 200 (`views`).
"""

from __future__ import annotations

from typing import Any

from goodword.integrations.amounts import currency_code, minor_units
from goodword.integrations.translation import Refused, Translated, obj, parse_object, text

DEFAULT_EVENTS = {"signup": "Signed Up", "purchase": "Order Completed", "refund": "Order Refunded"}
MAX_MESSAGES = 2500
# Refused messages named one by one in the item's error (which keeps 5,000 characters); the
# rest are counted.
MAX_REPORTED = 20


def translate(topic: str, body: str, options: dict[str, Any]) -> Translated:
    document = parse_object(body)
    if topic == "batch":
        messages = document.get("batch")
        if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
            raise Refused(f"a batch needs `batch`: a list of at most {MAX_MESSAGES} messages")
    else:
        messages = [{"type": topic, **document}]
    names = {**DEFAULT_EVENTS, **obj(options.get("events"))}
    by_name = {str(name): kind for kind, name in names.items() if kind in DEFAULT_EVENTS}
    out = Translated()
    skipped: set[str] = set()
    refused = 0
    for i, message in enumerate(messages):
        try:
            skip = _message(message, by_name, options, out)
        except Refused as exc:
            refused += 1
            if refused <= MAX_REPORTED:
                out.errors.append(f"message {i} ({_id(message)}): {exc}"[:240])
            continue
        if skip:
            skipped.add(skip)
    if refused > MAX_REPORTED:
        out.errors.append(f"and {refused - MAX_REPORTED} more messages refused")
    if not (out.events or out.people or out.errors):
        out.ignored = "no mapped track or identify: " + ", ".join(sorted(skipped))[:500]
    return out


def _message(
    message: Any, by_name: dict[str, str], options: dict[str, Any], out: Translated
) -> str | None:
    """Add what one message means to `out`; return how to name it when it means nothing to us.
    Raise Refused when it cannot be read: nothing of it is added."""
    if not isinstance(message, dict):
        raise Refused("a message is a JSON object")
    kind = text(message.get("type"))
    if kind == "identify" and text(message.get("userId")):
        out.people.append(_person(message))
    elif kind == "track" and text(message.get("event")) in by_name:
        out.events.append(_event(by_name[str(message["event"])], message, options))
    else:
        return f"{kind} {text(message.get('event')) or ''}".strip()
    return None


def _id(message: Any) -> str:
    """The message's `messageId` as an error names it (clipped: the error has a limit)."""
    found = text(message.get("messageId")) if isinstance(message, dict) else None
    return str(found)[:100]


def _user(message: dict[str, Any]) -> str:
    user = text(message.get("userId")) or text(message.get("anonymousId"))
    if user is None:
        raise Refused("a message needs userId or anonymousId")
    return user


def _person(message: dict[str, Any]) -> dict[str, Any]:
    traits = obj(message.get("traits")) or obj(obj(message.get("context")).get("traits"))
    person: dict[str, Any] = {"external_id": _user(message)}
    for field in ("email", "name"):
        value = text(traits.get(field))
        if value:
            person[field] = value
    return person


def _event(kind: str, message: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    message_id = text(message.get("messageId"))
    if message_id is None:
        raise Refused("a track needs a messageId (the event's id)")
    properties = obj(message.get("properties"))
    customer = _person(message)
    email = text(properties.get("email"))
    if email and "email" not in customer:
        customer["email"] = email
    event: dict[str, Any] = {
        "id": message_id,
        "type": kind,
        "customer": customer,
        "test": options.get("test") is True,
    }
    if kind != "signup":
        event["order"] = _order(kind, properties, options, message_id)
    code = text(properties.get("referral_code"))
    if code:
        event["referral_code"] = code
    token = text(properties.get("gw_ref"))
    if token:
        event["ref_token"] = token
    if text(message.get("timestamp")):
        event["occurred_at"] = message["timestamp"]
    return event


def _order(
    kind: str, properties: dict[str, Any], options: dict[str, Any], message_id: str
) -> dict[str, Any]:
    order_id = text(properties.get("order_id"))
    if order_id is None:
        if kind == "refund":
            raise Refused("an Order Refunded needs properties.order_id")
        order_id = message_id
    value = properties.get("total", properties.get("revenue"))
    if value is None and kind == "purchase":
        raise Refused("an Order Completed needs properties.total or properties.revenue")
    order: dict[str, Any] = {"id": order_id}
    if value is not None:
        currency = currency_code(
            properties.get("currency") or options.get("default_currency") or "USD"
        )
        order.update(amount=minor_units(value, currency), currency=currency)
    coupon = text(properties.get("coupon"))
    if coupon and kind == "purchase":
        order["coupons"] = [coupon]
    return order
