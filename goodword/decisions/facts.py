"""What the decision layer reads and returns: frozen dataclasses of plain values.

Ids are the database's integer keys (the services map them back); events are named by a key
of the services' choosing (`event`), unique within one decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Conditions:
    """What the converting event and the two people must satisfy for a rule to grant.

    Attribute conditions map an attribute name to the values that match (any of them).
    """

    min_amount: int | None = None
    max_amount: int | None = None
    currency: str | None = None
    purchase_number: int | None = None  # the friend's nth purchase, in business time
    product_ids: tuple[str, ...] = ()  # any of these on the order
    category_ids: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()  # the advocate's tier is one of these
    variants: tuple[str, ...] = ()  # the advocate's experiment variant is one of these
    advocate: tuple[tuple[str, tuple[str, ...]], ...] = ()
    friend: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Cap:
    """At most `count` rewards, or `amount` of value, from one rule per advocate, per friend or
    in the whole program, within a period: `lifetime`, the calendar `month` or `year` (UTC) of
    the conversion, or the `days` whole days (UTC) up to and including it (`rolling`)."""

    per: str  # "advocate" | "friend" | "program"
    period: str  # "lifetime" | "month" | "year" | "rolling"
    count: int | None = None
    amount: int | None = None
    days: int = 0

    @property
    def name(self) -> str:
        return f"cap_{self.per}_{self.period}"


# What a rule has granted in a scope (or an advocate's qualified referrals and their revenue):
# (a UTC day's start, count, value) for each day a window needs, and (None, count, value) for
# all time.
Usage = tuple[tuple[datetime | None, int, int], ...]


@dataclass(frozen=True)
class Rule:
    """One reward rule of a program."""

    id: int
    beneficiary: str  # "advocate" | "friend"
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    name: str = ""
    conditions: Conditions = Conditions()
    hold_days: int | None = None  # the program's when None
    percent_of_order: int | None = None  # credit worth this share of the order, not `amount`
    refund_policy: str = "threshold"  # "threshold" | "proportional" | "full"
    starts_at: datetime | None = None  # the converting event's business time must be within
    ends_at: datetime | None = None
    caps: tuple[Cap, ...] = ()
    # A milestone bonus: only when the conversion makes the advocate's qualified referrals in
    # the program one of `milestone_at`, or a multiple of `milestone_every`.
    milestone_at: tuple[int, ...] = ()
    milestone_every: int | None = None
    # What grants: the conversion, or each of the friend's later occasions of one kind
    # ("subscription_payment", "nps", or "event" named `event_name`).
    trigger: str = "conversion"
    event_name: str = ""
    recurring_months: int | None = None  # payments this many months from the conversion
    max_total: int | None = None  # all of a referral's recurring grants, at most

    @property
    def is_milestone(self) -> bool:
        return bool(self.milestone_at) or self.milestone_every is not None

    @property
    def follows(self) -> bool:
        """Granted by occasions after the conversion, not by the conversion itself."""
        return self.trigger != "conversion"


@dataclass(frozen=True)
class Tiers:
    """Ambassador levels, lowest first: (name, minimum referrals or revenue)."""

    basis: str  # "referrals" | "revenue"
    period: str  # "lifetime" | "year" | "month"
    levels: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Program:
    id: int
    trigger: str  # "signup" | "purchase"
    min_amount: int | None
    currency: str
    first_purchase_only: bool
    attribution_days: int
    hold_days: int
    rules: tuple[Rule, ...]
    tiers: Tiers | None = None


@dataclass(frozen=True)
class Advocate:
    id: int
    participant: int
    email: str  # normalised; "" when unknown
    program: int
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    variant: str = ""  # their experiment variant; "holdout": no program for them


@dataclass(frozen=True)
class Touch:
    """An event on which the friend presented an advocate's code, link token or invite.

    `at` is when the friend was first touched that way (the click for a token, the invite for
    an email, the event itself for a code); `seen_at` is the event's own time.
    """

    event: str
    at: datetime
    seen_at: datetime
    advocate: Advocate
    source: str  # "code" | "token" | "email"
    click_id: str = ""


@dataclass(frozen=True)
class Signup:
    event: str
    at: datetime


@dataclass(frozen=True)
class Purchase:
    event: str
    at: datetime
    order_id: str
    amount: int
    currency: str
    product_ids: tuple[str, ...] = ()
    category_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refund:
    event: str
    at: datetime
    order_id: str
    amount: int | None = None  # the part refunded; None: the whole order
    # The business's own id for the event: refunds of one order at the same instant apply in
    # its order (public ids are random), whatever order they arrived in.
    external_id: str = ""


@dataclass(frozen=True)
class Occasion:
    """A friend's event that may trigger a rule after the conversion: a subscription payment
    (with its order), an NPS answer, or a custom event (`name`)."""

    event: str
    at: datetime
    kind: str  # "subscription_payment" | "nps" | "event"
    name: str = ""
    order_id: str = ""
    amount: int | None = None
    currency: str = ""


@dataclass(frozen=True)
class FriendFacts:
    """One friend's whole history that bears on one program, in any order."""

    friend: int
    friend_email: str  # normalised; "" when unknown
    program: Program
    friend_attributes: dict[str, Any] = field(default_factory=dict)
    # The friend's first past order imported as history, if any: it converts nothing, but a
    # friend who bought before the touch is an existing customer all the same.
    bought_before: datetime | None = None
    touches: tuple[Touch, ...] = ()
    signups: tuple[Signup, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    refunds: tuple[Refund, ...] = ()
    occasions: tuple[Occasion, ...] = ()
    # What each capped rule already granted, by (rule id, cap scope, scope participant or 0
    # for the program), not counting this friend's own referral in the program.
    usage: dict[tuple[int, str, int], Usage] = field(default_factory=dict)
    # Each advocate's qualified referrals in the program by UTC day (day, referrals, revenue),
    # not counting this friend's: for tiers and milestones.
    referrals: dict[int, Usage] = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """A reward the decision gives: one per (rule, beneficiary, occasion)."""

    rule: int
    beneficiary: str
    participant: int
    kind: str
    amount: int | None
    percent_off: int | None
    currency: str
    hold_until: datetime
    reversed_at: datetime | None = None  # a refund took it back
    reversed_by: str = ""
    earned_at: datetime | None = None  # the conversion, or the occasion
    occasion: str = ""  # the event of the occasion that granted it; "" for the conversion

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.rule, self.beneficiary, self.occasion)


@dataclass(frozen=True)
class ReferralPlan:
    """What one referral (one advocate -> this friend, in this program) should look like."""

    advocate: Advocate
    source: str
    click_id: str
    opened_by: str  # the event whose touch opened it
    created_at: datetime
    clicked_at: datetime | None
    status: str  # "signed_up" | "converted" | "rejected" | "reversed"
    reject_reason: str = ""
    rejected_at: datetime | None = None
    converted_at: datetime | None = None
    converted_by: str = ""  # the event that converted it
    order: Purchase | None = None
    reversed_at: datetime | None = None
    reversed_by: str = ""
    grants: tuple[Grant, ...] = ()
    # The rules that granted nothing at the conversion, and the condition that stopped each.
    stopped: tuple[tuple[int, str], ...] = ()
    # The advocate's tier at the conversion, and the one it lifted them to ("" if none).
    tier: str = ""
    promoted_to: str = ""
    # Events that bear on this referral (for each event's answer), with a word on why an
    # event did not convert it where there is one.
    events: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FriendDecision:
    referrals: tuple[ReferralPlan, ...]
    # For each event that presented a touch: "attributed", "locked_to_first_advocate" or
    # "expired".
    attribution: dict[str, str] = field(default_factory=dict)
