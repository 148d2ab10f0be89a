"""Rollups of each advocate's activity over a period: who shared in it (SharingDay), and each
advocate's totals over all time (AdvocateTotal), the leaderboard's bound.

An advocate shared in [s, e] when they have an active day (an AdvocateDay with a share event, a
click or a friend who came) in it, and then exactly one of those days is their first in it: the
one whose previous active day is before s, or that has none. So SharingDay counts, per program,
day and previous active day, the advocates active that day, and a period's sharing advocates
are the rows of its days whose previous day is before its start (`rolled.sharing`). Rows grow
with the pairs of days, not with the advocates.

Kept as `rollups` keeps the others, recomputed and never adjusted by a difference: when a
program's days of advocate rows were recomputed, the SharingDay rows of those days are, and of
the days whose previous active day may have moved: for each advocate whose days changed, their
next active day after each of those days (an active day between two others that comes or goes
changes only the following one).

AdvocateTotal sums each advocate's days; it is recomputed for every advocate whose days were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import connection

from goodword.analytics import rollup_db as db
from goodword.analytics import rollup_sql as sql
from goodword.analytics import scratch
from goodword.analytics.models import AdvocateDay, AdvocateTotal, SharingDay

MODELS = (SharingDay, AdvocateTotal)
# Past this many (advocate, day) look-ups for one program, recomputing its every row is
# cheaper than finding which of its days moved (a rebuild-sized change).
LOOKUPS = 100_000
DAYS, SHARING = AdvocateDay._meta.db_table, SharingDay._meta.db_table
TOTALS = AdvocateTotal._meta.db_table
ACTIVE = sql.ACTIVE
Part = tuple[int, int | None, date]  # workspace, program, day


def rebuild() -> None:
    """Every row from scratch, after the advocates' days."""
    db.run(_insert_all("1 = 1"))
    db.run(_insert_totals("1 = 1"))


def update(advocates: set[int], days: set[Part]) -> None:
    """Recompute the rows of these program-days, whose advocates' days were recomputed, and
    of the days after them whose previous active day may have moved (`advocates`: every
    advocate who had or has a row on them, maybe more); and these advocates' totals."""
    chosen = scratch.put("advocates", advocates)
    db.run(f"DELETE FROM {TOTALS} WHERE {chosen.has('advocate_id')}")  # noqa: S608
    db.run(_insert_totals(chosen.has("advocate_id")))
    by_program: dict[tuple[int, int], set[date]] = defaultdict(set)
    for workspace, program, day in days:
        if program is not None:  # advocates' days always have a program
            by_program[(workspace, program)].add(day)
    for (workspace, program), some in by_program.items():
        if len(advocates) * len(some) > LOOKUPS:
            SharingDay.objects.filter(workspace_id=workspace, program_id=program).delete()
            db.run(_insert_all("workspace_id = %s AND program_id = %s"), [workspace, program])
            continue
        moved = some | _next_days(workspace, program, chosen, sorted(some))
        for part in db.chunks(sorted(moved)):
            SharingDay.objects.filter(
                workspace_id=workspace, program_id=program, day__in=part
            ).delete()
            db.run(_insert_days(len(part)), [workspace, program, *_dates(part)])


def _insert_all(where: str) -> str:
    """INSERT the rows of the advocates' days matching `where`, each active day with the one
    before it (the same advocate's in the same program)."""
    return f"""INSERT INTO {SHARING} (workspace_id, program_id, day, prev, count)
SELECT workspace_id, program_id, day, prev, COUNT(*) FROM (
  SELECT workspace_id, program_id, day, LAG(day) OVER (
    PARTITION BY workspace_id, program_id, advocate_id ORDER BY day) AS prev
  FROM {DAYS} WHERE {ACTIVE} AND {where}
) x GROUP BY workspace_id, program_id, day, prev"""  # noqa: S608 - tables, fixed conditions


def _insert_totals(where: str) -> str:
    return f"""INSERT INTO {TOTALS} (workspace_id, program_id, advocate_id, clicks, came, converted)
SELECT workspace_id, program_id, advocate_id, SUM(clicks), SUM(came), SUM(converted)
FROM {DAYS} WHERE {where} GROUP BY workspace_id, program_id, advocate_id"""  # noqa: S608


def _insert_days(n: int) -> str:
    """INSERT the rows of one program's `n` days (workspace, program, then the days)."""
    before = f"""(SELECT MAX(y.day) FROM {DAYS} y WHERE y.advocate_id = d.advocate_id
    AND y.workspace_id = d.workspace_id AND y.program_id = d.program_id AND y.day < d.day
    AND (y.clicks > 0 OR y.came > 0 OR y.shares > 0))"""  # noqa: S608 - tables, fixed conditions
    return f"""INSERT INTO {SHARING} (workspace_id, program_id, day, prev, count)
SELECT workspace_id, program_id, day, prev, COUNT(*) FROM (
  SELECT d.workspace_id, d.program_id, d.day, {before} AS prev FROM {DAYS} d
  WHERE d.workspace_id = %s AND d.program_id = %s AND d.day IN ({", ".join(["%s"] * n)})
    AND (d.clicks > 0 OR d.came > 0 OR d.shares > 0)
) x GROUP BY workspace_id, program_id, day, prev"""  # noqa: S608 - tables, fixed conditions


def _next_days(workspace: int, program: int, advocates: scratch.Ids, days: list[date]) -> set[date]:
    """Each advocate's first active day after each of these days, in this program. By the
    advocate and day alone (an advocate's days are all in its workspace): with the workspace
    too, PostgreSQL read the workspace's days from each day on for each advocate, its
    statistics not knowing they were just written (19 s for a new workspace's day at a
    million referrals)."""
    marks = ", ".join(["(%s)"] * len(days))
    statement = f"""SELECT DISTINCT (SELECT MIN(y.day) FROM {DAYS} y
    WHERE y.advocate_id = a.id AND y.day > t.column1 AND y.program_id = %s
      AND (y.clicks > 0 OR y.came > 0 OR y.shares > 0))
FROM ({advocates.select}) a CROSS JOIN (VALUES {marks}) t"""  # noqa: S608 - tables, integers
    rows = db.rows(statement, [program, *_dates(days)])
    return {db.as_date(d) for (d,) in rows if d is not None}


def _dates(days: Iterable[date]) -> list[Any]:
    return [connection.ops.adapt_datefield_value(d) for d in days]
