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

# The median's steps: finer buckets of the same time from the first touch, in whole
# microseconds. A time's step is `bisect_right(STEPS, us)`: step 0 holds everything below 1
# second (negative too), the last everything from 2**30 seconds (34 years) on. Each step is
# 2**(1/4) times the one before: 122 steps, so a period's histogram is tens of rows per day
# and a step holds about 1/40th of the conversions where they are densest, the only facts the
# median reads (rolled.middle_took).
STEPS: tuple[int, ...] = tuple(round(1_000_000 * 2 ** (k / 4)) for k in range(121))
