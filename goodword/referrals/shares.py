"""Share events: an advocate tapped a share button. One row per share, counted by channel."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from goodword.participants.models import Advocate
from goodword.referrals.models import Share

CHANNELS = frozenset(Share.Channel.values)
SOURCES = frozenset(Share.Source.values)


def record(advocate: Advocate, channel: str, source: str, at: datetime | None = None) -> Share:
    """Record one share. An unknown channel counts as `other`; an unknown source is a bug."""
    if source not in SOURCES:
        raise ValueError(f"unknown share source {source!r}")
    return Share.objects.create(
        workspace_id=advocate.workspace_id,
        program_id=advocate.program_id,
        advocate=advocate,
        channel=channel if channel in CHANNELS else Share.Channel.OTHER,
        source=source,
        created_at=at or timezone.now(),
    )
