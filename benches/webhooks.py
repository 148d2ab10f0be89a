"""Benchmark: the outbound webhook dispatcher (`goodword dispatch_webhooks`), PostgreSQL and SQLite.

    .venv/bin/python benches/webhooks.py [--messages 20000] [--endpoints 20]
        [--hang-messages 1000] [--database-url URL] [--no-sqlite]

- A local receiver (this script with `--receiver PORT`, Python's ThreadingHTTPServer, its own
  process pinned to core 1 so that it shares no GIL and no core with the sender) answers every
  POST 204 at once, except under `/hang/`, where it sleeps 30 s before answering (longer than
  the dispatcher's 10 s timeout). It keeps every `webhook-id` it saw with the time it came.
- PostgreSQL: a throwaway database (default `goodword_bench_webhooks`) is dropped, created and
  migrated; SQLite: a temporary GOODWORD_DATA_DIR. One workspace with `--endpoints` endpoints
  pointing at the receiver (`/e0` ...), made with `webhooks.services.create_endpoint`.
- Case 1, healthy: `--messages` test messages spread evenly over the endpoints are
  bulk-created due now (as tests/test_webhooks_delivery.py's WH-5 seeds them), then
  `goodword dispatch_webhooks` is started (pinned to core 0, OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8,
  its default concurrency) and left until the receiver has seen every message and the database
  has them all delivered. Deliveries/s = distinct messages received / the time from the
  receiver's first to its last (so the dispatcher's start-up is out); the wall time from start
  to the last message is given too.
- Case 2, one receiver hangs: the same number of new messages for the same endpoints, plus
  `--hang-messages` for one more endpoint under `/hang/`, due since a day (before the healthy
  backlog, so that the dispatcher takes its next 10 as soon as it hands the last 10 back and
  the hanging receiver holds one sending thread all along). The healthy endpoints'
  deliveries/s is measured the same way and compared with case 1's.
- On PostgreSQL the messages table is vacuumed and analysed after each seeding: autovacuum's
  work after a bulk insert, off on the servers these run on.
- Reference: the same number of POSTs, signed the same way (Standard Webhooks headers via the
  `standardwebhooks` library, a new connection per request with `Connection: close`, as
  goodword/lib/outbound.py sends them), from a bare Python client (this script with
  `--client`: threads and http.client, no database, no Django) with the dispatcher's
  concurrency, pinned to core 0, to the same receiver, timed by the receiver the same way.
- Peak RSS (VmHWM) of the dispatcher process, sampled throughout.
Rewrites the `webhooks` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    GOODWORD,
    LOAD_CPU,
    PYTHON,
    SERVER_CPU,
    Server,
    free_port,
    goodword,
    goodword_env,
    goodword_python,
    log,
    machine,
    machine_lines,
    place_section,
    table,
    verdict,
    write_section,
)
from events import psql

TARGET_RATE = 200.0
TARGET_HANG = 0.8
HANG_SECONDS = 30.0
CONCURRENCY = 8  # settings.WEBHOOK_CONCURRENCY's default; the reference client uses the same
SCRIPT = Path(__file__).resolve()


# --- the receiver (its own process) ------------------------------------------------------


def receiver_main(port: int) -> None:
    lock = threading.Lock()
    seen: dict[str, float] = {}  # webhook-id -> when first received (healthy paths)
    counts = {"healthy": 0, "hang": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.path.startswith("/hang/"):
                with lock:
                    counts["hang"] += 1
                time.sleep(HANG_SECONDS)
            else:
                at = time.monotonic()
                with lock:
                    counts["healthy"] += 1
                    seen.setdefault(self.headers.get("webhook-id", ""), at)
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                times = list(seen.values())
                data = json.dumps(
                    {
                        "unique": len(times),
                        "first": min(times, default=0.0),
                        "last": max(times, default=0.0),
                        **counts,
                    }
                ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_DELETE(self) -> None:  # noqa: N802 - reset the tally between cases
            with lock:
                seen.clear()
                counts.update(healthy=0, hang=0)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Receiver(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    Receiver(("127.0.0.1", port), Handler).serve_forever()


def receiver_stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/stats", timeout=10) as answer:  # noqa: S310 - loopback
        return dict(json.loads(answer.read()))


def receiver_reset(url: str) -> None:
    request = urllib.request.Request(url + "/stats", method="DELETE")  # noqa: S310 - loopback
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback


# --- the reference client (its own process) ----------------------------------------------


def client_main(base_url: str, messages: int, endpoints: int, threads: int) -> None:
    from standardwebhooks.webhooks import Webhook

    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    secrets = [f"whsec_{'QUJD' * 8}{n:02d}==" for n in range(endpoints)]
    todo: queue.Queue[int] = queue.Queue()
    for n in range(messages):
        todo.put(n)
    errors = [0]

    def work() -> None:
        while True:
            try:
                n = todo.get_nowait()
            except queue.Empty:
                return
            endpoint = n % endpoints
            msg_id = f"msg_ref{n:08d}"
            now = datetime.now(UTC)
            payload = {
                "created_at": now.isoformat(),
                "data": {"message": "A test event from Goodword: your endpoint receives webhooks."},
                "id": f"evt_ref{n:08d}",
                "name": "webhook.test",
                "subject": f"whe_ref{endpoint:02d}",
                "version": 1,
            }
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            headers = {
                "User-Agent": "Goodword",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(secrets[endpoint]).sign(msg_id, now, body),
                "content-type": "application/json",
                "Connection": "close",
            }
            conn = http.client.HTTPConnection(host, port, timeout=10)
            try:
                conn.request("POST", f"/e{endpoint}", body=body, headers=headers)
                answer = conn.getresponse()
                answer.read(4096)
                if not 200 <= answer.status < 300:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            finally:
                conn.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    print(json.dumps({"errors": errors[0]}))


# --- the benchmark -----------------------------------------------------------------------

SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from goodword.accounts.models import Workspace
from goodword.accounts.services import create_workspace
from goodword.webhooks.models import WebhookEndpoint, WebhookMessage
from goodword.webhooks.services import create_endpoint, _test_payload
spec = json.loads({spec!r})
ws = Workspace.objects.filter(name="Bench").first()
if ws is None:
    ws, _ = create_workspace(name="Bench", owner_email="bench@example.com")
def endpoint(path):
    url = spec["receiver"] + path
    found = WebhookEndpoint.objects.filter(workspace=ws, url=url).first()
    return found or create_endpoint(workspace=ws, url=url, event_types=["reward.approved"])
healthy = [endpoint(f"/e{{n}}") for n in range(spec["endpoints"])]
now = timezone.now()
rows = [
    WebhookMessage(workspace=ws, endpoint=healthy[n % len(healthy)], event_name="webhook.test",
                   payload=_test_payload(healthy[n % len(healthy)], now), next_attempt_at=now,
                   created_at=now)
    for n in range(spec["messages"])
]
if spec["hang"]:
    # Overdue since yesterday, so due before the healthy backlog: the dispatcher takes the
    # next 10 as soon as the last 10 are handed back, and the receiver holds a thread all along.
    overdue = now - timedelta(days=1)
    hang = endpoint("/hang/")
    rows += [
        WebhookMessage(workspace=ws, endpoint=hang, event_name="webhook.test",
                       payload=_test_payload(hang, now), next_attempt_at=overdue,
                       created_at=now)
        for _ in range(spec["hang"])
    ]
WebhookMessage.objects.bulk_create(rows, batch_size=2000)
print(len(rows))
"""

