"""The whole program document that `POST /programs` takes: one pydantic model, shared by the
API, the dashboard's builder and its import, so all three accept exactly the same programs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from goodword.lib.schemas import Currency
from goodword.programs.rules import (
    MAX_RULES,
    EligibilitySpec,
    ExperimentSpec,
    RewardSpec,
    TiersSpec,
    TriggerSpec,
    check_rewards,
)

ProgramStatus = Literal["draft", "active", "paused", "ended"]
# The languages messages are written in (goodword/messaging/defaults/); "": the workspace's.
ProgramLanguage = Literal["", "en", "it"]


class ProgramIn(BaseModel):
    # The OpenAPI component keeps the name `ProgramIn` (it is the API's request body).
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    destination_url: str = Field(max_length=2000)
    rewards: list[RewardSpec] = Field(min_length=1, max_length=MAX_RULES)
    trigger: TriggerSpec = TriggerSpec()
    hold_days: int = Field(default=30, ge=0, le=3650, strict=True)
    attribution_days: int = Field(default=30, ge=1, le=3650, strict=True)
    currency: Currency = "USD"
    description: str = Field(default="", max_length=2000)
    language: ProgramLanguage = Field(
        default="",
        description="the language of its messages to people whose own is not known (en: "
        'English, it: Italian); empty ("") for the workspace\'s',
    )
    landing_page: bool = Field(
        default=False,
        description="referral links open a landing page with the offer, its terms and an "
        "email claim form before the destination (docs/sharing-landing.md); false: straight "
        "to the destination",
    )
    status: ProgramStatus = "active"
    tiers: TiersSpec | None = None
    experiment: ExperimentSpec | None = None
    eligibility: EligibilitySpec | None = None

    _rewards = field_validator("rewards")(check_rewards)

    def arguments(self) -> dict[str, Any]:
        """The document as the keyword arguments of `services.create_program` and
        `services.replace_configuration`, all but `status` (which each caller decides)."""
        return {
            "name": self.name,
            "destination_url": self.destination_url,
            "rewards": self.rewards,
            "trigger": self.trigger,
            "hold_days": self.hold_days,
            "attribution_days": self.attribution_days,
            "currency": self.currency,
            "description": self.description,
            "language": self.language,
            "landing_page": self.landing_page,
            "tiers": self.tiers,
            "experiment": self.experiment,
            "eligibility": self.eligibility,
        }
