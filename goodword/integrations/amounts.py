"""Providers' amounts as our minor units.

Shopify sends decimal strings in major units ("42.50"), Segment numbers in major units
(`total: 42.0`); Stripe already sends integer minor units. Read through Decimal (never a
float's binary value), at the currency's exponent (`lib.money.decimals`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from goodword.integrations.translation import Refused
from goodword.lib.money import MAX_AMOUNT, decimals, is_currency


def currency_code(value: object) -> str:
    """An ISO 4217 code from a provider (Stripe writes them in lower case)."""
    code = str(value or "").upper()
    if not is_currency(code):
        raise Refused(f"{value!r} is not an ISO 4217 currency code")
    return code


def minor_units(value: object, currency: str) -> int:
    """A major-unit amount (a decimal string or a JSON number) in minor units of `currency`.

    A JSON number (Segment) may carry float noise (`19.990000000000002`): it is rounded half
    up to the currency's exponent. A string with more decimals than the currency has is an
    error, not a rounding: Shopify writes exact amounts."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Refused(f"amount {value!r} is not a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused(f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise Refused(f"amount {value!r} is not a positive number")
    if amount > MAX_AMOUNT:
        # Before scaling: `1e999999` overflows Decimal, `1e30` is more digits than quantize
        # keeps, and int() of `1e999990` takes half a minute.
        raise Refused(f"amount {value!r} is too large")
    scaled = amount.scaleb(decimals(currency))
    if isinstance(value, float):
        scaled = scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if scaled != scaled.to_integral_value():
        raise Refused(f"amount {value!r} has more decimals than {currency} allows")
    minor = int(scaled)
    if minor > MAX_AMOUNT:
        raise Refused(f"amount {value!r} is too large")
    return minor
