"""Plain SQL for hot paths, with the ORM's own value conversions.

On these machines the ORM spends ~300-500 us building each query, while the statement itself
through Django's cursor costs ~20-100 us. Event ingestion runs about a dozen statements per
event, so its hot statements are written out here. Rows come back as ordinary model instances
(converted exactly as the ORM would), and values go in through each field's own preparation,
so JSON, datetimes and booleans behave the same on SQLite and PostgreSQL. Both databases
support `INSERT … ON CONFLICT DO NOTHING … RETURNING` (SQLite since 3.35).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, ForeignKey, Model
from django.db.models.base import ModelState
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


@cache
@cache
def _fields(model: type[Model], names: tuple[str, ...]) -> tuple[Field[Any, Any], ...]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(by_attname[name] for name in names)


@cache
def _converters(
    model: type[Model], names: tuple[str, ...], vendor: str
) -> tuple[tuple[int, tuple[Converter, ...], Col], ...]:
    out = []
    for i, field in enumerate(_fields(model, names)):
        col = Col(model._meta.db_table, field)
        convs = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if convs:
            out.append((i, convs, col))
    return tuple(out)


def columns(model: type[Model], names: Sequence[str], table: str | None = None) -> str:
    """`t.a, t.b, …` for a SELECT list, by attname (`workspace_id`, not `workspace`)."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + str(f.column) for f in _fields(model, tuple(names)))


def select(model: type[Model], names: Sequence[str], where: str) -> str:
    """`SELECT <columns> FROM <table> WHERE <where>`: write `where` with %s parameters only."""
    return f"SELECT {columns(model, names)} FROM {model._meta.db_table} WHERE {where}"  # noqa: S608


def build(model: type[M], names: Sequence[str], row: Sequence[Any]) -> M:
    """A model instance from a row of `columns(model, names)`; other fields load on use."""
    values = list(row)
    for i, convs, col in _converters(model, tuple(names), connection.vendor):
        for convert in convs:
            values[i] = convert(values[i], col, connection)
    return model.from_db(DEFAULT_DB_ALIAS, list(names), values)


def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def fetch(model: type[M], names: Sequence[str], sql: str, params: Sequence[Any]) -> list[M]:
    """Run a SELECT whose leading columns are `columns(model, names)`; build instances."""
    width = len(names)
    return [build(model, names, row[:width]) for row in rows(sql, params)]


_CHUNK = 100

# Values that Django's own preparation would return unchanged, by field type: skipping the
# call saves a few percent of an event's CPU. Anything else (datetimes, JSON, …) goes through
# the field; `tests/test_sql.py` holds this to the ORM's output on both databases.
_TEXT = (str,)  # str subclasses too, as choices are
_INTEGER = (int,)
_PASS_THROUGH: dict[str, tuple[type, ...]] = {
    "CharField": _TEXT, "EmailField": _TEXT, "SlugField": _TEXT, "TextField": _TEXT,
    # PostgreSQL's backend types the integer fields (Int2, Int4, Int8, …) for the driver: only
    # a foreign key's integer passes as it is.
    "ForeignKey": _INTEGER,
}  # fmt: skip


@cache
def _passes(field: Field[Any, Any]) -> tuple[type, ...]:
    if isinstance(field, ForeignKey) and field.target_field.get_internal_type() not in (
        "AutoField",
        "BigAutoField",
    ):
        return ()
    return _PASS_THROUGH.get(field.get_internal_type(), ())


def _prep(field: Field[Any, Any], value: Any) -> Any:
    kinds = _passes(field)
    if kinds and (value is None or (isinstance(value, kinds) and not isinstance(value, bool))):
        return value
    return field.get_db_prep_save(value, connection)


# With parameters bound on the server (`_bulk_cursor`), the driver takes these as they are.
_BOUND = (str, int, datetime)


def _prep_bound(field: Field[Any, Any], value: Any, conn: Any) -> Any:
    if value is None or (isinstance(value, _BOUND) and field.get_internal_type() != "JSONField"):
        return value
    return field.get_db_prep_save(value, conn)


