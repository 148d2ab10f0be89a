"""Benchmark: batch event ingestion, `POST /api/v1/events/batch`, on PostgreSQL and SQLite.

    .venv/bin/python benches/batch.py [--runs 3] [--batches 5] [--batch-size 1000]
        [--clients 1] [--seconds 10] [--database-url URL] [--no-sqlite]
        [--no-engine] [--engine-batches N] [--engine-seconds S]

- PostgreSQL: a throwaway database (default `goodword_bench_batch` on
  postgres://postgres@127.0.0.1:5432) is dropped, created and migrated; one workspace and API
  key come from `goodword createworkspace --json`, then the events benchmarks' program and its
  advocate (code BENCH) are created through the API. SQLite: the same in a temporary
  GOODWORD_DATA_DIR with DATABASE_URL unset.
- The full engine: a second workspace on each server holds `_common.engine_program`, 20 reward
  rules (conditions of every kind, per-rule holds and date windows, `percent_of_order`
  commissions with refund policies, caps per advocate, friend and program), 5 ambassador tiers
  and rules per tier, an A/B offer experiment with rules per variant, and a coupon rule drawing
  from a coupon pool of 2,000 codes; and its advocate (code ENGINE, attribute `segment: gold`).
  Its events carry `customer.attributes` and `order.items` and vary the order amount.
  `--no-engine` leaves it out.
- Goodword: `goodword web --workers 1` (its default threads: 8 on PostgreSQL, 1 on SQLite),
  pinned to core 0; both servers are up for the whole run and loaded in turn.
- Load: a Python client in this process (pinned to core 1), one persistent HTTP connection per
  client, posting batches of 1,000 events one after another. Each batch is the referral loop:
  about 5% replays (the identical body of an event sent in an earlier batch, answered 200), and
  of the rest half new friends' signups with the code and half first purchases (25.00 USD for
  the simple program, a new order id each) of friends who signed up in an earlier batch
  (answered 201, a conversion and its rewards). A first, untimed batch per client and workspace
  (all signups) gives the purchases their friends. events/s = events in the batches / wall time
  from the first request sent to the last answer read; every item's status must be 201 or 200
  or the script fails.
- Replays: once per run and workspace, one batch made only of events sent before (answered
  200); its time per event against the loop batches' of the same run.
- Reference: the Python floor, `refapps/pg_wsgi.py` (one transaction of a lookup and an insert
  per request from a bare WSGI app through psycopg) under the same granian settings (8 threads,
  core 0), driven by wrk -t1 -c8 exactly as `benches/events.py` drives it; its requests/s is
  what a Python service can do with one transaction per request. Batch events/s is reported as
  a ratio to it, for PostgreSQL and SQLite; the engine's batch events/s as a ratio to the simple
  program's in the same run.
- Also: single events, `POST /api/v1/events`, fresh ids of the same loop through the same
  servers, driven by `benches/events.py`'s wrk script (-t1 -c8; for the engine, the same loop
  with the engine's events), as a second ratio.
- Candidates interleaved within each run (floor; then per database: the simple program's
  batches, the engine's, a replay batch each, the simple program's single events, the
  engine's); medians over runs of the per-run ratios; peak RSS (VmHWM) of each granian worker
  sampled throughout.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    BENCH_CODE,
    ENGINE_ADVOCATE_ATTRIBUTES,
    ENGINE_AMOUNTS,
    ENGINE_BUDGET,
    ENGINE_CATEGORIES,
    ENGINE_POOL_CODES,
    ENGINE_PRODUCTS,
    GOODWORD,
    LOAD_CPU,
    Server,
    WrkResult,
    engine_pool,
    engine_program,
    free_port,
    goodword,
    goodword_env,
    goodword_python,
    log,
    lua_custom_script,
    machine,
    machine_lines,
    median,
    place_section,
    purchase_event,
    require,
    run_wrk,
    signup_event,
    table,
    verdict,
    write_section,
)
from events import (
    CONCURRENCY,
    LOOKUP_ROWS,
    PGBENCH_SETUP,
    TARGET_REPLAY,
    _event_post,
    _post,
    _program_with_advocate,
    floor_lua,
    floor_server,
    fresh_lua,
    psql,
)

BATCH_PATH = "/api/v1/events/batch"
SECTION = "batch"
TARGET_RATIO = 0.5  # batch events/s on PostgreSQL >= 0.5x the Python floor's requests/s
TARGET_ENGINE = 0.8  # the full engine's batch events/s >= 0.8x the simple program's (same run)
TARGET_ENGINE_SINGLE = 0.068  # its single events/s >= 0.068x the floor (no regression)
ENGINE_CODE = "ENGINE"
MAX_BODY = 256 * 1024  # the API's request body limit
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
    code: str = BENCH_CODE
    engine: bool = False  # the 20-rule program's events: attributes, order items, amounts
    counter: int = 0
    waiting: deque[str] = field(default_factory=deque)  # signed up, not yet bought
    sent: list[dict[str, Any]] = field(default_factory=list)  # events of earlier batches

    def snapshot(self) -> tuple[int, list[str], int]:
        return self.counter, list(self.waiting), len(self.sent)

    def restore(self, state: tuple[int, list[str], int]) -> None:
        self.counter, waiting, sent = state
        self.waiting = deque(waiting)
        del self.sent[sent:]

    @property
    def mix(self) -> int:
        """Which of the engine's plans, amounts, products and categories an event gets: the
        counter steps by 3 per friend in a batch, so a third of it goes round them all."""
        return self.counter // 3

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
                n = self._next()
                event = signup_event("evt_" + n, friend, self.code, self.mix, engine=self.engine)
                new.append(("signup", event))
            if i < purchases:
                friend = self.waiting.popleft()
                n = self._next()
                event = purchase_event(
                    "evt_" + n,
                    friend,
                    "ord_" + n,
                    self.mix,
                    amount=PURCHASE_AMOUNT,
                    engine=self.engine,
                )
                new.append(("purchase", event))
        # Replays at random places among the fresh events, each a different earlier event.
        items: list[tuple[str, dict[str, Any]]] = list(new)
        for event in self.rng.sample(self.sent, replays):
            items.insert(self.rng.randrange(len(items) + 1), ("replay", event))
        self.sent.extend(event for _, event in new)
        self.waiting.extend(new_friends)
        return [event for _, event in items], [kind for kind, _ in items]

    def replays(self, size: int) -> tuple[list[dict[str, Any]], list[str]]:
        """A batch of nothing but events sent before (each once), in random order."""
        events = self.rng.sample(self.sent, min(size, len(self.sent)))
        return events, ["replay"] * len(events)


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
    rewards: int = 0  # granted by the purchases of the batches

    @property
    def ms_per_event(self) -> float:
        """Median time of a batch, per event in it."""
        size = self.events / len(self.latencies) if self.latencies else 0
        return median(self.latencies) * 1000 / size if size else 0.0

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


def prepare(
    loop: Loop, batches: int, size: int, replays_only: bool = False
) -> tuple[list[Batch], list[Any]]:
    """The bodies, built before the clock starts, and the loop's state before each one."""
    out: list[Batch] = []
    states: list[Any] = []
    for _ in range(batches):
        states.append(loop.snapshot())
        events, kinds = loop.replays(size) if replays_only else loop.batch(size)
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        if len(body) > MAX_BODY:
            raise SystemExit(
                f"a batch of {len(events)} events is {len(body):,} bytes, over the API's "
                f"{MAX_BODY:,}-byte limit: use a smaller --batch-size"
            )
        out.append(Batch(body, kinds))
    return out, states


