"""The rollups behind the dashboard's numbers: up to date on every read, re-read by the sweep
so a late commit is not missed, idempotent, and equal to a rebuild from scratch.
(tests/test_analytics.py checks the numbers they give against a plain computation.)"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Model
from django.utils import timezone

from goodword.analytics import activity, breakdowns, money, rollups
from goodword.analytics import rollup_customers as customers
from goodword.analytics.cohorts import cohorts
from goodword.analytics.models import (
    ClickDay,
    EnrolledDay,
    ParticipantDay,
    ParticipantFact,
    ReferralDay,
    ReferralFact,
    RewardDay,
    RewardFact,
    RollupState,
    StatusDay,
)
from goodword.analytics.money import Orders
from goodword.analytics.scope import Money, Scope
from goodword.events.models import DomainEvent
from goodword.ops import scheduler
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests.factories import Story, enrol, make_story, purchase, refund, signup
from tests.test_analytics import click

DAILY: tuple[type[Model], ...] = (
    ReferralDay, StatusDay, ClickDay, RewardDay, ParticipantDay, EnrolledDay,
)  # fmt: skip


def contents() -> dict[str, Counter[tuple[Any, ...]]]:
    """Every rollup table's rows without their ids, summed by key: a key may be split in
    several rows (friends who came and conversions are inserted apart)."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    facts: tuple[type[Model], ...] = (ReferralFact, RewardFact, ParticipantFact)
    for model in facts:
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
    counts = rollups.rebuild()
    assert contents() == once
    # What it made (on SQLite the referrals' INSERT gave no row count: "0 referrals").
    assert counts["referrals"] == 2
    assert counts["rewards"] == RewardFact.objects.count() > 0


def customer_rows() -> dict[str, Counter[tuple[Any, ...]]]:
    return {
        model.__name__: Counter(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in customers.MODELS
    }


def test_customers_changed_after_a_rebuild_are_as_a_rebuild_makes_them(story: Story) -> None:
    convert(story, "bob", 4000)
    assert story.acme.event(purchase("p-olga", "olga", "o-olga", 3000)).status_code == 201
    rollups.rebuild()
    scope = Scope(story.acme.workspace.pk)
    before = money.customer_value(scope)
    assert [(o.customers, o.orders, o.gross) for o in before.other] == [(1, 1, 3000)]
    # After the rebuild: a purchase (olga's second), a refund (all of bob's order: his
    # referral is reversed, he still counts as referred) and a conversion (carol).
    assert story.acme.event(purchase("p-olga-2", "olga", "o-olga-2", 1000)).status_code == 201
    assert story.acme.event(refund("r-bob", "bob", "o-bob")).status_code == 201
    convert(story, "carol", 2500)
    value, report, growth = money.customer_value(scope), cohorts(scope), activity.growth(scope)
    assert value.referred == (
        Orders("USD", customers=2, orders=2, gross=6500, refunded=4000, net=2500,
               average_order=3250, net_per_customer=1250),
    )  # fmt: skip
    assert value.other == (
        Orders("USD", customers=1, orders=2, gross=4000, refunded=0, net=4000,
               average_order=2000, net_per_customer=4000),
    )  # fmt: skip
    # New customers: bob, olga, carol; carol's referral stands, bob's was reversed.
    assert (growth.new_customers, growth.referred_customers) == (3, 1)
    rows = customer_rows()
    assert rows["CustomerFact"]  # not vacuous
    rollups.rebuild()
    assert customer_rows() == rows
    assert (money.customer_value(scope), cohorts(scope), activity.growth(scope)) == (
        value, report, growth
    )  # fmt: skip


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


def test_people_advocates_and_clicks_after_a_rebuild_read_as_a_rebuild(story: Story) -> None:
    """A participant created, an advocate enrolled, a click and a friend who came after a
    rebuild: participation, the funnel and the leaderboard are the plain computation's, and the
    rollups what a rebuild gives."""
    convert(story, "bob")
    rollups.rebuild()
    workspace = story.acme.workspace.pk
    program = Program.objects.get(public_id=story.program["id"]).pk
    today = timezone.now().date()
    assert story.acme.post("/participants", {"external_id": "dora"}).status_code == 201
    bea = enrol(story.acme, story.program["id"], "bea")
    click(bea["code"])
    assert story.acme.event(signup("s-cy", "cy", referral_code=bea["code"])).status_code == 201
    rollups.refresh()
    # alice, bob, dora, bea and cy; alice and bea advocate, and both had a friend who came.
    assert activity.participation(Scope(workspace)) == activity.Participation(5, 2, 2, 0.4, 0.4)
    for scope in (
        Scope(workspace),
        Scope(workspace, None, today, today),
        Scope(workspace, program, None, today),
    ):
        raw = replace(scope, raw=True)
        assert activity.participation(scope) == activity.participation(raw), scope
        assert activity.funnel(scope) == activity.funnel(raw), scope
        assert breakdowns.leaderboard(scope) == breakdowns.leaderboard(raw), scope
        assert breakdowns.variants(scope) == breakdowns.variants(raw), scope
    once = contents()
    assert once["ParticipantFact"]  # not vacuous
    assert once["EnrolledDay"]
    rollups.rebuild()
    assert contents() == once
