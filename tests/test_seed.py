"""`goodword seed`: a large generated history for benchmarks, and the rollups it rebuilds give
the numbers the rows give."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from goodword.accounts.models import Workspace
from goodword.analytics.scope import Scope
from goodword.analytics.summary import summary
from goodword.ingest.models import Event
from goodword.referrals.models import Referral


def test_seed_writes_the_history_asked_for_and_its_numbers_add_up(db: None) -> None:
    out = StringIO()
    call_command("seed", "--referrals", "400", "--events", "3000", "--days", "60", stdout=out)
    public_id = re.search(r"workspace (ws_\w+)", out.getvalue())
    assert public_id is not None
    workspace = Workspace.objects.get(public_id=public_id[1])
    assert Referral.objects.filter(workspace=workspace).count() == 400
    assert Event.objects.filter(workspace=workspace).count() == 3000
    statuses = set(Referral.objects.filter(workspace=workspace).values_list("status", flat=True))
    assert statuses == {"clicked", "signed_up", "converted", "rewarded", "rejected", "reversed"}
    today = datetime.now(UTC).date()
    for scope in (
        Scope(workspace.pk),
        Scope(workspace.pk, None, today - timedelta(days=29), today),
    ):
        assert summary(scope) == replace(summary(replace(scope, raw=True)), scope=scope)
    assert "API key (shown once): gw_sk_" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--referrals", "0"], "--referrals must be at least 1"),
        (["--days", "0"], "--days must be at least 1"),
        (["--events", "-1"], "--events must not be negative"),
    ],
)
def test_seed_refuses_sizes_that_make_no_history(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed", *args)
    assert not Workspace.objects.exists()
