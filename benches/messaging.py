"""Benchmark: sending email (`messaging.sending.send_due`), on PostgreSQL and SQLite.

    .venv/bin/python benches/messaging.py [--messages 3000] [--hostile 10] [--runs 3]
        [--experiment-messages 2000] [--profile-messages 600] [--database-url URL]
        [--no-sqlite] [--no-doc] [--report benches/.out/messaging/results.json]

- Two SMTP servers (this script with `--smtp`, each in its own process pinned to core 1 at
  real-time priority, standing in for a mail relay on a machine of its own) accept every
  message and count it at the end of DATA, parsing nothing: aiosmtpd (the reference, as
  before), and a bare sink (`--sink fast`: an asyncio protocol that answers the commands and
  finds the end of DATA, a tenth of aiosmtpd's CPU), to tell the server's cost from the
  sender's; a small HTTP endpoint in each gives its count and its own CPU time.
- PostgreSQL: a throwaway database (default `goodword_bench_messaging`) dropped, created and
  migrated; SQLite: a temporary GOODWORD_DATA_DIR. Each is seeded once (`--worker setup`): a
  workspace with messaging on (`MessagingSettings` is_active, no quiet hours, weekly_cap
  1,000), two programs ("Bench", with the default wording, and "Hostile", below),
  `--messages` participants with an email address and one approved reward each.
- Sending (`--worker send`: a Django process pinned to core 0, EMAIL_URL pointing at the SMTP
  server): `--messages` `Message` rows due now are bulk-created first as the fan-out makes
  them (journey `reward_approved`, transactional, `reward_public_id` set; `--worker queue`),
  the messages table vacuumed and analysed on PostgreSQL (autovacuum's work: it is off on
  the servers these run on), then `sending.send_due()` is called until nothing is due, with
  `GOODWORD_EMAIL_SESSIONS=4` (4 mail sessions at once, a thread each: the default). Once to
  aiosmtpd, once to the bare sink.
  Messages/s = outcomes written / the time from the first claim to the last outcome written.
  CPU: the process's (getrusage) and, on PostgreSQL, its backend's (/proc). Where the time
  goes: wrappers set around the sender's steps in the bench process only (a stack of timers,
  so a step's time leaves out the timed steps it calls; about 1 µs a call): Liquid
  (`render.render`), the branded layout and CSS inlining (`layout.wrap`), the rest of
  `content.render_email`, the MIME message (`channels.email.send` less the SMTP
  conversation), the SMTP conversation (`smtplib.SMTP.sendmail`, the backend's `open` and
  `close`), the database (every statement through Django's cursor, and commits); the rest
  is claim bookkeeping, decisions and the ORM.
- Reference, in the same run: the transport floor. That batch's rendered messages (subject,
  text, HTML, address and Message-ID, read from the rows before the clock starts) sent again
  with Django's SMTP backend, built as `channels.email.send` builds them, no database and no
  rendering, in a process pinned to core 0 (`--worker floor`), over one connection and over
  4 at once (a thread each), to each server. The ratio is sender / floor over 4 sessions to
  the same server, per run.
- A hostile template: the "Hostile" program's own `reward_approved` wording in English
  (`services.save_template`), whose HTML part compiles within every limit but renders past
  the 0.25 s time limit (a loop of 10,000 iterations of 200 empty `if` tags). Per run, two
  more batches of `--messages` are queued together, their claims alternating (each claim of
  `sending.BATCH` is one batch's), so that the machine's noise hits both alike: one "without"
  (the default wording), one "with" `--hostile` messages (spread evenly) for the hostile
  program. Each message's own time and CPU (the sender's `_one`, wrapped) are recorded, and
  each batch's time is the sum of its claims'. Reported: the failed messages' reason, each
  hostile message's own cost, the delay per hostile message ((with - without) / `--hostile`)
  with the noise expected from the other messages' spread, and a cross-check that does not
  depend on the turns the machine gives: the hostile message's own CPU (its thread's) + the
  others' extra CPU a message, with against without.
- Rendering cache (`--worker render`): one message's parts rendered `--messages` times with
  the cache key the sender uses (compiled templates kept per template version) and without
  (`key=None`), in turn in blocks; CPU and wall µs per message, for the Liquid parts alone
  and for `content.render_parts` (data, Liquid, layout and CSS inlining).
- Changes tried, in the bench process only (`_Experiments`), after the runs: batches of
  `--experiment-messages` whose claims alternate, a change switched on for its batch's claims
  only, to each server: 1, 2, 4 and 8 mail sessions, the layout rendered per message (as
  before it was kept per brand and language), PostgreSQL's asynchronous commit; the
  reference is the sender as it was (1 session, layout per message). On PostgreSQL also 4
  sender processes at once on the sender's core against one, alternated twice.
- 3 runs, the two databases interleaved within each, medians reported. Then a profile
  (cProfile, which sees one thread: one session) of a smaller batch (`--profile-messages`)
  on each database.
- Everything measured is kept in benches/.out/messaging/results.json; `--report` rewrites the
  section from it.
Rewrites the `messaging` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from _common import (
    BENCH_PROGRAM,
    LOAD_CPU,
    PYTHON,
    SERVER_CPU,
    Server,
    free_port,
    goodword_env,
    log,
    machine,
    machine_lines,
    median,
    out_dir,
    place_section,
    table,
    verdict,
    write_section,
)
from events import psql

TARGET_RATE = 200.0
SENDERS = 4  # sender processes at once, in the experiment with several
SESSIONS = 4  # GOODWORD_EMAIL_SESSIONS here (the default): mail sessions at once
MARGIN_SECONDS = 0.05  # the "small margin" over the render limit for the hostile template
SCRIPT = Path(__file__).resolve()
JOURNEY = "reward_approved"
# Within every compile limit (about 4,800 characters); 2,000,000 empty tags to render.
HOSTILE_HTML = "{% for i in (1..10000) %}" + "{% if true %}{% endif %}" * 200 + "{% endfor %}"


# --- the SMTP server (its own process) ---------------------------------------------------


def smtp_main(smtp_port: int, stats_port: int, kind: str) -> None:
    lock = threading.Lock()
    tally: dict[str, float] = {"count": 0, "bytes": 0, "first": 0.0, "last": 0.0}

    def count(size: int) -> None:
        at = time.monotonic()
        with lock:
            tally["count"] += 1
            tally["bytes"] += size
            tally["first"] = tally["first"] or at
            tally["last"] = at

    if kind == "fast":
        stop = _fast_sink(smtp_port, count)
    else:
        from aiosmtpd.controller import Controller

        class Counter:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
                count(len(envelope.content or b""))
                return "250 Message accepted"

        controller = Controller(Counter(), hostname="127.0.0.1", port=smtp_port)
        controller.start()
        stop = controller.stop

    class Stats(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            own = resource.getrusage(resource.RUSAGE_SELF)
            with lock:
                data = json.dumps({**tally, "cpu": own.ru_utime + own.ru_stime}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_DELETE(self) -> None:  # noqa: N802
            with lock:
                tally.update(count=0, bytes=0, first=0.0, last=0.0)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    try:
        ThreadingHTTPServer(("127.0.0.1", stats_port), Stats).serve_forever()
    finally:
        stop()


def _fast_sink(port: int, count: Callable[[int], None]) -> Callable[[], None]:
    """A bare SMTP sink (asyncio protocol, no parsing beyond the commands and the end of
    DATA), in a thread of its own: a far cheaper server than aiosmtpd, to show how much of the
    floor is the server's."""
    import asyncio

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""
            self.data: int | None = None  # bytes of DATA so far, None outside DATA
            transport.write(b"220 sink ESMTP\r\n")

        def data_received(self, chunk: bytes) -> None:
            self.buffer += chunk
            while self.buffer:
                if self.data is not None:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        keep = self.buffer[-4:]  # the end may be split across reads
                        self.data += len(self.buffer) - len(keep)
                        self.buffer = keep
                        return
                    count(self.data + end)
                    self.buffer, self.data = self.buffer[end + 5 :], None
                    self.transport.write(b"250 accepted\r\n")
                    continue
                line, sep, rest = self.buffer.partition(b"\r\n")
                if not sep:
                    return
                self.buffer = rest
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    self.data = 0
                    self.buffer = b"\r\n" + self.buffer  # the end mark may be at once
                    self.transport.write(b"354 go on\r\n")
                elif verb == b"QUIT":
                    self.transport.write(b"221 bye\r\n")
                    self.transport.close()
                    return
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    self.transport.write(b"250 ok\r\n")

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Sink, "127.0.0.1", port))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return lambda: loop.call_soon_threadsafe(server.close)