COUNTS = """
import json
from django.db.models import Count, Sum
from goodword.webhooks.models import WebhookAttempt, WebhookMessage
by = {}
for row in WebhookMessage.objects.values("endpoint__url", "status").annotate(n=Count("id")):
    kind = "hang" if "/hang/" in row["endpoint__url"] else "healthy"
    by[f"{kind} {row['status']}"] = by.get(f"{kind} {row['status']}", 0) + row["n"]
by["attempts"] = WebhookAttempt.objects.count()
by["failed attempts"] = WebhookAttempt.objects.exclude(status_code=204).count()
print(json.dumps(by))
"""


def counts(env: dict[str, str]) -> dict[str, int]:
    return dict(json.loads(goodword_python(COUNTS, env).splitlines()[-1]))


def seed(env: dict[str, str], receiver: str, endpoints: int, messages: int, hang: int) -> None:
    spec = json.dumps(
        {"receiver": receiver, "endpoints": endpoints, "messages": messages, "hang": hang}
    )
    goodword_python(SEED.format(spec=spec), env)


def settle(env: dict[str, str]) -> None:
    """What autovacuum does after a bulk insert, done here: the PostgreSQL servers these run on
    have it off, and the due-messages index then keeps every dead entry of the case before
    (160,000 for 21,000 live rows), which each claim scans."""
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        subprocess.run(
            ["psql", url, "-qc", "VACUUM ANALYZE webhooks_webhookmessage"],
            check=True, capture_output=True,
        )  # fmt: skip


