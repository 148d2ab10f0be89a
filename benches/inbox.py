"""Benchmark: the Shopify inbox (`POST /hooks/shopify/<id>`) and its processing, on PostgreSQL.

    .venv/bin/python benches/inbox.py [--runs 3] [--seconds 10] [--items 20000]
        [--process-runs 3] [--warmup-items 2000] [--database-url URL]

- A throwaway database (default `goodword_bench_inbox` on postgres://postgres@127.0.0.1:5432)
  is dropped, created and migrated; one workspace and API key from `goodword createworkspace
  --json`, the events benchmarks' program and its advocate (code BENCH) through the API, and a
  Shopify connection (`integrations.services.create_connection`, an app secret, the shop's
  domain).
- Acceptance: `goodword web --workers 1` (its default 8 threads on PostgreSQL), pinned to core
  0, driven by wrk -t1 -c8 (core 1) with a Lua `request()` that posts `orders/paid` webhooks as
  Shopify sends them: a pool of 1,000 distinct order bodies (a new customer each, 42.00 USD,
  the advocate's code as a discount code), each signed beforehand (`X-Shopify-Hmac-Sha256`,
  which covers the body only), and every request a new `X-Shopify-Webhook-Id`, so every one is
  verified and stored as a new inbox item (answered 200).
- Reference: the Python floor, `refapps/pg_wsgi.py` (BEGIN, a lookup, an insert, COMMIT per
  request from a bare WSGI app through psycopg) under the same granian settings (8 threads,
  core 0), driven by wrk -t1 -c8 as `benches/events.py` drives it. Runs interleaved; the ratio
  is the median of the per-run ratios.
- Processing, `--process-runs` times: the pending items are set aside (marked ignored), then
  `--items` new items are stored as the view stores them (the same row, bulk-inserted):
  half `customers/create` (a new customer), half `orders/paid` of those customers with the
  advocate's code as a discount code (attributed, converted, two rewards each), in turn.
  `inbox.process_due` is called until nothing is due, in one process pinned to core 0
  (`goodword shell`), timed from the first claim to the last; events/s = items processed /
  that time. CPU: the process's own (getrusage) and its PostgreSQL backend's (/proc).
- Before the timed runs, an untimed round of `--warmup-items` items drained and their events
  posted: this server runs without autovacuum, and a process whose first commits check foreign
  keys against a near-empty table keeps that plan (a sequential scan: 20,000 scans of the
  growing referrals table, 9 s of PostgreSQL's CPU, in a first drain without it); the one
  measured first would pay for it, whichever it was.
- References for processing: in each run, right after the drain, the same events (what
  translation makes of the items, under other customer ids) posted to
  `POST /api/v1/events/batch` in batches of 1,000 by one client through the same server (CPU:
  the granian processes' and the database's backends', from /proc); the ratio is the median of
  the per-run ratios. Also the PostgreSQL batch figure of docs/benchmarks.md's `batch` section
  (as found there when this script runs).
Rewrites the `inbox` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    BENCH_CODE,
    DOC,
    GOODWORD,
    SERVER_CPU,
    Server,
    WrkResult,
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
    require,
    run_wrk,
    table,
    verdict,
    write_section,
)
from events import (
    LOOKUP_ROWS,
    PGBENCH_SETUP,
    _program_with_advocate,
    floor_lua,
    floor_server,
    psql,
)

CONCURRENCY = 8
THREADS = 8
POOL = 1000
SECRET = "shpss_bench_app_secret_0123456789"  # noqa: S105 - a benchmark's own
SHOP = "bench-shop.myshopify.com"
TARGET_ACCEPT = 0.5  # inbox acceptance >= 0.5x the Python floor
TARGET_PROCESS = 1.0  # processing keeps up with batch ingestion
BATCH_SIZE = 1000


def signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def order(n: int, prefix: str) -> dict[str, Any]:
    """An `orders/paid` webhook as Shopify sends it (the fields Goodword reads, and some)."""
    return {
        "id": f"{prefix}{n}",
        "email": f"{prefix}{n}@example.net",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "currency": "USD",
        "financial_status": "paid",
        "name": f"#{n}",
        "subtotal_price": "52.00",
        "total_discounts": "10.00",
        "total_price": "42.00",
        "test": False,
        "discount_codes": [{"code": BENCH_CODE, "amount": "10.00", "type": "fixed_amount"}],
        "note_attributes": [],
        "customer": {
            "id": f"{prefix}c{n}",
            "email": f"{prefix}{n}@example.net",
            "first_name": "Friend",
            "last_name": str(n),
        },
        "line_items": [{"id": n, "quantity": 1, "price": "52.00"}],
    }


def customer(n: int, prefix: str) -> dict[str, Any]:
    """A `customers/create` webhook."""
    return {
        "id": f"{prefix}c{n}",
        "email": f"{prefix}{n}@example.net",
        "first_name": "Friend",
        "last_name": str(n),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def accept_lua(connection_id: str, nonce: str) -> str:
    """Lua: every request an `orders/paid` delivery from the pool, with a new webhook id."""
    bodies, signatures = [], []
    for n in range(POOL):
        body = json.dumps(order(n, f"pool{nonce}-"), separators=(",", ":")).encode()
        bodies.append(json.dumps(body.decode()))
        signatures.append(json.dumps(signature(body)))
    return lua_custom_script(
        f"""
