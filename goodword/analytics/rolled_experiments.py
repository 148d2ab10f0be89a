"""The experiment's numbers read from the rollups, in the shapes `experiments` computes from
the rows: the variants' counts from the referral and reward facts of the friends who came in
the period, the holdout lift from the bought facts (`rollup_experiments`). Over all history,
the sums per advocate are read from each advocate's totals (ExperimentTotal), not every fact.

Every number is a count or a sum of whole minor units, per advocate where a mean needs one, so
the intervals made of them are the raw computation's floats exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection
from django.db.models import Sum

from goodword.analytics import rolled, rollup_experiments, rollups
from goodword.analytics.models import (
    BoughtFact,
    EnrolledDay,
    ExperimentDay,
    ExperimentTotal,
    ReferralDay,
    ReferralFact,
)
from goodword.analytics.scope import Scope
from goodword.decisions.experiments import HOLDOUT

TOTALS = ExperimentTotal._meta.db_table
ARM = rollup_experiments.ARM  # the holdout, and every other variant ("")

# Values of a group of advocates (those with none left out): how many, their sum, and the sum
# of their squares, exact integers (`intervals.Sample` with the group's size).
Sums = tuple[int, int, int]


@dataclass(frozen=True)
class Counts:
    """Per variant: advocates enrolled by the end of the period, friends who came in it, of
    them converted and standing, the advocates with a converted friend as (how many, their
    converted, the sum of squares of their converted), net revenue and reward cost per
    currency."""

    advocates: dict[str, int]
    friends: dict[str, int]
    converted: dict[str, int]
    per_advocate: dict[str, Sums]
    revenue: dict[str, dict[str, int]]
    cost: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Arms:
    """The holdout lift's groups, the holdout (HOLDOUT) and every other variant (""):
    advocates enrolled by the end of the period; per advocate with a friend who bought, the
    friends who bought, and per currency their purchases' net revenue, as `Sums`."""

    advocates: dict[str, int]
    customers: dict[str, Sums]
    revenue: dict[str, dict[str, Sums]]  # currency: arm: sums


def assigned(scope: Scope) -> set[str]:
    """The variants the program's advocates have, enrolled whenever ("" left out)."""
    rollups.catch_up()
    rows = EnrolledDay.objects.filter(workspace_id=scope.workspace_id).exclude(variant="")
    if scope.program_id is not None:
        rows = rows.filter(program_id=scope.program_id)
    return set(rows.values_list("variant", flat=True).distinct())


def counts(scope: Scope) -> Counts:
    """`experiments._variants`' counts: the friends who came from the daily sums, their live
    conversions per advocate from the referral facts, the money from the experiment days."""
    rollups.catch_up()
    came = rolled.of_period(scope, ReferralDay.objects.exclude(variant=""))
    friends = {
        name: int(n)
        for name, n in came.values_list("variant").annotate(n=Sum("came")).order_by()
        if n
    }
    period, params = _period(scope, "created_on")
    live_per_advocate = f"""SELECT advocate_id, variant, COUNT(*) AS n
  FROM {ReferralFact._meta.db_table}
  WHERE workspace_id = %s AND program_id = %s AND came AND variant <> '' AND live{period}
  GROUP BY advocate_id, variant"""  # noqa: S608 - tables, fixed conditions
    if _all_history(scope):
        live_per_advocate = f"""SELECT variant, value AS n FROM {TOTALS}
  WHERE workspace_id = %s AND program_id = %s AND kind = 'friends'"""  # noqa: S608 - a table
    converted: dict[str, int] = {}
    per_advocate: dict[str, Sums] = {}
    # Squares of counts: far from 64 bits.
    for name, k, live, squares in _fetch(
        f"""SELECT variant, COUNT(*), SUM(n), SUM(n * n) FROM ({live_per_advocate}) x
GROUP BY variant""",  # noqa: S608 - fixed SQL
        [scope.workspace_id, scope.program_id, *params],
    ):
        converted[name] = int(live)
        per_advocate[name] = (int(k), int(live), int(squares))
    revenue: dict[str, dict[str, int]] = {}
    cost: dict[str, dict[str, int]] = {}
    period, params = _period(scope, "day")
    for name, currency, orders, net, rewards, spent in _fetch(
        f"""SELECT variant, currency, SUM(orders), SUM(revenue), SUM(rewards), SUM(cost)
FROM {ExperimentDay._meta.db_table} WHERE workspace_id = %s AND program_id = %s{period}
GROUP BY variant, currency""",  # noqa: S608 - tables, fixed conditions
        [scope.workspace_id, scope.program_id, *params],
    ):
        if orders:
            revenue.setdefault(name, {})[currency] = int(net)
        if rewards:
            cost.setdefault(name, {})[currency] = int(spent)
    return Counts(
        advocates=rolled.enrolled_by_variant(scope),
        friends=friends,
        converted=converted,
        per_advocate=per_advocate,
        revenue=revenue,
        cost=cost,
    )


