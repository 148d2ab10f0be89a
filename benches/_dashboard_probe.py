"""Runs inside `goodword shell` for benches/dashboard.py: times every dashboard section page, a
program's page, a referral's page and `GET /api/v1/programs/{id}/stats` against a seeded
workspace, and the same headline numbers computed with straightforward SQL. Prints JSON."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse

from goodword.accounts.models import Membership, Workspace
from goodword.dashboard.context import SECTIONS
from goodword.programs.models import Program
from goodword.referrals.models import Referral

RUNS = int(os.environ.get("BENCH_RUNS", "10"))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank


def timed(call: Callable[[], Any]) -> dict[str, float]:
    call()  # warm: the first request compiles templates and fills caches
    samples = []
    for _ in range(RUNS):
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


def main() -> None:
    workspace = Workspace.objects.get(public_id=os.environ["BENCH_WORKSPACE"])
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
    pages[reverse("dashboard:referral", args=[referral.public_id])] = "A referral"
    out: dict[str, Any] = {"pages": {}, "vendor": connection.vendor}
    for path, label in pages.items():
        response = browser.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        out["pages"][label] = {"path": path, **timed(lambda path=path: browser.get(path))}
    key = os.environ["BENCH_KEY"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for label, query in (("30 days", ""), ("365 days", f"?{year}")):
        path = f"/api/v1/programs/{program.public_id}/stats{query}"
        assert api.get(path).status_code == 200, path
        out["pages"][f"Stats API, {label}"] = {
            "path": path,
            **timed(lambda path=path: api.get(path)),
        }
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
