"""Cash rewards and payouts. (Being built: see issue 6, section 2.)"""

from __future__ import annotations

from datetime import datetime

from goodword.rewards.models import Reward


def owe(reward: Reward, *, now: datetime) -> None:
    """An approved cash reward: owed to the participant in their payable account."""
    raise NotImplementedError


def claw_back(
    reward: Reward, *, now: datetime, amount: int | None = None, refund: str = ""
) -> None:
    """Take back an approved cash reward, all that is left of it or `amount`."""
    raise NotImplementedError
