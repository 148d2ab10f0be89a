"""Sharing advocates from their daily rollup (SharingDay), and the leaderboard from the
advocates' totals (AdvocateTotal) or their days with conversions, equal the raw computation:
on random histories, over every period of them (most start mid-history, so an advocate's
previous active day decides), after changes that insert an active day between two others or
take one away; and the rows kept change by change equal a rebuild's."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.analytics import (
    activity,
    breakdowns,
    rolled_leaders,
    rollup_segments,
    rollups,
)
from goodword.analytics.models import AdvocateTotal, SharingDay
from goodword.analytics.scope import Scope
from goodword.events.models import DomainEvent
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Click, Referral, Share
from tests import test_analytics as history
from tests import test_rollup_breakdowns as breakdown_tests

FIRST = history.BASE.date()
DAYS = [FIRST + timedelta(days=n) for n in range(-1, 22, 2)]  # the history and around it


def plain_sharing(scope: Scope) -> int:
    """Advocates with a share, a click or a friend who came in the period, by a loop over the
    rows."""

    def counts(program_id: int, at: datetime) -> bool:
        day = at.date()
        return (
            (scope.program_id is None or program_id == scope.program_id)
            and (scope.start is None or day >= scope.start)
            and (scope.end is None or day <= scope.end)
        )

    clicks = Click.objects.filter(workspace_id=scope.workspace_id)
    refs = Referral.objects.filter(workspace_id=scope.workspace_id)
    shares = Share.objects.filter(workspace_id=scope.workspace_id)
    return len(
        {c.advocate_id for c in clicks if counts(c.program_id, c.created_at)}
        | {s.advocate_id for s in shares if counts(s.program_id, s.created_at)}
        | {
            r.advocate_id
            for r in refs
            if (r.status != "rejected" or r.reject_reason == "expired")
            and counts(r.program_id, r.created_at)
        }
    )


def periods(ws: Workspace, every: int = 1) -> list[Scope]:
    days = DAYS[::every]
    programs = [
        None,
        *Program.objects.filter(workspace=ws).order_by("pk").values_list("pk", flat=True),
    ]
    out = []
    for program in programs:
        out += [Scope(ws.pk, program), Scope(ws.pk, program, None, DAYS[4])]
        out += [Scope(ws.pk, program, DAYS[3], None)]
        out += [Scope(ws.pk, program, s, e) for s in days for e in days if s <= e]
    return out


def assert_sharing_equal(ws: Workspace, raw: bool = False) -> None:
    for scope in periods(ws):
        scope = replace(scope, raw=raw)
        expected = plain_sharing(scope)
        assert activity.funnel(scope).sharing == expected, scope


def sharing_rows() -> Counter[tuple[Any, ...]]:
    return Counter(
        SharingDay.objects.values_list("workspace_id", "program_id", "day", "prev", "count")
    )


def total_rows() -> Counter[tuple[Any, ...]]:
    fields = ("workspace_id", "program_id", "advocate_id", "clicks", "came", "converted")
    return Counter(AdvocateTotal.objects.values_list(*fields))


def assert_leaders_equal(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each quick way to the leaders, when it answers, answers what ranking every advocate
    does; and the leaderboard is the raw one, however few advocates the quick ways may read
    and whichever they try first."""
    used = 0
    for scope in periods(ws, every=3):
        for limit in (1, 3):
            every = rolled_leaders._by_every_advocate(scope, limit)
            for way in (rolled_leaders._by_totals, rolled_leaders._by_conversions):
                for read in (2, 1_000):
                    monkeypatch.setattr(rolled_leaders, "LEADERS_READ", read)
                    found = way(scope, limit)
                    if found is not None:
                        used += 1
                        assert rolled_leaders._leaders(found, limit) == every, (scope, way, read)
            raw = breakdowns.leaderboard(replace(scope, raw=True), limit=limit)
            for short in (0, 1_000):
                monkeypatch.setattr(rolled_leaders, "SHORT_DAYS", short)
                monkeypatch.setattr(rolled_leaders, "LEADERS_READ", 2)
                assert breakdowns.leaderboard(scope, limit=limit) == raw, scope
    monkeypatch.undo()
    assert used  # not vacuous


