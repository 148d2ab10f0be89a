"""Reward and trigger specifications: pydantic models shared by the API and the services."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from goodword.lib.money import MAX_AMOUNT
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


class RewardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)
    beneficiary: Literal["advocate", "friend"]
    kind: Literal["credit", "coupon"]
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT, strict=True)
    percent_off: int | None = Field(default=None, ge=1, le=100, strict=True)
    percent_of_order: int | None = Field(
        default=None,
        ge=1,
        le=100,
        strict=True,
        description="credit worth this percentage of the converting order, instead of `amount`",
    )
    currency: Currency = "USD"
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
    def _one_value(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.kind != "credit" and (self.expires_days or self.expiry_notice_days):
            raise ValueError("only credit expires: `expires_days` is for credit rewards")
        if self.expiry_notice_days and not self.expires_days:
            raise ValueError("`expiry_notice_days` needs `expires_days`")
        if self.expires_days and (self.expiry_notice_days or 0) >= self.expires_days:
            raise ValueError("`expiry_notice_days` must be less than `expires_days`")
        if self.milestone is not None and self.beneficiary != "advocate":
            raise ValueError("a milestone counts the advocate's referrals: it rewards the advocate")
        for cap in self.caps:
            if cap.amount is not None and self.amount is not None and cap.amount < self.amount:
                raise ValueError(
                    f"a cap of {cap.amount} is less than the reward's {self.amount}: "
                    "the rule could never grant"
                )
            if cap.amount is not None and self.kind == "coupon" and self.percent_off:
                raise ValueError("a percent-off coupon has no value to cap; cap its `count`")
        seen = [(c.per, c.period, c.days, c.count is None) for c in self.caps]
        if len(seen) != len(set(seen)):
            raise ValueError("two caps of the same kind for the same scope and period")
        if self.kind == "credit" and (
            (self.amount is None) == (self.percent_of_order is None) or self.percent_off
        ):
            raise ValueError(
                "a credit reward needs exactly one of `amount` (minor units) or "
                "`percent_of_order`, and no `percent_off`"
            )
        if self.kind == "coupon" and (
            (self.amount is None) == (self.percent_off is None) or self.percent_of_order
        ):
            raise ValueError("a coupon reward needs exactly one of `amount` or `percent_off`")
        return self


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


def stored_conditions(spec: ConditionsSpec) -> dict[str, object]:
    """The conditions as kept in a rule's row: only those given."""
    return spec.model_dump(exclude_none=True)
