"""Tiers, segments and the median time to convert from rollups equal the raw computation:
on random histories with every kind of segment value, and as attributes change afterwards."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from goodword.accounts.models import Workspace
from goodword.analytics import activity, breakdowns, rollups
from goodword.analytics.scope import Scope
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from tests import test_analytics as history
from tests.factories import Api, enrol, make_api, make_program, signup

# What a business may send as `segment`; MISSING: no such key at all.
MISSING = object()
SEGMENTS: list[Any] = ["vip", "gold", "", True, False, 0, 1, 7, None, "true", "1", MISSING]


def give_segments(rng: random.Random, ws: Workspace) -> None:
    for pk in Participant.objects.filter(workspace=ws).values_list("pk", flat=True):
        value = rng.choice(SEGMENTS)
        attributes = {"plan": "pro"} if value is MISSING else {"segment": value, "plan": "pro"}
        Participant.objects.filter(pk=pk).update(attributes=attributes)


def force_parity(rng: random.Random, ws: Workspace, odd: bool) -> None:
    """Make the workspace's conversions odd or even in number: the median is then one middle
    conversion or the mean of two."""
    n = activity.time_to_convert(Scope(ws.pk, raw=True)).conversions
    if n % 2 == odd:
        return
    advocate = rng.choice(list(Advocate.objects.filter(workspace=ws)))
    friend = Participant.objects.create(workspace=ws, external_id=f"{ws.name}-extra")
    created = history.BASE + timedelta(days=3, minutes=rng.randrange(9000))
    Referral.objects.create(
        workspace=ws,
        program_id=advocate.program_id,
        advocate=advocate,
        referee=friend,
        status="converted",
        source="code",
        created_at=created,
        converted_at=created + timedelta(minutes=rng.randrange(9000)),
    )


def assert_rolled_equals_raw(scope: Scope) -> None:
    raw = replace(scope, raw=True)
    assert breakdowns.segments(scope) == breakdowns.segments(raw), scope
    assert breakdowns.tiers(scope) == breakdowns.tiers(raw), scope
    assert activity.time_to_convert(scope) == activity.time_to_convert(raw), scope


@pytest.mark.parametrize("odd", [False, True], ids=["even", "odd"])
@pytest.mark.parametrize("how", ["rebuilt", "incremental"])
@pytest.mark.parametrize("seed", range(6))
def test_segments_tiers_and_median_equal_the_raw_computation(
    db: None, seed: int, how: str, odd: bool
) -> None:
    rng = random.Random(seed)
    noise = history.make_random_history(rng, f"noise{seed}")
    give_segments(rng, noise)
    if how == "incremental":
        rollups.rebuild()  # the noise is rolled up; what follows comes in as changes
    ws = history.make_random_history(rng, f"s{seed}")
    give_segments(rng, ws)
    force_parity(rng, ws, odd)
    if how == "rebuilt":
        rollups.rebuild()
    else:
        history.announce(ws)
    assert activity.time_to_convert(Scope(ws.pk)).conversions % 2 == odd
    programs = list(Program.objects.filter(workspace=ws).order_by("pk"))
    week = (date(2026, 1, 6), date(2026, 1, 13))
    for scope in [
        Scope(ws.pk),
        Scope(ws.pk, None, *week),
        Scope(ws.pk, None, date(2026, 1, 9), None),
        Scope(ws.pk, programs[0].pk),
        Scope(ws.pk, programs[1].pk, *week),
    ]:
        assert_rolled_equals_raw(scope)


def _acme() -> tuple[Api, Scope]:
    acme = make_api("Acme")
    program = make_program(acme)
    for name in ("alice", "amy"):
        enrol(acme, program["id"], name)
    rollups.rebuild()
    return acme, Scope(acme.workspace.pk)


def _segment_names(scope: Scope) -> list[str]:
    return [s.name for s in breakdowns.segments(scope)]


def test_a_segment_sent_with_an_event_reaches_the_rollups(db: None) -> None:
    acme, scope = _acme()
    assert breakdowns.segments(scope) == ()
    for i, value in enumerate(["vip", True, 1, "", 0]):
        customer = {"external_id": "alice", "attributes": {"segment": value}}
        response = acme.event({**signup(f"s-{i}", "alice"), "customer": customer})
        assert response.status_code in (200, 201), response.content
        assert_rolled_equals_raw(scope)
        if value == "vip":
            assert _segment_names(scope) == ["", "vip"]


def test_a_segment_set_through_the_api_reaches_the_rollups(db: None) -> None:
    acme, scope = _acme()
    for value in ["vip", "gold", True, 7, ""]:
        body = {"external_id": "amy", "attributes": {"segment": value}}
        assert acme.post("/participants", body).status_code == 200
        incremental = breakdowns.segments(scope)
        assert incremental == breakdowns.segments(replace(scope, raw=True))
        rollups.rebuild()
        assert breakdowns.segments(scope) == incremental
    assert _segment_names(scope) == [""]
