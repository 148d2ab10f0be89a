"""Reward and trigger specifications: pydantic models shared by the API and the services."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from goodword.lib.money import MAX_AMOUNT, is_currency
from goodword.lib.schemas import Amount, Currency, Timestamp

Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]
AttributeValues = Annotated[list[Id], Field(min_length=1, max_length=50)]
AttributeMatch = Annotated[dict[Id, AttributeValues], Field(max_length=20)]


class ConditionsSpec(BaseModel):
    """What the converting event and the two people must satisfy for a reward to be granted.
    Every condition given must hold; leave one out to not care."""

    model_config = ConfigDict(extra="forbid")

    min_amount: Amount | None = Field(
        default=None, description="the order amount at least this, in minor units"
    )
    max_amount: Amount | None = Field(
        default=None, description="the order amount at most this, in minor units"
    )
    currency: Currency | None = Field(default=None, description="the order in this currency")
    purchase_number: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        strict=True,
        description="the friend's nth purchase (1 = first), in business time",
    )
    product_ids: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="any of these products on the order (`order.items`)"
    )
    category_ids: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="any product of these categories on the order"
    )
    variants: Annotated[list[Id], Field(min_length=1, max_length=4)] | None = Field(
        default=None, description="the advocate's experiment variant is one of these"
    )
    tiers: Annotated[list[Id], Field(min_length=1, max_length=10)] | None = Field(
        default=None, description="the advocate's tier (the program's `tiers`) is one of these"
    )
    advocate: AttributeMatch | None = Field(
        default=None,
        description='the advocate\'s attributes: {"segment": ["vip", "gold"]} matches either',
    )
    friend: AttributeMatch | None = Field(
        default=None, description="the friend's attributes, matched the same way"
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and self.min_amount > self.max_amount
        ):
            raise ValueError("min_amount must not be more than max_amount")
        return self


class CapSpec(BaseModel):
    """At most `count` rewards, or `amount` of value, from this rule, per advocate, per friend
    or in the whole program, within a period."""

    model_config = ConfigDict(extra="forbid")

    per: Literal["advocate", "friend", "program"]
    period: Literal["lifetime", "month", "year", "rolling"] = Field(
        description="`month` and `year` are calendar periods in UTC of the conversion; "
        "`rolling` is the `days` whole days (UTC) up to and including it"
    )
    days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    count: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT, strict=True)

    @model_validator(mode="after")
    def _one_limit(self) -> Self:
        if (self.count is None) == (self.amount is None):
            raise ValueError("a cap needs exactly one of `count` or `amount`")
        if (self.period == "rolling") != (self.days is not None):
            raise ValueError("`days` goes with the `rolling` period, and only with it")
        return self


class MilestoneSpec(BaseModel):
    """A bonus when a conversion brings the advocate's qualified referrals in the program to
    one of `at`, or to every multiple of `every`."""

    model_config = ConfigDict(extra="forbid")

    at: Annotated[list[Annotated[int, Field(ge=1, le=100_000, strict=True)]], Field(
        min_length=1, max_length=20
    )] | None = None  # fmt: skip
    every: int | None = Field(default=None, ge=2, le=100_000, strict=True)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.at is None) == (self.every is None):
            raise ValueError("a milestone needs exactly one of `at` or `every`")
        if self.at is not None and self.at != sorted(set(self.at)):
            raise ValueError("`at` must be increasing, without repeats")
        return self

    def reached(self, n: int) -> bool:
        return n in self.at if self.at is not None else n % (self.every or 1) == 0


class TierSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Id
    min: int = Field(ge=0, le=MAX_AMOUNT, strict=True, description="referrals, or revenue")


class TiersSpec(BaseModel):
    """Ambassador levels: an advocate's tier is the highest whose `min` their qualified
    referrals (or the revenue those brought, in minor units) reach within `period`. Rules name
    the tiers they apply to in `conditions.tiers`; a tier counts the referrals before the
    conversion, so a promotion applies to later rewards."""

    model_config = ConfigDict(extra="forbid")

    basis: Literal["referrals", "revenue"] = "referrals"
    period: Literal["lifetime", "year", "month"] = "lifetime"
    levels: Annotated[list[TierSpec], Field(min_length=1, max_length=10)]

    @model_validator(mode="after")
    def _ladder(self) -> Self:
        mins = [level.min for level in self.levels]
        if mins != sorted(set(mins)):
            raise ValueError("tier levels must have increasing `min`, without repeats")
        names = [level.name for level in self.levels]
        if len(names) != len(set(names)):
            raise ValueError("tier names must be unique")
        return self


class VariantSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Id
    weight: int = Field(ge=1, le=100, strict=True)


class ExperimentSpec(BaseModel):
    """Offer variants: each advocate is assigned one, for good, when enrolled (weights are
    relative); `holdout_percent` of them get no program at all, to measure its lift. Rules name
    the variants they apply to in `conditions.variants`."""

    model_config = ConfigDict(extra="forbid")

    name: Id
    variants: Annotated[list[VariantSpec], Field(min_length=2, max_length=4)]
    holdout_percent: int = Field(default=0, ge=0, le=50, strict=True)

    @model_validator(mode="after")
    def _names(self) -> Self:
        names = [v.name for v in self.variants]
        if len(names) != len(set(names)) or "holdout" in names:
            raise ValueError("variant names must be unique, and not `holdout`")
        return self


class EligibilitySpec(BaseModel):
    """Who may be enrolled as an advocate: `everyone`; `customers` (after a first purchase,
    and `min_days_as_customer` days after it if given); `promoters` (whose latest NPS answer,
    an `nps` event, is 9 or 10); or those `listed` by external id."""

    model_config = ConfigDict(extra="forbid")

    who: Literal["everyone", "customers", "promoters", "listed"] = "everyone"
    min_days_as_customer: int | None = Field(default=None, ge=1, le=3650, strict=True)
    external_ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)] | None = None

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.min_days_as_customer is not None and self.who != "customers":
            raise ValueError("`min_days_as_customer` goes with `who: customers`")
        if (self.external_ids is not None) != (self.who == "listed"):
            raise ValueError("`external_ids` goes with `who: listed`, and it needs them")
        return self


Kind = Literal["credit", "coupon", "cash", "points", "product", "gift_card", "charity", "custom"]
# The ledger's pseudo-currency for points: an integer count, redeemable like credit.
POINTS = "PTS"
EventName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


def _currency_or_points(value: str) -> str:
    if value != POINTS and not is_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR")
    return value


# A reward's currency: ISO 4217, or the pseudo-currency of points (as exported).
OfferCurrency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency_or_points)
]


class CouponSpec(BaseModel):
    """How a coupon reward gets its code and what the code allows. Codes are generated (from
    `pattern`, or `prefix` and `length` random characters of an alphabet without look-alikes)
    unless `pool` names a coupon pool to draw them from."""

    model_config = ConfigDict(extra="forbid")

    pool: Id | None = Field(default=None, description="a coupon pool's id (`cpl_...`)")
    prefix: str = Field(
        default="", max_length=12, pattern=r"^[A-Z0-9-]*$", description="e.g. `FRIEND-`"
    )
    length: int = Field(
        default=10, ge=6, le=24, strict=True, description="random characters after `prefix`"
    )
    pattern: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^[A-Z0-9X-]*$",
        description="e.g. `REF-XXXX-XXXX`: each X a random character, the rest as written",
    )
    min_order: Amount | None = Field(
        default=None, description="the order must be at least this (minor units) to use it"
    )
    expires_days: int | None = Field(
        default=None, ge=1, le=3650, strict=True, description="valid this many days from issue"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.pool is not None and ({"prefix", "length", "pattern"} & self.model_fields_set):
            raise ValueError(
                "codes come from `pool`, or are generated by `pattern` or "
                "`prefix` and `length`: not both"
            )
        if self.pattern is not None:
            if "prefix" in self.model_fields_set or "length" in self.model_fields_set:
                raise ValueError("`pattern` says the whole code: leave out `prefix` and `length`")
            if self.pattern.count("X") < 6:
                raise ValueError("`pattern` needs at least 6 X (random characters)")
        return self


# The fields of an offer that only some kinds take (every kind takes `amount`): what the
# validation below enforces, and what the dashboard's builder shows for the kind chosen.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "percent_off": ("coupon",),
    "percent_of_order": ("credit", "cash"),
    "coupon": ("coupon",),
    "sku": ("product",),
    "cause": ("charity",),
    "description": ("custom",),
    "expires_days": ("credit", "points"),
    "expiry_notice_days": ("credit", "points"),
}


class OfferSpec(BaseModel):
    """What a reward gives. Every kind but `coupon` and `points` is money in `currency`.

    - `credit`: store credit, `amount` or `percent_of_order`; spent through redemptions.
    - `coupon`: a code worth `amount` off or `percent_off`; see `coupon`.
    - `cash`: money owed (a commission), `amount` or `percent_of_order`; paid in payouts.
    - `points`: `amount` points, kept and redeemed like credit in the pseudo-currency `PTS`.
    - `product` (a free `sku`), `gift_card` (`amount`), `charity` (`amount` given to `cause`),
      `custom` (`description`): fulfilled by the business through the fulfilment queue.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT, strict=True)
    percent_off: int | None = Field(default=None, ge=1, le=100, strict=True)
    percent_of_order: int | None = Field(
        default=None,
        ge=1,
        le=100,
        strict=True,
        description="credit or cash worth this percentage of the order, instead of `amount`",
    )
    currency: OfferCurrency = "USD"
    coupon: CouponSpec | None = Field(default=None, description="coupons only: the code")
    sku: Id | None = Field(default=None, description="product: the free product's SKU")
    cause: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="charity: the cause the donation goes to"
    )
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None, description="custom: what the beneficiary gets, in plain words"
    )

    @model_validator(mode="after")
    def _value(self) -> Self:
        kind, given = self.kind, self.model_fields_set
        value = ("amount", "percent_off", "percent_of_order")
        allowed = ("amount", *(n for n in value[1:] if kind in KIND_FIELDS[n]))
        have = [name for name in value if getattr(self, name) is not None]
        for name in have:
            if name not in allowed:
                takes = " or ".join(f"`{a}`" for a in allowed)
                raise ValueError(f"a {kind} reward takes {takes}, not `{name}`")
        if len(have) > 1:
            both = " and ".join(f"`{a}`" for a in have)
            raise ValueError(f"a {kind} reward takes only one of {both}")
        if not have and kind not in ("product", "custom"):
            raise ValueError(f"a {kind} reward needs " + " or ".join(f"`{a}`" for a in allowed))
        for name in ("coupon", "sku", "cause", "description"):
            (owner,) = KIND_FIELDS[name]
            if getattr(self, name) is not None and kind != owner:
                raise ValueError(f"`{name}` is for {owner} rewards only")
        for name, owner in (("sku", "product"), ("cause", "charity"), ("description", "custom")):
            if kind == owner and getattr(self, name) is None:
                raise ValueError(f"a {kind} reward needs `{name}`")
        if kind == "points":
            if "currency" in given and self.currency != POINTS:
                raise ValueError("points have no currency: leave out `currency`")
            self.currency = POINTS
        elif self.currency == POINTS:
            raise ValueError("`PTS` is the currency of points only")
        return self


