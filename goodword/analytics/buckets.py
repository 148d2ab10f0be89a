"""The time-to-convert buckets, shared by the raw computation and the rollups."""

from __future__ import annotations

from datetime import timedelta

# (label, from, to): time from the first touch to the conversion; `to` excluded, None: open.
# The first has no lower bound: a conversion recorded before its touch (business times sent
# out of order) took "under 1 hour" (rollup_sql.took_bucket writes the same in SQL).
BUCKETS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("under 1 hour", timedelta(0), timedelta(hours=1)),
    ("1 to 24 hours", timedelta(hours=1), timedelta(days=1)),
    ("1 to 3 days", timedelta(days=1), timedelta(days=3)),
    ("3 to 7 days", timedelta(days=3), timedelta(days=7)),
    ("7 to 30 days", timedelta(days=7), timedelta(days=30)),
    ("30 days or more", timedelta(days=30), None),
)