def check(answer: Answer, name: str) -> tuple[dict[int, int], dict[str, int], int, int, int, int]:
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
    referred = converting = created = rewards = 0
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
            rewards += len(result["rewards"])
    if bad:
        raise SystemExit(
            f"{name}: {len(bad)} of {len(items)} events rejected, e.g.:\n  " + "\n  ".join(bad[:10])
        )
    return statuses, unexpected, referred, converting, created, rewards


def post_batches(
    base_url: str,
    api_key: str,
    loops: list[Loop],
    *,
    batches: int,
    size: int,
    name: str,
    max_seconds: float,
    replays_only: bool = False,
) -> BatchRun:
    """Each loop's client posts its batches one after another, the clients at once; the run
    stops sending new batches after `max_seconds` (the loops forget the unsent ones)."""
    prepared = [prepare(loop, batches, size, replays_only) for loop in loops]
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
    referred = converting = created = rewards = 0
    for done in answers:
        for answer in done:
            s, u, r, c, n, g = check(answer, name)
            rewards += g
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
        rewards=rewards,
    )
    log(
        f"batch   {name:22} {result.eps:8.0f} events/s  {events} events in "
        f"{seconds:6.2f} s, median batch {median(result.latencies) * 1000:7.1f} ms, "
        f"statuses {statuses}, unexpected {unexpected or 'none'}"
        + (" (TRUNCATED by --max-batch-seconds)" if truncated else "")
    )
    return result


