"""The fulfilment queue: rewards the business delivers itself. (Being built: issue 6.)"""

from __future__ import annotations

from datetime import datetime

from goodword.rewards.models import Reward


def queue(reward: Reward, *, now: datetime) -> None:
    """An approved reward of a queued kind: wait for the business to deliver it."""
    raise NotImplementedError


def cancel(reward: Reward, *, now: datetime) -> None:
    """A reversed reward: what was still to deliver is not delivered."""
    raise NotImplementedError
