"""Statements and CPU per event, in-process, as an advocate's history grows (1x, 10x, 100x).

    .venv/bin/python benches/event_cpu.py [--rounds 5] [--pairs 20] [--history 10,100,1000]
        [--history-days 60] [--variants capped,engine] [--databases postgresql,sqlite]
        [--database-url URL] [--show-sql] [--no-doc]

Calls `goodword.wsgi.application` directly (the same entry point granian calls), in one thread
pinned to core 0, so that nothing but Goodword's own work is counted; on PostgreSQL (a
throwaway database, default `goodword_bench_cpu`, dropped, created and migrated) and on SQLite
(a temporary GOODWORD_DATA_DIR), each in a process of its own.

- Programs, two variants:
  - "capped": the events benchmarks' program (both sides earn credit on a first purchase of
    20.00 or more) whose advocate rule is capped per advocate per calendar month (1,000,000
    rewards: never reached) and by a program lifetime budget (never reached), and whose friend
    rule is capped at one per friend (lifetime);
  - "engine": the 20-rule program of `benches/batch.py` (`_common.engine_program`: conditions
    of every kind, per-rule holds and windows, commissions, caps per advocate, friend and
    program, tiers, an experiment, coupons from a pool).
- History: for each history size N (default 10, 100 and 1,000 friends: 1x, 10x, 100x) a
  workspace of its own with the program and one advocate, then N - 1 friends who signed up
  with the advocate's code and bought (a conversion each), sent through
  `POST /api/v1/events/batch` in chunks of 1,000 events, their business times (`occurred_at`)
  spread evenly over the last `--history-days` days, oldest first; then one more friend's
  signup and purchase as single events (a warm-up of this workspace), so N before the probe.
- Probe: one new friend's signup with the code, that friend's first purchase (converting), and
  that purchase sent again (a replay): each one's statements through Django's cursor (BEGIN and
  COMMIT are not among them), and their SQL, compared between history sizes (the SQL that
  differs is printed).
- Timing: then `--pairs` more new friends' signups, their purchases, and the purchases again
  (replays), timed per event: process CPU (`time.process_time()`), wall time, and the time
  spent in the cursor (statement round trips and the database's work; measured by an execute
  wrapper that costs about a microsecond a statement), per statement too. Those events add to
  the history: N at the start, N + pairs + 1 at the end.
- Rows read: on PostgreSQL, `EXPLAIN (ANALYZE)` of each SELECT of the first round's probes,
  with the same parameters, at the end: the rows its scans visit. A statement whose time or
  rows read grow with the history is listed with its SQL.
- Rounds: `--rounds` times, each with fresh workspaces for every (variant, history size),
  all set up first and then measured in turn; figures are medians over rounds.
Rewrites the `event_cpu` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _common import (
    BENCH_PROGRAM,
    ENGINE_ADVOCATE_ATTRIBUTES,
    ENGINE_BUDGET,
    SERVER_CPU,
    cpu_model,
    engine_pool,
    engine_program,
    log,
    place_section,
    purchase_event,
    signup_event,
    table,
    verdict,
    write_section,
)

SECTION = "event_cpu"
CHUNK = 1000  # events per batch request (the endpoint's limit)
KINDS = ("signup", "purchase", "replay")
GROWTH_RATIO = 2.0  # a statement's time "grows" when its median at the largest history is
GROWTH_MS = 0.1  # at least this many times and this many ms above the smallest history's
GROWTH_ROWS = 50  # (or this many more rows read)
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def _scans(plan: dict[str, Any]) -> list[str]:
    """A PostgreSQL plan's scans, in short: `Index Scan using <index> on <table> (rows)`."""
    out: list[str] = []
    if plan.get("Node Type") in SCANS or plan.get("Node Type") == "Bitmap Index Scan":
        text = plan["Node Type"]
        if plan.get("Index Name"):
            text += f" using {plan['Index Name']}"
        if plan.get("Relation Name"):
            text += f" on {plan['Relation Name']}"
        visited = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        out.append(f"{text} ({int(visited * plan.get('Actual Loops', 1)):,} rows)")
    for child in plan.get("Plans", ()):
        out += _scans(child)
    return out


