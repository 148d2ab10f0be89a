"""The plain-SQL helpers write exactly what the ORM would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Field

from goodword.events.models import DomainEvent
from goodword.lib import sql
from goodword.referrals.models import Referral

SAMPLES: list[Any] = [
    None,
    "",
    "text",
    0,
    7,
    True,
    False,
    Referral.Status.SIGNED_UP,
    datetime(2026, 3, 1, 12, tzinfo=UTC),
    {"a": [1, "b"]},
]


def _fields() -> list[Field[Any, Any]]:
    return [
        field
        for model in apps.get_models()
        if model.__module__.startswith("goodword.")
        for field in model._meta.concrete_fields
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("field", _fields(), ids=lambda f: f"{f.model.__name__}.{f.name}")
def test_prepared_values_are_the_orms(field: Field[Any, Any]) -> None:
    for value in SAMPLES:
        assert _outcome(sql._prep, field, value) == _outcome(_orm, field, value), (field, value)


def _orm(field: Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _outcome(prep: Any, field: Field[Any, Any], value: Any) -> tuple[str, str]:
    try:
        got = prep(field, value)
    except Exception as exc:  # the ORM refuses some samples; so must the helper
        return ("raises", type(exc).__name__)
    return (type(got).__name__, repr(got))


@pytest.mark.django_db
def test_insert_many_returns_ids_in_the_rows_order() -> None:
    from tests.factories import make_api

    workspace = make_api("Acme").workspace
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    rows = [
        sql.values_of(
            DomainEvent(
                workspace_id=workspace.pk, name="x", subject_id=f"s{i}", data={}, created_at=now
            )
        )
        for i in range(250)  # three statements of up to 100 rows
    ]
    ids = sql.insert_many(DomainEvent, rows, ids=True)
    stored = dict(DomainEvent.objects.filter(pk__in=ids).values_list("pk", "subject_id"))
    assert [stored[pk] for pk in ids] == [f"s{i}" for i in range(250)]