# --- the databases and servers --------------------------------------------------------------


@dataclass
class Variant:
    """One workspace on a server: the events benchmarks' one simple program, or the full
    engine (`_common.engine_program`), and what was measured on it."""

    name: str  # "simple" or "engine"
    api_key: str
    loops: list[Loop]
    batch_runs: list[BatchRun] = field(default_factory=list)
    replay_runs: list[BatchRun] = field(default_factory=list)
    single_runs: list[WrkResult] = field(default_factory=list)
    warmup_created: int = 0
    warmup_single: WrkResult | None = None
    history: list[int] = field(default_factory=list)  # conversions before each single run

    def conversions(self) -> int:
        """The program's converted referrals so far (single events: about, as a wrk run's
        first 16 purchases have no friend yet)."""
        singles = [*self.single_runs, *([self.warmup_single] if self.warmup_single else [])]
        return sum(b.converting_purchases for b in self.batch_runs) + sum(
            max(r.count(201) // 2 - 16, 0) for r in singles
        )


@dataclass
class Target:
    """One Goodword server (PostgreSQL or SQLite) and its workspaces."""

    label: str
    env: dict[str, str]
    data_dir: Path
    server: Server
    variants: dict[str, Variant]

    @property
    def simple(self) -> Variant:
        return self.variants["simple"]


def _create_workspace(env: dict[str, str], name: str) -> str:
    created = json.loads(
        goodword(["createworkspace", name, "--owner", "bench@example.com", "--json"], env)
    )
    return str(created["api_key"])


def _setup_goodword(env: dict[str, str]) -> str:
    goodword(["migrate", "--no-input", "-v", "0"], env)
    return _create_workspace(env, "Bench")


def _engine_program_with_advocate(base_url: str, api_key: str, now: datetime) -> None:
    """The 20-rule program and its one advocate (code ENGINE, `segment: gold`)."""
    advocate = {"external_id": "cus_alice", "attributes": ENGINE_ADVOCATE_ATTRIBUTES}
    _post(base_url + "/api/v1/participants", api_key, advocate)
    pool = engine_pool(base_url, api_key, _post)
    program = engine_program(now, pool=pool)
    program_id = _post(base_url + "/api/v1/programs", api_key, program)["id"]
    enrol = {"external_id": "cus_alice", "code": ENGINE_CODE}
    _post(f"{base_url}/api/v1/programs/{program_id}/advocates", api_key, enrol)


def engine_fresh_lua(api_key: str, nonce: str) -> str:
    """Section 3's referral loop with the engine's events (`_common.signup_event` and
    `purchase_event` with engine=True): odd requests a new friend's signup with a `plan`,
    even ones the first purchase, with items, of the friend who signed up 16 pairs earlier."""
    amounts = ", ".join(str(a) for a in ENGINE_AMOUNTS)
    categories = ", ".join(f'"{c}"' for c in ENGINE_CATEGORIES)
    return lua_custom_script(
        f"""
{_event_post(api_key)}
counter = 0
amounts = {{{amounts}}}
categories = {{{categories}}}
function request()
  counter = counter + 1
  local k = math.floor((counter + 1) / 2)
  if counter % 2 == 0 then k = k - 16 end
  local friend = string.format("{nonce}-%d-%d", tid, k)
  local id = string.format("{nonce}-%d-%d", tid, counter)
  local body
  if counter % 2 == 1 then
    local plan = "free"
    if k % 2 == 0 then plan = "pro" end
    body = string.format(
      '{{"id":"evt_%s","type":"signup","customer":{{"external_id":"cus_%s",' ..
      '"email":"cus_%s@example.com","attributes":{{"plan":"%s"}}}},' ..
      '"referral_code":"{ENGINE_CODE}"}}', id, friend, friend, plan)
  else
    body = string.format(
      '{{"id":"evt_%s","type":"purchase","customer":{{"external_id":"cus_%s"}},' ..
      '"order":{{"id":"ord_%s","amount":%d,"currency":"USD","items":[' ..
      '{{"product_id":"sku-%d","category_id":"%s"}},{{"product_id":"sku-acc"}}]}}}}',
      id, friend, id, amounts[k % {len(ENGINE_AMOUNTS)} + 1], k % {ENGINE_PRODUCTS},
      categories[k % {len(ENGINE_CATEGORIES)} + 1])
  end
  return wrk.format(nil, "/api/v1/events", nil, body)
end
"""
    )


def engine_summary(program: dict[str, Any]) -> str:
    """What the engine program holds, counted from it (so the text cannot drift from it)."""
    rules = program["rewards"]
    by_who = {w: sum(r["beneficiary"] == w for r in rules) for w in ("advocate", "friend")}
    conditions: dict[str, int] = {}
    caps: dict[str, int] = {}
    for rule in rules:
        for name in rule.get("conditions", {}):
            conditions[name] = conditions.get(name, 0) + 1
        for cap in rule.get("caps", []):
            limit = "count" if "count" in cap else "amount"
            kind = f"per {cap['per']} {cap['period']} by {limit}"
            caps[kind] = caps.get(kind, 0) + 1
    holds = sum("hold_days" in r for r in rules)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # the same format: compares as text
    windows = {"open": 0, "ended": 0, "not started": 0}
    for r in rules:
        if "starts_at" in r or "ends_at" in r:
            if r.get("ends_at", "9999") <= now:
                windows["ended"] += 1
            elif r.get("starts_at", "0000") > now:
                windows["not started"] += 1
            else:
                windows["open"] += 1
    commissions = sum("percent_of_order" in r for r in rules)
    policies = sorted({r.get("refund_policy", "threshold") for r in rules})
    coupons = sum(r["kind"] == "coupon" for r in rules)
    return (
        f"{len(rules)} reward rules ({by_who['advocate']} for the advocate, {by_who['friend']} "
        f"for the friend; {coupons} coupons, the rest credit), with conditions "
        + ", ".join(f"`{k}` ({v})" for k, v in sorted(conditions.items()))
        + f"; {holds} with their own `hold_days`, {sum(windows.values())} with `starts_at`/"
        f"`ends_at` ({', '.join(f'{n} {k}' for k, n in windows.items())}), {commissions} "
        "`percent_of_order` "
        f"commissions, refund policies {', '.join(policies)}; caps "
        + ", ".join(f"{k} ({v} rules)" for k, v in sorted(caps.items()))
        + f", none reached (the budget is {ENGINE_BUDGET / 100:,.0f}.00); "
        f"{len(program['tiers']['levels'])} tiers by {program['tiers']['basis']} "
        f"({', '.join(t['name'] for t in program['tiers']['levels'])}); an experiment of "
        f"{len(program['experiment']['variants'])} variants; the pro friends' welcome coupons "
        f"drawn from a coupon pool of {ENGINE_POOL_CODES:,} codes. Program trigger: a "
        f"purchase of {program['trigger']['min_amount'] / 100:.2f} or more"
    )


def _start_goodword(label: str, env: dict[str, str]) -> Server:
    port = free_port()
    return Server(
        f"goodword-batch-{label.lower()}",
        [str(GOODWORD), "web", "--port", str(port), "--workers", "1"],
        port=port,
        env=env,
        ready_path="/api/v1/openapi.json",
    )


def _events_with_prefix(env: dict[str, str], prefix: str) -> int:
    code = (
        "from goodword.ingest.models import Event; "
        f"print(Event.objects.filter(external_id__startswith={prefix!r}).count())"
    )
    return int(goodword_python(code, env))


def _rows_written(env: dict[str, str], workspace: str) -> dict[str, int]:
    """The rows the workspace's events wrote, by kind (setup rows, such as the program and the
    pool's codes, are left out; a pool code drawn for a reward is a row updated)."""
    code = f"""
import json
from goodword.events.models import DomainEvent
from goodword.ingest.models import Event
from goodword.participants.models import Participant
from goodword.referrals.models import Referral
from goodword.rewards.models import CouponCode, LedgerEntry, Reward
mine = dict(workspace__name={workspace!r})
entries = LedgerEntry.objects.filter(transaction__workspace__name={workspace!r})
print(json.dumps({{
    "events": Event.objects.filter(**mine).count(),
    "participants": Participant.objects.filter(**mine).count(),
    "referrals": Referral.objects.filter(**mine).count(),
    "rewards": Reward.objects.filter(**mine).count(),
    "domain events": DomainEvent.objects.filter(**mine).count(),
    "pool codes drawn": CouponCode.objects.filter(**mine, reward__isnull=False).count(),
    "ledger entries": entries.count(),
}}))
"""
    return dict(json.loads(goodword_python(code, env)))


def _add(into: dict[Any, int], more: dict[Any, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


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
    parser.add_argument(
        "--no-engine", action="store_true", help="skip the full engine (20 rules) variant"
    )
    parser.add_argument(
        "--engine-batches", type=int, default=None, help="the engine's batches per run (--batches)"
    )
    parser.add_argument(
        "--engine-seconds", type=float, default=None, help="the engine's wrk runs (--seconds)"
    )
    parser.add_argument("--no-doc", action="store_true")
    opts = parser.parse_args()
    if not 1 <= opts.batch_size <= 1000:
        sys.exit("--batch-size must be 1 to 1000 (the endpoint's limit)")
    engine_batches = opts.engine_batches or opts.batches
    engine_seconds = opts.engine_seconds or opts.seconds
    require("wrk", "apt-get install -y wrk")
    require("psql", "apt-get install -y postgresql-client")
    # The batch client runs in this process: on the load generator's core, like wrk.
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    info = machine()
    started = datetime.now(UTC)
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
    names = ["simple"] + ([] if opts.no_engine else ["engine"])
    targets: list[Target] = []
    floor = floor_server("python-floor-batch", url, FLOOR_THREADS)
    floors: list[WrkResult] = []
    try:
        for label in labels:
            data_dir = Path(tempfile.mkdtemp(prefix=f"gw-bench-batch-{label.lower()}-"))
            atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
            env = goodword_env(data_dir, url if label == "PostgreSQL" else "")
            log(f"{label}: migrating and creating the workspaces")
            variants: dict[str, Variant] = {}
            for name in names:
                engine = name == "engine"
                key = _create_workspace(env, "Bench engine") if engine else _setup_goodword(env)
                tag = ("p" if label == "PostgreSQL" else "s") + ("e" if engine else "")
                loops = [
                    Loop(
                        f"b{nonce}{tag}c{c}",
                        random.Random(rng.random()),
                        code=ENGINE_CODE if engine else BENCH_CODE,
                        engine=engine,
                    )
                    for c in range(opts.clients)
                ]
                variants[name] = Variant(name, key, loops)
            server = _start_goodword(label, env)
            targets.append(Target(label, env, data_dir, server, variants))
        floor.wait_ready()
        for target in targets:
            target.server.wait_ready()
            target.server.start_sampling()
            _program_with_advocate(target.server.url, target.simple.api_key)
            if "engine" in target.variants:
                key = target.variants["engine"].api_key
                _engine_program_with_advocate(target.server.url, key, started)

        def wrk_floor(tag: str, seconds: float) -> WrkResult:
            result = run_wrk(
                floor.url + "/",
                script=floor_lua(),
                name="batch-floor",
                seconds=seconds,
                connections=CONCURRENCY,
                timeout_s=10,
            )
            log(f"floor   {tag:22} {result.ok_rps(201):8.0f} req/s  status {result.status}")
            return result

        def wrk_single(target: Target, variant: Variant, tag: str, seconds: float) -> WrkResult:
            lua_nonce = f"{nonce}{target.label[0]}{variant.name[0]}{tag}"
            script = (
                engine_fresh_lua(variant.api_key, lua_nonce)
                if variant.name == "engine"
                else fresh_lua(variant.api_key, lua_nonce)
            )
            result = run_wrk(
                target.server.url + "/api/v1/events",
                script=script,
                name=f"batch-single-{target.label.lower()}-{variant.name}",
                seconds=seconds,
                connections=CONCURRENCY,
                timeout_s=10,
            )
            log(
                f"single  {target.label + ' ' + variant.name + ' ' + tag:22} "
                f"{result.ok_rps(201):8.0f} events/s status {result.status} "
                f"errors {result.errors}"
            )
            return result

        def batches(
            target: Target, variant: Variant, tag: str, count: int, replays_only: bool = False
        ) -> BatchRun:
            return post_batches(
                target.server.url,
                variant.api_key,
                variant.loops,
                batches=count,
                size=opts.batch_size,
                name=f"{target.label} {variant.name} {tag}",
                max_seconds=opts.max_batch_seconds,
                replays_only=replays_only,
            )

        wrk_floor("warmup", opts.warmup)
        for target in targets:
            for variant in target.variants.values():
                # The first batch has no earlier friends to buy: all signups, untimed.
                variant.warmup_created = batches(target, variant, "warmup", 1).created
                variant.warmup_single = wrk_single(target, variant, "warmup", opts.warmup)
        for run in range(opts.runs):
            tag = f"run{run + 1}"
            floors.append(wrk_floor(tag, opts.seconds))
            for target in targets:
                for variant in target.variants.values():
                    count = engine_batches if variant.name == "engine" else opts.batches
                    variant.batch_runs.append(batches(target, variant, tag, count))
                for variant in target.variants.values():
                    # A batch of nothing but replays, against the loop's batches just sent.
                    replays = batches(target, variant, tag + " replays", 1, replays_only=True)
                    variant.replay_runs.append(replays)
                for variant in target.variants.values():
                    seconds = engine_seconds if variant.name == "engine" else opts.seconds
                    variant.history.append(variant.conversions())
                    variant.single_runs.append(wrk_single(target, variant, tag, seconds))
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
    for key in ("engine_batches", "engine_seconds"):
        if getattr(opts, key) is not None:
            cmd += f" --{key.replace('_', '-')} {getattr(opts, key):g}"
    if opts.no_sqlite:
        cmd += " --no-sqlite"
    if opts.no_engine:
        cmd += " --no-engine"

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
        "earn credit on a first purchase of 20.00 or more) and one advocate, code BENCH"
        + ("" if opts.no_engine else "; the full engine in a second workspace (below)"),
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
        f"- {opts.runs} runs; floor, then per database its batches"
        + ("" if opts.no_engine else " (simple program, then full engine)")
        + ", a batch of replays each, and its single events, interleaved in each run; ratios "
        "are medians of the per-run ratios",
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
            b, s = t.simple.batch_runs[i], t.simple.single_runs[i].ok_rps(201)
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

    def tally(t: Target, v: Variant) -> str:
        """What the batches' items did, and the rows they left."""
        statuses: dict[int, int] = {}
        unexpected: dict[str, int] = {}
        for b in v.batch_runs + v.replay_runs:
            _add(statuses, b.statuses)
            _add(unexpected, b.unexpected)
        events = sum(b.events for b in v.batch_runs + v.replay_runs)
        created = v.warmup_created + sum(b.created for b in v.batch_runs)
        signups = sum(b.referred_signups for b in v.batch_runs)
        converting = sum(b.converting_purchases for b in v.batch_runs)
        rewards = sum(b.rewards for b in v.batch_runs)
        rows_db = sum(_events_with_prefix(t.env, f"evt_{loop.prefix}-") for loop in v.loops)
        truncated = sum(b.truncated for b in v.batch_runs)
        return (
            f"Items answered in the timed batches (the replay batches included): {events:,}, "
            f"by status {', '.join(f'{k}: {n:,}' for k, n in sorted(statuses.items()))}; other "
            f"than expected (201 fresh, 200 replay): "
            f"{', '.join(f'{k} {n}' for k, n in unexpected.items()) or 'none'}; signups "
            f"attributed to a referral: {signups:,}; purchases converting (two rewards or "
            f"more): {converting:,}, granting {rewards / converting if converting else 0:.1f} "
            f"rewards each on average. Batch event rows in the database afterwards: "
            f"{rows_db:,} (201 items answered, warmup batch included: {created:,}). Non-201 "
            f"answers to single events: {sum(r.not_status(201) for r in v.single_runs)}."
            + (f" {truncated} run(s) stopped early by the time bound." if truncated else "")
        )

    summary: dict[str, dict[str, float]] = {}
    for t in targets:
        v = t.simple
        ratios = [v.batch_runs[i].eps / floor_rps[i] for i in range(opts.runs)]
        single = [v.single_runs[i].ok_rps(201) / floor_rps[i] for i in range(opts.runs)]
        summary[t.label] = {
            "eps": median(b.eps for b in v.batch_runs),
            "ratio": median(ratios),
            "single": median(r.ok_rps(201) for r in v.single_runs),
            "single_ratio": median(single),
            "rss": t.server.peak_worker_mb(),
        }
        md += [
            f"**{t.label}**: batches {summary[t.label]['eps']:,.0f} events/s, "
            f"**{median(ratios):.3f}x** the floor; single events "
            f"{summary[t.label]['single']:,.0f}/s, {median(single):.3f}x the floor. " + tally(t, v),
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
        f"Peak RSS (VmHWM) of the granian worker during these loads (both workspaces): {rss_text}.",
        "",
    ]

    engine: dict[str, dict[str, float]] = {}
    if not opts.no_engine:
        md += [
            "### The full engine (20 reward rules) against the one simple rule",
            "",
            "- Program (a second workspace on the same servers, `_common.engine_program`): "
            + engine_summary(engine_program(started))
            + ". Its advocate (code ENGINE) has the attribute `segment: gold`",
            f"- Events: the same loop and batch size ({opts.batch_size:,}, "
            f"{REPLAY_SHARE:.0%} replays), {engine_batches} batches per run; signups carry "
            "`customer.attributes` `plan` (every other friend `pro`); purchases are of "
            + "/".join(f"{a / 100:.2f}" for a in ENGINE_AMOUNTS)
            + " USD in turn with two `order.items` (a product of "
            + "/".join(ENGINE_CATEGORIES)
            + ", and an accessory) and no email (so 1,000 events fit the API's 256 KB body "
            "limit). Every purchase converts; each grants the rewards of the rules that hold "
            "for it (about 3.5 on average, against 2 for the simple program) and names the "
            "others in the referral's `stopped`",
            f"- Single events: section 3's wrk loop with these events, {engine_seconds:g} s "
            "per run. They depend on how many conversions the program has had, which grows "
            "through the run (the last column): a conversion's caps are checked against the "
            "program's and the advocate's past rewards, and on PostgreSQL conversions under "
            "the same caps wait for each other (advisory locks); see section 5 for how an "
            "event's statements grow with that history",
            "",
        ]
        header = [
            "run",
            "database",
            "simple batch events/s",
            "engine batch events/s",
            "engine / simple",
            "engine ms per batch",
            "simple single events/s",
            "engine single events/s",
            "engine single / floor",
            "simple single / floor",
            "engine program's conversions before its single events",
        ]
        rows = []
        for t in targets:
            s, e = t.simple, t.variants["engine"]
            for i in range(opts.runs):
                es, ss = e.single_runs[i].ok_rps(201), s.single_runs[i].ok_rps(201)
                rows.append(
                    [
                        i + 1,
                        t.label,
                        f"{s.batch_runs[i].eps:,.0f}",
                        f"{e.batch_runs[i].eps:,.0f}",
                        f"{e.batch_runs[i].eps / s.batch_runs[i].eps:.2f}x",
                        f"{median(e.batch_runs[i].latencies) * 1000:,.0f}",
                        f"{ss:,.0f}",
                        f"{es:,.0f}",
                        f"{es / floor_rps[i]:.3f}x",
                        f"{ss / floor_rps[i]:.3f}x",
                        f"about {e.history[i]:,}",
                    ]
                )
        md += [table(header, rows), ""]
        for t in targets:
            s, e = t.simple, t.variants["engine"]
            engine[t.label] = {
                "eps": median(b.eps for b in e.batch_runs),
                "ratio": median(
                    e.batch_runs[i].eps / s.batch_runs[i].eps for i in range(opts.runs)
                ),
                "single": median(r.ok_rps(201) for r in e.single_runs),
                "single_ratio": median(
                    e.single_runs[i].ok_rps(201) / floor_rps[i] for i in range(opts.runs)
                ),
                "single_vs_simple": median(
                    e.single_runs[i].ok_rps(201) / s.single_runs[i].ok_rps(201)
                    for i in range(opts.runs)
                    if s.single_runs[i].ok_rps(201)
                ),
            }
            en = engine[t.label]
            written = {
                v: _rows_written(t.env, ws)
                for v, ws in (("simple", "Bench"), ("engine", "Bench engine"))
            }
            per_event = {v: sum(w.values()) / max(w["events"], 1) for v, w in written.items()}
            en["rows_ratio"] = per_event["engine"] / per_event["simple"]
            en["per_row_ratio"] = en["ratio"] * en["rows_ratio"]
            warm = ""
            if e.warmup_single and s.warmup_single and s.warmup_single.ok_rps(201):
                warm = (
                    f" In the untimed {opts.warmup:g} s warm-up, before the program had any "
                    f"conversion: engine {e.warmup_single.ok_rps(201):,.0f}/s against simple "
                    f"{s.warmup_single.ok_rps(201):,.0f}/s "
                    f"({e.warmup_single.ok_rps(201) / s.warmup_single.ok_rps(201):.2f}x)."
                )
            md += [
                f"**{t.label}**, full engine: batches {en['eps']:,.0f} events/s, "
                f"**{en['ratio']:.2f}x** the simple program's in the same runs; single events "
                f"{en['single']:,.0f}/s, **{en['single_ratio']:.3f}x** the floor "
                f"({en['single_vs_simple']:.2f}x the simple program's).{warm} " + tally(t, e),
                "",
                "Rows the events wrote, per accepted event (each workspace's whole run, "
                "single events included): "
                + "; ".join(
                    f"{v} {per_event[v]:.2f} ("
                    + ", ".join(f"{k} {n / max(w['events'], 1):.2f}" for k, n in w.items() if n)
                    + ")"
                    for v, w in written.items()
                )
                + f". The engine writes **{en['rows_ratio']:.2f}x** the rows per event; per row "
                f"written, its batches run at **{en['per_row_ratio']:.2f}x** the simple "
                "program's speed.",
                "",
            ]

    md += [
        "### Replays in a batch",
        "",
        f"Once per run, after the loop's batches, each workspace's client posts one batch of "
        f"{opts.batch_size:,} events it sent before (every item answered 200 from the stored "
        "result). Time per event = the batch's time / its events, against the median loop "
        f"batch of the same run ({1 - REPLAY_SHARE:.0%} fresh events) the same way.",
        "",
    ]
    header = ["run", "database", "program", "loop batch ms/event", "replay batch ms/event"]
    header.append("replay / fresh")
    rows = []
    replay_ratios: dict[str, list[float]] = {}
    for t in targets:
        for v in t.variants.values():
            for i in range(opts.runs):
                fresh_ms = v.batch_runs[i].ms_per_event
                replay_ms = v.replay_runs[i].ms_per_event
                ratio = replay_ms / fresh_ms if fresh_ms else 0.0
                replay_ratios.setdefault(f"{t.label} {v.name}", []).append(ratio)
                rows.append(
                    [i + 1, t.label, v.name, f"{fresh_ms:.3f}", f"{replay_ms:.3f}", f"{ratio:.2f}x"]
                )
    md += [table(header, rows), ""]
    replay_median = {k: median(vs) for k, vs in replay_ratios.items()}
    md += [
        "Medians of replay / fresh per event: "
        + ", ".join(f"{k} {r:.2f}x" for k, r in replay_median.items())
        + ". (Single replayed events against single fresh ones are in section 3.)",
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
    for label, en in engine.items():
        verdict_rows.append(
            (
                f"{label}: full engine batch events/s >= {TARGET_ENGINE}x the simple program's "
                "(same run)",
                f"{en['ratio']:.2f}x ({en['eps']:,.0f} events/s)",
                verdict(en["ratio"] >= TARGET_ENGINE),
            )
        )
        verdict_rows.append(
            (
                f"(reported) {label}: the same per row written (the engine writes "
                f"{en['rows_ratio']:.2f}x the rows per event)",
                f"{en['per_row_ratio']:.2f}x",
                "n/a",
            )
        )
    for label, en in engine.items():
        if label == "PostgreSQL":
            verdict_rows.append(
                (
                    f"PostgreSQL: full engine single events/s >= {TARGET_ENGINE_SINGLE}x the "
                    "Python floor (no regression from today)",
                    f"{en['single_ratio']:.3f}x ({en['single']:,.0f} events/s)",
                    verdict(en["single_ratio"] >= TARGET_ENGINE_SINGLE),
                )
            )
        else:
            verdict_rows.append(
                (
                    f"(reported) {label}: full engine single events/s as a share of the floor",
                    f"{en['single_ratio']:.3f}x ({en['single']:,.0f} events/s)",
                    "n/a",
                )
            )
    worst = max(replay_median.items(), key=lambda kv: kv[1])
    verdict_rows.append(
        (
            f"replay <= {TARGET_REPLAY}x fresh, per event in a batch (every database and program)",
            f"{worst[1]:.2f}x at most ({worst[0]})",
            verdict(worst[1] <= TARGET_REPLAY),
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
        place_section(SECTION)
        write_section(SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
