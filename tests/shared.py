"""Helpers shared by several test modules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction

from goodword.accounts.models import Workspace


@contextmanager
def kept_for_module(django_db_blocker: Any) -> Iterator[None]:
    """Keep data built once for a module, rolled back when the module is done.

    Like Django's `setUpTestData`: the module's data lives in an outer transaction, and each
    test (through the `db` fixture) runs in a savepoint inside it that is rolled back, so every
    test starts from the same rows without paying to build them again. Keep out of such a
    module any test that makes the code close the connection (`links.resolve` does on a
    database error): that ends the outer transaction and the module's data with it.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def _has_workspace(model: type[models.Model]) -> bool:
    return any(f.name == "workspace" for f in model._meta.get_fields())


def row_counts(workspace: Workspace | None = None) -> dict[str, int]:
    """Rows per model of every installed app: all of them, or those of one workspace.

    One query for all tables: tests call this before and after every bad request.
    """
    chosen = [
        m
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy and (workspace is None or _has_workspace(m))
    ]
    q = connection.ops.quote_name
    where = f" WHERE {q('workspace_id')} = %s" if workspace is not None else ""
    # Only model table names go into the text, quoted; the workspace is a parameter.
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {q(m._meta.db_table)}{where})"  # noqa: S608
        for m in chosen
    )
    sql = f"SELECT {counts}"
    params = [workspace.pk] * len(chosen) if workspace is not None else []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {m._meta.label: int(n) for m, n in zip(chosen, row, strict=True)}


def run_goodword(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `goodword ARGS` as a newcomer would: a separate process with the given environment."""
    return subprocess.run(
        [sys.executable, "-m", "goodword", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def post_events_at_once(key: str, bodies: list[dict[str, Any]]) -> list[int]:
    """POST each body to /events from its own thread (and database connection), all released
    together by a barrier; the statuses in the bodies' order."""
    import json
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.test import Client

    barrier = threading.Barrier(len(bodies), timeout=60)

    def call(body: dict[str, Any]) -> int:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/events",
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )
            return int(response.status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


_ZERO_LINE = {"available": 0, "pending": 0, "debt": 0, "payable": 0, "paying": 0, "paid": 0}


def balance_line(
    currency: str = "USD", next_expiry: dict[str, Any] | None = None, **values: int
) -> dict[str, Any]:
    """A line of `GET /participants/{id}/balance`: the amounts given, the others 0."""
    unknown = set(values) - set(_ZERO_LINE)
    assert not unknown, unknown
    return {"currency": currency, **_ZERO_LINE, "next_expiry": next_expiry, **values}
