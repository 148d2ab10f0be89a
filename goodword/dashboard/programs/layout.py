"""What the program builder's form says beyond `ProgramIn`'s schema: words for people, which
options sit under "More options", and which numbers are money in which currency."""

from __future__ import annotations

from typing import Any

from goodword.dashboard.programs.form import Layout, SchemaForm, Stack
from goodword.lib.money import CURRENCIES
from goodword.programs.rules import KIND_FIELDS
from goodword.programs.schemas import ProgramIn

_OFFERS = ("RewardSpec", "OfferSpec")
_MONEY = frozenset(
    {
        "TriggerSpec.min_amount",
        "RewardSpec.amount",
        "RewardSpec.max_total",
        "OfferSpec.amount",
        "CapSpec.amount",
        "CouponSpec.min_order",
        "ConditionsSpec.min_amount",
        "ConditionsSpec.max_amount",
        "TierSpec.min",
    }
)


def currency_of(stack: Stack, key: str) -> str | None:
    """The currency a money field is in, from the document around it: a reward's amounts (and
    its caps and coupon) in the reward's currency (points for points), an order condition in
    its own or the program's, a tier's `min` in the program's when tiers count revenue."""
    program = str(stack[0][1].get("currency") or "USD")
    if key == "TierSpec.min":
        basis = next((v.get("basis") for n, v in stack if n == "TiersSpec"), None)
        return program if basis == "revenue" else None
    if key.startswith("ConditionsSpec."):
        return str(stack[-1][1].get("currency") or program)
    if key == "TriggerSpec.min_amount":
        return program
    for name, values in reversed(stack):
        if name in _OFFERS:
            if values.get("kind") == "points":
                return "PTS"
            return str(values.get("currency") or program)
    return program


_CURRENCIES = [(c, c) for c in sorted(CURRENCIES)]