def dispatch_case(
    env: dict[str, str], receiver: str, *, label: str, expect_delivered: int, new: int
) -> dict[str, Any]:
    """Start the dispatcher, wait until the receiver saw `new` messages and the database has
    `expect_delivered` healthy ones delivered; the figures."""
    receiver_reset(receiver)
    dispatcher = Server(
        f"dispatcher-{label}",
        [str(GOODWORD), "dispatch_webhooks"],
        port=0,
        env=env,
    )
    started = time.monotonic()
    dispatcher.start_sampling()
    try:
        deadline = started + max(600.0, new / 20)
        while True:
            stats = receiver_stats(receiver)
            if stats["unique"] >= new:
                break
            if time.monotonic() > deadline or dispatcher.proc.poll() is not None:
                raise RuntimeError(f"{label}: {stats} after {time.monotonic() - started:.0f} s")
            time.sleep(0.25)
        wall = stats["last"] - started
        for _ in range(60):
            found = counts(env)
            if found.get("healthy delivered", 0) >= expect_delivered:
                break
            time.sleep(0.5)
        dispatcher.stop_sampling()
    finally:
        dispatcher.stop(timeout=30)
    found = counts(env)
    span = stats["last"] - stats["first"]
    rate = (stats["unique"] - 1) / span if span > 0 else 0.0
    log(f"{label}: {rate:.0f} deliveries/s, wall {wall:.1f} s, {stats}, {found}")
    return {
        "rate": rate,
        "wall": wall,
        "stats": stats,
        "counts": found,
        "rss": dispatcher.peak_main_mb(),
    }


def reference(receiver: str, messages: int, endpoints: int) -> dict[str, Any]:
    receiver_reset(receiver)
    done = subprocess.run(
        ["taskset", "-c", SERVER_CPU, str(PYTHON), str(SCRIPT), "--client", receiver,
         "--messages", str(messages), "--endpoints", str(endpoints)],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"reference client failed:\n{done.stderr}")
    errors = json.loads(done.stdout.splitlines()[-1])["errors"]
    stats = receiver_stats(receiver)
    span = stats["last"] - stats["first"]
    rate = (stats["unique"] - 1) / span if span > 0 else 0.0
    log(f"reference: {rate:.0f} POSTs/s, {stats}, errors {errors}")
    return {"rate": rate, "stats": stats, "errors": errors}