bodies = {{{",".join(bodies)}}}
signatures = {{{",".join(signatures)}}}
counter = 0
function request()
  counter = counter + 1
  local i = counter % {POOL} + 1
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["X-Shopify-Topic"] = "orders/paid"
  headers["X-Shopify-Shop-Domain"] = "{SHOP}"
  headers["X-Shopify-API-Version"] = "2025-07"
  headers["X-Shopify-Hmac-Sha256"] = signatures[i]
  headers["X-Shopify-Webhook-Id"] = string.format("{nonce}-%d-%d", tid, counter)
  return wrk.format("POST", "/hooks/shopify/{connection_id}", headers, bodies[i])
end
"""
    )


CONNECT = """
import json
from django.utils import timezone
from goodword.accounts.models import Workspace
from goodword.integrations import services
ws = Workspace.objects.get(name="Bench")
connection, _ = services.create_connection(
    workspace=ws, provider="shopify", secret={secret!r}, options={{"shop_domain": {shop!r}}},
    now=timezone.now(),
)
print(connection.public_id)
"""

SEED = """
import json
from django.utils import timezone
from goodword.integrations.models import Connection, InboxItem
connection = Connection.objects.get(public_id={connection!r})
InboxItem.objects.filter(status="pending").update(status="ignored")  # the acceptance runs'
now = timezone.now()
items = json.loads(open({path!r}).read())
InboxItem.objects.bulk_create(
    [InboxItem(workspace_id=connection.workspace_id, connection=connection,
               provider="shopify", topic=topic, delivery_id=delivery, body=body,
               headers={{"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": delivery}},
               next_attempt_at=now, received_at=now)
     for topic, delivery, body in items],
    batch_size=1000,
)
print(len(items))
"""

DRAIN = """
import json, os, resource, time
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from goodword.integrations import inbox
from goodword.integrations.models import InboxItem
from goodword.referrals.models import Referral
from goodword.rewards.models import Reward
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    try:
        stat = open(f"/proc/{{backend}}/stat").read().rpartition(")")[2].split()
        pg = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:  # PostgreSQL on another host
        pg = float("nan")
    return own.ru_utime + own.ru_stime, pg
passes, total = 0, 0
cpu0 = cpu()
started = time.perf_counter()
while done := inbox.process_due(now=timezone.now()):
    passes += 1
    total += done
elapsed = time.perf_counter() - started
cpu1 = cpu()
statuses = dict(InboxItem.objects.filter(delivery_id__startswith={prefix!r})
                .values_list("status").annotate(n=Count("id")))
