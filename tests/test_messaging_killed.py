"""TASK-1 and TASK-2 for the sender: senders SIGKILLed again and again while sending 300 messages
to a real SMTP server over 4 mail sessions at once lose none, and repeat at most one message
per session per kill (the documented window: the server accepted it, the sender died before
writing so); recipients that the server refuses for good fail at once, and the others keep
flowing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests import mailbox as smtp
from tests.shared import run_goodword

SESSIONS = 4  # GOODWORD_EMAIL_SESSIONS: the messages a killed sender may have had in flight

SEED = """
import json
from django.utils import timezone
from goodword.accounts.services import create_workspace
from goodword.messaging.models import Message, MessagingSettings
from goodword.participants.models import Participant
ws, _ = create_workspace(name="Acme", owner_email="owner@acme.test")
MessagingSettings.objects.create(workspace=ws, is_active=True, quiet_start=0, quiet_end=0)
now = timezone.now()
people = Participant.objects.bulk_create(
    [Participant(workspace=ws, external_id=f"c{i}", email=f"c{i}@example.net") for i in range(300)]
)
rows = Message.objects.bulk_create(
    [Message(workspace=ws, participant=p, journey="reward_approved", transactional=True,
             cause=f"reward_approved:test{p.external_id}", next_attempt_at=now, created_at=now)
     for p in people]
)
print(json.dumps([m.public_id for m in rows]))
"""

STATUSES = """
import json
from django.db.models import Count
from goodword.messaging.models import Message
print(json.dumps(dict(Message.objects.values_list("status").annotate(n=Count("pk")))))
"""


def _env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(
        GOODWORD_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        GOODWORD_MESSAGE_LEASE_SECONDS="2",
        GOODWORD_EMAIL_SESSIONS=str(SESSIONS),
        GOODWORD_TASK_BACKEND="django_tasks.backends.dummy.DummyBackend",
        PYTHONUNBUFFERED="1",
    )
    return env


def _sender(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "goodword", "send_messages"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _statuses(env: dict[str, str], cwd: Path) -> dict[str, int]:
    done = run_goodword("shell", "-v0", "-c", STATUSES, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def _seed(env: dict[str, str], cwd: Path) -> list[str]:
    migrated = run_goodword("migrate", "--no-input", "-v0", env=env, cwd=cwd)
    assert migrated.returncode == 0, migrated.stderr
    seeded = run_goodword("shell", "-v0", "-c", SEED, env=env, cwd=cwd)
    assert seeded.returncode == 0, seeded.stderr
    return list(json.loads(seeded.stdout.splitlines()[-1]))


def _wait_for(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


@pytest.mark.long
def test_killed_senders_lose_nothing(tmp_path: Path, server_database: str) -> None:
    controller, box = smtp.start()
    try:
        env = _env(tmp_path, server_database, box.port)
        ids = _seed(env, tmp_path)
        kills = 0
        while kills < 8:
            before = len(box.messages)
            proc = _sender(env, tmp_path)
            _wait_for(lambda: len(box.messages) >= before + 15, 60)  # noqa: B023
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
        assert len(box.messages) < 300, "all sent before the last kill"
        proc = _sender(env, tmp_path)
        try:
            _wait_for(lambda: _statuses(env, tmp_path).get("sent") == 300, 120)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        received = Counter(str(m["Message-ID"]).strip("<> ").split("@")[0] for m in box.messages)
    finally:
        controller.stop()

    assert _statuses(env, tmp_path) == {"sent": 300}
    assert set(received) == set(ids)  # none lost
    repeated = sum(n - 1 for n in received.values())
    assert repeated <= kills * SESSIONS  # at most the one being sent in each session, per kill


@pytest.mark.long
def test_recipients_refused_for_good_fail_and_the_others_flow(
    tmp_path: Path, server_database: str
) -> None:
    controller, box = smtp.start()
    try:
        env = _env(tmp_path, server_database, box.port)
        ids = _seed(env, tmp_path)
        for i in range(0, 300, 2):  # every other recipient is refused for good
            box.refuse[f"c{i}@example.net"] = "550 5.1.1 no such user"
        done = run_goodword("send_messages", "--once", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    finally:
        controller.stop()
    assert _statuses(env, tmp_path) == {"sent": 150, "failed": 150}
    assert len(box.messages) == 150
    assert len(ids) == 300
