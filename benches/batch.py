"""Benchmark: batch event ingestion, `POST /api/v1/events/batch`, on PostgreSQL and SQLite.

    .venv/bin/python benches/batch.py [--runs 3] [--batches 5] [--batch-size 1000]
        [--clients 1] [--seconds 10] [--database-url URL] [--no-sqlite]

- PostgreSQL: a throwaway database (default `goodword_bench_batch` on
  postgres://postgres@127.0.0.1:5432) is dropped, created and migrated; one workspace and API
  key come from `goodword createworkspace --json`, then the events benchmarks' program and its
  advocate (code BENCH) are created through the API. SQLite: the same in a temporary
  GOODWORD_DATA_DIR with DATABASE_URL unset.
- Goodword: `goodword web --workers 1` (its default threads: 8 on PostgreSQL, 1 on SQLite),
  pinned to core 0; both servers are up for the whole run and loaded in turn.
- Load: a Python client in this process (pinned to core 1), one persistent HTTP connection per
  client, posting batches of 1,000 events one after another. Each batch is the referral loop:
  about 5% replays (the identical body of an event sent in an earlier batch, answered 200), and
  of the rest half new friends' signups with the code BENCH and half first purchases (25.00
  USD, a new order id each) of friends who signed up in an earlier batch (answered 201, a
  conversion and two rewards). A first, untimed batch per client and database (all signups)
  gives the purchases their friends. events/s = events in the batches / wall time from the first
  request sent to the last answer read; every item's status must be 201 or 200 or the script
  fails.
- Reference: the Python floor, `refapps/pg_wsgi.py` (one transaction of a lookup and an insert
  per request from a bare WSGI app through psycopg) under the same granian settings (8 threads,
  core 0), driven by wrk -t1 -c8 exactly as `benches/events.py` drives it; its requests/s is
  what a Python service can do with one transaction per request. Batch events/s is reported as
  a ratio to it, for PostgreSQL and SQLite.
- Also: single events, `POST /api/v1/events`, fresh ids of the same loop through the same
  servers, driven by `benches/events.py`'s wrk script (-t1 -c8), as a second ratio.
- Candidates interleaved within each run (floor, PostgreSQL batches, PostgreSQL single events,
  SQLite batches, SQLite single events); medians over runs of the per-run ratios; peak RSS
  (VmHWM) of each granian worker sampled throughout.
Rewrites the `batch` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    DOC,
    GOODWORD,
    LOAD_CPU,
    Server,
    WrkResult,
    free_port,
    goodword,
    goodword_env,
    goodword_python,
    log,
    machine,
    machine_lines,
    median,
    require,
    run_wrk,
    table,
    verdict,
    write_section,
)
from events import (
    CONCURRENCY,
    LOOKUP_ROWS,
    PGBENCH_SETUP,
    _program_with_advocate,
    floor_lua,
    floor_server,
    fresh_lua,
    psql,
)

BATCH_PATH = "/api/v1/events/batch"
SECTION = "batch"
TARGET_RATIO = 0.5  # batch events/s on PostgreSQL >= 0.5x the Python floor's requests/s
TARGET_RSS_MB = 150.0
REPLAY_SHARE = 0.05
PURCHASE_AMOUNT = 2500
FLOOR_THREADS = 8


# --- the referral loop, in batches ---------------------------------------------------------


@dataclass
class Loop:
    """One client's referral loop: friends sign up with the code; friends who signed up in an
    earlier batch buy for the first time; a few events of earlier batches are sent again."""

    prefix: str
    rng: random.Random
    counter: int = 0
    waiting: deque[str] = field(default_factory=deque)  # signed up, not yet bought
    sent: list[dict[str, Any]] = field(default_factory=list)  # events of earlier batches

    def snapshot(self) -> tuple[int, list[str], int]:
        return self.counter, list(self.waiting), len(self.sent)

    def restore(self, state: tuple[int, list[str], int]) -> None:
        self.counter, waiting, sent = state
        self.waiting = deque(waiting)
        del self.sent[sent:]

    def _next(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def batch(self, size: int) -> tuple[list[dict[str, Any]], list[str]]:
        """The events of the next batch and each one's kind (signup, purchase, replay)."""
        replays = min(round(size * REPLAY_SHARE), len(self.sent))
        fresh = size - replays
        purchases = min(fresh // 2, len(self.waiting))
        signups = fresh - purchases
        new: list[tuple[str, dict[str, Any]]] = []
        new_friends: list[str] = []
        for i in range(max(signups, purchases)):
            if i < signups:
                friend = "cus_" + self._next()
                new_friends.append(friend)
                event = {
                    "id": "evt_" + self._next(),
                    "type": "signup",
                    "customer": {"external_id": friend, "email": f"{friend}@example.com"},
                    "referral_code": "BENCH",
                }
                new.append(("signup", event))
            if i < purchases:
                friend = self.waiting.popleft()
                n = self._next()
                event = {
                    "id": "evt_" + n,
                    "type": "purchase",
                    "customer": {"external_id": friend, "email": f"{friend}@example.com"},
                    "order": {"id": "ord_" + n, "amount": PURCHASE_AMOUNT, "currency": "USD"},
                }
                new.append(("purchase", event))
        # Replays at random places among the fresh events, each a different earlier event.
        items: list[tuple[str, dict[str, Any]]] = list(new)
        for event in self.rng.sample(self.sent, replays):
            items.insert(self.rng.randrange(len(items) + 1), ("replay", event))
        self.sent.extend(event for _, event in new)
        self.waiting.extend(new_friends)
        return [event for _, event in items], [kind for kind, _ in items]


EXPECTED = {"signup": 201, "purchase": 201, "replay": 200}


@dataclass
class Batch:
    body: bytes
    kinds: list[str]


@dataclass
class Answer:
    batch: Batch
    status: int
    data: bytes
    seconds: float


@dataclass
class BatchRun:
    events: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    unexpected: dict[str, int]  # kind -> items whose status was not the expected one
    referred_signups: int
    converting_purchases: int
    created: int
    truncated: bool

    @property
    def eps(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Client:
    """One persistent HTTP/1.1 connection posting batches."""

    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout
        )
        self.headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "User-Agent": "goodword-bench",
        }

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def prepare(loop: Loop, batches: int, size: int) -> tuple[list[Batch], list[Any]]:
    """The bodies, built before the clock starts, and the loop's state before each one."""
    out: list[Batch] = []
    states: list[Any] = []
    for _ in range(batches):
        states.append(loop.snapshot())
        events, kinds = loop.batch(size)
        out.append(Batch(json.dumps({"events": events}, separators=(",", ":")).encode(), kinds))
    return out, states


