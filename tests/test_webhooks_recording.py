"""The dispatcher's claims and its recording of a drain of reports in one transaction
(goodword/webhooks/recording.py), against real receivers on loopback."""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.events.models import DomainEvent
from goodword.webhooks import dispatch, recording
from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from goodword.webhooks.recording import Report, Result
from goodword.webhooks.services import create_endpoint, replay_message, send_test
from tests.factories import make_api
from tests.receiver import Receiver

pytestmark = pytest.mark.usefixtures("outbound_loopback")

T0 = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)
Status = WebhookMessage.Status


@pytest.fixture
def ws(db: None) -> Workspace:
    return make_api("Acme").workspace


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver, Receiver]]:
    with Receiver() as ok, Receiver() as bad, Receiver() as gone:
        bad.respond(status=500)
        gone.respond(status=410)
        yield ok, bad, gone


def endpoint(ws: Workspace, receiver: Receiver) -> WebhookEndpoint:
    return create_endpoint(
        workspace=ws, url=receiver.url + "hooks", event_types=["reward.approved"]
    )


def sent(*, limit: int = 200) -> list[Report]:
    """Claim and send every due message; the reports, not yet recorded."""
    reports: queue.Queue[Report] = queue.Queue()
    for batch in dispatch.claim(now=timezone.now(), limit=limit):
        dispatch.send_batch(batch, reports)
    return [reports.get_nowait() for _ in range(reports.qsize())]


def state(message: WebhookMessage) -> tuple[str, int, datetime | None]:
    message.refresh_from_db()
    return message.status, message.attempts, message.next_attempt_at


def test_a_drain_of_several_endpoints_is_recorded_at_once(
    ws: Workspace, receivers: tuple[Receiver, Receiver, Receiver], frozen: object
) -> None:
    ok, bad, gone = (endpoint(ws, r) for r in receivers)
    delivered = [send_test(endpoint=ok) for _ in range(3)]
    retried, handed_back = send_test(endpoint=bad), send_test(endpoint=bad)
    failed, waiting = send_test(endpoint=gone), send_test(endpoint=gone)
    reports = sent()
    assert len(reports) == 3 + 2 + 2  # each failure hands its endpoint's other message back

    with CaptureQueriesContext(connection) as queries:
        assert recording.record(reports) == 5
    # A fixed number of statements, not one transaction per attempt: the attempts, the
    # outcomes, the hand-backs, the endpoints read, bad's clock, gone turned off and its event.
    statements = [q["sql"] for q in queries]
    assert len([s for s in statements if not s.upper().startswith(("SAVEPOINT", "RELEASE"))]) <= 8

    assert [state(m) for m in delivered] == [(Status.DELIVERED, 1, None)] * 3
    status, attempts, due = state(retried)
    assert (status, attempts) == (Status.PENDING, 1)
    assert due is not None
    assert T0 + timedelta(seconds=4) <= due <= T0 + timedelta(seconds=6)
    assert state(handed_back) == (Status.PENDING, 0, T0)
    assert state(failed) == (Status.FAILED, 1, None)
    assert state(waiting) == (Status.PENDING, 0, T0)
    codes = WebhookAttempt.objects.order_by("status_code").values_list("status_code", flat=True)
    assert list(codes) == [200, 200, 200, 410, 500]
    for ep in (ok, bad, gone):
        ep.refresh_from_db()
    assert (ok.active, ok.failing_since) == (True, None)
    assert (bad.active, bad.failing_since) == (True, T0)
    assert (gone.active, gone.disabled_reason, gone.failing_since) == (False, "gone", None)
    assert DomainEvent.objects.get(name="webhook_endpoint.disabled").subject_id == gone.public_id


def test_a_replay_during_the_send_stands(
    ws: Workspace, receivers: tuple[Receiver, Receiver, Receiver], frozen: object
) -> None:
    bad = endpoint(ws, receivers[1])
    first, second = send_test(endpoint=bad), send_test(endpoint=bad)
    reports = sent()  # first failed (500), second handed back
    replay_message(message=first)
    replay_message(message=second)
    WebhookMessage.objects.filter(pk=second.pk).update(next_attempt_at=T0 + timedelta(hours=1))
    assert recording.record(reports) == 1
    # Neither the failure nor the hand-back overwrote the replays.
    assert state(first) == (Status.PENDING, 0, T0)
    assert state(second) == (Status.PENDING, 0, T0 + timedelta(hours=1))
    assert WebhookAttempt.objects.get().message_id == first.pk  # the send is logged all the same


