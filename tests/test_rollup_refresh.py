"""How a refresh of the rollups runs (goodword.analytics.scratch): each step one statement over
all that changed, the days of a reward without a program, and the connection left as it was.
(tests/test_rollups.py checks what it computes against a rebuild.)"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goodword.analytics import rollups, scratch
from tests.factories import Story, make_story, purchase, signup
from tests.test_rollups import contents, convert


@pytest.fixture
def story(db: None) -> Story:
    return make_story()


def test_a_refresh_runs_as_many_statements_for_six_referrals_as_for_two(story: Story) -> None:
    def statements(friends: list[str]) -> int:
        for friend in friends:
            convert(story, friend)
        with CaptureQueriesContext(connection) as queries:
            rollups.refresh()
        return len(queries.captured_queries)

    statements(["zoe"])  # alice's first friend: her facts change, with their days
    two = statements(["bob", "carol"])
    six = statements(["dave", "erin", "frank", "gus", "heidi", "ivan"])
    assert two == six  # per kind of fact or sum, not per row or chunk of rows
    assert contents()["ReferralFact"].total() == 9


def test_a_manual_reward_without_a_program_is_summed_as_a_rebuild_sums_it(story: Story) -> None:
    convert(story, "bob")
    grant = {"kind": "credit", "amount": 700, "currency": "USD", "reason": "by hand"}
    assert story.acme.post("/participants/bob/rewards", grant).status_code == 201
    rollups.refresh()
    rolled = contents()
    days = {row[:3] for row in rolled["RewardDay"]}
    assert any(program is None for _, program, _ in days)  # the manual one, beside the program's
    assert any(program is not None for _, program, _ in days)
    rollups.rebuild()
    assert contents() == rolled


def test_a_refresh_leaves_the_connection_as_it_found_it(story: Story) -> None:
    settings = [_setting(name) for name in rollups.TUNED]
    assert story.acme.event(signup("s-bob", "bob", referral_code=story.alice["code"])).status_code
    assert story.acme.event(purchase("p-bob", "bob", "o-bob", 5000)).status_code == 201
    rollups.refresh()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {scratch.IDS}")  # noqa: S608 - a fixed name
        assert cursor.fetchone() == (0,)
    assert [_setting(name) for name in rollups.TUNED] == settings  # changed while it ran only


def _setting(name: str) -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        row = cursor.fetchone()
    return None if row is None else str(row[0])