def check(answer: Answer, name: str) -> tuple[dict[int, int], dict[str, int], int, int, int]:
    """Every item 201 or 200, or fail loudly; count what each item did."""
    if answer.status != 200:
        raise SystemExit(
            f"{name}: POST {BATCH_PATH} answered {answer.status}: {answer.data[:2000]!r}"
        )
    items = json.loads(answer.data)["data"]
    if len(items) != len(answer.batch.kinds):
        raise SystemExit(
            f"{name}: {len(items)} items answered for {len(answer.batch.kinds)} events"
        )
    statuses: dict[int, int] = {}
    unexpected: dict[str, int] = {}
    bad: list[str] = []
    referred = converting = created = 0
    for index, (item, kind) in enumerate(zip(items, answer.batch.kinds, strict=True)):
        status = item.get("status")
        statuses[status] = statuses.get(status, 0) + 1
        if status not in (200, 201):
            bad.append(f"#{index} ({kind}): {status} {json.dumps(item.get('error'))}")
            continue
        if status != EXPECTED[kind]:
            unexpected[kind] = unexpected.get(kind, 0) + 1
        created += status == 201
        result = item.get("result") or {}
        if kind == "signup" and result.get("referrals"):
            referred += 1
        if kind == "purchase" and len(result.get("rewards") or []) >= 2:
            converting += 1
    if bad:
        raise SystemExit(
            f"{name}: {len(bad)} of {len(items)} events rejected, e.g.:\n  " + "\n  ".join(bad[:10])
        )
    return statuses, unexpected, referred, converting, created