def arms(scope: Scope) -> Arms:
    """`experiments._lift`'s groups from the bought facts of the period's purchases: per
    advocate, the referrals with a purchase in the period (each one's first there: the row
    whose previous purchase is before the period), and the purchases' net per currency."""
    rollups.catch_up()
    enrolled = rolled.enrolled_by_variant(scope)
    advocates = {
        HOLDOUT: enrolled.get(HOLDOUT, 0),
        "": sum(n for name, n in enrolled.items() if name not in ("", HOLDOUT)),
    }
    if _all_history(scope):
        customers, revenue = _of_totals(scope)
        return Arms(advocates=advocates, customers=customers, revenue=revenue)
    within: list[str] = []
    params: list[Any] = [scope.workspace_id, scope.program_id]
    if scope.since is not None:
        within.append("at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(scope.since))
    if scope.until is not None:
        within.append("at < %s")
        params.append(connection.ops.adapt_datetimefield_value(scope.until))
    first = "prev_at IS NULL"
    if scope.since is not None:
        first = "(prev_at IS NULL OR prev_at < %s)"
        params.insert(0, connection.ops.adapt_datetimefield_value(scope.since))
    per_advocate = f"""SELECT advocate_id, {ARM} AS arm, currency,
  SUM(CASE WHEN {first} THEN 1 ELSE 0 END) AS n, SUM(net) AS net, COUNT(net) AS priced
FROM {BoughtFact._meta.db_table}
WHERE workspace_id = %s AND program_id = %s{"".join(f" AND {w}" for w in within)}
GROUP BY advocate_id, {ARM}, currency"""  # noqa: S608 - tables, fixed conditions
    if connection.vendor == "postgresql":
        customers, revenue = _summed(per_advocate, params)
    else:
        customers, revenue = _summed_here(_fetch(per_advocate, params))
    return Arms(advocates=advocates, customers=customers, revenue=revenue)


def _all_history(scope: Scope) -> bool:
    return scope.start is None and scope.end is None


def _of_totals(scope: Scope) -> tuple[dict[str, Sums], dict[str, dict[str, Sums]]]:
    """The arms' sums over all history from the advocates' totals: per advocate with a
    counted purchase, the referrals whose first one it is; per advocate and currency with a
    priced purchase, their net."""
    params = [scope.workspace_id, scope.program_id]
    customers = {
        group: (int(k), int(total), int(squares))
        for group, k, total, squares in _fetch(
            f"""SELECT variant, COUNT(*), SUM(value), SUM(value * value) FROM {TOTALS}
WHERE workspace_id = %s AND program_id = %s AND kind = 'customers' GROUP BY variant""",  # noqa: S608 - a table
            params,
        )
    }
    revenue: dict[str, dict[str, Sums]] = defaultdict(dict)
    for currency, group, k, total, squares in _squared(
        f"""SELECT currency, variant AS arm, value AS net FROM {TOTALS}
WHERE workspace_id = %s AND program_id = %s AND kind = 'revenue'""",  # noqa: S608 - a table
        params,
    ):
        revenue[currency][group] = (int(k), int(total), int(squares))
    return customers, dict(revenue)


# Past this, a square of minor units is more than 64-bit integers hold.
SQUARE_ROOT_MAX = 3_037_000_499


def _squared(nets: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """(currency, arm, advocates, sum, sum of squares) of the per-advocate `nets`: on
    PostgreSQL exact however large (a bigint's sum is a numeric); on SQLite while none can pass
    64 bits (SQLite turns an overflowing product into a float and fails an overflowing sum),
    else summed in Python."""
    # The squares that fit as bigints (all but the rare ones): summed without numerics.
    small = f"SUM(CASE WHEN ABS(net) <= {SQUARE_ROOT_MAX} THEN net * net END)"
    if connection.vendor == "postgresql":
        return _fetch(
            f"""SELECT currency, arm, COUNT(*), SUM(net), COALESCE({small}, 0)
  + COALESCE(SUM(CASE WHEN ABS(net) > {SQUARE_ROOT_MAX} THEN CAST(net AS NUMERIC) * net END), 0)
FROM ({nets}) x GROUP BY arm, currency""",  # noqa: S608 - fixed SQL
            params,
        )
    try:
        # Grouped in the order of the totals' index: no sorting.
        rows = _fetch(
            f"""SELECT currency, arm, COUNT(*), SUM(net), COALESCE({small}, 0), MAX(ABS(net))
FROM ({nets}) x GROUP BY arm, currency""",  # noqa: S608 - fixed SQL
            params,
        )
        if all(int(row[5]) <= SQUARE_ROOT_MAX for row in rows):
            return [row[:5] for row in rows]
    except OperationalError:  # integer overflow
        pass
    values: dict[tuple[str, str], list[int]] = defaultdict(list)
    for currency, group, net in _fetch(nets, params):
        values[(currency, group)].append(int(net))
    return [(currency, group, *sums(v)) for (currency, group), v in values.items()]


def _summed(
    per_advocate: str, params: list[Any]
) -> tuple[dict[str, Sums], dict[str, dict[str, Sums]]]:
    """The arms' sums in the database: squares as numerics, exact however large."""
    customers: dict[str, Sums] = {}
    revenue: dict[str, dict[str, Sums]] = defaultdict(dict)
    for currency, group, k, total, squares in _fetch(
        f"""WITH a AS ({per_advocate})
SELECT NULL, arm, COUNT(*), SUM(n), SUM(CAST(n AS NUMERIC) * n)
FROM (SELECT arm, SUM(n) AS n FROM a GROUP BY advocate_id, arm) b GROUP BY arm
UNION ALL
SELECT currency, arm, COUNT(*), SUM(net), SUM(CAST(net AS NUMERIC) * net) FROM a
WHERE priced > 0 AND currency <> '' GROUP BY currency, arm""",  # noqa: S608 - fixed SQL
        params,
    ):
        sums = (int(k), int(total), int(squares))
        if currency is None:
            customers[group] = sums
        else:
            revenue[currency][group] = sums
    return customers, dict(revenue)


def _summed_here(
    rows: list[tuple[Any, ...]],
) -> tuple[dict[str, Sums], dict[str, dict[str, Sums]]]:
    """The arms' sums from each advocate's rows, in Python: SQLite's integers are 64 bits,
    and a sum of squares of money may not fit."""
    bought: dict[tuple[str, int], int] = defaultdict(int)
    spent: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for advocate, group, currency, n, net, priced in rows:
        bought[(group, advocate)] += int(n)
        if priced and currency:
            spent[currency][group].append(int(net))
    customers: dict[str, list[int]] = defaultdict(list)
    for (group, _), n in bought.items():
        customers[group].append(n)
    return (
        {group: sums(values) for group, values in customers.items()},
        {
            currency: {group: sums(values) for group, values in groups.items()}
            for currency, groups in spent.items()
        },
    )


def sums(values: list[int]) -> Sums:
    """`Sums` of these values."""
    return len(values), sum(values), sum(v * v for v in values)


def _period(scope: Scope, column: str) -> tuple[str, list[Any]]:
    """A condition on a date column for the scope's days, with its parameters."""
    adapt = connection.ops.adapt_datefield_value
    where, params = "", list[Any]()
    if scope.start is not None:
        where, params = where + f" AND {column} >= %s", [*params, adapt(scope.start)]
    if scope.end is not None:
        where, params = where + f" AND {column} <= %s", [*params, adapt(scope.end)]
    return where, params


def _fetch(statement: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return list(cursor.fetchall())