def run_database(
    label: str, env: dict[str, str], receiver: str, opts: argparse.Namespace
) -> dict[str, Any]:
    env = {**env, "OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"}  # the receiver is on loopback
    goodword(["migrate", "--no-input", "-v", "0"], env)
    n = opts.messages
    seed(env, receiver, opts.endpoints, n, 0)
    settle(env)
    healthy = dispatch_case(env, receiver, label=f"{label}-healthy", expect_delivered=n, new=n)
    seed(env, receiver, opts.endpoints, n, opts.hang_messages)
    settle(env)
    hang = dispatch_case(env, receiver, label=f"{label}-hang", expect_delivered=2 * n, new=n)
    return {"healthy": healthy, "hang": hang}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--hang-messages", type=int, default=1000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_webhooks"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.receiver:
        receiver_main(opts.receiver)
        return
    if opts.client:
        client_main(opts.client, opts.messages, opts.endpoints, CONCURRENCY)
        return

    info = machine()
    url = opts.database_url
    dbname = urlsplit(url).path.lstrip("/")
    if "bench" not in dbname:
        sys.exit("refusing to drop a database whose name does not contain 'bench'")
    port = free_port()
    receiver_proc = Server(
        "webhook-receiver",
        [str(PYTHON), str(SCRIPT), "--receiver", str(port)],
        port=port,
        ready_path="/stats",
        cpu=LOAD_CPU,
    )
    receiver = receiver_proc.url
    results: dict[str, dict[str, Any]] = {}
    refs: list[dict[str, Any]] = []
    dirs: list[Path] = []
    try:
        receiver_proc.wait_ready()
        refs.append(reference(receiver, opts.messages, opts.endpoints))
        log(f"recreating the throwaway database {dbname}")
        psql(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', database="postgres")
        psql(url, f'CREATE DATABASE "{dbname}"', database="postgres")
        pg_version = psql(url, "SHOW server_version")
        sync_commit = psql(url, "SHOW synchronous_commit")
        dirs.append(Path(tempfile.mkdtemp(prefix="gw-bench-webhooks-")))
        results["PostgreSQL"] = run_database(
            "postgres", goodword_env(dirs[-1], url), receiver, opts
        )
        refs.append(reference(receiver, opts.messages, opts.endpoints))
        if not opts.no_sqlite:
            dirs.append(Path(tempfile.mkdtemp(prefix="gw-bench-webhooks-")))
            results["SQLite"] = run_database("sqlite", goodword_env(dirs[-1]), receiver, opts)
            refs.append(reference(receiver, opts.messages, opts.endpoints))
    finally:
        receiver_proc.stop()
        for path in dirs:
            shutil.rmtree(path, ignore_errors=True)

    text = report(opts, info, pg_version, sync_commit, dbname, results, refs)
    if not opts.no_doc:
        place_section("webhooks")
        write_section("webhooks", text)
    print(text)


def report(
    opts: argparse.Namespace,
    info: dict[str, str],
    pg_version: str,
    sync_commit: str,
    dbname: str,
    results: dict[str, dict[str, Any]],
    refs: list[dict[str, Any]],
) -> str:
    ref_rate = sorted(r["rate"] for r in refs)[len(refs) // 2]
    cmd = ".venv/bin/python benches/webhooks.py"
    if opts.messages != 20_000:
        cmd += f" --messages {opts.messages}"
    if opts.no_sqlite:
        cmd += " --no-sqlite"
    n, e = opts.messages, opts.endpoints
    rows, verdicts, notes = [], [], []
    for db, res in results.items():
        healthy, hang = res["healthy"], res["hang"]
        keep = hang["rate"] / healthy["rate"] if healthy["rate"] else 0.0
        for case, r in (("healthy", healthy), ("one receiver hangs", hang)):
            rows.append((
                db, case, f"{r['rate']:,.0f}", f"{r['rate'] / ref_rate:.2f}x",
                f"{r['wall']:.1f}", f"{int(r['stats']['hang'])}", f"{r['rss']:.0f}",
            ))  # fmt: skip
        c = hang["counts"]
        notes.append(
            f"**{db}**: messages afterwards by endpoint kind and status: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()))
            + f" (healthy messages delivered: {c.get('healthy delivered', 0):,} of {2 * n:,})."
        )
        verdicts += [
            (
                f"{db}: deliveries/s to a local receiver >= {TARGET_RATE:g}",
                f"{healthy['rate']:,.0f}/s ({healthy['rate'] / ref_rate:.2f}x the bare client)",
                verdict(healthy["rate"] >= TARGET_RATE),
            ),
            (
                f"{db}: healthy endpoints' deliveries/s while one receiver hangs >= "
                f"{TARGET_HANG}x the healthy case",
                f"{keep:.2f}x ({hang['rate']:,.0f}/s)",
                verdict(keep >= TARGET_HANG),
            ),
        ]
    ref_runs = ", ".join(f"{r['rate']:,.0f}" for r in refs)
    ref_errors = sum(r["errors"] for r in refs)
    md = [
        "## 7. Outbound webhooks (`goodword dispatch_webhooks`)",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *[line for line in machine_lines(info) if not line.startswith("- Load generator")],
        f"- PostgreSQL {pg_version} on 127.0.0.1 (synchronous_commit={sync_commit}), a "
        f"throwaway database `{dbname}` dropped, created and migrated by the script; SQLite in "
        "a temporary GOODWORD_DATA_DIR",
        "- Receiver: a Python ThreadingHTTPServer in its own process on CPU "
        f"{LOAD_CPU}, answering 204 at once; under `/hang/` it sleeps {HANG_SECONDS:g} s "
        "first (the dispatcher gives up after 10 s)",
        f"- Dispatcher: `goodword dispatch_webhooks` on CPU {SERVER_CPU} with "
        f"OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8 and its default concurrency ({CONCURRENCY} "
        f"endpoints sending at once, 10 messages of an endpoint per claim); {e} endpoints, "
        f"{n:,} test messages (about 300 bytes each) spread evenly over them, bulk-created "
        "due now before it starts",
        f"- One receiver hangs: {n:,} new messages for the same endpoints plus "
        f"{opts.hang_messages:,} for one more endpoint, under `/hang/`, due since a day (so "
        "claimed before the healthy backlog: as soon as the dispatcher hands one claim of 10 "
        "back after the 10 s timeout it takes the next, and the hanging receiver holds one "
        "sending thread all along); the rate is the healthy endpoints' only",
        "- Deliveries/s = distinct `webhook-id`s the receiver saw / time from its first to its "
        "last (the dispatcher's start-up is out; the wall time from starting it to the last "
        "message is in the table)",
        f"- Reference: the bare client, {n:,} POSTs to the same receiver signed the same way "
        "(Standard Webhooks headers by the `standardwebhooks` library, a new connection per "
        f"request, `Connection: close`), {CONCURRENCY} threads with http.client, no database, "
        f"on CPU {SERVER_CPU}, timed by the receiver the same way; run before, between and "
        "after the databases, median taken",
        "",
        table(
            [
                "database",
                "case",
                "deliveries/s",
                "/ bare client",
                "wall s (incl. start-up)",
                "requests to the hanging receiver",
                "dispatcher peak RSS MB",
            ],
            rows,
        ),  # fmt: skip
        "",
        f"Bare client: median {ref_rate:,.0f} POSTs/s (runs {ref_runs}); non-2xx or failed "
        f"requests: {ref_errors}.",
        "",
        *[line for note in notes for line in (note, "")],
        "### Verdict",
        "",
        table(["target", "measured", "verdict"], verdicts),
    ]
    return "\n".join(md)


if __name__ == "__main__":
    main()
