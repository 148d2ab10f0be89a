"""INSERT many model instances fast: one `executemany` of one statement. Django's
`bulk_create` compiles its SQL value by value, and that took most of the time of writing
rollups and seeded history (six times the database's own time, measured with cProfile)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return lambda value: value


def insert(model: type[models.Model], objs: Sequence[models.Model], *, batch: int = 5_000) -> None:
    """INSERT `objs` with every concrete field as it is set on them; an automatic primary key
    left unset is left to the database. No signals, no `save()`: for rows of our own tables
    that need neither (rollups, seeded history)."""
    if not objs:
        return
    pk = model._meta.pk
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f is pk and isinstance(f, models.AutoField) and objs[0].pk is None)
    ]
    adapt = [_adapter(f) for f in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model
        quote(model._meta.db_table),
        ", ".join(quote(str(f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows = [
        tuple(a(getattr(o, f.attname)) for f, a in zip(fields, adapt, strict=True)) for o in objs
    ]
    with connection.cursor() as cursor:
        for at in range(0, len(rows), batch):
            cursor.executemany(sql, rows[at : at + batch])
