"""What one refresh of the rollups recomputes, as the statements of the refresh read it: the ids
of the changed rows in a temporary table (`put`, joined by `Ids.has`), the days they touch
written into the statement (`days_in`, `clicks_on`). Each statement then runs once, set-wise.
Before, each ran once per chunk of 5,000 ids written into an `IN (...)` list (parsed on the
client), and per program and chunk of days; the statements that read a whole table read it
once per chunk, and a day of a million new events took 54 s to roll up.

A temporary table is private to its connection, so two refreshes cannot see each other's ids
(the refresh holds RollupState's lock anyway); it needs no migration, writes no WAL on
PostgreSQL, and works inside a transaction on both databases. Use it inside `tables()`. Days
are few (a day of activity touches one or two), and both databases plan a list of them well,
where SQLite, without statistics, reads a whole workspace to join a table of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

IDS = "rollup_ids"
Part = tuple[int, int | None, date]  # workspace, program, day


@dataclass(frozen=True)
class Ids:
    """Ids stored as `kind`, and their least and greatest."""

    kind: str
    low: int
    high: int

    def has(self, column: str) -> str:
        """A condition: `column` is one of these ids. The bounds are for the planner: the rows
        of a day of activity are the newest, so their ids are a range of the primary key (and
        of none of the facts yet), which it reads instead of the whole table."""
        return f"({column} BETWEEN {self.low} AND {self.high} AND {column} IN ({self.select}))"

    @property
    def select(self) -> str:
        """The statement that selects them."""
        return f"SELECT id FROM {IDS} WHERE kind = '{self.kind}'"  # noqa: S608


# The ids stored of each kind in this connection's refresh (`tables`), so that storing the
# same ones again writes nothing.
_stored: ContextVar[dict[str, tuple[frozenset[int], Ids]]] = ContextVar("scratch_stored")


@contextmanager
def tables() -> Iterator[None]:
    """Make the table if this connection has none yet, and empty it before and after (once:
    inside, another `tables()` keeps what was stored)."""
    if _stored.get(None) is not None:
        yield
        return
    _create()
    _empty()
    token = _stored.set({})
    try:
        yield
    finally:
        _stored.reset(token)
    _empty()


def put(kind: str, ids: Collection[int]) -> Ids:
    """Store these ids as `kind`, replacing any stored before (unless they are the same)."""
    chosen, stored = frozenset(ids), _stored.get()
    if kind in stored and stored[kind][0] == chosen:
        return stored[kind][1]
    if not kind.replace("_", "").isalnum():
        raise ValueError(f"not a kind of ids: {kind!r}")
    # One statement and one parameter, however many ids: an array or a JSON list. The array as
    # text: psycopg adapts a list of 100,000 ints in 250 ms, the server parses its text in 30.
    with connection.cursor() as cursor:
        if kind in stored:
            cursor.execute(f"DELETE FROM {IDS} WHERE kind = %s", [kind])  # noqa: S608
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {IDS} (kind, id) SELECT %s, unnest(%s::bigint[])",  # noqa: S608
                [kind, "{" + ",".join(map(str, chosen)) + "}"],  # not SQL: bigints or an error
            )
        else:
            cursor.execute(
                f"INSERT INTO {IDS} (kind, id) SELECT %s, value FROM json_each(%s)",  # noqa: S608
                [kind, json.dumps(list(chosen))],
            )
        # The planner's statistics of the table just filled (nothing analyzes a temporary
        # table): without them PostgreSQL guesses 0.5% of the rows for a kind, and SQLite
        # does not know the table is small.
        cursor.execute(f"ANALYZE {IDS}" if connection.vendor == "postgresql" else "ANALYZE temp")
    # Integers: the bounds are written into statements. No ids: bounds that hold none.
    out = Ids(kind, int(min(chosen, default=0)), int(max(chosen, default=-1)))
    stored[kind] = (chosen, out)
    return out


def days_in(
    parts: Collection[Part],
    day: str,
    *,
    workspace: str = "workspace_id",
    program: str | None = "program_id",
) -> str:
    """A condition: the columns `workspace`, `program` and `day` are those of one of these
    program-days; `program` None: `workspace` and `day` are those of one (any program's)."""
    terms = []
    for (w, p), days in _by_program(parts, program is not None).items():
        program_is = "" if program is None else f" AND {_is(program, p)}"
        listed = ", ".join(f"'{d.isoformat()}'" for d in sorted(days))
        terms.append(f"({workspace} = {int(w)}{program_is} AND {day} IN ({listed}))")
    return f"({' OR '.join(terms)})" if terms else "1 = 0"


def clicks_on(parts: Collection[Part], alias: str = "c") -> str:
    """A condition on clicks (`alias`): made on one of these program-days. By time, one range
    of the (workspace, program, created_at) index per run of consecutive days."""
    terms = []
    for (w, p), days in _by_program(parts, True).items():
        ranges = [
            f"({alias}.created_at >= {_midnight(first)} AND {alias}.created_at < {_midnight(end)})"
            for first, end in _runs(days)
        ]
        terms.append(
            f"({alias}.workspace_id = {int(w)} AND {_is(f'{alias}.program_id', p)}"
            f" AND ({' OR '.join(ranges)}))"
        )
    return f"({' OR '.join(terms)})" if terms else "1 = 0"


def _by_program(
    parts: Collection[Part], by_program: bool
) -> dict[tuple[int, int | None], set[date]]:
    out: dict[tuple[int, int | None], set[date]] = defaultdict(set)
    for w, p, d in parts:
        out[(w, p if by_program else None)].add(d)
    return out


def _is(column: str, value: int | None) -> str:
    return f"{column} IS NULL" if value is None else f"{column} = {int(value)}"


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, day after the last) ranges."""
    out: list[tuple[date, date]] = []
    for d in sorted(days):
        if out and out[-1][1] == d:
            out[-1] = (out[-1][0], d + timedelta(days=1))
        else:
            out.append((d, d + timedelta(days=1)))
    return out


def _midnight(d: date) -> str:
    """The start of a UTC day, as a literal of each database's timestamps (SQLite's: text)."""
    if connection.vendor == "postgresql":
        return f"'{d.isoformat()} 00:00:00+00'"
    return f"'{d.isoformat()} 00:00:00'"


def _create() -> None:
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Asked first: creating it again, even IF NOT EXISTS, writes to the catalog.
            cursor.execute(f"SELECT to_regclass('pg_temp.{IDS}')")
            if (cursor.fetchone() or (None,))[0] is not None:
                return
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {IDS} (kind varchar(32) NOT NULL,"
            " id bigint NOT NULL)"
        )
        if postgres:
            # A sample of 3,000 rows tells the planner enough (a few kinds; ids that do not
            # repeat within one), and takes 5 ms where the default 30,000 took 35: every
            # `put` is analyzed.
            cursor.execute(
                f"ALTER TABLE {IDS} ALTER COLUMN kind SET STATISTICS 10,"
                " ALTER COLUMN id SET STATISTICS 10"
            )


def _empty() -> None:
    with connection.cursor() as cursor:
        # PostgreSQL: TRUNCATE, not DELETE: nothing vacuums a temporary table, so the dead
        # rows of every refresh would stay with the connection.
        cursor.execute(
            f"TRUNCATE {IDS}" if connection.vendor == "postgresql" else f"DELETE FROM {IDS}"  # noqa: S608
        )