def _insert(model: type[Model], fields: Sequence[Field[Any, Any]], rows: int = 1) -> str:
    # Identifiers come from the model's metadata, never from input; values are parameters.
    names = ", ".join(str(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {model._meta.db_table} ({names}) VALUES {', '.join([row] * rows)}"


def insert(
    model: type[Model], values: dict[str, Any], *, on_conflict_skip: bool = False
) -> int | None:
    """Insert one row (values by attname) and return its id; None when skipped on conflict."""
    fields = _fields(model, tuple(values))
    params = [_prep(f, values[f.attname]) for f in fields]
    sql = _insert(model, fields) + (" ON CONFLICT DO NOTHING" if on_conflict_skip else "")
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING id", params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


@contextmanager
def _bulk_cursor() -> Iterator[Any]:
    """A cursor for bulk statements. On PostgreSQL it binds parameters on the server: Django's
    default cursor quotes every value into the SQL text on the client, which for a 1,000-row
    batch costs more than the database's own work."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:  # type: ignore[attr-defined]
        yield cursor


@cache
def _unnest(model: type[Model], fields: tuple[Field[Any, Any], ...]) -> str:
    # One array parameter per column: a short statement, the same for any number of rows, so
    # psycopg parses it once (a 100-row VALUES list is parsed anew each time: ~0.3 ms a row).
    names = ", ".join(str(f.column) for f in fields)
    # Binary arrays (%b): the text format escapes every element with a regular expression.
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
    return f"INSERT INTO {model._meta.db_table} ({names}) SELECT * FROM unnest({arrays})"


def insert_many(
    model: type[Model], rows: Sequence[dict[str, Any]], *, ids: bool = False
) -> list[int]:
    """Insert rows that share their keys (by attname): on PostgreSQL in one statement, one
    array per column (`unnest`); on SQLite one statement per 100 rows.

    With `ids=True` (the model must have a `public_id`), return their ids in the rows' order.
    """
    if not rows:
        return []
    # Nullable columns no row sets are left to the database: a reward has a dozen dates and
    # options that are empty when it is created, and each column sent costs an array to build.
    fields = tuple(
        f
        for f in _fields(model, tuple(rows[0]))
        if not f.null or any(row[f.attname] is not None for row in rows)
    )
    if connection.vendor == "postgresql":
        conn = connections[DEFAULT_DB_ALIAS]  # once: `connection` is a per-thread proxy
        columns = [[_prep_bound(f, row[f.attname], conn) for row in rows] for f in fields]
        statements = [(_unnest(model, fields), columns)]
    else:
        statements = []
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            params = [_prep(f, row[f.attname]) for row in chunk for f in fields]
            statements.append((_insert(model, fields, rows=len(chunk)), params))
    returned: dict[str, int] = {}
    with _bulk_cursor() as cursor:
        for statement, params in statements:
            if not ids:
                cursor.execute(statement, params)
                continue
            # Neither database promises RETURNING in the order of the rows: match by public id.
            cursor.execute(statement + " RETURNING public_id, id", params)
            returned.update((public_id, int(pk)) for public_id, pk in cursor.fetchall())
    return [returned[row["public_id"]] for row in rows] if ids else []


@cache
def _defaults(model: type[Model]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    return tuple((f.attname, f._get_default) for f in model._meta.concrete_fields)  # type: ignore[attr-defined]


def instance(model: type[M], **values: Any) -> M:
    """A new, unsaved instance with these column values (by attname) and every other field's
    default: what `model(**values)` makes, without its cost (a batch builds thousands; the
    ORM's constructor is a fifth of a batch's CPU). No `pre_init`/`post_init` signals."""
    obj = model.__new__(model)
    obj._state = ModelState()
    fields = obj.__dict__
    for name, default in _defaults(model):
        fields[name] = values.pop(name) if name in values else default()
    if values:
        raise TypeError(f"{model.__name__} has no fields {sorted(values)}")
    return obj


def values_of(instance: Model) -> dict[str, Any]:
    """An unsaved instance's column values by attname, without its (unset) id."""
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key
    }


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a statement; return the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def convert(field: Field[Any, Any], value: Any) -> Any:
    """A raw column value as the ORM would return it (a datetime from SQLite's text, say)."""
    col = Col(field.model._meta.db_table, field)
    for conv in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = conv(value, col, connection)
    return value


def update_many(
    model: type[Model], set_names: Sequence[str], where: str, rows: Sequence[dict[str, Any]]
) -> int:
    """`UPDATE … SET <set_names> WHERE id = %s [AND <where>]` once per row, sent together
    (`executemany`). Each row holds the values by attname, its `id`, and under `where` a tuple
    for the `%s` slots of `where`. Returns the number of rows changed, in total."""
    if not rows:
        return 0
    fields = _fields(model, tuple(set_names))
    assignments = ", ".join(f"{f.column} = %s" for f in fields)
    statement = f"UPDATE {model._meta.db_table} SET {assignments} WHERE id = %s"  # noqa: S608
    if where:
        statement += f" AND {where}"
    params = [
        [*(_prep(f, row[f.attname]) for f in fields), row["id"], *row.get("where", ())]
        for row in rows
    ]
    with _bulk_cursor() as cursor:
        cursor.executemany(statement, params)
        return int(cursor.rowcount)
