"""Coupon rewards: codes generated or drawn from pools. (Being built: issue 6, section 2.)"""

from __future__ import annotations

import secrets
from datetime import datetime

from goodword.events import services as events
from goodword.lib.codes import SAFE_ALPHABET
from goodword.rewards.models import Reward


def issue(reward: Reward, *, now: datetime, actor: str = "") -> None:
    """Give an approved coupon reward its code (or leave it waiting for a pool's codes)."""
    reward.coupon_code = "".join(secrets.choice(SAFE_ALPHABET) for _ in range(10))
    reward.status, reward.fulfilled_at = Reward.Status.FULFILLED, now
    reward.save(update_fields=["status", "fulfilled_at", "coupon_code"])
    events.record(
        "reward.fulfilled",
        workspace_id=reward.workspace_id,
        subject_id=reward.public_id,
        data={
            "referral": reward.referral.public_id if reward.referral else None,
            **({"actor": actor} if actor else {}),
        },
        now=now,
    )


def revoke(reward: Reward, *, now: datetime) -> None:
    """A reversed coupon reward: its code must no longer be honoured."""
