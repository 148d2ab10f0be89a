"""Stripe events as ours.

`checkout.session.completed` (paid) and `checkout.session.async_payment_succeeded` are a
purchase; `invoice.paid` is the purchase when it opens a subscription and a
`subscription_payment` for each renewal; `charge.refunded` is a refund of the difference it
made to `amount_refunded` (Stripe sends the running total, and the one before in
`previous_attributes`); `customer.created` is a signup. `livemode: false` is a test event.

A purchase's order is its payment: the PaymentIntent, or the invoice for a subscription (the
checkout session that opened it and its first `invoice.paid` are then one purchase), so a
charge's refund names the same order. Attribution: `client_reference_id` or `metadata.gw_ref`
(the signed token), `metadata.referral_code`, and the promotion code when Stripe sent it
expanded (a webhook carries only its id otherwise; put the code in metadata instead).
Amounts are already in minor units.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from goodword.integrations.amounts import currency_code
from goodword.integrations.translation import Refused, Translated, obj, parse_object, text
from goodword.lib.money import MAX_AMOUNT

CHECKOUT = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def translate(topic: str, body: str, options: dict[str, Any]) -> Translated:
    event = parse_object(body)
    kind = text(event.get("type")) or ""
    data = obj(event.get("data"))
    thing = obj(data.get("object"))
    found: dict[str, Any] | None
    if kind in CHECKOUT:
        if thing.get("payment_status") == "unpaid":
            return Translated(ignored="unpaid yet: the purchase is its async_payment_succeeded")
        found = _checkout(thing)
    elif kind == "invoice.paid":
        found = _invoice(thing)
        if found is None:
            return Translated(ignored="nothing was paid (a trial or a zero invoice)")
    elif kind == "charge.refunded":
        found = _refund(thing, obj(data.get("previous_attributes")), _event_id(event))
        if found is None:
            return Translated(ignored="no new money refunded")
    elif kind == "customer.created":
        found = {"id": f"customer:{_id(thing)}", "type": "signup", "customer": _customer(thing)}
        found.update(_attribution(obj(thing.get("metadata"))))
    else:
        return Translated(ignored=f"event type {kind or '(none)'} is not one Goodword reads")
    assert found is not None  # noqa: S101 - each branch returned or found one
    found["test"] = event.get("livemode") is not True
    created = event.get("created")
    if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 2**33:
        found["occurred_at"] = datetime.fromtimestamp(created, tz=UTC).isoformat()
    return Translated(events=[found])


def _event_id(event: dict[str, Any]) -> str:
    found = text(event.get("id"))
    if found is None:
        raise Refused("the event has no id")
    return found


def _id(thing: dict[str, Any]) -> str:
    found = text(thing.get("id"))
    if found is None:
        raise Refused("the event's object has no id")
    return found


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise Refused(f"amount {value!r} is not an amount in minor units")
    return value


def _customer(thing: dict[str, Any], email: str | None = None) -> dict[str, Any]:
    """Stripe's customer id when there is one, else the email (a guest checkout)."""
    customer = thing.get("customer")
    customer_id = text(obj(customer).get("id")) if isinstance(customer, dict) else text(customer)
    email = email or text(thing.get("email"))
    external_id = customer_id or email
    if external_id is None:
        raise Refused("the event names no customer and no email: nobody to attribute it to")
    out: dict[str, Any] = {"external_id": external_id}
    if email:
        out["email"] = email
    return out


def _attribution(metadata: dict[str, Any], reference: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    token = reference or text(metadata.get("gw_ref"))
    if token:
        out["ref_token"] = token
    code = text(metadata.get("referral_code"))
    if code:
        out["referral_code"] = code
    return out


def _promotion_codes(thing: dict[str, Any]) -> list[str]:
    codes = []
    for discount in thing.get("discounts") or []:
        promotion = obj(discount).get("promotion_code")
        code = text(obj(promotion).get("code")) if isinstance(promotion, dict) else None
        if code:
            codes.append(code)
    return codes[:10]


def _purchase(
    kind: str, order_id: str, amount: int, currency: str, customer: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": f"{'purchase' if kind == 'purchase' else 'payment'}:{order_id}",
        "type": kind,
        "customer": customer,
        "order": {"id": order_id, "amount": amount, "currency": currency},
    }


def _checkout(session: dict[str, Any]) -> dict[str, Any]:
    order_id = text(session.get("payment_intent")) or text(session.get("invoice")) or _id(session)
    details = obj(session.get("customer_details"))
    found = _purchase(
        "purchase",
        order_id,
        _amount(session.get("amount_total")),
        currency_code(session.get("currency")),
        _customer(session, text(details.get("email")) or text(session.get("customer_email"))),
    )
    reference = text(session.get("client_reference_id"))
    found.update(_attribution(obj(session.get("metadata")), reference))
    codes = _promotion_codes(session)
    if codes:
        found["order"]["coupons"] = codes
    return found


def _invoice(invoice: dict[str, Any]) -> dict[str, Any] | None:
    amount = _amount(invoice.get("amount_paid"))
    if amount == 0:
        return None
    # The first invoice of a subscription is its purchase (the conversion); each later one a
    # renewal, which only recurring rules reward.
    renewal = bool(
        invoice.get("subscription") or obj(invoice.get("parent")).get("subscription_details")
    )
    renewal = renewal and invoice.get("billing_reason") != "subscription_create"
    metadata = {
        **obj(obj(invoice.get("subscription_details")).get("metadata")),
        **obj(invoice.get("metadata")),
    }
    found = _purchase(
        "subscription_payment" if renewal else "purchase",
        _id(invoice),
        amount,
        currency_code(invoice.get("currency")),
        _customer(invoice, text(invoice.get("customer_email"))),
    )
    found.update(_attribution(metadata))
    codes = _promotion_codes(invoice)
    if codes and not renewal:
        found["order"]["coupons"] = codes
    return found


def _refund(charge: dict[str, Any], before: dict[str, Any], event_id: str) -> dict[str, Any] | None:
    total = _amount(charge.get("amount_refunded"))
    earlier = before.get("amount_refunded", 0)
    amount = total - _amount(earlier)
    if amount <= 0:
        return None
    order_id = text(charge.get("invoice")) or text(charge.get("payment_intent")) or _id(charge)
    return {
        "id": f"refund:{event_id}",
        "type": "refund",
        # The purchase names its buyer (a guest's charge names no customer).
        "customer": None,
        "order": {
            "id": order_id,
            "amount": amount,
            "currency": currency_code(charge.get("currency")),
        },
    }