def assert_kept_equals_rebuilt() -> None:
    kept = sharing_rows(), total_rows()
    rollups.rebuild()
    assert (sharing_rows(), total_rows()) == kept


def change_some(rng: random.Random, ws: Workspace) -> None:
    """Clicks and shares on earlier days arrive late (an active day between others), friends'
    referrals are rejected (an active day goes, maybe an advocate's only one) or come back; each
    change announced by a domain event as the engine does."""
    now = timezone.now()
    advocates = list(Advocate.objects.filter(workspace=ws))
    for i in range(rng.randrange(1, 6)):
        a = rng.choice(advocates)
        Click.objects.create(
            click_id=f"{ws.name}-late{i}", workspace=ws, program_id=a.program_id, advocate=a,
            created_at=history._when(rng), channel="email",
        )  # fmt: skip
    for _ in range(rng.randrange(1, 4)):
        a = rng.choice(advocates)
        Share.objects.create(
            workspace=ws, program_id=a.program_id, advocate=a, created_at=history._when(rng),
            channel="qr", source="portal",
        )  # fmt: skip
    events = []
    for r in Referral.objects.filter(workspace=ws):
        if rng.random() < 0.4:
            status, reason = rng.choice([("rejected", "fraud"), ("rejected", "expired"),
                                         ("pending", "")])  # fmt: skip
            Referral.objects.filter(pk=r.pk).update(status=status, reject_reason=reason)
            events.append(
                DomainEvent(workspace=ws, name="referral.updated", subject_id=r.public_id,
                            created_at=now)
            )  # fmt: skip
    DomainEvent.objects.bulk_create(events)


