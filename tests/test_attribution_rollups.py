"""Attribution from the rollups (`rollup_attribution`): the same rows, order and totals as the
raw computation, rebuilt or kept up to date, also when a touch comes after the conversion."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from goodword.analytics import rollups
from goodword.analytics.attribution import LINEAR, MODELS, Attribution, attribution
from goodword.analytics.models import AttributionFact
from goodword.analytics.scope import Scope
from goodword.events.models import DomainEvent
from goodword.referrals.models import Referral
from tests.factories import signup
from tests.test_analytics import send
from tests.test_attribution import random_history


def both(scope: Scope, model: str) -> tuple[Attribution, Attribution]:
    return attribution(scope, model), attribution(replace(scope, raw=True), model)


def scopes(workspace: int, program: int) -> list[Scope]:
    return [
        Scope(workspace),
        Scope(workspace, program),
        Scope(workspace, program, date(2026, 1, 1), date(2026, 4, 30)),
        Scope(workspace, None, date(2026, 1, 10), date(2026, 1, 20)),
        Scope(workspace, None, date(2026, 1, 15), None),
        Scope(workspace, program, None, date(2026, 1, 12)),
    ]


@pytest.mark.parametrize("how", ["rebuilt", "incremental"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_rolled_attribution_equals_the_raw_on_random_histories(
    db: None, seed: int, how: str
) -> None:
    """Friends several advocates touched, refunds, a window that ran out: every model and
    scope gives the raw computation's rows, in its order, with its floats and totals."""
    other, _ = random_history(seed + 100)  # another workspace: none of it may count
    if how == "incremental":
        rollups.rebuild()  # what follows comes in as changes the reads catch up with
    api, program = random_history(seed)
    if how == "rebuilt":
        rollups.rebuild()
    multi = 0
    for scope in scopes(api.workspace.pk, program.pk):
        for model in MODELS:
            rolled, raw = both(scope, model)
            assert rolled == raw, (scope, model)
            # A page reads a slice of lazily ordered credits: each cut gives the same rows.
            for cut in (slice(0, 1), slice(1, 3), slice(2, None), slice(-2, None)):
                assert attribution(scope, model).credits[cut] == raw.credits[cut], cut
            multi += rolled.multi_touch
    assert multi > 0  # the histories have friends several advocates touched
    assert AttributionFact.objects.filter(workspace_id=other.workspace.pk).exists()


def test_a_touch_after_the_conversion_moves_credit_as_a_rebuild_would(db: None) -> None:
    """A second advocate's code on an event dated before a friend's conversion, sent after it
    was rolled up: no domain event names the referral, yet the credits move, exactly as a
    rebuild and the raw computation have them."""
    api, program = random_history(2)
    rollups.rebuild()
    ws = api.workspace.pk
    scope = Scope(ws, program.pk, date(2026, 1, 1), date(2026, 4, 30))
    before = {model: attribution(scope, model) for model in MODELS}
    touched = set(
        AttributionFact.objects.filter(workspace_id=ws).values_list("referral_id", flat=True)
    )
    friend = (
        Referral.objects.for_workspace(ws)
        .filter(status=Referral.Status.CONVERTED)
        .exclude(pk__in=touched)
        .select_related("referee")
        .order_by("pk")
        .first()
    )
    assert friend is not None
    assert friend.converted_at is not None
    carol = program.advocate_set.exclude(pk=friend.advocate_id).order_by("pk").first()
    assert carol is not None
    named = DomainEvent.objects.filter(subject_id=friend.public_id).count()
    when = friend.converted_at - timedelta(hours=1)
    body = signup("late-touch", friend.referee.external_id, referral_code=carol.code)
    send(api, {**body, "occurred_at": when.isoformat()})
    assert DomainEvent.objects.filter(subject_id=friend.public_id).count() == named
    after = {model: attribution(scope, model) for model in MODELS}  # caught up: incremental
    assert after[LINEAR].multi_touch == before[LINEAR].multi_touch + 1
    assert after[LINEAR].credits != before[LINEAR].credits
    for model in MODELS:
        assert after[model] == attribution(replace(scope, raw=True), model), model
    rollups.rebuild()
    for model in MODELS:
        assert attribution(scope, model) == after[model], model


def test_a_shorter_attribution_window_moves_credit_as_the_raw_computation_does(db: None) -> None:
    """The window is the program's: changing it names no referral, yet changes which touches
    count for every conversion of the program."""
    api, program = random_history(3)
    rollups.rebuild()
    scope = Scope(api.workspace.pk, program.pk, date(2026, 1, 1), date(2026, 4, 30))
    before = attribution(scope, LINEAR)
    assert before.multi_touch > 0
    answer = api.patch(f"/programs/{program.public_id}", {"attribution_days": 1})
    assert answer.status_code == 200, answer.content
    for model in MODELS:
        assert attribution(scope, model) == attribution(replace(scope, raw=True), model), model
    assert attribution(scope, LINEAR).multi_touch < before.multi_touch


@pytest.mark.parametrize("seed", [1, 4])
def test_every_page_of_the_rolled_credits_is_the_raws(db: None, seed: int) -> None:
    """The rollups rank advocates by their numbers and order ties by code when a page reads
    them, moved advocates among the rest: every page of every size starts on the raw row."""
    api, program = random_history(seed)
    rollups.rebuild()
    for scope in scopes(api.workspace.pk, program.pk)[:2]:
        for model in MODELS:
            raw = attribution(replace(scope, raw=True), model).credits
            assert len(attribution(scope, model).credits) == len(raw)
            for size in (1, 2, 5):
                for start in range(len(raw)):
                    page = slice(start, start + size)
                    assert attribution(scope, model).credits[page] == raw[page], (model, page)
