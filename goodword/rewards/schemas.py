"""What the manual reward actions take: one pydantic model per action, shared by the API (its
request bodies) and the dashboard's forms (which type money in major units, convert it and
then validate the same model), so both accept exactly the same input."""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from goodword.lib.money import MAX_AMOUNT, is_currency
from goodword.lib.schemas import Currency, ExternalId, PositiveAmount
from goodword.programs.rules import POINTS, Id, Kind, OfferSpec

# Why a manual action was taken, in the actor's words.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _ledger_currency(value: str) -> str:
    if value != POINTS and not is_currency(value):
        raise ValueError(
            f"{value!r} is not an ISO 4217 currency code such as USD or EUR, nor PTS (points)"
        )
    return value


# A currency the ledger keeps balances in: ISO 4217, or the pseudo-currency PTS for points.
LedgerCurrency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_ledger_currency)
]


def error_message(error: ErrorDetails) -> str:
    """A pydantic error's words without pydantic's prefix (the rules' own words)."""
    return str(error["msg"]).removeprefix("Value error, ")


class ManualRewardIn(BaseModel):
    """A reward granted by hand: what it gives is an `OfferSpec`, as in a reward rule (without
    `percent_of_order`: there is no order), and checked by it."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    amount: PositiveAmount | None = None
    percent_off: int | None = Field(default=None, ge=1, le=100, strict=True)
    currency: LedgerCurrency | None = Field(
        default=None,
        description="the program's currency when left out, else USD; points are always PTS",
    )
    sku: Id | None = Field(default=None, description="product: the free product's SKU")
    cause: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="charity: the cause the donation goes to"
    )
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None, description="custom: what the participant gets, in plain words"
    )
    reason: Reason
    program: str | None = Field(
        default=None, max_length=32, description="the program to book it to (its id)"
    )

    @model_validator(mode="after")
    def _offer(self) -> Self:
        self.offer(default_currency="USD")
        return self

    def offer(self, *, default_currency: str) -> OfferSpec:
        """What the reward gives, in `default_currency` when no currency was given."""
        data = self.model_dump(
            include={"kind", "amount", "percent_off", "sku", "cause", "description"},
            exclude_none=True,
        )
        if self.kind == "points":
            # OfferSpec gives points PTS, and refuses any other currency, naming the field.
            if self.currency not in (None, POINTS):
                data["currency"] = self.currency
        elif self.currency == POINTS:
            raise ValueError(f"currency PTS is for points only, not for a {self.kind} reward")
        else:
            data["currency"] = self.currency or default_currency
        try:
            return OfferSpec.model_validate(data)
        except ValidationError as exc:
            # The spec's own words, which name the field (it checks what goes with each kind).
            raise ValueError(error_message(exc.errors()[0])) from None


class CreditAdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        strict=True,
        description="minor units: more than 0 adds credit, less than 0 takes it",
    )
    currency: Currency
    reason: Reason
    key: ExternalId | None = Field(
        default=None, description="your idempotency key: a retry returns the first adjustment"
    )

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class PayoutBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Currency
    min_amount: int = Field(
        default=0,
        ge=0,
        le=MAX_AMOUNT,
        strict=True,
        description="minor units: participants owed less are left for a later batch",
    )


MAX_CODES = 10_000  # per upload
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
CODE_RULE = "a code is 1 to 40 letters, digits, dashes or underscores"


def is_code(text: str) -> bool:
    """Whether `text` is what shops accept as a coupon code."""
    return bool(_CODE.match(text))


def _check_code(code: str) -> str:
    if not is_code(code):
        raise ValueError(CODE_RULE)
    return code


Code = Annotated[str, AfterValidator(_check_code)]


class CodesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[Code] = Field(min_length=1, max_length=MAX_CODES)
