"""The few ways the rollups' modules run their SQL: a statement, its rows, ids in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import connection

CHUNK = 5_000


def run(statement: str, params: Sequence[Any] = ()) -> int:
    """Run a statement; the rows it changed (0 when the database does not say)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(int(cursor.rowcount), 0)


def rows(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def as_date(value: date | str) -> date:
    """A date column's value: SQLite's raw SQL answers text."""
    return value if isinstance(value, date) else date.fromisoformat(value)