def test_an_endpoint_s_results_apply_in_the_order_they_came(
    ws: Workspace, receivers: tuple[Receiver, Receiver, Receiver], frozen: object
) -> None:
    ep = endpoint(ws, receivers[0])
    messages = [send_test(endpoint=ep) for _ in range(4)]
    results = [r for r in sent() if isinstance(r, Result)]
    assert len(results) == 4

    def answered(result: Result, status: int, minutes: int) -> Result:
        return dataclasses.replace(result, status=status, at=T0 + timedelta(minutes=minutes))

    # A failure, a success (the clock stops), two failures (it starts at the first of them).
    recording.record(
        [
            answered(results[0], 500, 1),
            answered(results[1], 200, 2),
            answered(results[2], 503, 3),
            answered(results[3], 500, 4),
        ]
    )
    ep.refresh_from_db()
    assert (ep.active, ep.failing_since) == (True, T0 + timedelta(minutes=3))
    assert [state(m)[:2] for m in messages] == [
        (Status.PENDING, 1), (Status.DELIVERED, 1), (Status.PENDING, 1), (Status.PENDING, 1)
    ]  # fmt: skip


def test_three_days_of_failures_turn_the_endpoint_off_once(
    ws: Workspace, receivers: tuple[Receiver, Receiver, Receiver], frozen: time_machine.Traveller
) -> None:
    ep = endpoint(ws, receivers[0])
    WebhookEndpoint.objects.filter(pk=ep.pk).update(failing_since=T0 - timedelta(days=3))
    for _ in range(3):
        send_test(endpoint=ep)
    results = [r for r in sent() if isinstance(r, Result)]
    # Two failures in one drain, both past three days: one turning off, one event.
    recording.record([dataclasses.replace(r, status=500) for r in results[:2]])
    ep.refresh_from_db()
    assert (ep.active, ep.disabled_reason, ep.failing_since) == (
        False,
        "failing",
        T0 - timedelta(days=3),
    )
    assert DomainEvent.objects.filter(name="webhook_endpoint.disabled").count() == 1


def test_a_success_before_the_failures_of_a_drain_restarts_the_clock(
    ws: Workspace, receivers: tuple[Receiver, Receiver, Receiver], frozen: object
) -> None:
    ep = endpoint(ws, receivers[0])
    WebhookEndpoint.objects.filter(pk=ep.pk).update(failing_since=T0 - timedelta(days=4))
    send_test(endpoint=ep), send_test(endpoint=ep)
    ok, failure = (r for r in sent() if isinstance(r, Result))
    recording.record([ok, dataclasses.replace(failure, status=500)])
    ep.refresh_from_db()
    assert (ep.active, ep.failing_since) == (True, T0)
    assert not DomainEvent.objects.filter(name="webhook_endpoint.disabled").exists()


def test_one_endpoint_s_backlog_does_not_starve_the_others(
    ws: Workspace,
    receivers: tuple[Receiver, Receiver, Receiver],
    frozen: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "WINDOW", 15)  # the backlog is longer than a claim reads
    hog, *others = (endpoint(ws, r) for r in receivers)
    turned_off = endpoint(ws, receivers[0])
    frozen.move_to(T0 - timedelta(days=2))
    for _ in range(20):  # older still, and more than a read: they wait, and hide nothing
        send_test(endpoint=turned_off)
    WebhookEndpoint.objects.filter(pk=turned_off.pk).update(active=False)
    frozen.move_to(T0 - timedelta(days=1))
    backlog = [send_test(endpoint=hog) for _ in range(40)]
    frozen.move_to(T0)
    newer = [send_test(endpoint=ep) for ep in others for _ in range(2)]

    def claimed(**options: object) -> dict[int, list[int]]:
        batches = dispatch.claim(now=T0, **options)  # type: ignore[arg-type]
        hogs = WebhookMessage.objects.filter(endpoint=hog)
        hogs.update(next_attempt_at=T0 - timedelta(days=1))  # due again
        WebhookMessage.objects.filter(pk__in=[m.pk for m in newer]).update(next_attempt_at=T0)
        return {b.endpoint_pk: [m.pk for m in b.messages] for b in batches}

    oldest = [m.pk for m in backlog[: dispatch.PER_ENDPOINT]]
    everyone = {hog.pk: oldest, others[0].pk: [m.pk for m in newer[:2]]}
    everyone[others[1].pk] = [m.pk for m in newer[2:]]
    assert claimed(limit=200) == everyone
    assert claimed(limit=40, max_endpoints=8) == everyone
    assert claimed(limit=20, max_endpoints=2) == {k: everyone[k] for k in (hog.pk, others[0].pk)}
    assert claimed(limit=10, max_endpoints=1, skip=[hog.pk]) == {
        others[0].pk: everyone[others[0].pk]
    }
    assert claimed(limit=12) == {hog.pk: oldest, others[0].pk: everyone[others[0].pk]}
