"""Test mode (`"test": true` on an event): decided for a test customer, ignored for a live one,
and never counted: the stats equal, number for number, those of the history without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.analytics.scope import Scope
from goodword.analytics.summary import summary
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.programs.models import Program
from goodword.referrals.models import Referral
from goodword.rewards.models import LedgerEntry, Reward
from goodword.rewards.services import approve_due_rewards
from tests.dashboard import owner
from tests.factories import Api, Story, enrol, make_api, make_program, purchase, refund, signup

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
APPROVE_AT = T0 + timedelta(days=20)  # every 14-day hold of the story is over
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def send(api: Api, body: dict[str, Any], when: datetime, *, test: bool = False) -> dict[str, Any]:
    body = {**body, "occurred_at": when.isoformat()}
    if test:
        body["test"] = True
    with at(when + timedelta(minutes=1)):
        response = api.event(body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def live_history(story: Story) -> None:
    """alice refers bob (who buys $25.00, then $5.00 of it is refunded) and erin (who signs
    up only); frank buys without a referral. Every hold is over by APPROVE_AT."""
    acme, code = story.acme, story.alice["code"]
    send(acme, signup("s-bob", "bob", referral_code=code), T0)
    send(acme, purchase("p-bob", "bob", "o-bob", 2500), T0 + timedelta(days=1))
    send(acme, signup("s-erin", "erin", referral_code=code), T0 + timedelta(days=2))
    send(acme, purchase("p-frank", "frank", "o-frank", 4000), T0 + timedelta(days=2))
    with at(APPROVE_AT):
        approve_due_rewards(now=APPROVE_AT)


def send_test_events(story: Story) -> dict[str, dict[str, Any]]:
    """carol, a test customer, comes by alice's code and buys; bob (live) gets a test purchase
    and a test refund of his real order; dave, another test customer, buys without a code."""
    acme, code = story.acme, story.alice["code"]
    answers = {
        "s-carol": send(acme, signup("s-carol", "carol", referral_code=code), T0, test=True),
        "p-carol": send(
            acme, purchase("p-carol", "carol", "o-carol", 9900), T0 + timedelta(days=1), test=True
        ),
        "p-bob-test": send(
            acme, purchase("p-bob-test", "bob", "o-bob-test", 7700, referral_code=code),
            T0 + timedelta(days=3), test=True,
        ),
        "r-bob-test": send(acme, refund("r-bob-test", "bob", "o-bob"), T0 + timedelta(days=4),
                           test=True),
        "p-dave": send(
            acme, purchase("p-dave", "dave", "o-dave", 3000), T0 + timedelta(days=2), test=True
        ),
    }  # fmt: skip
    with at(APPROVE_AT):
        approve_due_rewards(now=APPROVE_AT)
    return answers


def stats(story: Story) -> list[Any]:
    acme, program = story.acme, story.program["id"]
    out = []
    with at(APPROVE_AT + timedelta(days=1)):
        for path, params in (
            (f"/programs/{program}/stats", MARCH),
            (f"/programs/{program}/stats", {}),
            ("/stats", MARCH),
            ("/stats", {}),
        ):
            response = acme.get(path, **params)
            assert response.status_code == 200, response.content
            out.append(response.json())
        # The raw computation too (the reference the rollups are held to).
        program_pk = Program.objects.get(public_id=program).pk
        for scope in (
            Scope(acme.workspace.pk, raw=True),
            Scope(acme.workspace.pk, program_id=program_pk, raw=True),
        ):
            out.append(summary(scope))
    return out


def test_a_test_friends_purchase_makes_a_test_referral_and_test_rewards(story: Story) -> None:
    answers = send_test_events(story)
    bought = answers["p-carol"]
    assert bought["test"] is True
    assert [r["status"] for r in bought["referrals"]] == ["converted"]
    assert sorted(r["beneficiary"] for r in bought["rewards"]) == ["advocate", "friend"]
    referral = Referral.objects.get(public_id=bought["referrals"][0]["id"])
    assert referral.test is True
    assert referral.referee.external_id == "carol"
    assert referral.referee.test is True
    # Decided as any event: the hold passed and both rewards were approved.
    rewards = Reward.objects.filter(referral=referral)
    assert sorted(rewards.values_list("status", flat=True)) == ["approved", "approved"]
    assert {r.public_id for r in rewards} == {r["id"] for r in bought["rewards"]}
    assert set(Event.objects.filter(customer_external_id="carol").values_list("test", flat=True))
    assert not Event.objects.filter(customer_external_id="carol", test=False).exists()
    assert Participant.objects.get(external_id="dave").test is True


def test_the_stats_leave_test_data_out_exactly(story: Story) -> None:
    live_history(story)
    before = stats(story)
    assert before[0]["funnel"]["converted"] == 1  # the story is not empty
    send_test_events(story)
    # The test data is there: a referral, its approved rewards, a test participant.
    assert Referral.objects.filter(test=True).count() == 1
    assert Reward.objects.filter(referral__test=True, status="approved").count() == 2
    assert Participant.objects.filter(test=True).count() == 2
    assert stats(story) == before


def test_a_test_event_about_a_live_customer_changes_nothing(story: Story) -> None:
    live_history(story)
    bob = Participant.objects.get(external_id="bob")
    rewards = dict(Reward.objects.filter(participant__isnull=False).values_list("pk", "status"))
    live_entries = LedgerEntry.objects.filter(transaction__reward__referral__test=False)
    entries = live_entries.count()
    assert entries > 0
    answers = send_test_events(story)
    for name in ("p-bob-test", "r-bob-test"):
        assert answers[name]["test"] is True
        assert answers[name]["attribution"] == "test_ignored"
        assert (answers[name]["referrals"], answers[name]["rewards"]) == ([], [])
    # Alice's code on the test order touched no one: its row names no advocate.
    ignored = Event.objects.get(external_id="p-bob-test")
    assert (ignored.test, ignored.advocate_id, ignored.touched_at) == (True, None, None)
    # The test refund of bob's real order took nothing back; the test purchase is not his.
    assert (
        dict(
            Reward.objects.filter(referral__test=False, participant__isnull=False).values_list(
                "pk", "status"
            )
        )
        == rewards
    )
    assert not DomainEvent.objects.filter(name__in=("reward.reversed", "reward.adjusted")).exists()
    bob.refresh_from_db()
    assert (bob.test, bob.purchase_count) == (False, 1)
    # No clawback of bob's rewards; the test referral's approved credit went to the ledger.
    assert live_entries.count() == entries
    assert LedgerEntry.objects.filter(transaction__reward__referral__test=True).exists()


def test_a_live_event_makes_a_test_customer_live_on_live_facts(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    came = send(acme, signup("s-gil", "gil", referral_code=code), T0, test=True)
    assert [r["status"] for r in came["referrals"]] == ["signed_up"]
    assert Referral.objects.get().test is True
    # A real purchase: gil is a real customer, decided on his live events only. The test
    # signup's code no longer touches him, so the test referral is withdrawn.
    bought = send(acme, purchase("p-gil", "gil", "o-gil", 2500), T0 + timedelta(days=1))
    assert bought["test"] is False
    assert (bought["referrals"], bought["rewards"]) == ([], [])
    assert not Referral.objects.exists()
    gil = Participant.objects.get(external_id="gil")
    assert (gil.test, gil.purchase_count) == (False, 1)
    assert DomainEvent.objects.filter(name="referral.withdrawn").count() == 1


def test_a_test_conversion_uses_no_cap(db: None) -> None:
    acme = make_api("Acme")
    program = make_program(
        acme,
        rewards=[
            {"name": "Base", "beneficiary": "advocate", "kind": "credit", "amount": 1000,
             "currency": "USD", "caps": [{"per": "advocate", "period": "month", "count": 1}]},
        ],
    )  # fmt: skip
    code = enrol(acme, program["id"], "alice")["code"]
    tried = send(acme, purchase("p-t", "tess", "o-t", 2500, referral_code=code), T0, test=True)
    assert [r["beneficiary"] for r in tried["rewards"]] == ["advocate"]
    real = send(acme, purchase("p-b", "bob", "o-b", 2500, referral_code=code), T0)
    # The test conversion used none of alice's monthly cap: bob's is still granted.
    assert [r["beneficiary"] for r in real["rewards"]] == ["advocate"]
    assert Referral.objects.get(referee__external_id="bob").stopped == []


def test_the_event_api_echoes_test(acme: Api) -> None:
    live = acme.event(signup("s-1", "ann"))
    assert (live.status_code, live.json()["test"]) == (201, False)
    tried = acme.event(signup("s-2", "ann-test", test=True))
    assert (tried.status_code, tried.json()["test"]) == (201, True)
    replay = acme.event(signup("s-2", "ann-test", test=True))
    assert (replay.status_code, replay.json()) == (200, tried.json())
    batch = acme.post(
        "/events/batch", {"events": [signup("s-3", "bea", test=True), signup("s-4", "cy")]}
    )
    assert batch.status_code == 200, batch.content
    assert [d["result"]["test"] for d in batch.json()["data"]] == [True, False]
    assert dict(Event.objects.values_list("external_id", "test")) == {
        "s-1": False,
        "s-2": True,
        "s-3": True,
        "s-4": False,
    }


def test_false_is_the_same_body_as_no_test_field(acme: Api) -> None:
    """A live event is hashed as before the field existed: an Idempotency-Key retried with
    `"test": false` spelled out is the same request."""
    key = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = acme.event(signup("s-1", "ann"), key)
    again = acme.event({**signup("s-1", "ann"), "test": False}, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = acme.event({**signup("s-1", "ann"), "test": True}, key)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert Event.objects.count() == 1


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, [], {"on": True}])
def test_a_test_flag_that_is_not_a_boolean_is_refused(acme: Api, value: Any) -> None:
    response = acme.event({**signup("s-1", "ann"), "test": value})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "test" in error["message"]
    assert [d["loc"] for d in error["details"]] == [["body", "body", "test"]]
    assert (error["message"], error["details"][0]["msg"]) == (
        "test: must be true or false",
        "must be true or false",
    )
    assert not Event.objects.exists()
    assert not Participant.objects.filter(external_id="ann").exists()


def test_a_bad_test_flag_in_a_batch_refuses_that_event_alone(acme: Api) -> None:
    response = acme.post(
        "/events/batch", {"events": [signup("s-1", "ann", test="yes"), signup("s-2", "bea")]}
    )
    assert response.status_code == 200, response.content
    first, second = response.json()["data"]
    assert (first["status"], first["error"]["code"]) == (422, "validation_error")
    assert [d["loc"] for d in first["error"]["details"]] == [["body", "body", "events", 0, "test"]]
    assert second["status"] == 201
    assert list(Event.objects.values_list("external_id", flat=True)) == ["s-2"]


def test_other_workspace_sees_no_test_referral(story: Story) -> None:
    answers = send_test_events(story)
    referral = answers["p-carol"]["referrals"][0]["id"]
    assert story.globex.get(f"/referrals/{referral}").status_code == 404


def test_the_dashboard_marks_a_test_referral(story: Story) -> None:
    acme, code = story.acme, story.alice["code"]
    send(acme, signup("s-bob", "bob", referral_code=code), T0)
    came = send(acme, signup("s-carol", "carol", referral_code=code), T0, test=True)
    test_id = came["referrals"][0]["id"]
    live_id = Referral.objects.get(test=False).public_id
    client = owner(acme.workspace)
    listed = client.get("/dashboard/referrals/").content.decode()
    assert listed.count('title="Test data: not counted in the numbers">test</span>') == 1
    page = client.get(f"/dashboard/referrals/{test_id}/").content.decode()
    assert "come from test events and are not counted" in page
    page = client.get(f"/dashboard/referrals/{live_id}/").content.decode()
    assert "come from test events" not in page