def _scanned(plan: dict[str, Any]) -> int:
    """Rows a plan's scans visit: rows returned plus rows removed by filters, times loops."""
    total = 0
    if plan.get("Node Type") in SCANS:
        visited = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        visited += plan.get("Rows Removed by Index Recheck", 0)
        total += int(visited * plan.get("Actual Loops", 1))
    for child in plan.get("Plans", ()):
        total += _scanned(child)
    return total


def capped_program() -> dict[str, Any]:
    program = copy.deepcopy(BENCH_PROGRAM)
    program["name"] = "Bench capped"
    program["rewards"][0]["caps"] = [
        {"per": "advocate", "period": "month", "count": 1_000_000},
        {"per": "program", "period": "lifetime", "amount": ENGINE_BUDGET},
    ]
    program["rewards"][1]["caps"] = [{"per": "friend", "period": "lifetime", "count": 1}]
    return program


VARIANTS = {
    "capped": "the events benchmarks' program, advocate rule capped per advocate-month and by a "
    "program lifetime budget, friend rule once per friend",
    "engine": "the 20-rule program of section 4, with its tiers, experiment and coupon pool",
}


def _recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("goodword_bench"):
        sys.exit("refusing to drop a database whose name does not start with goodword_bench")
    admin = urlunsplit(parts._replace(path="/postgres"))
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", "-X", "-q", admin, "-c", sql], check=True)


def _psql(url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-At", url, "-c", sql], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


_PLACEHOLDERS = re.compile(r"%s(?:\s*,\s*%s)+")
_TUPLES = re.compile(r"\((?:%s, …|%s)\)(?:\s*,\s*\((?:%s, …|%s)\))+")
_IN_LIST = re.compile(r"\bIN \((?:%s, …|%s)\)")


def normalise(sql: str) -> str:
    """The statement's shape: lists of placeholders folded (`IN (…)`), so that one statement
    with more or fewer parameters reads the same."""
    sql = _PLACEHOLDERS.sub("%s, …", " ".join(sql.split()))
    return _IN_LIST.sub("IN (…)", _TUPLES.sub("(…), …", sql))


@dataclass
class Recorder:
    """An execute wrapper: every statement's shape and time, while `on`."""

    on: bool = False
    statements: list[tuple[str, float, Any]] = field(default_factory=list)  # sql, s, params

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, *args: Any) -> Any:
        if not self.on:
            return execute(sql, params, *args)
        t0 = time.perf_counter()
        try:
            return execute(sql, params, *args)
        finally:
            self.statements.append((sql, time.perf_counter() - t0, params))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, float, Any]]]:
        self.statements = []
        self.on = True
        try:
            yield self.statements
        finally:
            self.on = False


@dataclass
class Case:
    """One workspace: a variant at a history size, in one round."""

    variant: str
    history: int
    round: int
    key: str = ""
    code: str = ""


