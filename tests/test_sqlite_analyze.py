"""The scheduler's ANALYZE: on SQLite when a watched table reaches its first rows without
statistics or grows tenfold since them; never on PostgreSQL (autovacuum analyzes)."""

from __future__ import annotations

import pytest
from django.db import connection
from pytest_django import DjangoAssertNumQueries

from goodword.accounts.models import Workspace
from goodword.ops import analyze
from goodword.participants.models import Participant


def participants(workspace: Workspace, n: int) -> None:
    start = Participant.objects.filter(workspace=workspace).count()
    Participant.objects.bulk_create(
        Participant(workspace=workspace, external_id=f"p{i}") for i in range(start, start + n)
    )


def analyzed_rows(table: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = %s", [table]
        )
        (rows,) = cursor.fetchone()
    return None if rows is None else int(rows)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statistics")
def test_sqlite_is_analyzed_at_its_first_rows_and_when_tenfold(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze, "MIN_ROWS", 20)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")  # a fresh install has none
    workspace = Workspace.objects.create(name="acme")
    participants(workspace, 5)
    assert analyze.analyze_if_grown() is False  # too few rows to matter
    participants(workspace, 15)
    assert analyze.analyze_if_grown() is True
    table = Participant._meta.db_table
    assert analyzed_rows(table) == 20
    assert analyze.analyze_if_grown() is False  # nothing grew since
    participants(workspace, 150)
    assert analyze.analyze_if_grown() is False  # 170: not yet tenfold
    participants(workspace, 30)
    assert analyze.analyze_if_grown() is True
    assert analyzed_rows(table) == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's autovacuum")
def test_postgresql_is_left_to_autovacuum(
    db: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    workspace = Workspace.objects.create(name="acme")
    participants(workspace, 50)
    with django_assert_num_queries(0):
        assert analyze.analyze_if_grown() is False
