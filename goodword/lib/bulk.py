"""Write many rows fast: plain tuples, with COPY on PostgreSQL and one `executemany` on SQLite,
for millions of rows (seeded history). Django's `bulk_create` compiles its SQL value by value
(six times the database's own time) and building a model instance per row cost more than the
database's work, both measured with cProfile."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, models


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return lambda value: value


def write_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    fixed: Mapping[str, Any] | None = None,
) -> None:
    """Write `rows`, tuples of the values of `columns` (attnames: `workspace_id`), as new rows of
    `model`. Every other concrete field takes its value in `fixed`, else its default (a callable
    one, such as a public id, called for every row; a JSON one adapted once), else NULL; an
    automatic primary key not among `columns` is left to the database. PostgreSQL loads them
    with COPY (psycopg 3), SQLite with one `executemany`. No model instances, signals, `save()`
    or validation: for rows of our own tables that need none (seeded history)."""
    if not rows:
        return
    shape = _Shape(model, columns, fixed or {})
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(str(f.column)) for f in shape.fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in shape.complete(rows):
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(shape.fields))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - model names
            cursor.executemany(sql, list(shape.complete(rows)))


class _Shape:
    """The columns of `model` that `write_rows` writes, in order: those given, then those made
    fresh for every row, then the constant ones (already adapted for the database)."""

    def __init__(
        self, model: type[models.Model], columns: Sequence[str], fixed: Mapping[str, Any]
    ) -> None:
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        unknown = sorted((set(columns) | set(fixed)) - set(by_name))
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
        self.fields = [by_name[name] for name in columns]
        self.adapt = [(at, _prep(f)) for at, f in enumerate(self.fields) if not _plain(f)]
        self.fresh: list[Callable[[], Any]] = []
        given = set(columns)
        constant: list[tuple[models.Field[Any, Any], Any]] = []
        for f in model._meta.concrete_fields:
            if f.attname in given:
                continue
            if f.attname in fixed:
                constant.append((f, fixed[f.attname]))
            elif f.primary_key and isinstance(f, models.AutoField):
                continue  # the database numbers the rows
            elif f.has_default() and callable(f.default) and not isinstance(f, models.JSONField):
                self.fresh.append(f.default)  # a public id: one of its own for every row
                self.fields.append(f)
            elif f.has_default():
                constant.append((f, f.get_default()))
            elif f.db_default is not models.NOT_PROVIDED:
                continue  # the database fills it
            elif f.null:
                constant.append((f, None))
            else:
                raise ValueError(f"{model.__name__}.{f.attname} has no default: give its value")
        self.fields += [f for f, _ in constant]
        self.tail = tuple(None if v is None else _prep(f)(v) for f, v in constant)

    def complete(self, rows: Sequence[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        adapt, fresh, tail = self.adapt, self.fresh, self.tail
        for given in rows:
            row = given
            if adapt:
                values = list(given)
                for at, prep in adapt:
                    if values[at] is not None:
                        values[at] = prep(values[at])
                row = tuple(values)
            yield row + tuple([make() for make in fresh]) + tail


# psycopg writes these itself; SQLite wants Django's text forms of them.
_NATIVE_ON_POSTGRESQL: tuple[type[models.Field[Any, Any]], ...] = (
    models.DateField,
    models.TimeField,
    models.DecimalField,
    models.UUIDField,
)


def _plain(field: models.Field[Any, Any]) -> bool:
    """Whether the driver takes the field's Python values as they are."""
    if isinstance(field, models.ForeignKey):
        return _plain(field.target_field)
    if isinstance(field, models.CharField | models.TextField | models.IntegerField):
        return True
    if isinstance(field, models.BooleanField):
        return True
    return connection.vendor == "postgresql" and isinstance(field, _NATIVE_ON_POSTGRESQL)


def _prep(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    if isinstance(field, models.JSONField):
        # Text for both: COPY's text format and SQLite take it; a psycopg `Jsonb` wrapper was
        # serialised again for every row.
        return lambda value: json.dumps(value, cls=field.encoder)
    if (
        isinstance(field, models.DateTimeField)
        and connection.vendor == "sqlite"
        and settings.USE_TZ
    ):
        # Django's text form (`adapt_datetimefield_value`) without its checks per value, which
        # cost three times the conversion.
        zone = connection.timezone
        return lambda value: str(
            value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
        )
    if isinstance(field, models.DateField):
        return _adapter(field)
    return lambda value: field.get_db_prep_save(value, connection)