print(json.dumps({{
    "items": total, "passes": passes, "seconds": elapsed, "statuses": statuses,
    "referrals": Referral.objects.count(), "rewards": Reward.objects.count(),
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cpu_s": cpu1[0] - cpu0[0], "pg_cpu_s": cpu1[1] - cpu0[1], "claim": inbox.BATCH,
}}))
"""


def drain_items(items: int, prefix: str) -> list[tuple[str, str, str]]:
    """Half signups, half those customers' orders with the code, in turn."""
    out = []
    for n in range(items // 2):
        signup = json.dumps(customer(n, prefix), separators=(",", ":"))
        paid = json.dumps(order(n, prefix), separators=(",", ":"))
        out.append(("customers/create", f"{prefix}s{n}", signup))
        out.append(("orders/paid", f"{prefix}o{n}", paid))
    return out


def api_events(items: int, prefix: str) -> list[dict[str, Any]]:
    """What translation makes of `drain_items`, for the batch API."""
    out: list[dict[str, Any]] = []
    for n in range(items // 2):
        c, o = customer(n, prefix), order(n, prefix)
        person = {"external_id": c["id"], "email": c["email"], "name": f"Friend {n}"}
        out.append({"id": f"customer:{c['id']}", "type": "signup", "customer": person,
                    "occurred_at": c["created_at"]})  # fmt: skip
        out.append({
            "id": f"order:{o['id']}", "type": "purchase", "customer": person,
            "order": {"id": o["id"], "amount": 4200, "currency": "USD", "coupons": [BENCH_CODE]},
            "test": False, "occurred_at": o["created_at"],
        })  # fmt: skip
    return out


def post_batches(base_url: str, api_key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    bodies = [
        json.dumps({"events": events[i : i + BATCH_SIZE]}, separators=(",", ":")).encode()
        for i in range(0, len(events), BATCH_SIZE)
    ]
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/api/v1/events/batch", body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise SystemExit(f"batch answered {answer.status}: {data[:500]!r}")
        for item in json.loads(data)["data"]:
            statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    elapsed = time.perf_counter() - started
    conn.close()
    return {"events": len(events), "seconds": elapsed, "statuses": statuses}


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each process still there (/proc)."""
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[pid] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return out


def backends(url: str, dbname: str) -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database (not psql's own)."""
    found = psql(
        url,
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{dbname}' "  # noqa: S608 - ours
        "AND pid <> pg_backend_pid()",
    )
    return [int(p) for p in found.split()]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def batch_figure() -> float | None:
    """The PostgreSQL batch events/s in docs/benchmarks.md's `batch` section, if there."""
    text = DOC.read_text() if DOC.exists() else ""
    section = re.search(r"<!-- bench:batch:start -->(.*?)<!-- bench:batch:end -->", text, re.S)
    found = section and re.search(r"\*\*PostgreSQL\*\*: batches ([\d,]+) events/s", section[1])
    return float(found[1].replace(",", "")) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--process-runs", type=int, default=3)
    parser.add_argument("--warmup-items", type=int, default=2000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_inbox"
    )
    parser.add_argument("--no-doc", action="store_true")
    opts = parser.parse_args()
    require("wrk", "apt-get install -y wrk")
    require("psql", "apt-get install -y postgresql-client")
    info = machine()
    documented_batch = batch_figure()
    url = opts.database_url
    dbname = urlsplit(url).path.lstrip("/")
    if "bench" not in dbname:
        sys.exit("refusing to drop a database whose name does not contain 'bench'")

    log(f"recreating the throwaway database {dbname}")
    psql(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', database="postgres")
    psql(url, f'CREATE DATABASE "{dbname}"', database="postgres")
    pg_version = psql(url, "SHOW server_version")
    sync_commit = psql(url, "SHOW synchronous_commit")
    data_dir = Path(tempfile.mkdtemp(prefix="gw-bench-inbox-"))
    env = goodword_env(data_dir, url)
    goodword(["migrate", "--no-input", "-v", "0"], env)
    created = json.loads(
        goodword(["createworkspace", "Bench", "--owner", "bench@example.com", "--json"], env)
    )
    api_key = created["api_key"]
    connection_id = goodword_python(CONNECT.format(secret=SECRET, shop=SHOP), env).splitlines()[-1]
    psql(url, PGBENCH_SETUP.format(rows=LOOKUP_ROWS))
    psql(url, "VACUUM ANALYZE bench_pgb_lookup")

    port = free_port()
    server = Server(
        "goodword-inbox",
        [str(GOODWORD), "web", "--port", str(port), "--workers", "1"],
        port=port,
        env=env,
        ready_path="/api/v1/openapi.json",
    )
    floor = floor_server("python-floor-inbox", url, THREADS)
    nonce = f"{int(time.time())}"
    accepted: list[WrkResult] = []
    floors: list[WrkResult] = []
    drains: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        floor.wait_ready()
        server.start_sampling()
        _program_with_advocate(server.url, api_key)

        def wrk(kind: str, tag: str, seconds: float) -> WrkResult:
            if kind == "floor":
                lua, target = floor_lua(), floor.url + "/"
            else:
                lua, target = accept_lua(connection_id, f"accept{nonce}{tag}"), server.url + "/"
            result = run_wrk(
                target, script=lua, name=f"inbox-{kind}", seconds=seconds,
                connections=CONCURRENCY, timeout_s=10,
            )  # fmt: skip
            log(
                f"{kind:6} {tag:7} {result.rps:8.0f} req/s mean "
                f"{result.latency_us['mean'] / 1000:6.2f} ms status {result.status} "
                f"errors {result.errors}"
            )
            return result

        wrk("floor", "warmup", opts.warmup)
        warm_ok = wrk("accept", "warmup", opts.warmup).count(200)
        for run in range(opts.runs):
            floors.append(wrk("floor", f"run{run + 1}", opts.seconds))
            accepted.append(wrk("accept", f"run{run + 1}", opts.seconds))
        server.stop_sampling()
        stored = int(
            goodword_python(
                "from goodword.integrations.models import InboxItem; "
                "print(InboxItem.objects.count())",
                env,
            ).splitlines()[-1]
        )

        # Processing: new items, stored as the view stores them, then drained; then the same
        # events through the batch API. Interleaved, run after run.
        if opts.warmup_items:
            log(f"warm-up: {opts.warmup_items:,} items drained and their events posted")
            drain(opts.warmup_items, f"w{nonce}-", connection_id, data_dir, env)
            post_batches(server.url, api_key, api_events(opts.warmup_items, f"wb{nonce}-"))
        for run in range(opts.process_runs):
            drains.append(drain(opts.items, f"d{nonce}r{run}-", connection_id, data_dir, env))
            log(f"drained: {drains[-1]}")
            log(f"posting the same {opts.items:,} events to the batch API")
            pids = [server.proc.pid, *server.workers()]
            pg_before = cpu_seconds(backends(url, dbname))
            server_before = cpu_seconds(pids)
            batch = post_batches(server.url, api_key, api_events(opts.items, f"b{nonce}r{run}-"))
            server_after = cpu_seconds(pids)
            pg_after = cpu_seconds(backends(url, dbname))
            batch["cpu_s"] = sum(server_after.values()) - sum(server_before.values())
            batch["pg_cpu_s"] = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items())
            batch["load"] = loadavg()
            batches.append(batch)
            log(f"batch API: {batch}")
    finally:
        server.stop()
        floor.stop()

    text = report(opts, info, pg_version, sync_commit, dbname, accepted, floors, stored,
                  warm_ok, drains, batches, documented_batch, server)  # fmt: skip
    if not opts.no_doc:
        place_section("inbox")
        write_section("inbox", text)
    print(text)
    shutil.rmtree(data_dir, ignore_errors=True)


def drain(
    items: int, prefix: str, connection_id: str, data_dir: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Store `items` new items as the view does, then process them all in one pinned process."""
    items_path = data_dir / "items.json"
    items_path.write_text(json.dumps(drain_items(items, prefix)))
    goodword_python(SEED.format(connection=connection_id, path=str(items_path)), env)
    psql(env["DATABASE_URL"], "ANALYZE")
    load = loadavg()
    log(f"draining {items:,} items (load {load})")
    done = subprocess.run(
        ["taskset", "-c", SERVER_CPU, str(GOODWORD), "shell", "--no-imports", "-c",
         DRAIN.format(prefix=prefix)],
        env={**os.environ, **env},
        capture_output=True, text=True, check=False, timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"draining failed:\n{done.stderr}")
    return {**json.loads(done.stdout.splitlines()[-1]), "load": load}


def report(
    opts: argparse.Namespace,
    info: dict[str, str],
    pg_version: str,
    sync_commit: str,
    dbname: str,
    accepted: list[WrkResult],
    floors: list[WrkResult],
    stored: int,
    warm_ok: int,
    drains: list[dict[str, Any]],
    batches: list[dict[str, Any]],
    documented_batch: float | None,
    server: Server,
) -> str:
    runs = range(len(accepted))
    ratios = [accepted[i].ok_rps(200) / floors[i].ok_rps(201) for i in runs]
    ratio = median(ratios)
    answered = sum(r.count(200) for r in accepted) + warm_ok
    bad = sum(r.not_status(200) for r in accepted)
    floor_bad = sum(r.not_status(201) for r in floors)
    rates = [d["items"] / d["seconds"] for d in drains]
    batch_rates = [b["events"] / b["seconds"] for b in batches]
    same_runs = [r / b for r, b in zip(rates, batch_rates, strict=True)]
    rate, batch_rate, same_run = median(rates), median(batch_rates), median(same_runs)
    of_doc = rate / documented_batch if documented_batch else None
    drained = drains[-1]
    processed = sum(d["items"] for d in drains)
    statuses_all: dict[str, int] = {}
    for d in drains:
        for k, v in d["statuses"].items():
            statuses_all[k] = statuses_all.get(k, 0) + v
    batch_all: dict[str, int] = {}
    for b in batches:
        for k, v in b["statuses"].items():
            batch_all[k] = batch_all.get(k, 0) + v

    def ms(seconds: float, events: int) -> str:
        return f"{seconds * 1000 / events:.2f}" if seconds == seconds else "n/a"  # NaN: n/a

    process_rows = [
        (
            i + 1,
            drains[i]["load"],
            f"{rates[i]:,.0f}",
            f"{batch_rates[i]:,.0f}",
            f"{same_runs[i]:.2f}x",
            ms(drains[i]["cpu_s"], drains[i]["items"]),
            ms(drains[i]["pg_cpu_s"], drains[i]["items"]),
            ms(batches[i]["cpu_s"], batches[i]["events"]),
            ms(batches[i]["pg_cpu_s"], batches[i]["events"]),
        )
        for i in range(len(drains))
    ]
    cmd = ".venv/bin/python benches/inbox.py"
    if opts.runs != 3 or opts.seconds != 10:
        cmd += f" --runs {opts.runs} --seconds {opts.seconds:g}"
    if opts.items != 20_000:
        cmd += f" --items {opts.items}"
    if opts.process_runs != 3:
        cmd += f" --process-runs {opts.process_runs}"
    if opts.warmup_items != 2000:
        cmd += f" --warmup-items {opts.warmup_items}"
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(statuses_all.items()))
    batch_statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(batch_all.items()))
    doc_line = f"{documented_batch:,.0f} events/s" if documented_batch else "not found in the doc"
    md = [
        "## 8. Shopify inbox: acceptance (`POST /hooks/shopify/<id>`) and processing",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *machine_lines(info),
        f"- PostgreSQL {pg_version} on 127.0.0.1 (synchronous_commit={sync_commit}), a "
        f"throwaway database `{dbname}` dropped, created and migrated by the script",
        f"- Goodword: `goodword web --workers 1` ({THREADS} threads, the default on "
        "PostgreSQL), granian WSGI, pinned to CPU 0; the events benchmarks' program and its "
        "advocate (code BENCH), a Shopify connection with an app secret and the shop's domain",
        f"- Acceptance: `wrk -t1 -c{CONCURRENCY}`, each request an `orders/paid` delivery "
        f"from a pool of {POOL:,} distinct orders (about 700 bytes; a new customer each, 42.00 "
        "USD, the code BENCH as a discount code) signed beforehand (`X-Shopify-Hmac-Sha256` "
        "covers the body only), with a new `X-Shopify-Webhook-Id` every time: verified, stored "
        "as a new inbox item (one INSERT) and answered 200",
        f"- Reference: the Python floor, `benches/refapps/pg_wsgi.py` (BEGIN, a lookup, an "
        f"insert, COMMIT per POST, bare WSGI through psycopg), same granian settings "
        f"({THREADS} threads, CPU 0), `wrk -t1 -c{CONCURRENCY}` as in section 3",
        f"- {opts.runs} runs of {opts.seconds:g} s, floor and inbox interleaved; the ratio is "
        "the median of the per-run ratios",
        "",
        table(
            [
                "run",
                "Python floor/s",
                "inbox accepted/s",
                "/ floor",
                "inbox mean ms",
                "inbox p99 ms",
            ],
            [
                (
                    i + 1,
                    f"{floors[i].ok_rps(201):,.0f}",
                    f"{accepted[i].ok_rps(200):,.0f}",
                    f"{ratios[i]:.2f}x",
                    f"{accepted[i].latency_us['mean'] / 1000:.2f}",
                    f"{accepted[i].latency_us['p99'] / 1000:.2f}",
                )
                for i in runs
            ],
        ),  # fmt: skip
        "",
        f"Inbox: median {median(r.ok_rps(200) for r in accepted):,.0f} deliveries/s, "
        f"**{ratio:.2f}x** the floor ({median(f.ok_rps(201) for f in floors):,.0f}/s). "
        f"Non-200 answers or socket errors: {bad} (floor, non-201: {floor_bad}). Inbox rows "
        f"afterwards: {stored:,} (200 answers counted by wrk, the warm-up's included: "
        f"{answered:,}; requests still in flight when a wrk run ended add a few). Peak RSS "
        f"(VmHWM) of the granian worker: {server.peak_worker_mb():.0f} MB.",
        "",
        "### Processing the inbox",
        "",
        f"- {opts.items:,} new items, stored as the view stores them (bulk-inserted, due now): "
        "half `customers/create` (a new customer: a signup), half `orders/paid` of those "
        "customers with the code BENCH as a discount code (42.00 USD: attributed by the code, "
        "converted, two rewards), in turn",
        f"- `goodword.integrations.inbox.process_due` (claims of up to {drained['claim']:,} items) "
        f"called until nothing is due, in one `goodword shell` process on CPU {SERVER_CPU} "
        "(the web server idle), timed from the first claim to the last",
        "- Same run, right after: the same events (what translation makes of the items: "
        "`customer:<id>` signups and `order:<id>` purchases with the code as a coupon, under "
        f"other customer ids) posted to `POST /api/v1/events/batch` in batches of "
        f"{BATCH_SIZE:,} by one client in the script, through the same server, one batch after "
        "another",
        f"- First an untimed round of {opts.warmup_items:,} items drained and their events "
        "posted (this server runs without autovacuum: a process whose first commits check "
        "foreign keys against near-empty tables keeps sequential-scan plans as they grow)",
        f"- {len(drains)} runs, each a drain then its batch API reference; the ratio is the "
        "median of the per-run ratios. CPU per event: the processing process's (getrusage) and "
        "its PostgreSQL backend's; for the batch API the granian processes' and the database's "
        "backends' (/proc), commits' fsyncs and other databases' work not counted",
        "",
        table(
            [
                "run",
                "load (1, 5, 15 min) before",
                "inbox events/s",
                "batch API events/s",
                "inbox / batch API",
                "inbox CPU ms/event: Python",
                "PostgreSQL",
                "batch API CPU ms/event: Python",
                "PostgreSQL",
            ],
            process_rows,
        ),  # fmt: skip
        "",
        f"Inbox processing: median **{rate:,.0f} events/s**, **{same_run:.2f}x** the batch API "
        f"of the same runs (median {batch_rate:,.0f} events/s); section 4's PostgreSQL batch "
        f"figure (another run): {doc_line}.",
        "",
        f"Items processed: {processed:,}, by status: {statuses}; {drained['passes']} claims in "
        f"the last run; referrals in the workspace after it {drained['referrals']:,}, rewards "
        f"{drained['rewards']:,} (the warm-up's and the earlier runs' included). Batch "
        f"API items by status: {batch_statuses}. Peak RSS of the last processing process: "
        f"{drained['maxrss_mb']:.0f} MB.",
        "",
        "### Verdict",
        "",
        table(
            ["target", "measured", "verdict"],
            [
                (
                    f"inbox acceptance >= {TARGET_ACCEPT}x the Python floor",
                    f"{ratio:.2f}x",
                    verdict(ratio >= TARGET_ACCEPT),
                ),
                ("no errors accepting", f"{bad}", verdict(bad == 0)),
                (
                    "processing keeps up with batch ingestion: events/s >= the batch API's, "
                    "same events, same runs (median of the per-run ratios)",
                    f"{same_run:.2f}x ({rate:,.0f} against {batch_rate:,.0f} events/s)",
                    verdict(same_run >= TARGET_PROCESS),
                ),
                (
                    "processing events/s >= section 4's PostgreSQL batch figure",
                    f"{of_doc:.2f}x ({rate:,.0f} against {doc_line})" if of_doc else doc_line,
                    verdict(of_doc >= TARGET_PROCESS) if of_doc else "n/a",
                ),
            ],
        ),  # fmt: skip
    ]
    return "\n".join(md)


if __name__ == "__main__":
    main()
