"""Runs inside `goodword shell` for benches/dashboard.py: times every dashboard section page, a
program's page, a referral's page and `GET /api/v1/programs/{id}/stats` against a seeded
workspace; and, as each one's reference, the same page or call with every number computed from
the rows (`analytics.scope.computed_raw`: the straightforward queries the rollups are tested
against), plus the headline numbers by hand-written SQL. Prints JSON."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, OperationalError, connection
from django.test import Client
from django.urls import reverse

from goodword.accounts.models import Membership, Workspace
from goodword.accounts.services import create_api_key
from goodword.analytics.scope import computed_raw
from goodword.dashboard.context import SECTIONS
from goodword.programs.models import Program
from goodword.referrals.models import Referral

RUNS = int(os.environ.get("BENCH_RUNS", "10"))
# The raw references take seconds each at a million referrals: fewer runs of them, and none
# of their statements longer than this.
REFERENCE_RUNS = max(3, RUNS // 3)
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "60"))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank


class OverBudget(Exception):
    """A raw reference ran past its budget."""


@contextmanager
def budget(seconds: float) -> Iterator[Callable[[], None]]:
    """Stop a raw reference once it has run `seconds`: some take many minutes at a million
    referrals. Yields `start()`, to call when a request begins. A statement begun in time is
    stopped when the budget runs out (PostgreSQL: statement_timeout, set to what is left;
    SQLite: a progress handler); the next one is not begun (`OverBudget`)."""
    deadline = [0.0]

    def start() -> None:
        deadline[0] = time.perf_counter() + seconds

    def left_ms() -> int:
        left = deadline[0] - time.perf_counter()
        if left <= 0:
            raise OverBudget
        return max(1, int(left * 1000))

    def executing(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if connection.vendor == "postgresql":
            # The driver's own cursor: Django's would run this wrapper again.
            context["cursor"].cursor.execute(f"SET statement_timeout = {left_ms()}")
        else:
            left_ms()
        return execute(sql, params, many, context)

    connection.ensure_connection()
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        connection.connection.set_progress_handler(
            lambda: int(time.perf_counter() > deadline[0]), 10_000
        )
    try:
        with connection.execute_wrapper(executing):
            yield start
    finally:
        if sqlite:
            connection.connection.set_progress_handler(None, 0)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")


def reference(call: Callable[[], Any]) -> dict[str, Any]:
    """`timed(call)` computed from the rows, each request stopped after BUDGET_S: then the
    reference is at least the budget (`stopped`), and the page's ratio to it an upper
    bound."""
    try:
        with computed_raw(), budget(BUDGET_S) as start:

            def call_in_budget() -> None:
                start()
                call()

            return timed(call_in_budget, REFERENCE_RUNS)
    except (OverBudget, OperationalError, DatabaseError):
        return {"p95_ms": BUDGET_S * 1000, "median_ms": BUDGET_S * 1000, "stopped": True}


def timed(call: Callable[[], Any], runs: int = RUNS) -> dict[str, float]:
    call()  # warm: the first request compiles templates and fills caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p95_ms": round(p95(samples), 1),
        "median_ms": round(sorted(samples)[len(samples) // 2], 1),
    }


RAW = {
    "clicks": "SELECT count(*) FROM referrals_click"
    " WHERE workspace_id = %(w)s AND program_id = %(p)s"
    " AND created_at >= %(since)s AND created_at < %(until)s",
    "came": "SELECT count(*) FROM referrals_referral"
    " WHERE workspace_id = %(w)s AND program_id = %(p)s"
    " AND (status <> 'rejected' OR reject_reason = 'expired')"
    " AND created_at >= %(since)s AND created_at < %(until)s",
    "converted": "SELECT count(*) FROM referrals_referral WHERE workspace_id = %(w)s"
    " AND program_id = %(p)s AND status IN ('converted', 'rewarded')"
    " AND converted_at >= %(since)s AND converted_at < %(until)s",
    "revenue": "SELECT r.order_currency, sum(r.order_amount),"
    " sum(LEAST(COALESCE(b.total, 0), r.order_amount))"
    " FROM referrals_referral r JOIN participants_participant f ON f.id = r.referee_id"
    " LEFT JOIN (SELECT order_id, customer_external_id, sum(COALESCE(amount, 0)) AS total,"
    "   bool_or(amount IS NULL) AS whole FROM ingest_event WHERE workspace_id = %(w)s"
    "   AND type = 'refund' GROUP BY order_id, customer_external_id) b"
    " ON b.order_id = r.order_id AND b.customer_external_id = f.external_id"
    " WHERE r.workspace_id = %(w)s AND r.program_id = %(p)s AND r.order_amount IS NOT NULL"
    " AND r.converted_at >= %(since)s AND r.converted_at < %(until)s GROUP BY r.order_currency",
    "cost": "SELECT status, kind, currency, count(*), sum(amount) FROM rewards_reward"
    " WHERE workspace_id = %(w)s AND program_id = %(p)s"
    " AND COALESCE(earned_at, created_at) >= %(since)s"
    " AND COALESCE(earned_at, created_at) < %(until)s"
    " GROUP BY status, kind, currency",
}


def raw(params: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        for sql in RAW.values():
            if connection.vendor == "sqlite":
                sql = sql.replace("LEAST(", "MIN(").replace("bool_or(", "max(")
            cursor.execute(sql, params)
            cursor.fetchall()


def seeded_workspace() -> Workspace:
    """BENCH_WORKSPACE, or the first workspace `goodword seed` made (a rerun on a database
    seeded before)."""
    if os.environ.get("BENCH_WORKSPACE"):
        return Workspace.objects.get(public_id=os.environ["BENCH_WORKSPACE"])
    return Workspace.objects.filter(name__startswith="Seeded").order_by("pk")[0]


def main() -> None:
    workspace = seeded_workspace()
    program = Program.objects.get(workspace=workspace)
    user = Membership.objects.filter(workspace=workspace).first().user  # type: ignore[union-attr]
    browser = Client()
    browser.force_login(user)
    today = datetime.now(UTC).date()
    year = f"from={today - timedelta(days=364)}&to={today}"
    referral = Referral.objects.filter(workspace=workspace).order_by("-pk").first()
    assert referral is not None
    skip = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
    pages = {reverse(name): label for label, name in SECTIONS if label not in skip}
    pages[f"{reverse('dashboard:overview')}?{year}"] = "Overview, the last 365 days"
    pages[reverse("dashboard:program", args=[program.public_id])] = "A program"
    pages[reverse("dashboard:experiment", args=[program.public_id])] = "A program's experiment"
    pages[reverse("dashboard:referral", args=[referral.public_id])] = "A referral"
    out: dict[str, Any] = {"pages": {}, "vendor": connection.vendor}
    for path, label in pages.items():
        response = browser.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        out["pages"][label] = {"path": path, **timed(lambda path=path: browser.get(path))}
        out["pages"][label]["raw"] = reference(lambda path=path: browser.get(path))
    key = os.environ.get("BENCH_KEY") or create_api_key(workspace=workspace, name="bench")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    month = f"from={today - timedelta(days=29)}&to={today}"
    for label, query in (("30 days", f"?{month}"), ("all time (no period)", "")):
        path = f"/api/v1/programs/{program.public_id}/stats{query}"
        assert api.get(path).status_code == 200, path
        out["pages"][f"Stats API, {label}"] = {
            "path": path,
            **timed(lambda path=path: api.get(path)),
        }
        out["pages"][f"Stats API, {label}"]["raw"] = reference(lambda path=path: api.get(path))
    now = datetime.now(UTC)
    for label, days in (("30 days", 30), ("365 days", 365)):
        since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
        params = {
            "w": workspace.pk,
            "p": program.pk,
            "since": since,
            "until": now + timedelta(days=1),
        }
        out[f"raw {label}"] = timed(lambda params=params: raw(params))
    print(json.dumps(out))


main()
