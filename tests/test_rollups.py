"""The rollups behind the dashboard's numbers: up to date on every read, re-read by the sweep
so a late commit is not missed, idempotent, and equal to a rebuild from scratch.
(tests/test_analytics.py checks the numbers they give against a plain computation.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Model
from django.utils import timezone

from goodword.analytics import activity, money, rollups
from goodword.analytics.models import (
    ClickDay,
    ReferralDay,
    ReferralFact,
    RewardDay,
    RewardFact,
    RollupState,
    StatusDay,
)
from goodword.analytics.scope import Money, Scope
from goodword.events.models import DomainEvent
from goodword.ops import scheduler
from goodword.referrals.models import Referral
from tests.factories import Story, make_story, purchase, refund, signup

DAILY: tuple[type[Model], ...] = (ReferralDay, StatusDay, ClickDay, RewardDay)


def contents() -> dict[str, Counter[tuple[Any, ...]]]:
    """Every rollup table's rows without their ids, summed by key: a key may be split in
    several rows (friends who came and conversions are inserted apart)."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    for model in (ReferralFact, RewardFact):
        out[model.__name__] = Counter(
            tuple(row.values())
            for row in model.objects.values()  # type: ignore[attr-defined]
        )
    for model in DAILY:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        sums: Counter[tuple[Any, ...]] = Counter()
        for row in model.objects.values(*fields):  # type: ignore[attr-defined]
            key = tuple(v for k, v in row.items() if not isinstance(v, int) or k.endswith("_id"))
            for name, value in row.items():
                if isinstance(value, int) and not name.endswith("_id"):
                    sums[(*key, name)] += value
        out[model.__name__] = +sums  # zeros dropped
    return out


def convert(story: Story, friend: str, amount: int = 5000) -> str:
    code = story.alice["code"]
    assert story.acme.event(signup(f"s-{friend}", friend, referral_code=code)).status_code == 201
    order = f"o-{friend}"
    assert story.acme.event(purchase(f"p-{friend}", friend, order, amount)).status_code == 201
    return order


@pytest.fixture
def story(db: None) -> Story:
    return make_story()


def test_a_read_shows_what_was_just_sent(story: Story) -> None:
    scope = Scope(story.acme.workspace.pk)
    assert activity.funnel(scope).converted == 0
    convert(story, "bob")
    assert activity.funnel(scope).converted == 1  # no sweep ran: the read caught up
    assert money.revenue(scope).net == (Money("USD", 5000),)
    story.acme.event(refund("r-bob", "bob", "o-bob"))
    assert activity.funnel(scope).converted == 0  # the whole order refunded: reversed
    assert money.revenue(scope).net == (Money("USD", 0),)


def test_rolling_up_twice_changes_nothing_and_equals_a_rebuild(story: Story) -> None:
    convert(story, "bob")
    convert(story, "carol", 2500)
    story.acme.event(refund("r-carol", "carol", "o-carol"))
    rollups.refresh()
    once = contents()
    assert once["ReferralFact"]  # not vacuous
    assert once["RewardDay"]
    rollups.refresh()
    rollups.catch_up()
    assert contents() == once
    rollups.rebuild()
    assert contents() == once


def test_the_sweep_reads_again_a_change_that_committed_late(story: Story) -> None:
    """A change whose domain event took an id below the last one read (its transaction began
    earlier and committed later) is missed by reads, and rolled up by the next sweep."""
    # The id the late transaction took, before bob's events were written.
    placeholder = DomainEvent.objects.create(
        workspace=story.acme.workspace, name="workspace.updated",
        subject_id=story.acme.workspace.public_id, created_at=timezone.now(),
    )  # fmt: skip
    convert(story, "bob")
    rollups.refresh()
    scope = Scope(story.acme.workspace.pk)
    assert activity.statuses(scope)["rewarded"] == 0
    # The late transaction commits: bob's referral rewarded, its domain event with that id,
    # below the highest one the reads have seen.
    late = placeholder.pk
    placeholder.delete()
    ids = set(DomainEvent.objects.values_list("pk", flat=True))
    assert late < max(ids)
    bob = Referral.objects.get(referee__external_id="bob")
    Referral.objects.filter(pk=bob.pk).update(status="rewarded", rewarded_at=timezone.now())
    DomainEvent.objects.create(
        pk=late, workspace=story.acme.workspace, name="referral.rewarded",
        subject_id=bob.public_id, created_at=timezone.now(),
    )  # fmt: skip
    assert activity.statuses(scope)["rewarded"] == 0  # reads only look past what they read
    assert rollups.refresh()["referrals"] >= 1
    assert activity.statuses(scope)["rewarded"] == 1
    # Once a sweep LAG later has seen them, those ids are done and are not read again.
    with time_machine.travel(timezone.now() + rollups.LAG + timedelta(seconds=1)):
        rollups.refresh()
    with time_machine.travel(timezone.now() + 2 * rollups.LAG + timedelta(seconds=2)):
        rollups.refresh()
    state = RollupState.objects.get()
    assert state.domain_events_done >= max(ids)
    assert rollups.refresh()["referrals"] == 0


def test_the_scheduler_sweep_rolls_up(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)
    convert(story, "bob")
    swept = scheduler.sweep_once()
    # bob's referral, and the two rewards of his purchase (alice's and his own)
    assert swept["rolled_up"] == 3
    assert ReferralFact.objects.count() == 1
    assert RewardFact.objects.count() == 2


def test_another_workspace_is_not_in_the_numbers(story: Story) -> None:
    convert(story, "bob")
    assert activity.funnel(Scope(story.globex.workspace.pk)).converted == 0
    assert money.costs(Scope(story.globex.workspace.pk)).lines == ()
