"""The sender's mail sessions: a claim goes out over `MESSAGE_EMAIL_SESSIONS` SMTP sessions at
once (a thread and a database connection each), one recipient's messages in one session in
claim order, each message once; a caller inside a transaction sends in one session."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from goodword.accounts.services import create_workspace
from goodword.messaging import sending
from goodword.messaging.models import Message, MessagingSettings
from goodword.participants.models import Participant
from tests.mailbox import Mailbox

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _seed(*, notices: int, thanks_to_alice: int) -> list[Message]:
    """`notices` reward notices (transactional) to as many people, and `thanks_to_alice`
    thank-you notes (marketing, under the weekly cap of 2) to alice, queued due now in turns."""
    ws, _ = create_workspace(name="Acme", owner_email="owner@acme.test")
    MessagingSettings.objects.create(
        workspace=ws, is_active=True, quiet_start=0, quiet_end=0, weekly_cap=2
    )
    people = Participant.objects.bulk_create(
        [
            Participant(workspace=ws, external_id=f"c{i}", email=f"c{i}@example.net")
            for i in range(notices)
        ]
    )
    alice = Participant.objects.create(workspace=ws, external_id="alice", email="Alice@Acme.test")
    rows = [
        Message(
            workspace=ws,
            participant=p,
            journey="reward_approved",
            transactional=True,
            cause=f"reward_approved:{p.external_id}",
            next_attempt_at=NOW - timedelta(seconds=100 - i),
            created_at=NOW,
        )
        for i, p in enumerate(people)
    ]
    for k in range(thanks_to_alice):  # alice's between the others, in claim order
        rows.insert(
            3 * k + 1,
            Message(
                workspace=ws,
                participant=alice,
                journey="thank_you",
                cause=f"thank_you:{k}",
                next_attempt_at=NOW - timedelta(seconds=100 - 3 * k - 0.5),
                created_at=NOW,
            ),
        )
    return Message.objects.bulk_create(rows)


def _record_sessions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    """(thread name, the session's id, cause) of each message the sender takes up."""
    taken: list[tuple[str, int, str]] = []
    one = sending._one

    def recorded(message: Message, loaded: Any, conn: object, now: datetime) -> None:
        taken.append((threading.current_thread().name, id(conn), message.cause))
        one(message, loaded, conn, now)

    monkeypatch.setattr(sending, "_one", recorded)
    return taken


@pytest.mark.django_db(transaction=True)
def test_a_claim_goes_out_over_several_sessions_each_message_once(
    mailbox: Mailbox, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MESSAGE_EMAIL_SESSIONS = 3
    rows = _seed(notices=12, thanks_to_alice=4)
    taken = _record_sessions(monkeypatch)
    with time_machine.travel(NOW, tick=False):
        assert sending.send_due(now=NOW) == 16
        assert sending.send_due(now=NOW) == 0

    sessions = {(thread, conn) for thread, conn, _ in taken}
    assert len(sessions) == 3
    assert all(thread.startswith("sender") for thread, _ in sessions)
    assert threading.current_thread().name not in {thread for thread, _ in sessions}
    # Each message taken up once, sent once (its own Message-ID).
    assert sorted(cause for _, _, cause in taken) == sorted(m.cause for m in rows)
    ids = Counter(str(m["Message-ID"]).strip("<>").split("@")[0] for m in mailbox.messages)
    assert len(mailbox.messages) == 14
    assert set(ids.values()) == {1}
    # alice's four notes: in one session, in claim order, the first two under the cap.
    alices = [(thread, conn, cause) for thread, conn, cause in taken if "thank_you" in cause]
    assert len({(thread, conn) for thread, conn, _ in alices}) == 1
    assert [cause for _, _, cause in alices] == [f"thank_you:{k}" for k in range(4)]
    outcomes = dict(
        Message.objects.filter(journey="thank_you").values_list("cause", "status").order_by()
    )
    assert outcomes == {
        "thank_you:0": "sent",
        "thank_you:1": "sent",
        "thank_you:2": "skipped",
        "thank_you:3": "skipped",
    }
    assert set(
        Message.objects.filter(journey="reward_approved").values_list("status", flat=True)
    ) == {"sent"}
    assert len(mailbox.to("alice@acme.test")) + len(mailbox.to("Alice@Acme.test")) == 2


@pytest.mark.django_db(transaction=True)
def test_one_session_setting_sends_in_the_callers_thread(
    mailbox: Mailbox, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MESSAGE_EMAIL_SESSIONS = 1
    _seed(notices=5, thanks_to_alice=0)
    taken = _record_sessions(monkeypatch)
    assert sending.send_due(now=NOW) == 5
    assert {(thread, conn) for thread, conn, _ in taken} == {
        (threading.current_thread().name, taken[0][1])
    }
    assert len(mailbox.messages) == 5


@pytest.mark.django_db
def test_a_caller_inside_a_transaction_sends_in_one_session_on_its_connection(
    mailbox: Mailbox, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other connections would not see the caller's uncommitted rows (a test's)."""
    settings.MESSAGE_EMAIL_SESSIONS = 4
    _seed(notices=6, thanks_to_alice=0)
    taken = _record_sessions(monkeypatch)
    assert sending.send_due(now=NOW) == 6
    assert {thread for thread, _, _ in taken} == {threading.current_thread().name}
    assert len({conn for _, conn, _ in taken}) == 1
    assert len(mailbox.messages) == 6
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