def post_batches(
    base_url: str,
    api_key: str,
    loops: list[Loop],
    *,
    batches: int,
    size: int,
    name: str,
    max_seconds: float,
) -> BatchRun:
    """Each loop's client posts its batches one after another, the clients at once; the run
    stops sending new batches after `max_seconds` (the loops forget the unsent ones)."""
    prepared = [prepare(loop, batches, size) for loop in loops]
    answers: list[list[Answer]] = [[] for _ in loops]
    marks: list[tuple[float, float]] = [(0.0, 0.0) for _ in loops]
    failures: list[BaseException] = []
    start_gate = threading.Barrier(len(loops))
    deadline = time.monotonic() + max_seconds

    def client_main(i: int) -> None:
        client = Client(base_url, api_key, timeout=max(60.0, max_seconds))
        try:
            client.conn.connect()
            start_gate.wait()
            began = time.perf_counter()
            for batch in prepared[i][0]:
                if time.monotonic() > deadline:
                    break
                t0 = time.perf_counter()
                status, data = client.post(BATCH_PATH, batch.body)
                answers[i].append(Answer(batch, status, data, time.perf_counter() - t0))
                if status != 200:
                    break
            marks[i] = (began, time.perf_counter())
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)
            start_gate.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=client_main, args=(i,)) for i in range(len(loops))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{name}: the batch client failed: {failures[0]!r}")
    truncated = False
    for loop, (_, states), done in zip(loops, prepared, answers, strict=True):
        if len(done) < batches:
            truncated = True
            loop.restore(states[len(done)])
    statuses: dict[int, int] = {}
    unexpected: dict[str, int] = {}
    referred = converting = created = 0
    for done in answers:
        for answer in done:
            s, u, r, c, n = check(answer, name)
            for k, v in s.items():
                statuses[k] = statuses.get(k, 0) + v
            for k2, v in u.items():
                unexpected[k2] = unexpected.get(k2, 0) + v
            referred, converting, created = referred + r, converting + c, created + n
    events = sum(len(a.batch.kinds) for done in answers for a in done)
    seconds = max(m[1] for m in marks) - min(m[0] for m in marks)
    result = BatchRun(
        events=events,
        seconds=seconds,
        latencies=[a.seconds for done in answers for a in done],
        statuses=statuses,
        unexpected=unexpected,
        referred_signups=referred,
        converting_purchases=converting,
        created=created,
        truncated=truncated,
    )
    log(
        f"batch   {name:16} {result.eps:8.0f} events/s  {events} events in "
        f"{seconds:6.2f} s, median batch {median(result.latencies) * 1000:7.1f} ms, "
        f"statuses {statuses}, unexpected {unexpected or 'none'}"
        + (" (TRUNCATED by --max-batch-seconds)" if truncated else "")
    )
    return result


# --- the databases and servers --------------------------------------------------------------


@dataclass
class Target:
    """One Goodword server (PostgreSQL or SQLite) and what was measured on it."""

    label: str
    env: dict[str, str]
    data_dir: Path
    server: Server
    api_key: str
    loops: list[Loop]
    batch_runs: list[BatchRun] = field(default_factory=list)
    single_runs: list[WrkResult] = field(default_factory=list)
    warmup_created: int = 0


def _setup_goodword(env: dict[str, str]) -> str:
    goodword(["migrate", "--no-input", "-v", "0"], env)
    created = json.loads(
        goodword(["createworkspace", "Bench", "--owner", "bench@example.com", "--json"], env)
    )
    return str(created["api_key"])


def _start_goodword(label: str, env: dict[str, str]) -> Server:
    port = free_port()
    return Server(
        f"goodword-batch-{label.lower()}",
        [str(GOODWORD), "web", "--port", str(port), "--workers", "1"],
        port=port,
        env=env,
        ready_path="/api/v1/openapi.json",
    )


def _place_section() -> None:
    """First run: put this section's markers after the other scripts' sections, before the
    hand-written notes (write_section appends at the very end otherwise)."""
    start, end = f"<!-- bench:{SECTION}:start -->", f"<!-- bench:{SECTION}:end -->"
    if not DOC.exists():
        return
    text = DOC.read_text()
    notes = text.find("\n## Notes")
    if start in text or notes == -1:
        return
    DOC.write_text(text[:notes] + f"\n{start}\n{end}\n" + text[notes:])