@pytest.mark.parametrize("how", ["raw", "rebuilt", "incremental"])
# Two histories in `make test`; four more in `make test-long` (each rebuilt or incremental
# case took about a minute on a loaded two-core machine).
@pytest.mark.parametrize(
    "seed", [0, 1, *(pytest.param(seed, marks=pytest.mark.long) for seed in range(2, 6))]
)
def test_sharing_and_leaders_equal_the_raw_computation_on_random_histories(
    db: None, seed: int, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    history.make_random_history(rng, f"noise{seed}")  # another workspace: none of it counts
    if how == "incremental":
        rollups.rebuild()
    ws = history.make_random_history(rng, f"s{seed}")
    if how == "rebuilt":
        rollups.rebuild()
    elif how == "incremental":
        history.announce(ws)
    assert_sharing_equal(ws, raw=how == "raw")
    if how == "raw":
        return
    assert_leaders_equal(ws, monkeypatch)
    # Then changes, rolled up as reads catch up.
    change_some(rng, ws)
    assert_sharing_equal(ws)
    assert_leaders_equal(ws, monkeypatch)
    assert SharingDay.objects.filter(workspace_id=ws.pk).exists()  # not vacuous
    assert AdvocateTotal.objects.filter(workspace_id=ws.pk).exists()
    assert_kept_equals_rebuilt()
    assert_sharing_equal(ws)


def _referral(ws: Workspace, advocate: Advocate, friend: str, day: date) -> Referral:
    person = Participant.objects.create(workspace=ws, external_id=friend)
    at = datetime.combine(day, datetime.min.time(), history.BASE.tzinfo) + timedelta(hours=9)
    return Referral.objects.create(
        workspace=ws, program_id=advocate.program_id, advocate=advocate, referee=person,
        status="pending", source="code", created_at=at,
    )  # fmt: skip


def _announce(ws: Workspace, *subjects: str) -> None:
    DomainEvent.objects.bulk_create(
        DomainEvent(workspace=ws, name="referral.updated", subject_id=s, created_at=timezone.now())
        for s in subjects
    )


def test_an_advocate_active_again_after_a_gap_and_a_day_taken_away(db: None) -> None:
    """alice's friends came on days 1, 5 and 9; bob's only friend on day 5. Rejecting alice's
    day-5 friend makes day 1 the one before her day 9; rejecting bob's only friend leaves him
    no active day at all."""
    ws = Workspace.objects.create(name="acme")
    program = Program.objects.create(workspace=ws, name="P", destination_url="https://x.test/")
    advocates = {}
    for name in ("alice", "bob"):
        person = Participant.objects.create(workspace=ws, external_id=name)
        advocates[name] = Advocate.objects.create(
            workspace=ws, program=program, participant=person, code=name.upper(),
            code_normalized=name.upper(),
        )  # fmt: skip
    rollups.rebuild()
    day = {n: FIRST + timedelta(days=n - 1) for n in range(1, 11)}
    alice, bob = advocates["alice"], advocates["bob"]
    refs = {
        1: _referral(ws, alice, "f1", day[1]),
        5: _referral(ws, alice, "f5", day[5]),
        9: _referral(ws, alice, "f9", day[9]),
        0: _referral(ws, bob, "g5", day[5]),
    }
    _announce(ws, *(r.public_id for r in refs.values()))
    scope = Scope(ws.pk, program.pk)

    def shared(first: int, last: int) -> int:
        return activity.funnel(replace(scope, start=day[first], end=day[last])).sharing

    assert [shared(3, 9), shared(5, 5), shared(6, 10), shared(2, 4)] == [2, 2, 1, 0]
    assert sharing_rows() == Counter(
        {(ws.pk, program.pk, day[1], None, 1): 1, (ws.pk, program.pk, day[5], None, 1): 1,
         (ws.pk, program.pk, day[5], day[1], 1): 1, (ws.pk, program.pk, day[9], day[5], 1): 1}
    )  # fmt: skip
    Referral.objects.filter(pk__in=[refs[5].pk, refs[0].pk]).update(
        status="rejected", reject_reason="fraud"
    )
    _announce(ws, refs[5].public_id, refs[0].public_id)
    assert [shared(3, 9), shared(5, 5), shared(6, 10), shared(2, 4)] == [1, 0, 1, 0]
    assert activity.funnel(scope).sharing == 1
    assert sharing_rows() == Counter(
        {(ws.pk, program.pk, day[1], None, 1): 1, (ws.pk, program.pk, day[9], day[1], 1): 1}
    )
    assert_kept_equals_rebuilt()
    for first in range(1, 11):
        for last in range(first, 11):
            period = replace(scope, start=day[first], end=day[last])
            assert shared(first, last) == plain_sharing(period)


def segment_rows() -> dict[str, Counter[tuple[Any, ...]]]:
    return {
        model.__name__: Counter(
            tuple(v for k, v in row.items() if k != "id")
            for row in model.objects.values()  # type: ignore[attr-defined]
        )
        for model in rollup_segments.MODELS
    }


def assert_segments_equal(ws: Workspace) -> None:
    for scope in periods(ws, every=4):
        raw = replace(scope, raw=True)
        assert breakdowns.tiers(scope) == breakdowns.tiers(raw), scope
        assert breakdowns.segments(scope) == breakdowns.segments(raw), scope


@pytest.mark.parametrize("seed", range(4))
def test_tiers_and_segments_follow_promotions_and_attributes_of_active_advocates(
    db: None, seed: int
) -> None:
    """Advocates with days behind them are promoted and change segment after the rollups
    were built: all their days move to the new tier or segment, as the raw computation has
    them, and the rows kept equal a rebuild's."""
    rng = random.Random(seed)
    ws = history.make_random_history(rng, f"s{seed}")
    breakdown_tests.give_segments(rng, ws)
    rollups.rebuild()
    assert_segments_equal(ws)
    now = timezone.now()
    events = []
    for a in Advocate.objects.filter(workspace=ws).select_related("program", "participant"):
        if rng.random() < 0.6:
            tier = rng.choice(["Silver", "Gold", ""])
            data = {"program": a.program.public_id, "tier": tier}
            events.append(
                DomainEvent(
                    workspace=ws,
                    name="advocate.promoted",
                    subject_id=a.public_id,
                    data=data,
                    created_at=now,
                )
            )
        if rng.random() < 0.5:
            value = rng.choice(["vip", "gold", True, 7])
            Participant.objects.filter(pk=a.participant_id).update(attributes={"segment": value})
            events.append(
                DomainEvent(
                    workspace=ws,
                    name="participant.updated",
                    subject_id=a.participant.public_id,
                    created_at=now,
                )
            )
    DomainEvent.objects.bulk_create(events)
    change_some(rng, ws)
    assert_segments_equal(ws)
    kept = segment_rows()
    assert kept["SegmentDay"]  # not vacuous
    rollups.rebuild()
    assert segment_rows() == kept