LAYOUT = Layout(
    labels={
        "destination_url": "Destination URL",
        "ProgramIn.description": "Description (for your team)",
        "ProgramIn.currency": "Currency",
        "ProgramIn.language": "Language of its messages",
        "landing_page": "Show friends a landing page",
        "ProgramIn.trigger": "When a referral converts",
        "hold_days": "Hold before paying",
        "attribution_days": "Attribution window",
        "event": "Converts on",
        "TriggerSpec.min_amount": "Minimum order",
        "first_purchase_only": "The friend's first purchase only",
        "rewards": "Rewards",
        "beneficiary": "Who gets it",
        "kind": "Reward",
        "amount": "Amount",
        "percent_off": "Percent off (coupons)",
        "percent_of_order": "Percent of the order (credit, cash)",
        "RewardSpec.currency": "Currency",
        "OfferSpec.currency": "Currency",
        "coupon": "Coupon codes",
        "pool": "Coupon pool",
        "prefix": "Code prefix",
        "length": "Random characters",
        "pattern": "Code pattern",
        "min_order": "Minimum order to use it",
        "CouponSpec.expires_days": "Valid for",
        "sku": "SKU (product)",
        "cause": "Cause (charity)",
        "RewardSpec.description": "What they get (custom)",
        "OfferSpec.description": "What they get (custom)",
        "RewardSpec.name": "Name",
        "RewardSpec.trigger": "Granted on",
        "event_name": "Event name (custom event)",
        "recurring_months": "For how many months (subscriptions)",
        "max_total": "At most in all (subscriptions)",
        "choices": "Or let them choose",
        "choice_days": "Time to choose",
        "refund_policy": "On a partial refund",
        "conditions": "Conditions",
        "caps": "Caps",
        "milestone": "Milestone",
        "RewardSpec.hold_days": "Hold before paying (this reward)",
        "RewardSpec.expires_days": "Unspent credit expires after",
        "expiry_notice_days": "Notice before it expires",
        "starts_at": "Starts (UTC)",
        "ends_at": "Ends (UTC)",
        "per": "Per",
        "period": "Period",
        "CapSpec.days": "Rolling days",
        "count": "At most this many rewards",
        "CapSpec.amount": "Or at most this value",
        "tiers": "Tiers",
        "basis": "Tier by",
        "levels": "Levels",
        "min": "From",
        "experiment": "Experiment",
        "ExperimentSpec.name": "Experiment name",
        "variants": "Variants",
        "VariantSpec.name": "Variant name",
        "TierSpec.name": "Tier name",
        "weight": "Weight",
        "holdout_percent": "Holdout",
        "eligibility": "Who may advocate",
        "who": "Who",
        "min_days_as_customer": "Customer for at least",
        "external_ids": "Customer ids",
        "at": "At these referral counts",
        "every": "Or at every multiple of",
        "ConditionsSpec.min_amount": "Order at least",
        "ConditionsSpec.max_amount": "Order at most",
        "ConditionsSpec.currency": "Order currency",
        "purchase_number": "Friend's nth purchase",
        "product_ids": "Product ids",
        "category_ids": "Category ids",
        "ConditionsSpec.variants": "Experiment variants",
        "ConditionsSpec.tiers": "Advocate tiers",
        "ConditionsSpec.advocate": "Advocate attributes",
        "ConditionsSpec.friend": "Friend attributes",
    },
    help={
        "hold_days": "rewards stay pending this long before they are paid (0: at once)",
        "RewardSpec.hold_days": "left empty: the program's hold",
        "attribution_days": "a friend's conversion counts this long after their first click",
        "landing_page": "the offer, its terms and an email claim form before the destination; "
        "off: links go straight to the destination",
        "destination_url": "where referral links lead; its host is allowed for links",
        "ConditionsSpec.tiers": "names of the program's tiers",
        "ConditionsSpec.variants": "names of the experiment's variants",
        "ConditionsSpec.advocate": "one attribute per line, such as  segment: vip, gold",
        "ConditionsSpec.friend": "one attribute per line, such as  plan: pro",
        "TierSpec.min": "qualified referrals, or revenue when tiers count revenue",
        "pool": "codes drawn from a coupon pool; leave empty to generate codes",
        "external_ids": "your ids of the customers who may advocate, comma-separated",
        "RewardSpec.trigger": "the program's conversion, or the friend's later events",
        "event_name": "with a custom event: its name, such as review_posted",
        "recurring_months": "left empty: for as long as the subscription lasts",
        "max_total": "per referral, over all payments",
        "choices": "offers of other kinds the beneficiary may pick instead of this one",
        "CapSpec.days": "with rolling days only",
        "refund_policy": "a refund of the whole order always reverses it",
        "CapSpec.period": "calendar periods in UTC; rolling: the days up to the conversion",
    },
    first={
        "ProgramIn": [
            "name",
            "destination_url",
            "description",
            "currency",
            "language",
            "landing_page",
            "trigger",
            "hold_days",
            "attribution_days",
        ],
        "RewardSpec": [
            "name",
            "beneficiary",
            "kind",
            "amount",
            "percent_off",
            "percent_of_order",
            "currency",
            "sku",
            "cause",
            "description",
            "coupon",
        ],
        "CapSpec": ["per", "period", "days", "count", "amount"],
    },
    advanced=frozenset(
        f"RewardSpec.{name}"
        for name in (
            "trigger",
            "event_name",
            "recurring_months",
            "max_total",
            "choices",
            "choice_days",
            "refund_policy",
            "conditions",
            "caps",
            "milestone",
            "hold_days",
            "expires_days",
            "expiry_notice_days",
            "starts_at",
            "ends_at",
        )
    ),
    # A new program is a draft and the builder leaves an existing one's status alone: the
    # lifecycle has its own buttons.
    hidden=frozenset({"ProgramIn.status"}),
    empty={
        "ProgramIn.language": "the workspace's",
        "RewardSpec.currency": "the program's",
        "OfferSpec.currency": "the program's",
        "ConditionsSpec.currency": "any",
        "ConditionsSpec.purchase_number": "any",
    },
    kinds={
        f"{owner}.{prop}": kinds
        for owner in ("RewardSpec", "OfferSpec")
        for prop, kinds in KIND_FIELDS.items()
    },
    item_labels={
        "rewards": "Reward",
        "caps": "Cap",
        "levels": "Level",
        "variants": "Variant",
        "choices": "Choice",
    },
    add_labels={
        "rewards": "Add a reward",
        "caps": "Add a cap",
        "levels": "Add a level",
        "variants": "Add a variant",
        "choices": "Add a choice",
        "coupon": "Set coupon code options",
        "milestone": "Add a milestone",
        "tiers": "Add tiers",
        "experiment": "Add an experiment",
        "eligibility": "Limit who may advocate",
    },
    choices={
        "kind": [
            ("credit", "store credit"),
            ("coupon", "coupon"),
            ("cash", "cash (commission)"),
            ("points", "points"),
            ("product", "free product"),
            ("gift_card", "gift card"),
            ("charity", "donation to a cause"),
            ("custom", "something else (custom)"),
        ],
        "RewardSpec.trigger": [
            ("conversion", "the conversion"),
            ("subscription_payment", "each subscription payment after it"),
            ("nps", "the friend's first NPS answer after it"),
            ("event", "a custom event after it"),
        ],
        "refund_policy": [
            ("threshold", "reverse it if the order falls below the minimum"),
            ("proportional", "shrink a percent-of-order reward with it"),
            ("full", "reverse it on any refund"),
        ],
        "CapSpec.per": [("advocate", "advocate"), ("friend", "friend"), ("program", "program")],
        "CapSpec.period": [
            ("lifetime", "all time"),
            ("month", "calendar month"),
            ("year", "calendar year"),
            ("rolling", "rolling days"),
        ],
        "TiersSpec.basis": [("referrals", "qualified referrals"), ("revenue", "revenue brought")],
        "TiersSpec.period": [
            ("lifetime", "all time"),
            ("year", "calendar year"),
            ("month", "calendar month"),
        ],
        "who": [
            ("everyone", "everyone"),
            ("customers", "customers"),
            ("promoters", "promoters (NPS 9 or 10)"),
            ("listed", "listed customers"),
        ],
        "ProgramIn.currency": _CURRENCIES,
        "RewardSpec.currency": [*_CURRENCIES, ("PTS", "PTS (points)")],
        "OfferSpec.currency": [*_CURRENCIES, ("PTS", "PTS (points)")],
        "ConditionsSpec.currency": _CURRENCIES,
    },
    money=_MONEY,
    currency=currency_of,
)

FORM = SchemaForm(ProgramIn, LAYOUT)

# What a new program starts from: a two-sided offer, ready to fill in.
STARTER: dict[str, Any] = {
    "currency": "USD",
    "trigger": {"event": "purchase", "first_purchase_only": True},
    "rewards": [
        {"beneficiary": "advocate", "kind": "credit"},
        {"beneficiary": "friend", "kind": "credit"},
    ],
    "hold_days": 30,
    "attribution_days": 30,
    # New programs show friends the offer before the shop; existing ones keep their redirect.
    "landing_page": True,
}