def _events_with_prefix(env: dict[str, str], prefix: str) -> int:
    code = (
        "from goodword.ingest.models import Event; "
        f"print(Event.objects.filter(external_id__startswith={prefix!r}).count())"
    )
    return int(goodword_python(code, env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=5, help="batches per client per run")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1, help="concurrent batch clients")
    parser.add_argument("--seconds", type=float, default=10, help="each wrk run")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--max-batch-seconds",
        type=float,
        default=60,
        help="stop sending batches in a run after this long",
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_batch"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    opts = parser.parse_args()
    if not 1 <= opts.batch_size <= 1000:
        sys.exit("--batch-size must be 1 to 1000 (the endpoint's limit)")
    require("wrk", "apt-get install -y wrk")
    require("psql", "apt-get install -y postgresql-client")
    # The batch client runs in this process: on the load generator's core, like wrk.
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    info = machine()
    url = opts.database_url
    dbname = urlsplit(url).path.lstrip("/")
    if not dbname.startswith("goodword_bench"):
        sys.exit("refusing to drop a database whose name does not start with goodword_bench")

    log(f"recreating the throwaway database {dbname}")
    psql(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', database="postgres")
    psql(url, f'CREATE DATABASE "{dbname}"', database="postgres")
    pg_version = psql(url, "SHOW server_version")
    sync_commit = psql(url, "SHOW synchronous_commit")
    psql(url, PGBENCH_SETUP.format(rows=LOOKUP_ROWS))
    psql(url, "VACUUM ANALYZE bench_pgb_lookup")

    nonce = f"{int(time.time())}"
    rng = random.Random(int(nonce))
    labels = ["PostgreSQL"] + ([] if opts.no_sqlite else ["SQLite"])
    targets: list[Target] = []
    floor = floor_server("python-floor-batch", url, FLOOR_THREADS)
    floors: list[WrkResult] = []
    try:
        for label in labels:
            data_dir = Path(tempfile.mkdtemp(prefix=f"gw-bench-batch-{label.lower()}-"))
            atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
            env = goodword_env(data_dir, url if label == "PostgreSQL" else "")
            log(f"{label}: migrating and creating the workspace")
            api_key = _setup_goodword(env)
            tag = "p" if label == "PostgreSQL" else "s"
            loops = [
                Loop(f"b{nonce}{tag}c{c}", random.Random(rng.random())) for c in range(opts.clients)
            ]
            server = _start_goodword(label, env)
            targets.append(Target(label, env, data_dir, server, api_key, loops))
        floor.wait_ready()
        for target in targets:
            target.server.wait_ready()
            target.server.start_sampling()
            _program_with_advocate(target.server.url, target.api_key)

        def wrk_floor(tag: str, seconds: float) -> WrkResult:
            result = run_wrk(
                floor.url + "/",
                script=floor_lua(),
                name="batch-floor",
                seconds=seconds,
                connections=CONCURRENCY,
                timeout_s=10,
            )
            log(f"floor   {tag:16} {result.ok_rps(201):8.0f} req/s  status {result.status}")
            return result

        def wrk_single(target: Target, tag: str, seconds: float) -> WrkResult:
            result = run_wrk(
                target.server.url + "/api/v1/events",
                script=fresh_lua(target.api_key, f"{nonce}{target.label[0]}{tag}"),
                name=f"batch-single-{target.label.lower()}",
                seconds=seconds,
                connections=CONCURRENCY,
                timeout_s=10,
            )
            log(
                f"single  {target.label + ' ' + tag:16} {result.ok_rps(201):8.0f} events/s "
                f"status {result.status} errors {result.errors}"
            )
            return result

        def batches(target: Target, tag: str, count: int) -> BatchRun:
            return post_batches(
                target.server.url,
                target.api_key,
                target.loops,
                batches=count,
                size=opts.batch_size,
                name=f"{target.label} {tag}",
                max_seconds=opts.max_batch_seconds,
            )

        wrk_floor("warmup", opts.warmup)
        for target in targets:
            # The first batch has no earlier friends to buy: all signups, untimed.
            target.warmup_created = batches(target, "warmup", 1).created
            wrk_single(target, "warmup", opts.warmup)
        for run in range(opts.runs):
            tag = f"run{run + 1}"
            floors.append(wrk_floor(tag, opts.seconds))
            for target in targets:
                target.batch_runs.append(batches(target, tag, opts.batches))
                target.single_runs.append(wrk_single(target, tag, opts.seconds))
        for target in targets:
            target.server.stop_sampling()
    finally:
        floor.stop()
        for target in targets:
            target.server.stop()

    cmd = ".venv/bin/python benches/batch.py"
    defaults = {"runs": 3, "batches": 5, "batch_size": 1000, "clients": 1, "seconds": 10}
    for key, default in defaults.items():
        if getattr(opts, key) != default:
            cmd += f" --{key.replace('_', '-')} {getattr(opts, key):g}"
    if opts.no_sqlite:
        cmd += " --no-sqlite"

    floor_rps = [f.ok_rps(201) for f in floors]
    floor_bad = sum(f.not_status(201) for f in floors)
    md: list[str] = [
        "## 4. Batch event ingestion (`POST /api/v1/events/batch`)",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *machine_lines(info),
        f"- PostgreSQL {pg_version} on 127.0.0.1 (synchronous_commit={sync_commit}), a "
        f"throwaway database `{dbname}` dropped, created and migrated by the script"
        + ("" if opts.no_sqlite else "; SQLite in a temporary GOODWORD_DATA_DIR"),
        "- Goodword: `goodword web --workers 1` (granian WSGI, its default threads: 8 on "
        "PostgreSQL, 1 on SQLite), pinned to CPU 0; the events benchmarks' program (both sides "
        "earn credit on a first purchase of 20.00 or more) and one advocate, code BENCH",
        f"- Batches: {opts.clients} client(s) in the script, pinned to CPU {LOAD_CPU}, each "
        f"on one keep-alive connection posting {opts.batches} batches of {opts.batch_size:,} "
        "events per run one after another. Each batch is the referral loop: "
        f"{REPLAY_SHARE:.0%} replays (the same body as an event of an earlier batch, expected "
        "200), and of the rest half new friends' `signup`s with the code and half first "
        f"`purchase`s ({PURCHASE_AMOUNT / 100:.2f} USD, a new order id each) of friends who "
        "signed up in an earlier batch (expected 201; a conversion and two rewards). An "
        "untimed first batch of signups per database gives the purchases their friends. "
        "events/s = events in the batches / wall time from the first request to the last "
        "answer",
        f"- Reference, the Python floor: `benches/refapps/pg_wsgi.py` (BEGIN, a lookup, an "
        "insert, COMMIT per POST, a bare WSGI app through psycopg) under the same granian "
        f"settings ({FLOOR_THREADS} threads, CPU 0), `wrk -t1 -c{CONCURRENCY} -d{opts.seconds:g}s` "
        "as in section 3",
        f"- Single events for comparison: `POST /api/v1/events` with fresh ids, section 3's "
        f"referral-loop wrk script (`wrk -t1 -c{CONCURRENCY}`), through the same servers",
        f"- {opts.runs} runs; floor, then per database its batches and its single events, "
        "interleaved in each run; ratios are medians of the per-run ratios",
        "",
    ]
    header = ["run", "floor req/s"]
    for t in targets:
        header += [
            f"{t.label} batch events/s",
            "/ floor",
            "ms per batch (median)",
            f"{t.label} single events/s",
            "/ floor",
            "batch / single",
        ]
    rows = []
    for i in range(opts.runs):
        row: list[Any] = [i + 1, f"{floor_rps[i]:,.0f}"]
        for t in targets:
            b, s = t.batch_runs[i], t.single_runs[i].ok_rps(201)
            row += [
                f"{b.eps:,.0f}",
                f"{b.eps / floor_rps[i]:.3f}x",
                f"{median(b.latencies) * 1000:,.0f}",
                f"{s:,.0f}",
                f"{s / floor_rps[i]:.3f}x",
                f"{b.eps / s:.1f}x" if s else "n/a",
            ]
        rows.append(row)
    md += [table(header, rows), ""]

    summary: dict[str, dict[str, float]] = {}
    for t in targets:
        ratios = [t.batch_runs[i].eps / floor_rps[i] for i in range(opts.runs)]
        single = [t.single_runs[i].ok_rps(201) / floor_rps[i] for i in range(opts.runs)]
        statuses: dict[int, int] = {}
        unexpected: dict[str, int] = {}
        for b in t.batch_runs:
            for k, v in b.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
            for k2, v in b.unexpected.items():
                unexpected[k2] = unexpected.get(k2, 0) + v
        events = sum(b.events for b in t.batch_runs)
        created = t.warmup_created + sum(b.created for b in t.batch_runs)
        signups = sum(b.referred_signups for b in t.batch_runs)
        converting = sum(b.converting_purchases for b in t.batch_runs)
        rows_db = sum(_events_with_prefix(t.env, f"evt_{loop.prefix}-") for loop in t.loops)
        single_bad = sum(r.not_status(201) for r in t.single_runs)
        summary[t.label] = {
            "eps": median(b.eps for b in t.batch_runs),
            "ratio": median(ratios),
            "single": median(r.ok_rps(201) for r in t.single_runs),
            "single_ratio": median(single),
            "rss": t.server.peak_worker_mb(),
        }
        truncated = sum(b.truncated for b in t.batch_runs)
        md += [
            f"**{t.label}**: batches {summary[t.label]['eps']:,.0f} events/s, "
            f"**{median(ratios):.3f}x** the floor; single events "
            f"{summary[t.label]['single']:,.0f}/s, {median(single):.3f}x the floor. "
            f"Items answered in the timed batches: {events:,}, by status "
            f"{', '.join(f'{k}: {v:,}' for k, v in sorted(statuses.items()))}; other than "
            f"expected (201 fresh, 200 replay): "
            f"{', '.join(f'{k} {v}' for k, v in unexpected.items()) or 'none'}; signups "
            f"attributed to a referral: {signups:,}; purchases granting two rewards: "
            f"{converting:,}. Batch event rows in the database afterwards: {rows_db:,} (201 "
            f"items answered, warmup batch included: {created:,}). Non-201 answers to single "
            f"events: {single_bad}."
            + (f" {truncated} run(s) stopped early by the time bound." if truncated else ""),
            "",
        ]
    rss_text = "; ".join(
        f"{t.label} {t.server.peak_worker_mb():.0f} MB (main process "
        f"{t.server.peak_main_mb():.0f} MB)"
        for t in targets
    )
    md += [
        f"Python floor: median {median(floor_rps):,.0f} req/s; non-201 answers: {floor_bad}.",
        "",
        f"Peak RSS (VmHWM) of the granian worker during these loads: {rss_text}.",
        "",
        "### Verdict",
        "",
    ]
    pg = summary["PostgreSQL"]
    verdict_rows: list[tuple[str, str, str]] = [
        (
            f"PostgreSQL batch events/s >= {TARGET_RATIO}x the Python floor's requests/s",
            f"{pg['ratio']:.3f}x ({pg['eps']:,.0f} events/s, floor {median(floor_rps):,.0f}/s)",
            verdict(pg["ratio"] >= TARGET_RATIO),
        )
    ]
    if "SQLite" in summary:
        sq = summary["SQLite"]
        verdict_rows.append(
            (
                "(reported) SQLite batch events/s as a share of the same floor",
                f"{sq['ratio']:.3f}x ({sq['eps']:,.0f} events/s)",
                "n/a",
            )
        )
    for t in targets:
        verdict_rows.append(
            (
                f"{t.label} worker peak RSS <= {TARGET_RSS_MB:g} MB",
                f"{summary[t.label]['rss']:.0f} MB",
                verdict(summary[t.label]["rss"] <= TARGET_RSS_MB),
            )
        )
    md.append(table(["target", "measured", "verdict"], verdict_rows))
    text = "\n".join(md)
    if not opts.no_doc:
        _place_section()
        write_section(SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
