"""Runs inside `goodword shell` for benches/dashboard.py: records the domain events the engine
would have written for every advocate, referral and reward of the seeded workspace (the seed
writes none), then times the rollups' refresh that reads them. Prints JSON."""

from __future__ import annotations

import json
import os
import time

from django.db import connection, transaction
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.analytics import rollups
from goodword.events.models import DomainEvent
from goodword.participants.models import Advocate
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward

workspace = Workspace.objects.get(public_id=os.environ["BENCH_WORKSPACE"])
rollups.refresh()  # nothing pending before the burst
counted = {}
with transaction.atomic(), connection.cursor() as cursor:
    for name, model in (
        ("advocate.enrolled", Advocate),
        ("referral.created", Referral),
        ("reward.created", Reward),
    ):
        # One INSERT ... SELECT per kind; public ids made of the row ids (unique, not random).
        cursor.execute(
            f"INSERT INTO {DomainEvent._meta.db_table}"  # noqa: S608 - table names
            " (public_id, workspace_id, name, subject_id, data, created_at)"
            f" SELECT 'evt_bench_' || {name[:3]!r} || CAST(id AS TEXT), workspace_id, %s,"
            f" public_id, '{{}}', %s FROM {model._meta.db_table} WHERE workspace_id = %s",
            [name, timezone.now(), workspace.pk],
        )
        counted[name] = cursor.rowcount
started = time.perf_counter()
done = rollups.refresh()
print(json.dumps({"events": counted, "seconds": round(time.perf_counter() - started, 2), **done}))
