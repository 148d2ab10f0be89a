"""Outbound webhooks: the endpoint services and the fan-out of domain events to messages."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from goodword.accounts.models import Workspace
from goodword.events import services as events
from goodword.events.models import DomainEvent
from goodword.lib.errors import Invalid
from goodword.webhooks import fanout
from goodword.webhooks.models import WebhookCursor, WebhookEndpoint, WebhookMessage
from goodword.webhooks.services import (
    create_endpoint,
    delete_endpoint,
    replay_message,
    replay_range,
    rotate_secret,
    send_test,
    update_endpoint,
)
from tests.factories import make_api

# After the workspaces are made (at the real time), so their own events precede the endpoints.
T0 = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://hooks.acme.test/goodword"
Status = WebhookMessage.Status


@pytest.fixture
def ws(db: None) -> Workspace:
    return make_api("Acme").workspace


@pytest.fixture
def globex(db: None) -> Workspace:
    return make_api("Globex").workspace


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def emit(ws: Workspace, name: str = "reward.approved", subject: str = "rwd_1") -> DomainEvent:
    with transaction.atomic():
        events.record(name, workspace_id=ws.pk, subject_id=subject, data={"n": subject})
    return DomainEvent.objects.filter(workspace=ws).latest("pk")


def messages() -> list[tuple[int, str, str]]:
    rows = WebhookMessage.objects.order_by("pk").values_list("endpoint_id", "event_name", "status")
    return list(rows)


# Services


def test_create_gives_a_standard_webhooks_secret_and_records_it(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=["reward.approved"] * 2)
    assert ep.secret.startswith("whsec_")
    assert len(base64.b64decode(ep.secret.removeprefix("whsec_"))) == 24
    assert (ep.active, ep.event_types, ep.created_at) == (True, ["reward.approved"], T0)
    assert ep.public_id.startswith("whe_")
    event = DomainEvent.objects.get(name="webhook_endpoint.created")
    assert (event.subject_id, event.data) == (
        ep.public_id,
        {"url": URL, "event_types": ["reward.approved"]},
    )


@pytest.mark.parametrize(
    ("url", "event_types", "code"),
    [
        ("ftp://hooks.acme.test/x", [], "invalid_url"),
        ("http://10.0.0.7/hook", [], "invalid_url"),
        ("http://127.0.0.1:8000/hook", [], "invalid_url"),
        ("https://user:pw@hooks.acme.test/", [], "invalid_url"),
        (URL, ["reward.approved", "reward.exploded"], "unknown_event_type"),
        (URL, ["webhook.test"], "unknown_event_type"),
    ],
)
def test_create_refuses_a_bad_url_or_event_type_and_writes_nothing(
    ws: Workspace, url: str, event_types: list[str], code: str
) -> None:
    before = DomainEvent.objects.count()
    with pytest.raises(Invalid) as caught:
        create_endpoint(workspace=ws, url=url, event_types=event_types)
    assert caught.value.code == code
    assert WebhookEndpoint.objects.count() == 0
    assert DomainEvent.objects.count() == before


def test_update_records_what_changed_and_turning_on_clears_the_reason(ws: Workspace) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=[])
    WebhookEndpoint.objects.filter(pk=ep.pk).update(
        active=False, disabled_reason="gone", failing_since=T0
    )
    ep = update_endpoint(endpoint=ep, active=True, description="CRM", url=URL)
    assert (ep.active, ep.disabled_reason, ep.failing_since, ep.description) == (
        True,
        "",
        None,
        "CRM",
    )
    updated = DomainEvent.objects.get(name="webhook_endpoint.updated")
    assert updated.data == {"fields": ["active", "description"]}
    update_endpoint(endpoint=ep, description="CRM")  # no change: no event
    assert DomainEvent.objects.filter(name="webhook_endpoint.updated").count() == 1
    with pytest.raises(Invalid, match="Unknown event type: nope.nope"):
        update_endpoint(endpoint=ep, event_types=["nope.nope"])
    ep.refresh_from_db()
    assert ep.event_types == []


def test_delete_removes_the_messages_and_records_it(ws: Workspace) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=[])
    send_test(endpoint=ep)
    delete_endpoint(endpoint=ep)
    assert (WebhookEndpoint.objects.count(), WebhookMessage.objects.count()) == (0, 0)
    deleted = DomainEvent.objects.get(name="webhook_endpoint.deleted")
    assert (deleted.subject_id, deleted.data) == (ep.public_id, {"url": URL})


def test_rotation_keeps_the_old_secret_for_the_grace_period(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=[])
    old = ep.secret
    new = rotate_secret(endpoint=ep, grace=timedelta(hours=2))
    ep.refresh_from_db()
    assert (ep.secret, ep.previous_secret, ep.previous_secret_expires_at) == (
        new,
        old,
        T0 + timedelta(hours=2),
    )
    rotated = DomainEvent.objects.get(name="webhook_endpoint.secret_rotated")
    assert rotated.data == {"previous_expires_at": "2030-03-02T11:00:00Z"}
    newest = rotate_secret(endpoint=ep, grace=timedelta(0))
    ep.refresh_from_db()
    assert (ep.secret, ep.previous_secret, ep.previous_secret_expires_at) == (newest, "", None)


def test_send_test_queues_a_documented_payload_due_now(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=["reward.approved"])
    message = send_test(endpoint=ep)
    assert (message.event, message.event_name, message.status, message.next_attempt_at) == (
        None,
        "webhook.test",
        Status.PENDING,
        T0,
    )
    payload = dict(message.payload)
    assert payload.pop("id").startswith("evt_")
    assert payload == {
        "name": "webhook.test",
        "version": 1,
        "subject": ep.public_id,
        "created_at": "2030-03-02T09:00:00Z",
        "data": {"message": "A test event from Goodword: your endpoint receives webhooks."},
    }


def test_replay_sends_again_under_the_same_id(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=[])
    message = send_test(endpoint=ep)
    WebhookMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED, attempts=10, next_attempt_at=None
    )
    frozen.move_to(T0 + timedelta(days=5))
    again = replay_message(message=message)
    assert (again.public_id, again.status, again.attempts, again.next_attempt_at) == (
        message.public_id,
        Status.PENDING,
        0,
        T0 + timedelta(days=5),
    )
    assert again.payload == message.payload


def test_replay_range_takes_the_messages_created_in_it(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    ep = create_endpoint(workspace=ws, url=URL, event_types=[])
    other = create_endpoint(workspace=ws, url=URL + "/2", event_types=[])
    made = []
    for hour in range(4):
        frozen.move_to(T0 + timedelta(hours=hour))
        made.append(send_test(endpoint=ep))
        send_test(endpoint=other)
    WebhookMessage.objects.update(status=Status.DELIVERED, next_attempt_at=None)
    count = replay_range(endpoint=ep, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert count == 2
    pending = WebhookMessage.objects.filter(status=Status.PENDING).order_by("pk")
    assert [m.public_id for m in pending] == [made[1].public_id, made[2].public_id]


# Fan-out


def test_fanout_matches_event_types_and_workspace_without_duplicates(
    ws: Workspace, globex: Workspace, frozen: time_machine.Traveller
) -> None:
    every = create_endpoint(workspace=ws, url=URL, event_types=[])
    rewards = create_endpoint(workspace=ws, url=URL + "/r", event_types=["reward.approved"])
    off = create_endpoint(workspace=ws, url=URL + "/off", event_types=[])
    update_endpoint(endpoint=off, active=False)
    theirs = create_endpoint(workspace=globex, url=URL + "/g", event_types=[])
    approved = emit(ws, "reward.approved")
    emit(ws, "referral.created", "ref_1")
    queued = fanout.queue_messages()
    mine = set(messages())
    # Each endpoint gets the events from its own creation on (its own `created` included).
    assert mine == {
        (every.pk, "webhook_endpoint.created", "pending"),
        (every.pk, "webhook_endpoint.updated", "pending"),
        (every.pk, "reward.approved", "pending"),
        (every.pk, "referral.created", "pending"),
        (rewards.pk, "reward.approved", "pending"),
        (theirs.pk, "webhook_endpoint.created", "pending"),
    }
    assert WebhookMessage.objects.filter(endpoint=every).count() == 6  # two `created` of others
    assert queued == WebhookMessage.objects.count() == 8
    assert not WebhookMessage.objects.filter(endpoint=off).exists()
    assert not WebhookMessage.objects.filter(endpoint=theirs, workspace=ws).exists()
    message = WebhookMessage.objects.get(endpoint=rewards)
    assert (message.event_id, message.workspace_id, message.payload) == (
        approved.pk,
        ws.pk,
        approved.envelope(),
    )
    assert message.next_attempt_at == T0
    assert fanout.queue_messages() == 0  # read again: nothing twice
    frozen.move_to(T0 + timedelta(minutes=5))
    assert fanout.queue_messages() == 0
    assert WebhookMessage.objects.count() == 8


def test_events_before_the_endpoint_was_created_are_not_sent(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    emit(ws, "reward.approved", "rwd_before")
    frozen.move_to(T0 + timedelta(seconds=1))
    ep = create_endpoint(workspace=ws, url=URL, event_types=["reward.approved"])
    emit(ws, "reward.approved", "rwd_after")
    assert fanout.queue_messages() == 1
    assert [m.payload["subject"] for m in WebhookMessage.objects.filter(endpoint=ep)] == [
        "rwd_after"
    ]


def test_an_event_that_commits_late_is_still_fanned_out(
    ws: Workspace, frozen: time_machine.Traveller
) -> None:
    create_endpoint(workspace=ws, url=URL, event_types=["reward.approved"])
    late, early = emit(ws, "reward.approved", "rwd_late"), emit(ws, "reward.approved", "rwd_x")
    # `late` took its id first but its transaction has not committed yet.
    row = {f.attname: getattr(late, f.attname) for f in DomainEvent._meta.concrete_fields}
    late.delete()
    assert fanout.queue_messages() == 1
    cursor = WebhookCursor.objects.get()
    assert (cursor.done, cursor.seen) == (0, early.pk)
    DomainEvent.objects.create(**row)  # it commits, within the lag
    frozen.move_to(T0 + timedelta(seconds=10))
    assert fanout.queue_messages() == 1
    subjects = sorted(m.payload["subject"] for m in WebhookMessage.objects.all())
    assert subjects == ["rwd_late", "rwd_x"]
    # A fan-out `LAG` later promotes what the first one saw: it is not read again.
    frozen.move_to(T0 + fanout.LAG)
    assert fanout.queue_messages() == 0
    cursor.refresh_from_db()
    assert (cursor.done, cursor.seen) == (early.pk, early.pk)
