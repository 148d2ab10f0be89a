"""Reward and trigger specifications: pydantic models shared by the API and the services."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from goodword.lib.money import MAX_AMOUNT
from goodword.lib.schemas import Currency


class RewardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    beneficiary: Literal["advocate", "friend"]
    kind: Literal["credit", "coupon"]
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT, strict=True)
    percent_off: int | None = Field(default=None, ge=1, le=100, strict=True)
    currency: Currency = "USD"

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        if self.kind == "credit" and (self.amount is None or self.percent_off is not None):
            raise ValueError("a credit reward needs `amount` (minor units) and no `percent_off`")
        if self.kind == "coupon" and (self.amount is None) == (self.percent_off is None):
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


def check_rewards(rewards: list[RewardSpec]) -> list[RewardSpec]:
    seen = set()
    for spec in rewards:
        if spec.beneficiary in seen:
            raise ValueError(f"more than one reward for the {spec.beneficiary}")
        seen.add(spec.beneficiary)
    return rewards