def smtp_stats(url: str) -> dict[str, float]:
    with urlopen(url + "/", timeout=10) as answer:  # noqa: S310 - loopback
        return dict(json.loads(answer.read()))


def smtp_reset(url: str) -> None:
    urlopen(Request(url + "/", method="DELETE"), timeout=10).close()  # noqa: S310 - loopback


# --- the Django side (`--worker TASK`, its own process on core 0) ------------------------


def worker_main(task: str, spec: dict[str, Any]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodword.settings"
    os.environ.setdefault("GOODWORD_EMAIL_SESSIONS", str(SESSIONS))
    import django

    django.setup()
    tasks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "setup": task_setup,
        "queue": task_queue,
        "send": task_send,
        "floor": task_floor,
        "render": task_render,
    }
    print(json.dumps(tasks[task](spec)))


def task_setup(spec: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from goodword.accounts.services import create_workspace
    from goodword.messaging import services
    from goodword.messaging.models import MessagingSettings
    from goodword.participants.models import Participant
    from goodword.programs.rules import RewardSpec, TriggerSpec
    from goodword.programs.services import create_program
    from goodword.rewards.models import Reward

    call_command("migrate", verbosity=0)
    ws, _ = create_workspace(name="Bench", owner_email="bench@example.com")
    MessagingSettings.objects.create(
        workspace=ws, is_active=True, quiet_start=0, quiet_end=0, weekly_cap=1000
    )

    def program(name: str) -> Any:
        return create_program(
            workspace=ws,
            name=name,
            destination_url=BENCH_PROGRAM["destination_url"],
            rewards=[RewardSpec.model_validate(r) for r in BENCH_PROGRAM["rewards"]],
            trigger=TriggerSpec.model_validate(BENCH_PROGRAM["trigger"]),
        )

    bench, hostile = program("Bench"), program("Hostile")
    services.save_template(
        program=hostile, journey=JOURNEY, language="en", subject="", html=HOSTILE_HTML,
        text="", sms="", actor=None,
    )  # fmt: skip
    now = timezone.now()
    people = Participant.objects.bulk_create(
        [
            Participant(
                workspace=ws, external_id=f"cust-{n:05d}", email=f"cust{n:05d}@example.com",
                email_normalized=f"cust{n:05d}@example.com", name=f"Customer {n:05d}",
            )
            for n in range(spec["messages"])
        ],
        batch_size=1000,
    )  # fmt: skip
    Reward.objects.bulk_create(
        [
            Reward(
                workspace=ws, program=bench, source=Reward.Source.MANUAL, reason="bench",
                participant=p, kind="credit", amount=1000, currency="USD",
                status=Reward.Status.APPROVED, hold_until=now, created_at=now, approved_at=now,
            )
            for p in people
        ],
        batch_size=1000,
    )  # fmt: skip
    return {"workspace": ws.pk, "bench": bench.pk, "hostile": hostile.pk}


def task_queue(spec: dict[str, Any]) -> dict[str, Any]:
    """Bulk-create messages due now, as the fan-out's insert makes them: one batch, or several
    whose claims alternate (each claim takes one chunk of `sending.BATCH` of one batch)."""
    from datetime import timedelta

    from django.utils import timezone

    from goodword.messaging import sending
    from goodword.messaging.models import TRANSACTIONAL, Message
    from goodword.rewards.models import Reward

    now = timezone.now()
    n = spec["messages"]
    rewards = list(
        Reward.objects.filter(workspace_id=spec["workspace"])
        .order_by("participant_id")
        .values_list("participant_id", "public_id")[:n]
    )

    def batch(label: str, hostile: int) -> list[list[Message]]:
        every = n // hostile if hostile else 0
        rows = [
            Message(
                workspace_id=spec["workspace"],
                program_id=spec["hostile_program"]
                if every and k % every == every // 2 and k // every < hostile
                else spec["program"],
                participant_id=person,
                journey=JOURNEY,
                cause=f"{JOURNEY}:{reward}:{label}",
                transactional=JOURNEY in TRANSACTIONAL,
                reward_public_id=reward,
                data={"amount": 1000, "currency": "USD"},
                created_at=now,
            )
            for k, (person, reward) in enumerate(rewards)
        ]
        return [rows[i : i + sending.BATCH] for i in range(0, len(rows), sending.BATCH)]

    chunked = [batch(label, hostile) for label, hostile in spec["batches"]]
    ordered = [chunk for turn in zip(*chunked, strict=True) for chunk in turn]
    due = now - timedelta(minutes=1)
    for k, chunk in enumerate(ordered):  # claims take them in this order
        for message in chunk:
            message.next_attempt_at = due + timedelta(milliseconds=k)
    rows = [message for chunk in ordered for message in chunk]
    Message.objects.bulk_create(rows, batch_size=1000)
    return {"queued": len(rows)}


class Split:
    """Wall and CPU time per step, exclusive: a step's clock pauses while one it calls runs.
    Per thread (the sender's sessions): a step's wall time is summed over the threads, its
    CPU is the threads' own (`time.thread_time`)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.local = threading.local()
        self.lock = threading.Lock()

    @property
    def stack(self) -> list[list[Any]]:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack  # type: ignore[no-any-return]

    def _charge(self, frame: list[Any], wall: float, cpu: float) -> None:
        with self.lock:
            self.wall[frame[0]] = self.wall.get(frame[0], 0.0) + wall - frame[1]
            self.cpu[frame[0]] = self.cpu.get(frame[0], 0.0) + cpu - frame[2]

    def enter(self, step: str) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        stack = self.stack
        if stack:
            self._charge(stack[-1], wall, cpu)
        stack.append([step, wall, cpu])

    def leave(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        stack = self.stack
        self._charge(stack.pop(), wall, cpu)
        if stack:
            stack[-1][1:] = [wall, cpu]

    def wrap(self, step: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(step)
            try:
                return func(*args, **kwargs)
            finally:
                self.leave()

        return timed


def _instrument(split: Split) -> None:
    """Time the sender's steps (this process only; the product code is unchanged)."""
    import smtplib

    from django.core.mail.backends.smtp import EmailBackend
    from django.db import connection

    from goodword.messaging import content, layout, render
    from goodword.messaging.channels import email

    content.render_email = split.wrap("render: rest", content.render_email)
    render.render = split.wrap("render: Liquid", render.render)
    layout.wrap = split.wrap("render: layout and CSS inlining", layout.wrap)
    email.send = split.wrap("email: MIME message", email.send)
    smtplib.SMTP.sendmail = split.wrap("SMTP conversation", smtplib.SMTP.sendmail)  # type: ignore[method-assign]
    EmailBackend.open = split.wrap("SMTP conversation", EmailBackend.open)  # type: ignore[method-assign]
    EmailBackend.close = split.wrap("SMTP conversation", EmailBackend.close)  # type: ignore[method-assign]

    def statement(execute: Callable[..., Any], *args: Any) -> Any:
        split.enter("database")
        try:
            return execute(*args)
        finally:
            split.leave()

    def instrument(wrapper: Any) -> None:
        wrapper.execute_wrappers.append(statement)
        wrapper._commit = split.wrap("database", wrapper._commit)

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if statement not in connection.execute_wrappers:  # the sessions' own connections
            instrument(connection)

    from django.db.backends.signals import connection_created

    instrument(connection)
    connection_created.connect(created, weak=False)


def _backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class _Experiments:
    """Changes to the sender tried in this process only, switched claim by claim (so that the
    variants of one run alternate and the machine's noise hits them alike):
    - `sessions=N`: the claim sent over N mail sessions at once (`MESSAGE_EMAIL_SESSIONS`);
    - `layout_per_message`: the branded layout rendered by Django's template engine for every
      message, as before it was kept per brand and language (`layout._shell` uncached);
    - `async_commit` (PostgreSQL): the outcome writes' commits do not wait for the WAL flush
      (`SET synchronous_commit TO off` on the sender's connections, the sessions' too)."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.db import connection
        from django.db.backends.signals import connection_created

        from goodword.messaging import layout

        self.settings = settings
        self.sessions = settings.MESSAGE_EMAIL_SESSIONS
        self.connection = connection
        self.layout = layout
        self.shell = layout._shell
        self.active: set[str] = set()
        self.asynchronous = False
        connection_created.connect(self.created, weak=False)

    def created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "postgresql" and "async_commit" in self.active:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")

    def claimed(self, names: list[str]) -> None:
        self.active = set(names)
        sessions = [int(n.partition("=")[2]) for n in names if n.startswith("sessions=")]
        self.settings.MESSAGE_EMAIL_SESSIONS = sessions[0] if sessions else self.sessions
        per_message = "layout_per_message" in self.active
        self.layout._shell = self.shell.__wrapped__ if per_message else self.shell
        wanted = "async_commit" in self.active
        if self.connection.vendor == "postgresql" and wanted != self.asynchronous:
            with self.connection.cursor() as cursor:
                cursor.execute(f"SET synchronous_commit TO {'off' if wanted else 'on'}")
            self.asynchronous = wanted


def task_send(spec: dict[str, Any]) -> dict[str, Any]:
    """`send_due` until nothing is due; the figures, in all and per batch (`labels`)."""
    import cProfile

    from django.db import connection
    from django.db.models import Count

    from goodword.messaging import sending
    from goodword.messaging.models import Message

    split = Split()
    profile = cProfile.Profile() if spec.get("profile") else None
    if profile is not None:
        from django.conf import settings

        settings.MESSAGE_EMAIL_SESSIONS = 1  # cProfile sees only the thread that enables it
    if profile is None:
        _instrument(split)
    variants: dict[str, list[str]] = spec.get("experiments", {})
    experiments = _Experiments() if variants else None
    with connection.cursor() as cursor:  # connect before the clock starts
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        else:
            backend = None
    writes: list[float] = []
    own: list[tuple[str, int, float, float, int]] = []  # batch, program, seconds, CPU, claim
    claims: list[tuple[float, str]] = []  # started, batch
    write, one, claim = sending._write, sending._one, sending._claim

    def timed_claim(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        rows = claim(*args, **kwargs)
        label = rows[0].cause.rpartition(":")[2] if rows else ""
        claims.append((started, label))
        if experiments is not None:
            experiments.claimed(variants.get(label, []))
        return rows

    def timed_write(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        writes.append(time.perf_counter())

    def timed_one(message: Any, *args: Any) -> None:
        started, cpu_started = time.perf_counter(), time.thread_time()
        one(message, *args)
        label = message.cause.rpartition(":")[2]
        spent = (time.perf_counter() - started, time.thread_time() - cpu_started)
        own.append((label, message.program_id, *spent, len(claims) - 1))

    sending._claim, sending._write, sending._one = timed_claim, timed_write, timed_one  # type: ignore[assignment]
    cpu0, pg0 = _own_cpu(), _backend_cpu(backend)
    if profile is not None:
        profile.enable()
    while sending.send_due():
        pass
    if profile is not None:
        profile.disable()
    cpu, pg = _own_cpu() - cpu0, _backend_cpu(backend) - pg0
    hostile = spec.get("hostile_program")
    done = len(writes)
    seconds = writes[-1] - claims[0][0] if writes else 0.0
    # A batch's time: its claims', each from its start to the next claim's (the last claim,
    # which found nothing, starts when the one before it has written its last outcome).
    spent: dict[str, float] = {}
    per_claim: dict[str, list[tuple[float, float]]] = {}  # its time, its hostile messages'
    for k, ((started, label), (ended, _)) in enumerate(zip(claims, claims[1:], strict=False)):
        spent[label] = spent.get(label, 0.0) + ended - started
        hostile_time = sum(s for _, p, s, _, c in own if c == k and p == hostile)
        per_claim.setdefault(label, []).append((ended - started, hostile_time))
    batches = {}
    for label in spec["labels"]:
        rows = Message.objects.filter(cause__endswith=":" + label)
        outcomes = {
            f"{r['status']} {r['error']}".strip(): r["n"]
            for r in rows.values("status", "error").annotate(n=Count("id"))
        }
        mine = [(p, s, c) for b, p, s, c, _ in own if b == label]
        batches[label] = {
            "messages": len(mine),
            "seconds": spent.get(label, 0.0),
            "rate": len(mine) / spent[label] if spent.get(label) else 0.0,
            "outcomes": outcomes,
            "own_hostile": [s for p, s, c in mine if p == hostile],
            "own_others": [s for p, s, c in mine if p != hostile],
            "cpu_hostile": [c for p, s, c in mine if p == hostile],
            "cpu_others": [c for p, s, c in mine if p != hostile],
            "claims": per_claim.get(label, []),
        }
        if spec.get("bodies"):
            sent = rows.filter(status="sent").order_by("pk")
            fields = ("public_id", "to", "subject", "text", "html")
            Path(spec["bodies"]).write_text(json.dumps(list(sent.values(*fields))))
    result = {
        "messages": done,
        "claims": len(claims) - 1,  # the last claim found nothing
        "seconds": seconds,
        "rate": done / seconds if seconds else 0.0,
        "sent": sum(v for b in batches.values() for k, v in b["outcomes"].items() if k == "sent"),
        "cpu_ms": 1000 * cpu / max(done, 1),
        "pg_ms": 1000 * pg / max(done, 1),
        "split_wall_ms": {k: 1000 * v / max(done, 1) for k, v in split.wall.items()},
        "split_cpu_ms": {k: 1000 * v / max(done, 1) for k, v in split.cpu.items()},
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "batches": batches,
        # CLOCK_MONOTONIC: comparable between the processes of one machine
        "first": claims[0][0],
        "last": writes[-1] if writes else claims[0][0],
    }
    if profile is not None:
        result["profile"] = _profile_summary(profile, done)
    return result


# Where a profiled batch's time goes: (label, file name ending, function name), cumulative.
_PROFILE_ROWS = [
    ("send_due (the whole batch)", "messaging/sending.py", "send_due"),
    ("claim (_claim)", "messaging/sending.py", "_claim"),
    ("load the claim's facts (loading.Loaded.load)", "messaging/loading.py", "load"),
    ("one message (_one)", "messaging/sending.py", "_one"),
    ("render (content.render_email)", "messaging/content.py", "render_email"),
    ("find the template (content.wording)", "messaging/content.py", "wording"),
    ("template data (content.template_data)", "messaging/content.py", "template_data"),
    ("Liquid (render.render)", "messaging/render.py", "render"),
    ("layout (layout.wrap)", "messaging/layout.py", "wrap"),
    ("CSS inlining (css_inline)", "~", "<method 'inline' of 'builtins.CSSInliner' objects>"),
    ("send (channels.email.send)", "channels/email.py", "send"),
    ("MIME message (EmailMessage.message)", "django/core/mail/message.py", "message"),
    ("SMTP sendmail", "smtplib.py", "sendmail"),
    ("write the outcome (_write)", "messaging/sending.py", "_write"),
]


def _profile_summary(profile: Any, messages: int) -> dict[str, Any]:
    import pstats

    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for label, filename, name in _PROFILE_ROWS:
        cum = sum(v[3] for (f, _, fn), v in entries.items() if f.endswith(filename) and fn == name)
        rows.append((label, 1000 * cum / max(messages, 1)))
    by_own = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:12]
    top = [
        (f"{Path(f).name}:{line} {fn}" if f != "~" else fn, 1000 * v[2] / max(messages, 1))
        for (f, line, fn), v in by_own
    ]
    total = sum(v[2] for v in entries.values())
    return {"cumulative": rows, "own": top, "total_ms": 1000 * total / max(messages, 1)}


def task_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The same rendered messages over `sessions` SMTP connections at once (a thread each,
    taking the next message when done with one): no database, no rendering."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor
    from email.utils import formataddr
    from urllib.parse import urlsplit as split_url

    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection

    bodies = json.loads(Path(spec["bodies"]).read_text())
    host = split_url(settings.SITE_URL).hostname or "localhost"
    sender = formataddr(("Bench", settings.DEFAULT_FROM_EMAIL))
    waiting = deque(bodies)

    def session() -> None:
        conn = get_connection(fail_silently=False)
        conn.open()
        while True:
            try:
                body = waiting.popleft()
            except IndexError:
                break
            mail = EmailMultiAlternatives(
                subject=body["subject"],
                body=body["text"],
                from_email=sender,
                to=[body["to"]],
                headers={"Message-ID": f"<{body['public_id']}@{host}>"},
                connection=conn,
            )
            mail.attach_alternative(body["html"], "text/html")
            mail.send()
        conn.close()

    cpu0 = _own_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["sessions"]) as pool:
        futures = [pool.submit(session) for _ in range(spec["sessions"])]
    for future in futures:
        future.result()
    seconds = time.perf_counter() - started
    return {
        "messages": len(bodies),
        "seconds": seconds,
        "rate": len(bodies) / seconds,
        "cpu_ms": 1000 * (_own_cpu() - cpu0) / len(bodies),
        "html_bytes": sum(len(b["html"].encode()) for b in bodies) / len(bodies),
    }


def task_render(spec: dict[str, Any]) -> dict[str, Any]:
    """One message's parts rendered `messages` times with the sender's cache key and without."""
    from goodword.messaging import content, render
    from goodword.messaging.models import MessagingSettings
    from goodword.participants.models import Participant
    from goodword.programs.models import Program
    from goodword.rewards.models import Reward

    reward = Reward.objects.filter(workspace_id=spec["workspace"]).order_by("pk").first()
    assert reward is not None
    ctx = content.Context(
        journey=JOURNEY,
        language="en",
        settings=MessagingSettings.objects.get(workspace_id=spec["workspace"]),
        workspace_name="Bench",
        program=Program.objects.get(pk=spec["program"]),
        recipient=Participant.objects.get(pk=reward.participant_id),
        unsubscribe_url="",
        reward=reward,
    )
    parts, name = content.wording(spec["program"], JOURNEY, "en")
    data = content.template_data(ctx)
    key = f"{name}:{JOURNEY}:en"

    def liquid(cache: bool) -> None:
        for part in content.EMAIL_PARTS:
            cached = f"{key}:{part}" if cache else None
            render.render(parts[part], data, html=part == "html", key=cached)

    def whole(cache: bool) -> None:
        content.render_parts(ctx, parts, name, cache=cache)

    cases = {"liquid": liquid, "whole": whole}
    wall = {(case, cache): 0.0 for case in cases for cache in (True, False)}
    cpu = dict(wall)
    blocks = 10
    timed_out = 0
    for _ in range(blocks):  # in turn, so that noise on the machine hits both alike
        for case, func in cases.items():
            for cache in (True, False):
                started, cpu_started = time.perf_counter(), time.process_time()
                for _ in range(spec["messages"] // blocks):
                    try:
                        func(cache)
                    except render.TemplateFailed:
                        # The default wording past the time limit: the process was not given
                        # the CPU for 0.25 s (a sender would fail that message). Counted.
                        timed_out += 1
                wall[case, cache] += time.perf_counter() - started
                cpu[case, cache] += time.process_time() - cpu_started
    count = blocks * (spec["messages"] // blocks)
    out = {"timed out": float(timed_out)}
    for (case, cache), seconds in wall.items():
        name = f"{case} {'cached' if cache else 'uncached'}"
        out[name] = 1e6 * seconds / count
        out[name + " cpu"] = 1e6 * cpu[case, cache] / count
    return out


# --- the benchmark -----------------------------------------------------------------------


class Sink:
    """An SMTP server process (`kind`: "aiosmtpd" or "fast"), pinned to LOAD_CPU."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port, stats_port = free_port(), free_port()
        # At real-time priority: it stands in for a mail relay on a machine of its own, which
        # answers at once, not when the other jobs on this one leave it a turn.
        self.server = Server(
            f"smtp-{kind}",
            ["chrt", "-f", "10", str(PYTHON), str(SCRIPT), "--smtp", str(self.port),
             "--stats", str(stats_port), "--sink", kind],
            port=stats_port,
            cpu=LOAD_CPU,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return self.server.url


class Database:
    def __init__(self, label: str, env: dict[str, str], sinks: dict[str, Sink]) -> None:
        self.label = label
        self.env = {**os.environ, **env}
        self.sinks = sinks
        self.ids: dict[str, int] = {}

    @property
    def url(self) -> str:
        return self.env.get("DATABASE_URL", "")

    def worker(self, task: str, sink: str = "aiosmtpd", **spec: Any) -> dict[str, Any]:
        argv = ["taskset", "-c", SERVER_CPU, str(PYTHON), str(SCRIPT), "--worker", task,
                "--spec", json.dumps({**self.ids, **spec})]  # fmt: skip
        env = {**self.env, "EMAIL_URL": f"smtp://127.0.0.1:{self.sinks[sink].port}"}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{self.label} {task} failed:\n{done.stdout}\n{done.stderr}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def settle(self) -> None:
        """What autovacuum does after a bulk insert (off on the servers these run on)."""
        if self.url.startswith("postgres"):
            psql(self.url, "VACUUM ANALYZE messaging_message")


def send_batch(
    db: Database,
    batches: list[tuple[str, int]],
    *,
    messages: int,
    sink: str = "aiosmtpd",
    **extra: Any,
) -> dict[str, Any]:
    """Queue the batches (their claims alternating), settle, send them all; the figures."""
    smtp = db.sinks[sink].url
    db.worker("queue", batches=batches, messages=messages)
    db.settle()
    smtp_reset(smtp)
    before = smtp_stats(smtp)
    labels = [label for label, _ in batches]
    result = db.worker("send", sink=sink, labels=labels, **extra)
    after = smtp_stats(smtp)
    result["received"] = int(after["count"])
    result["smtp_cpu_ms"] = 1000 * (after["cpu"] - before["cpu"]) / max(after["count"], 1)
    log(f"{db.label} {sink} {labels}: {result['rate']:.0f} messages/s, received "
        f"{result['received']}, " + ", ".join(
            f"{label} {b['rate']:.0f}/s {b['outcomes']}" for label, b in result["batches"].items()
        ))  # fmt: skip
    return result


def floor(db: Database, bodies: Path, *, sink: str, sessions: int) -> dict[str, Any]:
    smtp = db.sinks[sink].url
    smtp_reset(smtp)
    before = smtp_stats(smtp)
    result = db.worker("floor", sink=sink, bodies=str(bodies), sessions=sessions)
    after = smtp_stats(smtp)
    result["received"] = int(after["count"])
    result["smtp_cpu_ms"] = 1000 * (after["cpu"] - before["cpu"]) / max(after["count"], 1)
    log(f"{db.label} floor ({sink}, {sessions} sessions): {result['rate']:.0f} messages/s, "
        f"received {result['received']}")  # fmt: skip
    return result


def one_run(db: Database, run: int, opts: argparse.Namespace) -> dict[str, Any]:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    bodies = out_dir("messaging") / f"bodies-{db.label}-{run}.json"
    n = opts.messages
    normal = send_batch(db, [(f"r{run}n", 0)], messages=n, bodies=str(bodies))
    # The references, interleaved with the sender's batches.
    ref = floor(db, bodies, sink="aiosmtpd", sessions=1)
    ref_sessions = floor(db, bodies, sink="aiosmtpd", sessions=SESSIONS)
    fast = send_batch(db, [(f"r{run}f", 0)], messages=n, sink="fast")
    fast_ref = floor(db, bodies, sink="fast", sessions=1)
    fast_ref_sessions = floor(db, bodies, sink="fast", sessions=SESSIONS)
    bodies.unlink()
    paired = send_batch(db, [(f"r{run}o", 0), (f"r{run}w", opts.hostile)], messages=n)
    rendering = db.worker("render", messages=n)
    return {
        "load": load,
        "normal": normal,
        "floor": ref,
        "floor_sessions": ref_sessions,
        "fast": fast,
        "fast_floor": fast_ref,
        "fast_floor_sessions": fast_ref_sessions,
        "without": paired["batches"][f"r{run}o"],
        "with": paired["batches"][f"r{run}w"],
        "paired": paired,
        "render": rendering,
    }


# Experiments (`_Experiments`): variant label -> the changes it makes. The first is the
# sender as it was before sessions and the kept layout (the ratios' reference).
VARIANTS = {
    "1 session, layout per message (before)": ["sessions=1", "layout_per_message"],
    "1 session": ["sessions=1"],
    "2 sessions": ["sessions=2"],
    f"{SESSIONS} sessions (the default)": [f"sessions={SESSIONS}"],
    "8 sessions": ["sessions=8"],
    f"{SESSIONS} sessions, layout per message": [f"sessions={SESSIONS}", "layout_per_message"],
    f"{SESSIONS} sessions, asynchronous commit": [f"sessions={SESSIONS}", "async_commit"],
}
BEFORE = next(iter(VARIANTS))


def experiment(db: Database, opts: argparse.Namespace, sink: str) -> dict[str, Any]:
    names = [v for v in VARIANTS if db.label == "PostgreSQL" or "async_commit" not in VARIANTS[v]]
    labels = {name: f"x{sink[0]}{k}" for k, name in enumerate(names)}
    result = send_batch(
        db, [(labels[name], 0) for name in names], messages=opts.experiment_messages,
        sink=sink, experiments={labels[name]: VARIANTS[name] for name in names},
    )  # fmt: skip
    return {name: result["batches"][labels[name]] for name in names}


def concurrent(db: Database, label: str, senders: int, messages: int) -> float:
    """`senders` sender processes at once on the sender's core (PostgreSQL: claims under SKIP
    LOCKED); messages/s from the first claim of any to the last outcome of any."""
    smtp = db.sinks["aiosmtpd"].url
    db.worker("queue", batches=[(label, 0)], messages=messages)
    db.settle()
    smtp_reset(smtp)
    spec = json.dumps({**db.ids, "labels": [label]})
    argv = ["taskset", "-c", SERVER_CPU, str(PYTHON), str(SCRIPT), "--worker", "send",
            "--spec", spec]  # fmt: skip
    env = {**db.env, "EMAIL_URL": f"smtp://127.0.0.1:{db.sinks['aiosmtpd'].port}"}
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(senders)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{db.label} sender failed:\n{err.decode()}")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    sent = sum(r["messages"] for r in results)
    span = max(r["last"] for r in results) - min(r["first"] for r in results)
    received = int(smtp_stats(smtp)["count"])
    log(f"{db.label} {senders} senders: {sent / span:.0f} messages/s, received {received}")
    assert sent == messages == received, (sent, messages, received)
    return sent / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--hostile", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile-messages", type=int, default=600)
    parser.add_argument("--experiment-messages", type=int, default=2000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_messaging"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--smtp", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink", default="aiosmtpd", help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--spec", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help="rewrite the section from a results.json")
    opts = parser.parse_args()
    # Each batch gives one message to each of the `--messages` seeded participants: no batch
    # can hold more (a larger one found only 1,500 of 2,000 to queue).
    if max(opts.experiment_messages, opts.profile_messages) > opts.messages:
        parser.error("--experiment-messages and --profile-messages are at most --messages")
    if opts.smtp:
        smtp_main(opts.smtp, opts.stats, opts.sink)
        return
    if opts.worker:
        worker_main(opts.worker, json.loads(opts.spec))
        return
    if opts.report:
        publish(opts, json.loads(opts.report.read_text()))
        return

    info = machine()
    url = opts.database_url
    dbname = urlsplit(url).path.lstrip("/")
    if "bench" not in dbname:
        sys.exit("refusing to drop a database whose name does not contain 'bench'")
    sinks = {kind: Sink(kind) for kind in ("aiosmtpd", "fast")}
    dirs: list[Path] = []
    runs: dict[str, list[dict[str, Any]]] = {}
    profiles: dict[str, dict[str, Any]] = {}
    experiments: dict[str, dict[str, Any]] = {}
    try:
        for sink in sinks.values():
            sink.server.wait_ready()
        log(f"recreating the throwaway database {dbname}")
        psql(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', database="postgres")
        psql(url, f'CREATE DATABASE "{dbname}"', database="postgres")
        pg_version = psql(url, "SHOW server_version")
        sync_commit = psql(url, "SHOW synchronous_commit")
        databases = []
        for label, database_url in (("PostgreSQL", url), ("SQLite", "")):
            if label == "SQLite" and opts.no_sqlite:
                continue
            dirs.append(Path(tempfile.mkdtemp(prefix="gw-bench-messaging-")))
            db = Database(label, goodword_env(dirs[-1], database_url), sinks)
            ids = db.worker("setup", messages=opts.messages)
            db.ids = {"workspace": ids["workspace"], "program": ids["bench"],
                      "hostile_program": ids["hostile"]}  # fmt: skip
            if database_url:
                psql(url, "VACUUM ANALYZE")
            databases.append(db)
        for run in range(1, opts.runs + 1):
            for db in databases:
                runs.setdefault(db.label, []).append(one_run(db, run, opts))
                partial = out_dir("messaging") / "partial.json"  # kept if a later step fails
                partial.write_text(json.dumps({"runs": runs}, indent=1))
        for db in databases:
            experiments[db.label] = {
                "variants": experiment(db, opts, "aiosmtpd"),
                "fast": experiment(db, opts, "fast"),
            }
            if db.label == "PostgreSQL":  # SQLite has one writer at a time
                # Alternated, so that the machine's noise hits both alike.
                rates: dict[int, list[float]] = {1: [], SENDERS: []}
                for k, senders in enumerate([1, SENDERS, 1, SENDERS]):
                    rates[senders].append(concurrent(
                        db, f"c{k}", senders, opts.experiment_messages
                    ))  # fmt: skip
                experiments[db.label]["senders"] = rates
            profiles[db.label] = send_batch(
                db, [("p", 0)], messages=opts.profile_messages, profile=True
            )
        end_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    finally:
        for sink in sinks.values():
            sink.server.stop()
        for path in dirs:
            shutil.rmtree(path, ignore_errors=True)

    results = {
        "info": info, "end_load": end_load, "pg_version": pg_version,
        "sync_commit": sync_commit, "dbname": dbname, "runs": runs, "profiles": profiles,
        "experiments": experiments, "opts": vars(opts) | {"report": None},
    }  # fmt: skip
    (out_dir("messaging") / "results.json").write_text(json.dumps(results, indent=1))
    publish(opts, results)


def publish(opts: argparse.Namespace, results: dict[str, Any]) -> None:
    results = json.loads(json.dumps(results))  # as read back by --report (string keys)
    # The sizes the results were measured with (--report may be given other ones).
    for name in ("messages", "hostile", "runs", "experiment_messages", "no_sqlite"):
        setattr(opts, name, results["opts"][name])
    text = report(opts, results)
    if not opts.no_doc:
        place_section("messaging")
        write_section("messaging", text)
    print(text)


# --- the report --------------------------------------------------------------------------


def _runs_text(values: list[float], fmt: str = "{:,.0f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


STEPS = {
    "render: Liquid": "Liquid",
    "render: layout and CSS inlining": "layout and CSS inlining",
    "render: rest": "rest of rendering (template lookup, data)",
    "email: MIME message": "MIME message",
    "SMTP conversation": "SMTP conversation",
    "database": "database",
}
LIMIT = 0.25  # render.RENDER_SECONDS


def _step(results: list[dict[str, Any]], kind: str, step: str) -> float:
    return median(r["normal"][f"split_{kind}_ms"].get(step, 0.0) for r in results)


def _rendering(res: list[dict[str, Any]], key: str) -> str:
    cpu = median(r["render"][key + " cpu"] for r in res)
    return f"{cpu:,.0f} ({median(r['render'][key] for r in res):,.0f})"


def _what_it_would_take(db: str, res: list[dict[str, Any]], exp: dict[str, Any]) -> str:
    """Where the time goes and what the changes tried gave, in words, from the figures."""
    cpu = median(r["normal"]["cpu_ms"] for r in res)
    wall = median(1000 / r["normal"]["rate"] for r in res)
    floor_cpu = median(r["floor"]["cpu_ms"] for r in res)
    smtp_cpu = median(r["floor"]["smtp_cpu_ms"] for r in res)
    fast_cpu = median(r["fast_floor"]["smtp_cpu_ms"] for r in res)
    step = {name: _step(res, "cpu", name) for name in STEPS}
    text = [
        f"**{db}, what it would take.** 200/s is 5 ms a message. With {SESSIONS} sessions the "
        "sender's waits (the SMTP server's answer, the database's commit) overlap its work, "
        f"so its CPU a message bounds it: {cpu:.1f} ms (all its threads; {wall:.1f} ms of "
        "wall time a message here, on a core shared with other jobs), at most about "
        f"{1000 / cpu:,.0f}/s on a core of its own. The floor's client spends "
        f"{floor_cpu:.1f} ms a message; aiosmtpd {smtp_cpu:.1f} ms a message on its core, "
        f"the bare sink {fast_cpu:.2f} ms: over one session these come one after the other, "
        "which is what capped the single-session floor."
    ]
    for sink, key in (("aiosmtpd", "variants"), ("the bare sink", "fast")):
        variants = exp.get(key, {})
        base = variants.get(BEFORE, {})
        if not base:
            continue
        gains = []
        for name, b in variants.items():
            if name == BEFORE:
                continue
            change = 1000 * (_mean(b["cpu_others"]) - _mean(base["cpu_others"]))
            gains.append(f"{name}: {b['rate'] / base['rate']:.2f}x ({change:+.2f} ms CPU)")
        text.append(f"Against the sender as it was, to {sink}: " + "; ".join(gains) + ".")
    text.append(
        "What is left, CPU per message: the MIME message "
        f"{step['email: MIME message']:.2f} ms (Django's `EmailMultiAlternatives` on the "
        "standard library's `email` package, whose header folding is most of it; the floor "
        f"pays it too), Liquid {step['render: Liquid']:.2f} ms, the layout and CSS inlining "
        f"{step['render: layout and CSS inlining']:.2f} ms (css-inline on the whole document; "
        "the layout itself is now rendered once per brand and language), the database client "
        f"{step['database']:.2f} ms, the SMTP client {step['SMTP conversation']:.2f} ms."
    )
    senders = exp.get("senders")
    if senders:
        one, many = _mean(senders["1"]), _mean(senders[str(SENDERS)])
        text.append(
            f"{SENDERS} sender processes on the sender's one core gave {many / one:.2f}x one "
            "(each with its sessions; they take more of the shared core from the other jobs); "
            "on cores of their own it could not be measured on this two-core machine."
        )
    return " ".join(text)


_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # a function's address in its name, per process


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _noise(without: dict[str, Any], with_: dict[str, Any], hostile: int) -> float:
    """One standard deviation of (with - without) / hostile, from the claims: the batches'
    claims alternate, so each of "with"'s claims (less its hostile messages' own time) is
    paired with the claim of "without" before it; the pairs' differences spread as the
    machine's noise does."""
    import statistics

    pairs = [
        (w - w_hostile) - o
        for (o, _), (w, w_hostile) in zip(without["claims"], with_["claims"], strict=False)
    ]
    return float(len(pairs) ** 0.5 * statistics.pstdev(pairs) / hostile)


def report(opts: argparse.Namespace, results: dict[str, Any]) -> str:
    info, end_load, runs = results["info"], results["end_load"], results["runs"]
    pg_version, sync_commit = results["pg_version"], results["sync_commit"]
    dbname, profiles, experiments = results["dbname"], results["profiles"], results["experiments"]
    cmd = ".venv/bin/python benches/messaging.py"
    if opts.messages != 3000:
        cmd += f" --messages {opts.messages}"
    if opts.runs != 3:
        cmd += f" --runs {opts.runs}"
    if opts.no_sqlite:
        cmd += " --no-sqlite"
    n, h = opts.messages, opts.hostile
    throughput, steps, hostile_rows, render_rows, tried, verdicts = [], [], [], [], [], []
    notes: list[str] = []
    for db, res in runs.items():
        for k, r in enumerate(res, 1):
            normal, ref, refs = r["normal"], r["floor"], r["floor_sessions"]
            fast, fast_ref, fast_refs = r["fast"], r["fast_floor"], r["fast_floor_sessions"]
            throughput.append((
                db, k, r["load"],
                f"**{normal['rate']:,.0f}**", f"{ref['rate']:,.0f}", f"{refs['rate']:,.0f}",
                f"{normal['rate'] / refs['rate']:.2f}x",
                f"**{fast['rate']:,.0f}**", f"{fast_ref['rate']:,.0f}",
                f"{fast_refs['rate']:,.0f}", f"{fast['rate'] / fast_refs['rate']:.2f}x",
                f"{normal['cpu_ms']:.2f}",
                f"{normal['pg_ms']:.2f}" if db == "PostgreSQL" else "",
                f"{ref['cpu_ms']:.2f}", f"{normal['smtp_cpu_ms']:.2f} / {fast['smtp_cpu_ms']:.2f}",
                f"{normal['received']:,} / {ref['received']:,} / {refs['received']:,}",
            ))  # fmt: skip
        rate = median(r["normal"]["rate"] for r in res)
        ratio = median(r["normal"]["rate"] / r["floor_sessions"]["rate"] for r in res)
        floor_rate = median(r["floor_sessions"]["rate"] for r in res)
        fast_rate = median(r["fast"]["rate"] for r in res)
        fast_ratio = median(r["fast"]["rate"] / r["fast_floor_sessions"]["rate"] for r in res)
        fast_floor_rate = median(r["fast_floor_sessions"]["rate"] for r in res)
        wall = median(1000 / r["normal"]["rate"] for r in res)
        cpu = median(r["normal"]["cpu_ms"] for r in res)
        timed = median(sum(r["normal"]["split_wall_ms"].values()) for r in res)
        steps.append((
            db, *(f"{_step(res, 'wall', s):.2f} / {_step(res, 'cpu', s):.2f}" for s in STEPS),
            f"{max(wall - timed, 0):.2f}", f"{wall:.2f} / {cpu:.2f}",
        ))  # fmt: skip
        delays, owns, noises, cpu_delays = [], [], [], []
        for k, r in enumerate(res, 1):
            with_, without = r["with"], r["without"]
            delay = (with_["seconds"] - without["seconds"]) / h
            noise = _noise(without, with_, h)
            own = sorted(with_["own_hostile"])
            others_cpu = [1000 * _mean(b["cpu_others"]) for b in (without, with_)]
            # On a core of its own: the hostile message's CPU (its thread's: with several
            # sessions the others run while it does), plus what it made the others spend
            # (their CPU a message, with against without), no turns waited for.
            cpu_delay = median(with_["cpu_hostile"]) + (
                (n - h) * (others_cpu[1] - others_cpu[0]) / 1000 / h
            )
            delays.append(delay)
            noises.append(noise)
            cpu_delays.append(cpu_delay)
            owns += own
            failed = {k2: v for k2, v in with_["outcomes"].items() if k2.startswith("failed")}
            hostile_rows.append((
                db, k, "; ".join(f"{v} × `{k2.removeprefix('failed ')}`"
                                 for k2, v in failed.items()),
                f"{with_['outcomes'].get('sent', 0):,}",
                f"{own[0]:.3f} / {median(own):.3f} / {own[-1]:.3f}",
                f"{median(with_['cpu_hostile']):.3f}",
                f"{without['seconds']:.2f}", f"{with_['seconds']:.2f}", f"**{delay:.3f}**",
                f"{noise:.3f}",
                f"{1000 * _mean(without['own_others']):.2f} / "
                f"{1000 * _mean(with_['own_others']):.2f}",
                f"{others_cpu[0]:.2f} / {others_cpu[1]:.2f}", f"{cpu_delay:.3f}",
            ))  # fmt: skip
        delay = median(delays)
        only_hostile_failed = all(
            r["with"]["outcomes"] == {f"failed template: the template took more than "
                                      f"{LIMIT} seconds of CPU to render": h, "sent": n - h}
            and r["without"]["outcomes"] == {"sent": n}
            for r in res
        )  # fmt: skip

        render_rows.append((
            db, *(_rendering(res, key) for key in ("liquid cached", "liquid uncached",
                                                   "whole cached", "whole uncached")),
            f"{median(r['render']['liquid uncached cpu'] / r['render']['liquid cached cpu'] for r in res):.1f}x",  # noqa: E501
            f"{sum(int(r['render'].get('timed out', 0)) for r in res)} of {4 * n * len(res):,}",
        ))  # fmt: skip
        received = all(
            r["normal"]["received"] == n == r["floor"]["received"]
            and r["floor_sessions"]["received"] == n == r["fast"]["received"]
            and r["fast_floor"]["received"] == n == r["fast_floor_sessions"]["received"]
            and r["paired"]["received"] == 2 * n - h
            for r in res
        )
        ceiling = 1000 / cpu
        verdicts += [
            (f"{db}: messages/s to a local SMTP server (aiosmtpd), templates rendered, "
             f">= {TARGET_RATE:g}",
             f"{rate:,.0f}/s ({ratio:.2f}x the transport floor over {SESSIONS} sessions, "
             f"{floor_rate:,.0f}/s); at its CPU per message, one free core would give at most "
             f"{ceiling:,.0f}/s", verdict(rate >= TARGET_RATE)),
            (f"{db}: the same to a bare SMTP sink (the server's cost left out), >= "
             f"{TARGET_RATE:g}",
             f"{fast_rate:,.0f}/s ({fast_ratio:.2f}x the floor over {SESSIONS} sessions to the "
             f"same sink, {fast_floor_rate:,.0f}/s)", verdict(fast_rate >= TARGET_RATE)),
            (f"{db}: a hostile template delays the others by <= the render limit "
             f"({LIMIT} s) + {MARGIN_SECONDS} s per hostile message",
             f"{delay:.3f} s (runs {_runs_text(delays, '{:.3f}')}, noise ±"
             f"{median(noises):.3f} s); its own cost: median {median(owns):.3f} s, "
             f"max {max(owns):.3f} s",
             verdict(delay <= LIMIT + MARGIN_SECONDS)),
            (f"{db}: (cross-check, less noisy) the same delay on a core of its own: the hostile "
             "message's own time + the others' extra CPU",
             f"{median(cpu_delays):.3f} s (runs {_runs_text(cpu_delays, '{:.3f}')})",
             verdict(median(cpu_delays) <= LIMIT + MARGIN_SECONDS)),
            (f"{db}: the hostile messages fail with the template's reason, every other is sent",
             f"{n - h:,} sent, {h} failed, in every run" if only_hostile_failed
             else "no: see the table", verdict(only_hostile_failed)),
            (f"{db}: the SMTP server received every message sent (sender and floor)",
             "all" if received else "some missing", verdict(received)),
        ]  # fmt: skip
        exp = experiments.get(db, {})
        for sink, key in (("aiosmtpd", "variants"), ("bare sink", "fast")):
            variants = exp.get(key, {})
            base = variants.get(BEFORE, {}).get("rate", 0.0)
            base_cpu = _mean(variants.get(BEFORE, {}).get("cpu_others", [0.0]))
            for name, b in variants.items():
                cpu_ms = 1000 * _mean(b["cpu_others"])
                tried.append((
                    db, sink, name, f"{b['rate']:,.0f}",
                    f"{b['rate'] / base:.2f}x" if base else "",
                    f"{cpu_ms:.2f}", f"{cpu_ms - 1000 * base_cpu:+.2f}",
                ))  # fmt: skip
        if "senders" in exp:
            one = sum(exp["senders"]["1"]) / len(exp["senders"]["1"])
            many = sum(exp["senders"][str(SENDERS)]) / len(exp["senders"][str(SENDERS)])
            tried += [
                (db, "aiosmtpd", "one sender process (alternated with the next)",
                 f"{one:,.0f}", "1.00x", "", ""),
                (db, "aiosmtpd", f"{SENDERS} sender processes at once, same core",
                 f"{many:,.0f}", f"{many / one:.2f}x", "", ""),
            ]  # fmt: skip
        r0 = res[0]
        split = {s: _step(res, "cpu", s) for s in STEPS}
        floor_cpu = median(r["floor"]["cpu_ms"] for r in res)
        notes.append(
            f"**{db}**: the sender spends {cpu:.1f} ms of CPU a message ({floor_cpu:.1f} ms in "
            f"the floor) and {wall:.1f} ms of wall time; rendering "
            f"{sum(v for s, v in split.items() if s.startswith('render')):.1f} ms of the CPU "
            f"(Liquid {split['render: Liquid']:.2f}, layout and CSS inlining "
            f"{split['render: layout and CSS inlining']:.2f}, the rest "
            f"{split['render: rest']:.2f}: the template data and the parts' merge), "
            f"the MIME message {split['email: MIME message']:.2f}, the database client "
            f"{split['database']:.2f}, the SMTP client {split['SMTP conversation']:.2f}. "
            f"{r0['normal']['claims']} claims of up to 200 a batch; peak RSS "
            f"{max(r['normal']['maxrss_mb'] for r in res):.0f} MB; the rendered HTML part is "
            f"about {r0['floor']['html_bytes'] / 1024:.1f} KB a message."
        )
    fixes = [_what_it_would_take(db, res, experiments.get(db, {})) for db, res in runs.items()]
    profile_md = []
    for db, p in profiles.items():
        prof = p["profile"]
        profile_md += [
            f"**{db}**, {p['messages']:,} messages under cProfile (which slows Python calls: "
            f"{prof['total_ms']:.1f} ms a message profiled against "
            f"{median(1000 / r['normal']['rate'] for r in runs[db]):.1f} ms unprofiled; "
            "compare the rows with each other), ms per message, cumulative (a step includes "
            "what it calls):",
            "",
            table(["step", "ms per message"],
                  [(label, f"{ms:.2f}") for label, ms in prof["cumulative"]]),
            "",
            "The functions with the most own time:",
            "",
            table(["function", "own ms per message"],
                  [(f"`{_ADDRESS.sub('', name)}`", f"{ms:.2f}")
                   for name, ms in prof["own"][:8]]),
            "",
        ]  # fmt: skip
    md = [
        "## 11. Messaging: sending email",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *[
            line
            for line in machine_lines(info)
            if not line.startswith(("- Load generator", "- Pinning"))
        ],
        f"- Load average when the run ended: {end_load}",
        f"- Pinning: the sender on CPU {SERVER_CPU}, the SMTP servers on CPU {LOAD_CPU} at "
        "real-time priority (`chrt -f 10`: they stand in for a mail relay on a machine of its "
        "own); PostgreSQL is not pinned",
        f"- PostgreSQL {pg_version} on 127.0.0.1 (synchronous_commit={sync_commit}), a "
        f"throwaway database `{dbname}` dropped, created and migrated by the script; SQLite in "
        "a temporary GOODWORD_DATA_DIR",
        "- SMTP servers, each in its own process: aiosmtpd, counting each message at the end "
        "of DATA and parsing nothing (the reference, as before); and a bare sink (an asyncio "
        "protocol of this script that answers the commands and finds the end of DATA, about a "
        "tenth of aiosmtpd's CPU a message), to show what of the floor is the server's",
        f"- Sender: `sending.send_due()` until nothing is due, in a Django process of its own, "
        f"with {SESSIONS} mail sessions (`GOODWORD_EMAIL_SESSIONS={SESSIONS}`, the default); "
        f"{n:,} `reward_approved` messages (transactional, an approved reward each, the "
        "default English wording: Liquid subject, HTML and text, the branded layout, CSS "
        "inlined) bulk-created due now for as many participants, as the fan-out makes them; "
        "timed from the first claim to the last outcome written",
        f"- Transport floor (the reference, same run): those {n:,} rendered messages sent "
        "again with Django's SMTP backend, built as the sender builds them, no database, no "
        f"rendering, over one connection and over {SESSIONS} at once (a thread each), to each "
        "server; the ratio is the sender's to the floor over as many sessions to the same "
        "server",
        f"- Hostile template: the second program's own HTML part ({len(HOSTILE_HTML):,} "
        "characters: a loop of 10,000 iterations of 200 empty `if` tags) compiles within the "
        f"limits and renders past the {LIMIT} s limit. Per run, two batches of {n:,} queued "
        "together with their claims alternating (so the machine's noise hits both alike): "
        f"one as above, one where {h} messages (spread evenly) are that program's",
        f"- {len(next(iter(runs.values())))} runs, databases interleaved; figures are medians; "
        "the method is in the script's docstring",
        "",
        "### Throughput",
        "",
        table(
            [
                "database",
                "run",
                "load (1, 5, 15 min) before",
                "sender messages/s (aiosmtpd)",
                "floor, 1 session",
                f"floor, {SESSIONS} sessions",
                f"sender / floor ({SESSIONS})",
                "sender messages/s (bare sink)",
                "floor, 1 session",
                f"floor, {SESSIONS} sessions",
                f"sender / floor ({SESSIONS})",
                "sender CPU ms/message",
                "PostgreSQL backend CPU ms/message (the claims' connection)",
                "floor CPU ms/message (1 session)",
                "SMTP server CPU ms/message (aiosmtpd / bare)",
                "received (sender / floors)",
            ],
            throughput,
        ),  # fmt: skip
        "",
        "### Where the sender's time goes",
        "",
        "ms per message, wall / CPU, medians over runs (to aiosmtpd). A step's time leaves out "
        "the steps it calls that have a column of their own; the timers are wrappers set in "
        "the bench process around the sender's steps, about 1 µs a call, per thread: with "
        f"{SESSIONS} sessions a step's wall time is summed over the sessions (so the total can "
        "pass the time a message took), and its CPU is the threads' own.",
        "",
        table(["database", *STEPS.values(), "other (wall)", "total (wall / CPU)"], steps),
        "",
        *[line for note in notes for line in (note, "")],
        *profile_md,
        "### Changes tried (in the bench process only)",
        "",
        f"Each variant is a batch of {opts.experiment_messages:,} messages, the variants' "
        "claims alternating in one sender process, once to aiosmtpd and once to the bare "
        "sink; a change is switched on for its variant's claims only. The reference is the "
        f'sender as it was: "{BEFORE}". "Sessions": `MESSAGE_EMAIL_SESSIONS` for the claim. '
        '"Layout per message": the branded layout rendered by Django\'s template engine for '
        "every message, as before it was kept per brand and language (`layout._shell` "
        'uncached). "Asynchronous commit": `SET synchronous_commit TO off` on the sender\'s '
        "PostgreSQL connections (an outcome's commit no longer waits for the WAL flush; a "
        "crash of the database server, not of the sender, could lose the last outcomes "
        "written, up to 3 × wal_writer_delay (0.6 s) of them, which would then be sent again "
        "under the same Message-ID). Several senders: "
        f"`{SENDERS}` processes (`goodword send_messages` would be the way to run them) on "
        "the one core, claiming under SKIP LOCKED, against one, alternated twice.",
        "",
        table(
            [
                "database",
                "server",
                "variant",
                "messages/s",
                "/ before",
                "CPU ms/message (its `_one`, its thread's)",
                "CPU change",
            ],
            tried,
        ),  # fmt: skip
        "",
        *[line for note in fixes for line in (note, "")],
        "### Rendering cache",
        "",
        f"One message's parts rendered {n:,} times with the sender's cache key (compiled "
        "templates kept per template version) and without (`key=None`: compiled every time), "
        "in turn, CPU µs per message (wall µs in brackets):",
        "",
        table(
            [
                "database",
                "Liquid parts, cached",
                "Liquid parts, uncached",
                "whole render (data, Liquid, layout, CSS), cached",
                "whole render, uncached",
                "Liquid: uncached / cached",
                "renders past the time limit (all runs)",
            ],
            render_rows,
        ),  # fmt: skip
        "",
        "### A hostile template",
        "",
        "Own cost: the sender's time on a hostile message (its `_one`: from taking it up to "
        "its outcome written), min / median / max. Delay per hostile message: (the batch "
        f"with the {h} hostile messages - the batch without) / {h}, each batch's time the sum "
        "of its claims'. Noise: one standard deviation of that delay, from the spread of the "
        "differences between each claim of the batch with (less its hostile messages' own "
        "time) and the claim of the batch without just before it.",
        "",
        table(
            [
                "database",
                "run",
                "failed",
                "sent",
                "hostile's own s (min / median / max)",
                "hostile's own CPU s",
                "batch without s",
                "batch with s",
                "delay per hostile message s",
                "noise s",
                "others' mean ms (without / with)",
                "others' mean CPU ms (without / with)",
                "delay on a core of its own s",
            ],
            hostile_rows,
        ),  # fmt: skip
        "",
        "### Verdict",
        "",
        table(["target", "measured", "verdict"], verdicts),
    ]
    return "\n".join(md)


if __name__ == "__main__":
    main()