@dataclass
class Measured:
    """What one (variant, history size) gave over the rounds."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    sql: dict[str, list[str]] = field(default_factory=dict)  # the first round's probe
    params: dict[str, list[Any]] = field(default_factory=dict)  # and its parameters
    rows_read: dict[str, list[int | None]] = field(default_factory=dict)  # EXPLAIN ANALYZE
    plans: dict[str, list[str | None]] = field(default_factory=dict)  # its scans, in short
    cpu: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    wall: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    cursor: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    per_sql: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )
    rewards: list[int] = field(default_factory=list)  # rewards of the probe purchase


def _rows_at(m: Measured, kind: str, i: int, shape: str) -> int | None:
    """Rows read by statement i of the probe (or the first of the same shape)."""
    for j in [i, *range(len(m.sql[kind]))]:
        if j < len(m.sql[kind]) and normalise(m.sql[kind][j]) == shape:
            return m.rows_read[kind][j]
    return None


def measure(opts: argparse.Namespace, database: str) -> dict[str, Any]:
    """One database's measurements (in a process of its own: Django settles its database once
    per process), as JSON-able data."""
    sizes, variants = _sizes(opts), _variants(opts)
    started = datetime.now(UTC)
    os.sched_setaffinity(0, {int(SERVER_CPU)})
    postgres = database == "postgresql"
    os.environ["GOODWORD_DATA_DIR"] = tempfile.mkdtemp(prefix="gw-bench-cpu-")
    if postgres:
        log(f"recreating the throwaway database {urlsplit(opts.database_url).path.lstrip('/')}")
        _recreate(opts.database_url)
        version = "PostgreSQL " + _psql(opts.database_url, "SHOW server_version")
        os.environ["DATABASE_URL"] = opts.database_url
    else:
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
        os.environ["DATABASE_URL"] = ""
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodword.settings"
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from goodword.accounts.services import create_workspace
    from goodword.wsgi import application

    call_command("migrate", verbosity=0)
    recorder = Recorder()
    connection.execute_wrappers.append(recorder)

    def post(key: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body, separators=(",", ":")).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {key}",
        }
        status: list[str] = []
        chunks = application(environ, lambda s, h, e=None: status.append(s))
        payload = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), json.loads(payload)

    def ok(answer: tuple[int, dict[str, Any]], *expect: int) -> dict[str, Any]:
        if answer[0] not in expect:
            raise SystemExit(f"expected {expect}, got {answer[0]}: {json.dumps(answer[1])[:2000]}")
        return answer[1]

    def setup(case: Case) -> None:
        _, case.key = create_workspace(
            name=f"Bench {case.variant} {case.history} r{case.round}",
            owner_email="bench@example.com",
        )
        case.code = f"{case.variant[0].upper()}{case.history}R{case.round}"
        if case.variant == "capped":
            program = capped_program()
        else:

            def post_ok(url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
                return ok(post(key, url, body), 200, 201)

            program = engine_program(started, pool=engine_pool("", case.key, post_ok))
        program_id = ok(post(case.key, "/api/v1/programs", program), 201)["id"]
        advocate = {"external_id": "cus_alice", "attributes": ENGINE_ADVOCATE_ATTRIBUTES}
        ok(post(case.key, "/api/v1/participants", advocate), 200, 201)
        enrol = {"external_id": "cus_alice", "code": case.code}
        ok(post(case.key, f"/api/v1/programs/{program_id}/advocates", enrol), 201)
        # N - 1 converted friends through the batch endpoint, oldest first, each friend's
        # signup and purchase in the same chunk; then one as single events.
        engine = case.variant == "engine"
        friends = case.history - 1
        span = timedelta(days=opts.history_days)
        step = span / max(friends, 1)
        events: list[dict[str, Any]] = []
        for i in range(friends):
            friend = f"cus_h{i}"
            if opts.history_days:
                at = started - span + i * step
                signed = at.strftime("%Y-%m-%dT%H:%M:%SZ")
                bought = (at + min(timedelta(hours=1), step / 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                signed = bought = None
            events.append(
                signup_event(f"evt_hs{i}", friend, case.code, i, engine=engine, occurred_at=signed)
            )
            events.append(
                purchase_event(
                    f"evt_hp{i}", friend, f"ord_h{i}", i, engine=engine, occurred_at=bought
                )
            )
        for start in range(0, len(events), CHUNK):
            chunk = events[start : start + CHUNK]
            items = ok(post(case.key, "/api/v1/events/batch", {"events": chunk}), 200)["data"]
            bad = [item for item in items if item["status"] != 201]
            if bad:
                raise SystemExit(f"{case}: history batch item refused: {bad[0]}")
        last = pair(case, "warm", 0)
        ok(post(case.key, "/api/v1/events", last[0]), 201)
        ok(post(case.key, "/api/v1/events", last[1]), 201)

    def pair(case: Case, tag: str, k: int) -> tuple[dict[str, Any], dict[str, Any]]:
        engine = case.variant == "engine"
        friend = f"cus_{tag}{k}"
        n = case.history + k  # the engine's order amounts and items go round with n
        return (
            signup_event(f"evt_s_{tag}{k}", friend, case.code, n, engine=engine),
            purchase_event(f"evt_p_{tag}{k}", friend, f"ord_{tag}{k}", n, engine=engine),
        )

    def probe(case: Case, out: Measured) -> None:
        signup, purchase = pair(case, "probe", 0)
        first = out.counts["signup"] == []
        for kind, body, expect in (
            ("signup", signup, 201),
            ("purchase", purchase, 201),
            ("replay", purchase, 200),
        ):
            with recorder.recording() as statements:
                answer = ok(post(case.key, "/api/v1/events", body), expect)
            out.counts[kind].append(len(statements))
            if first:
                out.sql[kind] = [sql for sql, _, _ in statements]
                out.params[kind] = [params for _, _, params in statements]
            if kind == "signup" and not answer.get("referrals"):
                raise SystemExit(f"{case}: the probe signup was not attributed: {answer}")
            if kind == "purchase":
                out.rewards.append(len(answer.get("rewards") or []))
                if len(answer.get("rewards") or []) < 2:
                    raise SystemExit(f"{case}: the probe purchase did not convert: {answer}")

    def timed(case: Case, out: Measured) -> None:
        pairs = [pair(case, f"t{case.round}_", k) for k in range(opts.pairs)]
        for kind, bodies, expect in (
            ("signup", [p[0] for p in pairs], 201),
            ("purchase", [p[1] for p in pairs], 201),
            ("replay", [p[1] for p in pairs], 200),
        ):
            with recorder.recording() as statements:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for body in bodies:
                    code, answer = post(case.key, "/api/v1/events", body)
                    if code != expect:
                        raise SystemExit(f"{case} {kind}: {code} {answer}")
                cpu = time.process_time() - cpu0
                wall = time.perf_counter() - wall0
            n = len(bodies)
            out.cpu[kind].append(cpu / n * 1000)
            out.wall[kind].append(wall / n * 1000)
            out.cursor[kind].append(sum(t for _, t, _ in statements) / n * 1000)
            for sql, seconds, _ in statements:
                out.per_sql[kind].setdefault(normalise(sql), []).append(seconds * 1000)

    # Warm-up: Django, the driver and PostgreSQL's caches, on a workspace of its own.
    log("warm-up")
    for variant in variants:
        warm = Case(variant, 50, 0)
        setup(warm)
        for k in range(50):
            signup, purchase = pair(warm, "w", k)
            ok(post(warm.key, "/api/v1/events", signup), 201)
            ok(post(warm.key, "/api/v1/events", purchase), 201)
            ok(post(warm.key, "/api/v1/events", purchase), 200)

    results: dict[tuple[str, int], Measured] = {
        (v, size): Measured() for v in variants for size in sizes
    }
    setup_seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for r in range(1, opts.rounds + 1):
        cases = [Case(v, size, r) for v in variants for size in sizes]
        for case in cases:
            t0 = time.perf_counter()
            setup(case)
            setup_seconds[case.history].append(time.perf_counter() - t0)
        if postgres:
            _psql(opts.database_url, "VACUUM ANALYZE")
        order = cases if r % 2 else list(reversed(cases))  # drift hits every size alike
        for case in order:
            out = results[(case.variant, case.history)]
            probe(case, out)
            timed(case, out)
        for case in cases:
            out = results[(case.variant, case.history)]
            log(
                f"{database} round {r} {case.variant:6} history {case.history:5}: statements "
                + " ".join(f"{k} {out.counts[k][-1]}" for k in KINDS)
                + "; CPU ms "
                + " ".join(f"{k} {out.cpu[k][-1]:.2f}" for k in KINDS)
                + "; wall ms "
                + " ".join(f"{k} {out.wall[k][-1]:.2f}" for k in KINDS)
            )

    # The plan of each SELECT of the first round's probes, with the same parameters, on the
    # same workspaces (which now hold N + pairs + 2 friends); on PostgreSQL, EXPLAIN ANALYZE
    # also gives the rows read (SQLite's EXPLAIN QUERY PLAN gives no counts).
    log("explaining the probes' statements")
    for m in results.values():
        for kind in KINDS:
            m.rows_read[kind], m.plans[kind] = [], []
            for sql, params in zip(m.sql[kind], m.params[kind], strict=True):
                if not sql.upper().startswith("SELECT") or "pg_advisory" in sql:
                    m.rows_read[kind].append(None)
                    m.plans[kind].append(None)
                    continue
                with connection.cursor() as cursor:
                    if postgres:
                        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                        plan = cursor.fetchone()[0]
                        plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
                        m.rows_read[kind].append(_scanned(plan))
                        m.plans[kind].append("; ".join(_scans(plan)))
                    else:
                        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                        m.rows_read[kind].append(None)
                        m.plans[kind].append("; ".join(str(row[-1]) for row in cursor.fetchall()))

    for m in results.values():
        m.params = {}  # not JSON, and not needed any more
    return {
        "version": version,
        "started": started.isoformat(),
        "results": {f"{v}|{size}": asdict(m) for (v, size), m in results.items()},
        "setup_seconds": {str(size): values for size, values in setup_seconds.items()},
    }


def _plan_at(m: Measured, kind: str, shape: str) -> str | None:
    for sql, plan in zip(m.sql[kind], m.plans.get(kind, []), strict=False):
        if normalise(sql) == shape:
            return plan
    return None


def _sizes(opts: argparse.Namespace) -> list[int]:
    return sorted({int(s) for s in opts.history.split(",")})


def _variants(opts: argparse.Namespace) -> list[str]:
    return [v for v in opts.variants.split(",") if v]


def _load(data: dict[str, Any]) -> dict[tuple[str, int], Measured]:
    out: dict[tuple[str, int], Measured] = {}
    for key, fields in data["results"].items():
        variant, size = key.split("|")
        out[(variant, int(size))] = Measured(**fields)
    return out


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _counts_text(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def report(
    opts: argparse.Namespace, data: dict[str, dict[str, Any]], loadavg: str
) -> tuple[str, bool]:
    """The section's markdown, and whether statements stayed bounded everywhere."""
    sizes, variants = _sizes(opts), _variants(opts)
    lo, hi = sizes[0], sizes[-1]
    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    first = min(d["started"] for d in data.values())
    cmd = ".venv/bin/python benches/event_cpu.py"
    for key, default in (("rounds", 5), ("pairs", 20), ("history_days", 60)):
        if getattr(opts, key) != default:
            cmd += f" --{key.replace('_', '-')} {getattr(opts, key)}"
    for key, default in (("history", "10,100,1000"), ("variants", "capped,engine")):
        if getattr(opts, key) != default:
            cmd += f" --{key} {getattr(opts, key)}"
    if opts.databases != "postgresql,sqlite":
        cmd += f" --databases {opts.databases}"
    md: list[str] = [
        "## 5. Statements and CPU per event as history grows (in-process)",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        f"- Date: {datetime.fromisoformat(first).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs (`nproc`), `{cpu_model()}` (/proc/cpuinfo), Linux "
        f"{platform.release()}, Python {platform.python_version()}; load average (1, 5, 15 "
        f"min) when the run started: {loadavg} (other jobs share this machine)",
        "- Databases: "
        + "; ".join(
            f"{d['version']}"
            + (
                f" on 127.0.0.1, a throwaway database "
                f"`{urlsplit(opts.database_url).path.lstrip('/')}` dropped, created and migrated "
                "by the script"
                if db == "postgresql"
                else " in a temporary GOODWORD_DATA_DIR"
            )
            for db, d in data.items()
        )
        + f". `goodword.wsgi.application` is called in-process (a process per database), one "
        f"thread pinned to CPU {SERVER_CPU}",
        "- Programs: " + "; ".join(f"**{v}**: {VARIANTS[v]}" for v in variants) + "",
        f"- History N per advocate: {', '.join(f'{s:,}' for s in sizes)} friends "
        f"({', '.join(f'{s // lo}x' for s in sizes)}) who signed up with the advocate's "
        "code and bought, each size in a workspace of its own with one program and its one "
        "advocate (so the program's history is the advocate's); N - 1 sent through "
        f"`POST /api/v1/events/batch` in chunks of {CHUNK:,} events with business times spread "
        f"over the last {opts.history_days} days, the last one as single events",
        "- Probe: then a new friend's signup with the code, that friend's first purchase "
        "(converting), and the purchase again (a replay, 200): statements sent through "
        "Django's cursor (BEGIN and COMMIT not counted)",
        f"- Timing: then {opts.pairs} more friends' signups, purchases and replays of those "
        "purchases: process CPU, wall time, and time inside the cursor (round trips and the "
        f"database's work) per event; those add to the history (N + {opts.pairs + 1} at the "
        "end)",
        f"- {opts.rounds} rounds, fresh workspaces for every program and size in each, all set "
        "up first, then measured in turn (order reversed every other round); figures are "
        "medians over rounds (the machine is shared: single rounds vary by 1.5x)",
        "",
    ]
    header = ["database", "program", "history", *(f"statements: {k}" for k in KINDS)]
    header += [f"CPU ms: {k}" for k in KINDS] + [f"wall ms: {k}" for k in KINDS]
    header += [f"in cursor ms: {k}" for k in ("signup", "purchase")]
    rows = []
    loaded = {db: _load(d) for db, d in data.items()}
    for db, results in loaded.items():
        for v in variants:
            for size in sizes:
                m = results[(v, size)]
                rows.append(
                    [names[db], v, f"{size:,} ({size // lo}x)"]
                    + [_counts_text(m.counts[k]) for k in KINDS]
                    + [f"{_med(m.cpu[k]):.2f}" for k in KINDS]
                    + [f"{_med(m.wall[k]):.2f}" for k in KINDS]
                    + [f"{_med(m.cursor[k]):.2f}" for k in ("signup", "purchase")]
                )
    md += [table(header, rows), ""]
    md.append(
        "Rewards granted by the probe purchase: "
        + "; ".join(
            f"{names[db]} "
            + ", ".join(f"{v} {_counts_text(results[(v, lo)].rewards)}" for v in variants)
            for db, results in loaded.items()
        )
        + "."
    )
    md += ["", "### Growth with history", ""]

    # The statements' count and SQL between the smallest and every larger history; each
    # statement's time and rows read between the smallest and the largest.
    bounded = True
    worst: tuple[int, str, str, str, int] = (0, "", "", "", 0)
    refs: dict[str, str] = {}  # statement shape -> S1, S2, ...
    plans: dict[str, tuple[str, str | None]] = {}  # S1 -> database, its plan at the largest
    grow_rows: list[list[str]] = []
    for db, results in loaded.items():
        for v in variants:
            base = results[(v, lo)]
            for size in sizes[1:]:
                m = results[(v, size)]
                for kind in KINDS:
                    more = max(m.counts[kind]) - max(base.counts[kind])
                    if more > 0:
                        bounded = False
                        worst = max(worst, (more, names[db], v, kind, size))
                    a = [normalise(s) for s in base.sql[kind]]
                    b = [normalise(s) for s in m.sql[kind]]
                    if a != b:
                        diff = difflib.unified_diff(
                            a, b, f"at {lo:,}", f"at {size:,}", lineterm="", n=0
                        )
                        md += [
                            f"{names[db]}, {v}, {kind}: the SQL differs at {size:,} friends:",
                            "",
                            "```",
                            *diff,
                            "```",
                            "",
                        ]
            top = results[(v, hi)]
            md += [
                f"**{names[db]}, {v}**, {hi:,} against {lo:,} friends of history: CPU per "
                "event "
                + ", ".join(f"{k} {_med(top.cpu[k]) / _med(base.cpu[k]):.2f}x" for k in KINDS)
                + "; wall time per event "
                + ", ".join(f"{k} {_med(top.wall[k]) / _med(base.wall[k]):.2f}x" for k in KINDS)
                + ".",
                "",
            ]
            for kind in KINDS:
                for i, sql in enumerate(base.sql[kind]):
                    shape = normalise(sql)
                    times: list[float | None] = []
                    read: list[int | None] = []
                    for size in sizes:
                        spent = results[(v, size)].per_sql[kind].get(shape)
                        times.append(_med(spent) if spent else None)
                        read.append(_rows_at(results[(v, size)], kind, i, shape))
                    t0, t1, r0, r1 = times[0], times[-1], read[0], read[-1]
                    slower = (
                        t0 is not None
                        and t1 is not None
                        and t1 >= GROWTH_RATIO * t0
                        and t1 - t0 >= GROWTH_MS
                    )
                    reads_more = (
                        r0 is not None
                        and r1 is not None
                        and r1 >= GROWTH_RATIO * max(r0, 1)
                        and r1 - r0 >= GROWTH_ROWS
                    )
                    if slower or reads_more:
                        ref = refs.setdefault(shape, f"S{len(refs) + 1}")
                        plans.setdefault(ref, (names[db], _plan_at(results[(v, hi)], kind, shape)))
                        grow_rows.append(
                            [names[db], v, kind, str(i + 1), ref]
                            + ["-" if t is None else f"{t:.2f}" for t in times]
                            + ["-" if r is None else f"{r:,}" for r in read]
                        )
    md += [
        "Time and rows read per statement: time is the median in the cursor over the timed "
        "events (the database's work and, on PostgreSQL, the round trip); rows read are the "
        "table and index rows the statement's plan visits (its scans' rows returned plus rows "
        "removed by filters), from PostgreSQL's `EXPLAIN (ANALYZE)` of the first round's probe "
        f"re-run on its workspace at the end (N + {opts.pairs + 2} friends; SQLite's plans give "
        "no counts, so its plan is given: `EXPLAIN QUERY PLAN`). A statement is listed when, "
        f"at {hi:,} friends, it takes at least "
        f"{GROWTH_RATIO:g}x and {GROWTH_MS} ms more than at {lo:,}, or reads at least "
        f"{GROWTH_RATIO:g}x and {GROWTH_ROWS} rows more. Statement # is its place in the "
        "event's statements.",
        "",
    ]
    if grow_rows:
        header = ["database", "program", "event", "statement #", "SQL"]
        header += [f"ms at {s:,}" for s in sizes] + [f"rows read at {s:,}" for s in sizes]
        md += [table(header, grow_rows), ""]
        md += ["The statements (as sent; lists of placeholders folded):", ""]
        for shape, ref in refs.items():
            db_name, plan = plans[ref]
            md += [f"{ref}:", "", "```sql", shape, "```", ""]
            if plan:
                md += [f"Its plan on {db_name} at {hi:,} friends: {plan}.", ""]
    else:
        md += ["None grows.", ""]
    md += [
        "Setting up the history (median seconds per workspace, both programs): "
        + "; ".join(
            f"{names[db]} "
            + ", ".join(f"{s:,} friends {_med(d['setup_seconds'][str(s)]):.1f} s" for s in sizes)
            for db, d in data.items()
        )
        + ".",
        "",
        "### Verdict",
        "",
    ]
    md.append(
        table(
            ["target", "measured", "verdict"],
            [
                (
                    "statements per event do not grow with history "
                    f"({', '.join(f'{s // lo}x' for s in sizes)})",
                    "the same at every size"
                    if bounded
                    else f"{worst[1]}, {worst[2]}, {worst[3]}: {worst[0]} more at {worst[4]:,}",
                    verdict(bounded),
                ),
                (
                    "(reported) statements whose time or rows read grow with history "
                    f"({hi:,} against {lo:,} friends)",
                    ", ".join(refs.values()) or "none",
                    "n/a",
                ),
            ],
        )
    )
    return "\n".join(md), bounded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="report the median of this many")
    parser.add_argument("--pairs", type=int, default=20, help="timed friends per round")
    parser.add_argument("--history", default="10,100,1000", help="history sizes (friends)")
    parser.add_argument("--history-days", type=int, default=60)
    parser.add_argument("--variants", default="capped,engine")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_cpu"
    )
    parser.add_argument("--show-sql", action="store_true", help="print every probe's SQL")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one database, in a child process
    parser.add_argument("--out", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    sizes, variants = _sizes(opts), _variants(opts)
    databases = [d for d in opts.databases.split(",") if d]
    if sizes[0] < 1 or any(v not in VARIANTS for v in variants):
        sys.exit("--history sizes must be >= 1 and --variants among " + ", ".join(VARIANTS))
    if not databases or any(d not in ("postgresql", "sqlite") for d in databases):
        sys.exit("--databases: postgresql, sqlite or both")

    if opts.worker:
        result = measure(opts, opts.worker)
        with open(opts.out, "w") as f:
            json.dump(result, f)
        return

    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    data: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gw-bench-cpu-") as tmp:
        for db in databases:
            out = os.path.join(tmp, f"{db}.json")
            argv = [sys.executable, __file__, *sys.argv[1:], "--worker", db, "--out", out]
            subprocess.run(argv, check=True)
            with open(out) as f:
                data[db] = json.load(f)
    text, _ = report(opts, data, loadavg)
    if opts.show_sql:
        lo = sizes[0]
        for db, d in data.items():
            results = _load(d)
            for v in variants:
                for kind in KINDS:
                    print(f"\n--- {db}, {v}, {kind}, at {lo:,} friends of history:")
                    for i, sql in enumerate(results[(v, lo)].sql[kind], 1):
                        print(f"{i:2}. {sql[:1000]}")
        print()
    if not opts.no_doc:
        place_section(SECTION)
        write_section(SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
