"""Shopify webhooks (orders, refunds, customers) as our events.

Topics: `orders/create` and `orders/paid` are one purchase (the event id is the order's, so
whichever comes first records it and the other is a duplicate), `refunds/create` a refund of
the order (whose customer the refund does not name: `inbox` finds it from the purchase),
`customers/create` a signup. A test order (`"test": true`) is a test event, kept out of KPIs.
Attribution: the order's `discount_codes` (an advocate's code or a coupon we issued) and the
`gw_ref` note attribute (the signed token our links carry, saved at checkout).
"""

from __future__ import annotations

from typing import Any

from goodword.integrations.amounts import currency_code, minor_units
from goodword.integrations.translation import Refused, Translated, obj, parse_object, text

PURCHASE_TOPICS = {"orders/create", "orders/paid"}


def translate(topic: str, body: str, options: dict[str, Any]) -> Translated:
    if topic in PURCHASE_TOPICS:
        return Translated(events=[_purchase(parse_object(body))])
    if topic == "refunds/create":
        refund = _refund(parse_object(body))
        if refund is None:
            return Translated(ignored="the refund moved no money (no successful transaction)")
        return Translated(events=[refund])
    if topic == "customers/create":
        return Translated(events=[_signup(parse_object(body))])
    return Translated(ignored=f"topic {topic or '(none)'} is not one Goodword reads")


def _customer(customer: dict[str, Any], email: str | None) -> dict[str, Any]:
    email = text(customer.get("email")) or email
    external_id = text(customer.get("id")) or email
    if external_id is None:
        raise Refused("the order names no customer and no email: nobody to attribute it to")
    out: dict[str, Any] = {"external_id": external_id}
    if email:
        out["email"] = email
    name = " ".join(
        n for n in (text(customer.get("first_name")), text(customer.get("last_name"))) if n
    )
    if name:
        out["name"] = name[:200]
    return out


def _id(document: dict[str, Any], what: str) -> str:
    found = text(document.get("id"))
    if found is None:
        raise Refused(f"the {what} has no id")
    return found


def _purchase(order: dict[str, Any]) -> dict[str, Any]:
    order_id = _id(order, "order")
    currency = currency_code(order.get("currency"))
    codes = [text(obj(d).get("code")) for d in order.get("discount_codes") or []]
    notes = {
        text(obj(n).get("name")): obj(n).get("value") for n in order.get("note_attributes") or []
    }
    event: dict[str, Any] = {
        "id": f"order:{order_id}",
        "type": "purchase",
        "customer": _customer(obj(order.get("customer")), text(order.get("email"))),
        "order": {
            "id": order_id,
            "amount": minor_units(order.get("total_price"), currency),
            "currency": currency,
        },
        "test": order.get("test") is True,
    }
    coupons = [c for c in codes if c][:10]
    if coupons:
        event["order"]["coupons"] = coupons
    token = text(notes.get("gw_ref"))
    if token:
        event["ref_token"] = token
    if text(order.get("created_at")):
        event["occurred_at"] = order["created_at"]
    return event


def _refund(refund: dict[str, Any]) -> dict[str, Any] | None:
    refund_id = _id(refund, "refund")
    order_id = text(refund.get("order_id"))
    if order_id is None:
        raise Refused("the refund names no order_id")
    done = [
        obj(t)
        for t in refund.get("transactions") or []
        if obj(t).get("kind") == "refund" and obj(t).get("status") == "success"
    ]
    if not done:
        # A refund without money back (a restock, a note) must not reverse the whole order,
        # which is what a refund without an amount means to us.
        return None
    currency = currency_code(done[0].get("currency"))
    amount = sum(minor_units(t.get("amount"), currency) for t in done)
    event: dict[str, Any] = {
        "id": f"refund:{refund_id}",
        "type": "refund",
        "customer": None,
        "order": {"id": order_id, "amount": amount, "currency": currency},
        "test": any(t.get("test") is True for t in done),
    }
    if text(refund.get("created_at")):
        event["occurred_at"] = refund["created_at"]
    return event


def _signup(customer: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"customer:{_id(customer, 'customer')}",
        "type": "signup",
        "customer": _customer(customer, None),
    }
    if text(customer.get("created_at")):
        event["occurred_at"] = customer["created_at"]
    return event
