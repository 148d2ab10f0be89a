"""The tier and segment rollups (SegmentDay, SegmentRevenueDay, SegmentCostDay): the advocates'
days, conversions with an order and rewards summed per day and the tier and segment each
advocate has now, so a period's tiers and segments are sums over its days (`rolled.by_advocate`).

Kept as `rollups` keeps the others, recomputed and never adjusted by a difference: the days
whose advocate days, referral facts or reward facts were recomputed are summed again, and so is
every day of an advocate whose tier or segment changed (SegmentAdvocate remembers the ones the
days were summed with). A promotion so sums again the promoted advocates' days, up to their
program's whole history.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from goodword.analytics import rollup_db as db
from goodword.analytics import scratch
from goodword.analytics.models import (
    AdvocateDay,
    AdvocateFact,
    ReferralFact,
    RewardFact,
    SegmentAdvocate,
    SegmentCostDay,
    SegmentDay,
    SegmentRevenueDay,
)

MODELS = (SegmentDay, SegmentRevenueDay, SegmentCostDay, SegmentAdvocate)
Part = tuple[int, int | None, date]  # workspace, program, day
T = {
    m.__name__: m._meta.db_table
    for m in (AdvocateDay, AdvocateFact, ReferralFact, RewardFact, *MODELS)
}
KEYS = "COALESCE(f.tier, ''), COALESCE(f.segment, '')"
JOIN = f"JOIN {T['AdvocateFact']} f ON f.advocate_id = x.advocate_id"
# Each table: what it sums, from which facts (`x`), by which day column.
SUMS = {
    SegmentDay: (
        "clicks, came, converted",
        "SUM(x.clicks), SUM(x.came), SUM(x.converted)",
        T["AdvocateDay"], "day", "1 = 1", "",
    ),
    SegmentRevenueDay: (
        "currency, orders, gross, refunded",
        "x.currency, COUNT(*), SUM(x.amount), SUM(x.refunded)",
        T["ReferralFact"], "converted_on",
        "x.amount IS NOT NULL AND x.converted_on IS NOT NULL", ", x.currency",
    ),
    SegmentCostDay: (
        "status, kind, currency, count, unvalued, amount",
        "x.status, x.kind, x.currency, COUNT(*), SUM(CASE WHEN x.valued THEN 0 ELSE 1 END),"
        " SUM(x.amount)",
        T["RewardFact"], "day", "x.advocate_id IS NOT NULL", ", x.status, x.kind, x.currency",
    ),
}  # fmt: skip


def rebuild() -> None:
    """Every row from scratch, after the advocates' facts and days and the referral and
    reward facts."""
    for model in SUMS:
        db.run(_insert(model, "1 = 1"))
    db.run(_remember("1 = 1"))


def update(advocates: set[int], days: set[Part], reward_days: set[Part]) -> None:
    """Sum again the program-days whose advocate days or referral facts (`days`) or reward
    facts (`reward_days`) were recomputed, and every day of the advocates among `advocates`
    (whose facts were recomputed) whose tier or segment changed."""
    moved = _moved(advocates)
    activity, revenue, cost = set(days), set(days), set(reward_days)
    if moved:
        chosen = scratch.put("moved", moved).has("advocate_id")
        activity |= _parts("day", T["AdvocateDay"], chosen)
        revenue |= _parts(
            "converted_on", T["ReferralFact"], f"{chosen} AND converted_on IS NOT NULL"
        )
        cost |= _parts("day", T["RewardFact"], chosen)
    chosen_days = {SegmentDay: activity, SegmentRevenueDay: revenue, SegmentCostDay: cost}
    for model, parts in chosen_days.items():
        if not parts:
            continue
        on = scratch.days_in(parts, f"x.{SUMS[model][3]}", workspace="x.workspace_id",
                             program="x.program_id")  # fmt: skip
        db.run(f"DELETE FROM {T[model.__name__]} WHERE {scratch.days_in(parts, 'day')}")  # noqa: S608 - fixed
        db.run(_insert(model, on))


def _insert(model: type[Any], where: str) -> str:
    """INSERT `model`'s sums of the facts `x` matching `where`."""
    columns, sums, facts, day, kept, by = SUMS[model]
    return f"""INSERT INTO {T[model.__name__]} (workspace_id, program_id, day, tier, segment,
  {columns})
SELECT x.workspace_id, x.program_id, x.{day}, {KEYS}, {sums}
FROM {facts} x {JOIN} WHERE {kept} AND {where}
GROUP BY x.workspace_id, x.program_id, x.{day}, {KEYS}{by}"""  # noqa: S608 - tables, fixed conditions


def _remember(where: str) -> str:
    """INSERT the tier and segment of the advocates' facts matching `where`."""
    return f"""INSERT INTO {T["SegmentAdvocate"]} (advocate_id, tier, segment)
SELECT advocate_id, tier, segment FROM {T["AdvocateFact"]} WHERE {where}"""  # noqa: S608


def _moved(advocates: set[int]) -> set[int]:
    """The advocates whose tier or segment is not the one their days were summed with (or
    who gained or lost their fact); remembers the ones they have now."""
    if not advocates:
        return set()
    chosen = scratch.put("advocates", advocates).has("advocate_id")
    kept, now = (
        f"SELECT advocate_id, tier, segment FROM {T[name]} WHERE {chosen}"  # noqa: S608
        for name in ("SegmentAdvocate", "AdvocateFact")
    )
    # EXCEPT compares NULLs as equal, as Python's `!=` did the rows fetched.
    moved = {
        int(row[0])
        for row in db.rows(
            f"SELECT advocate_id FROM ({kept} EXCEPT {now}) x"  # noqa: S608
            f" UNION SELECT advocate_id FROM ({now} EXCEPT {kept}) y"
        )
    }
    db.run(f"DELETE FROM {T['SegmentAdvocate']} WHERE {chosen}")  # noqa: S608
    db.run(_remember(chosen))
    return moved


def _parts(day: str, table: str, where: str) -> set[Part]:
    """The program-days (by `day`) of the rows of `table` matching `where`."""
    statement = f"SELECT DISTINCT workspace_id, program_id, {day} FROM {table} WHERE {where}"  # noqa: S608
    return {(w, p, db.as_date(d)) for w, p, d in db.rows(statement)}
