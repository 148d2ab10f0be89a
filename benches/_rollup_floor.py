"""The floor of a refresh, for the note of docs/benchmarks.md section 6: the rollup rows of the
newest workspace (after benches/dashboard.py, the rollup probe's day), already computed, copied
into empty tables of the same shape and indexes, in a transaction rolled back. Prints the
seconds per table and in all. PostgreSQL's copies are temporary tables (no WAL): a lower bound.

    GOODWORD_DATA_DIR=DIR DATABASE_URL=URL .venv/bin/goodword shell --no-imports \\
        -c "exec(open('benches/_rollup_floor.py').read())"
"""

from __future__ import annotations

import time

from django.db import connection, transaction

from goodword.accounts.models import Workspace
from goodword.analytics import rollups


def copy_table(cursor: object, table: str) -> str:
    """An empty temporary table shaped and indexed as `table`; its name."""
    copy = f"floor_{table}"
    if connection.vendor == "postgresql":
        cursor.execute(f"CREATE TEMP TABLE {copy} (LIKE {table} INCLUDING ALL)")  # type: ignore[attr-defined]
        return copy
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL ORDER BY type DESC",
        [table],
    )
    for (ddl,) in cursor.fetchall():  # type: ignore[attr-defined]
        ddl = ddl.replace(f'"{table}"', f'"{copy}"', 1).replace("CREATE TABLE", "CREATE TEMP TABLE")
        for create in ("CREATE INDEX ", "CREATE UNIQUE INDEX "):
            ddl = ddl.replace(f'{create}"', f'{create}temp."floor_', 1)
        cursor.execute(ddl)  # type: ignore[attr-defined]
    return copy


workspace = Workspace.objects.order_by("-pk")[0]
timed: list[tuple[float, int, str]] = []
with transaction.atomic(), connection.cursor() as cursor:
    for model in rollups.ROLLUPS:
        table = model._meta.db_table
        if not any(f.name == "workspace_id" for f in model._meta.fields):
            continue
        cursor.execute(f"SELECT count(*) FROM {table} WHERE workspace_id = %s", [workspace.pk])  # noqa: S608
        rows = cursor.fetchone()[0]
        if rows:
            copy = copy_table(cursor, table)
            started = time.perf_counter()
            copied = f"INSERT INTO {copy} SELECT * FROM {table} WHERE workspace_id = %s"  # noqa: S608
            cursor.execute(copied, [workspace.pk])
            timed.append((time.perf_counter() - started, rows, table))
    transaction.set_rollback(True)
for seconds, rows, table in sorted(timed, reverse=True):
    print(f"{table}: {rows:,} rows, {seconds:.2f} s")
rows, seconds = sum(r for _, r, _ in timed), sum(s for s, _, _ in timed)
print(f"{workspace.public_id}: {rows:,} rows in {seconds:.2f} s")
