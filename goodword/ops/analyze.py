"""Planner statistics on SQLite: `ANALYZE` when the tables that grow with traffic have grown
tenfold since the statistics were gathered (or have none), so that a fresh install that grows
keeps good plans.

SQLite plans from `sqlite_stat1` alone and never gathers it by itself: without it (or with the
statistics of a small database) the advocates page took 3-5 s and the 30-day overview
430-775 ms at 100,000 referrals, instead of tens of ms. Tenfold, not daily: the plans change
with the tables' order of magnitude, not with a day's rows, and a full ANALYZE holds the write
lock while it reads every index (97 s at a million referrals), so a database that grows
steadily is analyzed a handful of times in its life. The check reads `sqlite_stat1` and each
table's highest id (an index look-up): cheap enough for every sweep.

PostgreSQL: nothing to do, autovacuum analyzes tables as they change.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.db.models import Max, Model

from goodword.ingest.models import Event
from goodword.participants.models import Advocate, Participant
from goodword.referrals.models import Click, Referral
from goodword.rewards.models import Reward

logger = logging.getLogger(__name__)

# The tables that grow with traffic; the rollups' grow with them.
WATCHED: tuple[type[Model], ...] = (Referral, Click, Participant, Advocate, Event, Reward)
# Below this many rows any plan is fast: a new install is not analyzed at its first rows.
MIN_ROWS = 1_000
GROWTH = 10


def analyze_if_grown() -> bool:
    """ANALYZE (SQLite) when a watched table has grown GROWTH times since it was analyzed, or
    has MIN_ROWS and was never analyzed; whether it did."""
    if connection.vendor != "sqlite":
        return False
    grown = _grown()
    if not grown:
        return False
    logger.info("analyzing the database: %s grew since its statistics", ", ".join(grown))
    # Every table: the rollups and the rest grew with the watched ones.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True


def _grown() -> list[str]:
    analyzed = _analyzed()
    grown = []
    for model in WATCHED:
        rows = model._default_manager.aggregate(top=Max("pk"))["top"] or 0  # ~ its rows, cheaply
        table = model._meta.db_table
        if rows >= max(MIN_ROWS, GROWTH * analyzed.get(table, 0)):
            grown.append(table)
    return grown


def _analyzed() -> dict[str, int]:
    """Rows per table when last analyzed: the first number of each of its `sqlite_stat1`
    rows (an empty table has none)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return {}
        cursor.execute("SELECT tbl, MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl")
        return {table: int(rows or 0) for table, rows in cursor.fetchall()}
