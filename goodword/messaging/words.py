"""Plain words for messages, in the recipient's language: rewards, amounts, dates, reasons.

Templates get these as ready-made strings (`reward.description`, `reward.reason`,
`reward.final_on`), so a merchant's template never formats money or dates itself. The words
are Django translations (`goodword/locale/<lang>/LC_MESSAGES/django.po`); numbers and dates
follow the language's own conventions ("$1,000.50" in English, "1.000,50 $" in Italian).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.utils import formats, translation
from django.utils.translation import gettext, gettext_noop, ngettext, pgettext_lazy

from goodword.lib import money

# Symbols people recognise; other currencies show their ISO code ("10.00 CHF").
_SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "INR": "₹", "BRL": "R$", "MXN": "MX$", "KRW": "₩", "CNY": "CN¥", "ILS": "₪",
}  # fmt: skip

# Languages that write the currency after the amount ("10,00 €").
_SYMBOL_AFTER = frozenset({"it"})


def format_number(value: int | Decimal, places: int, language: str) -> str:
    """`value` with `places` decimals, grouped as `language` writes it (1,000.50 / 1.000,50)."""
    with translation.override(language):
        return formats.number_format(value, places, use_l10n=True, force_grouping=True)


def format_money(amount: int, currency: str, language: str) -> str:
    """Minor units as people of `language` read them: 1050 USD -> "$10.50" (en), "10,50 $" (it);
    1050 CHF -> "10.50 CHF"; points are "1,000 points"."""
    if currency == "PTS":
        return _points(amount, language)
    places = money.decimals(currency)
    number = format_number(Decimal(amount).scaleb(-places), places, language)
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return f"{number} {currency}"
    return f"{number} {symbol}" if language in _SYMBOL_AFTER else f"{symbol}{number}"


def _points(amount: int, language: str) -> str:
    number = format_number(amount, 0, language)
    with translation.override(language):
        return ngettext("%(number)s point", "%(number)s points", amount) % {"number": number}


def format_date(day: date, language: str) -> str:
    """A date written out: "8 January 2027" (en), "8 gennaio 2027" (it)."""
    with translation.override(language):
        text = formats.date_format(day, "j F Y")
    # Django's Italian month names are capitalised; Italian writes them in lower case.
    return text.lower() if language == "it" else text


def describe_reward(
    kind: str,
    amount: int | None,
    currency: str,
    percent_off: int | None,
    language: str,
    *,
    details: Mapping[str, object] | None = None,
) -> str:
    """A reward in plain words, without an article so that it reads after a label ("Your reward:
    $10.00 store credit"): "10% off coupon", "1,000 points", "10,00 $ di credito".

    `amount` is in minor units of `currency` (points for points); `details` may carry a custom
    reward's `description` or a charity's `cause`, which are used as given."""
    details = details or {}
    value = format_money(amount, currency, language) if amount and currency else ""
    with translation.override(language):
        if kind == "points" and amount:
            return _points(amount, language)
        if kind == "coupon" and percent_off:
            percent = format_number(percent_off, 0, language)
            return gettext("%(percent)s%% off coupon") % {"percent": percent}
        if kind == "charity":
            return _charity(value, str(details.get("cause") or ""))
        if kind == "custom" and details.get("description"):
            return str(details["description"])
        words = _WITH_VALUE if value else _WITHOUT_VALUE
        phrase = words.get(kind) or words["custom"]
        return gettext(phrase) % {"value": value}


# Marked for makemessages here (gettext_noop), translated when used.
_WITH_VALUE = {
    "credit": gettext_noop("%(value)s store credit"),
    "coupon": gettext_noop("%(value)s off coupon"),
    "cash": gettext_noop("%(value)s cash reward"),
    "gift_card": gettext_noop("%(value)s gift card"),
    "product": gettext_noop("free product worth %(value)s"),
    "custom": gettext_noop("reward worth %(value)s"),
}
_WITHOUT_VALUE = {
    "credit": gettext_noop("store credit"),
    "coupon": gettext_noop("discount coupon"),
    "cash": gettext_noop("cash reward"),
    "points": gettext_noop("points"),
    "gift_card": gettext_noop("gift card"),
    "product": gettext_noop("free product"),
    "custom": gettext_noop("reward"),
}


def _charity(value: str, cause: str) -> str:
    if value and cause:
        return gettext("%(value)s donation to %(cause)s") % {"value": value, "cause": cause}
    if value:
        return gettext("%(value)s donation to charity") % {"value": value}
    if cause:
        return gettext("donation to %(cause)s") % {"cause": cause}
    return gettext("donation to charity")


# Why a reward was cancelled or taken back, as a clause after "This is because …". The codes
# are the `reason` of `reward.reversed`/`referral.reversed` (`refund`), `reward.withdrawn`
# (`late_event`), a hand reversal or rejection (`manual`, `rejected`: the actor's own words stay
# in the dashboard) and the referral's rejection reasons (referrals.models.Referral.RejectReason).
_REASONS = {
    "refund": gettext_noop("the order was refunded"),
    "partial_refund": gettext_noop("part of the order was refunded"),
    "late_event": gettext_noop("new information about the order means it no longer qualifies"),
    "manual": gettext_noop("the store reviewed the referral and it did not qualify"),
    "rejected": gettext_noop("the store reviewed the referral and it did not qualify"),
    "fraud": gettext_noop("the referral did not meet the program's terms"),
    "self_referral": gettext_noop("you can't refer yourself"),
    "existing_customer": gettext_noop("your friend was already a customer"),
    "expired": gettext_noop("the invitation had expired before the order was placed"),
}
_ANY_REASON = gettext_noop("the referral no longer meets the program's terms")


def reversal_reason(reason_code: str, language: str) -> str:
    """Plain words for a reversal reason code, in `language`; a general clause for an unknown
    code (a hand reversal's free text is the business's internal note: never shown)."""
    with translation.override(language):
        return gettext(_REASONS.get(reason_code, _ANY_REASON))


# The button of the journeys whose default template has one: the dashboard's template editor
# offers it, and the default templates use the same words (a test keeps them together).
_BUTTONS = {
    "referral_request": pgettext_lazy("button", "Share your link"),
    "friend_invite": pgettext_lazy("button", "Accept the invitation"),
    "remind_share": pgettext_lazy("button", "Share your link"),
}


def button_label(journey: str, language: str) -> str:
    """The default call-to-action label of `journey` in `language`; "" when it has none."""
    label = _BUTTONS.get(journey)
    if label is None:
        return ""
    with translation.override(language):
        return str(label)
