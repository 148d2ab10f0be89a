from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from goodword.lib.schemas import Amount, Currency, Email, ExternalId, Name, Timestamp
from goodword.programs.rules import EventName

AttributeName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
CouponCode = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
AttributeValue = Annotated[str, StringConstraints(max_length=200)] | int | bool


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    email: Email | None = None
    name: Name | None = None
    attributes: Annotated[dict[AttributeName, AttributeValue], Field(max_length=50)] | None = Field(
        default=None, description="merged into the participant's attributes"
    )


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ExternalId
    category_id: ExternalId | None = None
    quantity: int = Field(default=1, ge=1, le=1_000_000, strict=True)
    amount: Amount | None = None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ExternalId
    amount: Amount | None = None
    currency: Currency | None = None
    items: Annotated[list[OrderItemIn], Field(max_length=100)] | None = None
    coupons: Annotated[list[CouponCode], Field(min_length=1, max_length=10)] | None = Field(
        default=None,
        description="the discount codes used on the order: an advocate's referral code or a "
        "coupon Goodword issued attributes the order (after `referral_code` and `ref_token`)",
    )


class EventIn(BaseModel):
    """A business event. `id` is the business's own unique id for it."""

    model_config = ConfigDict(extra="forbid")

    id: ExternalId
    type: Literal["signup", "purchase", "refund", "nps", "subscription_payment", "custom"]
    name: EventName | None = Field(
        default=None, description="a `custom` event's name, e.g. `review_posted` (lower case)"
    )
    customer: CustomerIn
    referral_code: str | None = Field(default=None, min_length=1, max_length=40)
    ref_token: str | None = Field(default=None, max_length=200)
    order: OrderIn | None = None
    occurred_at: Timestamp | None = None
    score: int | None = Field(
        default=None, ge=0, le=10, strict=True, description="an `nps` event's score, 0 to 10"
    )
    test: bool = Field(
        default=False,
        strict=True,
        description="sent in test mode: decided for a test customer, ignored for a live one, "
        "and never counted in analytics (`true` or `false`)",
    )

    @model_validator(mode="after")
    def _order_rules(self) -> Self:
        if (self.type == "nps") != (self.score is not None):
            raise ValueError("an `nps` event needs `score` (0 to 10), and only it takes one")
        if (self.type == "custom") != (self.name is not None):
            raise ValueError("a `custom` event needs `name`, and only it takes one")
        if self.type in ("purchase", "subscription_payment") and (
            self.order is None or self.order.amount is None or self.order.currency is None
        ):
            raise ValueError(
                f"a {self.type.replace('_', ' ')} needs `order` with `id`, `amount` and `currency`"
            )
        if self.type == "refund" and self.order is None:
            raise ValueError("a refund needs `order` with the `id` of the refunded order")
        return self