class RewardSpec(OfferSpec):
    """One rule of a program: who gets what, on which event, under which conditions."""

    name: str = Field(default="", max_length=100)
    beneficiary: Literal["advocate", "friend"]
    trigger: Literal["conversion", "subscription_payment", "nps", "event"] = Field(
        default="conversion",
        description="`conversion`: when the referral converts (the program's trigger); "
        "`subscription_payment`: each of the friend's payments after it (`recurring_months`, "
        "`max_total`); `nps`: the friend's first NPS answer after it; `event`: the friend's "
        "first custom event `event_name` after it",
    )
    event_name: EventName | None = Field(default=None, description="with `trigger: event`")
    recurring_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        strict=True,
        description="subscription payments this many months from the conversion; "
        "left out: every payment, for as long as the subscription lasts",
    )
    max_total: int | None = Field(
        default=None,
        gt=0,
        le=MAX_AMOUNT,
        strict=True,
        description="subscription payments: at most this much in all, per referral",
    )
    choices: Annotated[list[OfferSpec], Field(min_length=1, max_length=3)] | None = Field(
        default=None,
        description="the beneficiary may pick one of these instead of this rule's own reward "
        "(its default) within `choice_days` of the grant",
    )
    choice_days: int | None = Field(default=None, ge=1, le=365, strict=True)
    refund_policy: Literal["threshold", "proportional", "full"] = Field(
        default="threshold",
        description="what a partial refund of the order does: `threshold` reverses the reward "
        "if what is left falls below the minimum that qualified it; `proportional` shrinks a "
        "`percent_of_order` reward with the order; `full` reverses it on any refund",
    )
    conditions: ConditionsSpec = Field(default_factory=ConditionsSpec)
    caps: Annotated[list[CapSpec], Field(max_length=5)] = Field(default_factory=list)
    milestone: MilestoneSpec | None = Field(
        default=None, description="grant only at these counts of the advocate's referrals"
    )
    hold_days: int | None = Field(
        default=None, ge=0, le=3650, strict=True, description="the program's hold when left out"
    )
    expires_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        strict=True,
        description="credit only: what is unspent this many days after approval expires",
    )
    expiry_notice_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        strict=True,
        description="credit only: tell the participant this many days before it expires",
    )
    starts_at: Timestamp | None = Field(
        default=None, description="grants only for conversions from this moment"
    )
    ends_at: Timestamp | None = Field(
        default=None, description="grants only for conversions before this moment"
    )

    @model_validator(mode="after")
    def _rule(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        expiring = KIND_FIELDS["expires_days"]
        if self.kind not in expiring and (self.expires_days or self.expiry_notice_days):
            raise ValueError("only credit and points expire: `expires_days` is for those")
        if self.expiry_notice_days and not self.expires_days:
            raise ValueError("`expiry_notice_days` needs `expires_days`")
        if self.expires_days and (self.expiry_notice_days or 0) >= self.expires_days:
            raise ValueError("`expiry_notice_days` must be less than `expires_days`")
        if self.milestone is not None and self.beneficiary != "advocate":
            raise ValueError("a milestone counts the advocate's referrals: it rewards the advocate")
        self._check_trigger()
        self._check_choices()
        for cap in self.caps:
            if cap.amount is not None and self.amount is not None and cap.amount < self.amount:
                raise ValueError(
                    f"a cap of {cap.amount} is less than the reward's {self.amount}: "
                    "the rule could never grant"
                )
            if cap.amount is not None and self.amount is None and self.percent_of_order is None:
                raise ValueError(
                    f"a {self.kind} reward without `amount` has no value to cap; cap its `count`"
                )
        seen = [(c.per, c.period, c.days, c.count is None) for c in self.caps]
        if len(seen) != len(set(seen)):
            raise ValueError("two caps of the same kind for the same scope and period")
        return self

    def _check_trigger(self) -> None:
        if (self.event_name is not None) != (self.trigger == "event"):
            raise ValueError("`event_name` goes with `trigger: event`, and it needs one")
        recurring = self.trigger == "subscription_payment"
        if not recurring and (self.recurring_months or self.max_total):
            raise ValueError(
                "`recurring_months` and `max_total` go with `trigger: subscription_payment`"
            )
        if self.trigger != "conversion":
            if self.milestone is not None:
                raise ValueError("a milestone counts conversions: it needs `trigger: conversion`")
            if self.conditions.purchase_number is not None:
                raise ValueError("`conditions.purchase_number` needs `trigger: conversion`")
        if self.max_total is not None and self.amount is not None and self.max_total < self.amount:
            raise ValueError(
                f"`max_total` {self.max_total} is less than one reward's "
                f"{self.amount}: the rule could never grant"
            )

    def _check_choices(self) -> None:
        if self.choices is None:
            if self.choice_days is not None:
                raise ValueError("`choice_days` goes with `choices`")
            return
        if self.choice_days is None:
            self.choice_days = 14
        if self.trigger == "subscription_payment":
            raise ValueError("a recurring reward has no choice: leave out `choices`")
        if any(cap.amount is not None for cap in self.caps):
            raise ValueError("a choice may change the reward's value: cap its `count`")
        if any(c.percent_of_order for c in [self, *self.choices]):
            raise ValueError("a choice is between fixed rewards: no `percent_of_order`")
        offered = [self.kind] + [c.kind for c in self.choices]
        if len(offered) != len(set(offered)):
            raise ValueError(
                "each choice must be a different kind from the others and the "
                "rule's own (the default)"
            )


# A rule's fields in a RewardSpec, in order: stored on RewardRule, exported, shown.
RULE_FIELDS = tuple(RewardSpec.model_fields)


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: Literal["signup", "purchase"] = "purchase"
    min_amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT, strict=True)
    first_purchase_only: bool = True

    @model_validator(mode="after")
    def _purchase_only_options(self) -> Self:
        if self.event == "signup" and self.min_amount is not None:
            raise ValueError("`min_amount` applies to the purchase trigger only")
        return self


MAX_RULES = 20


def check_rewards(rewards: list[RewardSpec]) -> list[RewardSpec]:
    names = [spec.name for spec in rewards if spec.name]
    if len(names) != len(set(names)):
        raise ValueError("reward names must be unique within a program")
    return rewards


def check_names(
    rewards: list[RewardSpec], tiers: TiersSpec | None, experiment: ExperimentSpec | None
) -> None:
    """Every tier and variant a rule names exists in the program."""
    known = {
        "tiers": {level.name for level in tiers.levels} if tiers else set(),
        "variants": {v.name for v in experiment.variants} if experiment else set(),
    }
    for i, spec in enumerate(rewards):
        for kind, names in (
            ("tiers", spec.conditions.tiers),
            ("variants", spec.conditions.variants),
        ):
            for name in names or ():
                if name not in known[kind]:
                    have = ", ".join(sorted(known[kind]))
                    raise ValueError(
                        f"rewards[{i}].conditions.{kind}: {name!r} is not one of the program's "
                        f"{kind}" + (f" ({have})" if have else " (it has none)")
                    )
