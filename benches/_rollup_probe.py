"""Runs inside `goodword shell` for benches/dashboard.py: times the rollups' refresh twice.
Prints JSON.

- A day: a new workspace gets a day of activity written as rows (`goodword seed --days 1`:
  BENCH_DAY_REFERRALS referrals, a tenth of the history's by default, five times as many
  events, with their clicks) and the domain
  events the engine would have written for it; the refresh reads all of them. The everyday case.
- A burst: the domain events the engine would have written for every advocate, referral and
  reward of the seeded workspace are recorded at once (the seed writes none). Every day of the
  history changes: as much work as a rebuild, the worst case. BENCH_BURST=0 leaves it out.
"""

from __future__ import annotations

import json
import os
import secrets
import time

from django.db import connection, transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.analytics import rollups
from goodword.analytics.models import RollupState
from goodword.events.models import DomainEvent
from goodword.ops.seed import seed
from goodword.participants.models import Advocate
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward


def announce(workspace: Workspace, tag: str) -> dict[str, int]:
    tag += secrets.token_hex(2)  # runs on one database do not collide
    counted = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for name, model in (
            ("advocate.enrolled", Advocate),
            ("referral.created", Referral),
            ("reward.created", Reward),
        ):
            # One INSERT ... SELECT per kind; public ids made of the row ids (unique).
            cursor.execute(
                f"INSERT INTO {DomainEvent._meta.db_table}"  # noqa: S608 - table names
                " (public_id, workspace_id, name, subject_id, data, created_at)"
                f" SELECT 'evt_{tag}' || {name[:3]!r} || CAST(id AS TEXT), workspace_id, %s,"
                f" public_id, '{{}}', %s FROM {model._meta.db_table} WHERE workspace_id = %s",
                [name, timezone.now(), workspace.pk],
            )
            counted[name] = cursor.rowcount
    return counted


def timed_refresh() -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    done = rollups.refresh()
    return round(time.perf_counter() - started, 2), done


if os.environ.get("BENCH_WORKSPACE"):
    workspace = Workspace.objects.get(public_id=os.environ["BENCH_WORKSPACE"])
else:  # the first workspace `goodword seed` made (a rerun on a database seeded before)
    workspace = Workspace.objects.filter(name__startswith="Seeded").order_by("pk")[0]
rollups.refresh()  # nothing pending before the day
# A day a tenth the size of the whole history, unless told.
day_referrals = int(
    os.environ.get("BENCH_DAY_REFERRALS")
    or max(1, Referral.objects.filter(workspace=workspace).count() // 10)
)
fresh = seed(referrals=day_referrals, events=5 * day_referrals, days=1, random_seed=2)
written = fresh.rows.get("ingest_event", 0) + fresh.rows.get("referrals_click", 0)
day_events = announce(fresh.workspace, "d")
day_seconds, day_done = timed_refresh()
# Everything so far is rolled up and no transaction is in flight: mark it done, so the burst's
# refresh does not read the day again (it would, within `rollups.LAG`).
tops = rollups._tops()  # noqa: SLF001 - the bench's own bookkeeping
RollupState.objects.filter(pk=1).update(
    **{f"{s}_{mark}": n for s, n in tops.items() for mark in ("done", "seen", "read")}
)
out: dict[str, dict[str, object]] = {
    "day": {"rows": written, "events": day_events, "seconds": day_seconds, **day_done}
}
if os.environ.get("BENCH_BURST", "1") != "0":  # a rebuild's work: minutes at a million
    burst_events = announce(workspace, "b")
    burst_seconds, burst_done = timed_refresh()
    out["burst"] = {"events": burst_events, "seconds": burst_seconds, **burst_done}
print(json.dumps(out))
