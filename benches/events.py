"""Benchmark: single event ingestion, `POST /api/v1/events`, through `goodword web` on PostgreSQL.

    .venv/bin/python benches/events.py [--runs 3] [--seconds 10] [--database-url URL]

- A throwaway database (default `goodword_bench` on postgres://postgres@127.0.0.1:5432) is
  dropped, created and migrated; one workspace and API key are created with
  `goodword createworkspace --json`.
- Goodword: `goodword web` (1 worker, its default 8 threads on PostgreSQL), pinned to core 0.
- Fresh events: wrk -t1 -c8 with a Lua script that gives every request a new event id (a
  counter per wrk thread plus a per-run nonce), as the referral loop sends them: a new friend
  signs up with the advocate's code (participant, attribution, referral), and every other
  request is the first purchase of a friend who signed up 16 pairs earlier (conversion and
  two rewards). So about half the events convert a referral.
- Replayed events: the same body (an id recorded once before) posted again and again, c=8:
  the idempotent replay path (answered from the stored first result, 200).
- Reference: `pgbench -c 8` (pinned to core 1) running a custom one-lookup-one-insert
  transaction (SELECT by primary key, INSERT one row) against the same server and database.
- Python floor (for scale): `refapps/pg_wsgi.py`, the same transaction per request from a
  bare WSGI app (psycopg, no framework) under the same granian settings, pinned to core 0,
  driven by wrk like Goodword: the most any Python service can do per transaction here.
- Candidates interleaved within each run; medians over runs; peak RSS (VmHWM) of the granian
  worker sampled throughout.
Rewrites the `events` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import (
    BENCH_CODE,
    BENCH_PROGRAM,
    BENCHES,
    GOODWORD,
    LOAD_CPU,
    PYTHON,
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
    out_dir,
    require,
    run_wrk,
    table,
    verdict,
    write_section,
)

REFAPPS = BENCHES / "refapps"
CONCURRENCY = 8
TARGET_RATIO = 0.15
TARGET_REPLAY = 1.2
TARGET_RSS_MB = 150.0
LOOKUP_ROWS = 100_000

PGBENCH_SQL = """\\set id random(1, {rows})
BEGIN;
SELECT v FROM bench_pgb_lookup WHERE id = :id;
INSERT INTO bench_pgb_insert (k, v) VALUES (:id, 'x');
END;
"""

PGBENCH_SETUP = """
DROP TABLE IF EXISTS bench_pgb_lookup, bench_pgb_insert;
CREATE TABLE bench_pgb_lookup (id integer PRIMARY KEY, v text NOT NULL);
INSERT INTO bench_pgb_lookup SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;
CREATE TABLE bench_pgb_insert (
    id bigserial PRIMARY KEY, k integer NOT NULL, v text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


def _post(url: str, api_key: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status in (200, 201), response.status
        return dict(json.loads(response.read()))


def _program_with_advocate(base_url: str, api_key: str) -> None:
    """A live program (both sides earn credit after a 14-day hold) and one advocate, BENCH."""
    program_id = _post(base_url + "/api/v1/programs", api_key, BENCH_PROGRAM)["id"]
    advocate = {"external_id": "cus_alice", "code": BENCH_CODE}
    _post(f"{base_url}/api/v1/programs/{program_id}/advocates", api_key, advocate)


def _event_post(api_key: str) -> str:
    """Lua: every request a POST with the key, as a business's server sends events."""
    return "\n".join(
        [
            'wrk.method = "POST"',
            f'wrk.headers["Authorization"] = "Bearer {api_key}"',
            'wrk.headers["Content-Type"] = "application/json"',
            'wrk.headers["User-Agent"] = "goodword-bench"',
        ]
    )


def fresh_lua(api_key: str, nonce: str) -> str:
    return lua_custom_script(
        f"""
{_event_post(api_key)}
counter = 0
function request()
  counter = counter + 1
  -- odd requests: friend k signs up with the code; even requests: friend k-16 buys (16
  -- pairs later, so the signup has been answered even with 8 requests in flight)
  local k = math.floor((counter + 1) / 2)
  if counter % 2 == 0 then k = k - 16 end
  local friend = string.format("{nonce}-%d-%d", tid, k)
  local id = string.format("{nonce}-%d-%d", tid, counter)
  local body
  if counter % 2 == 1 then
    body = string.format(
      '{{"id":"evt_%s","type":"signup","customer":{{"external_id":"cus_%s",' ..
      '"email":"%s@example.com"}},"referral_code":"{BENCH_CODE}"}}', id, friend, friend)
  else
    body = string.format(
      '{{"id":"evt_%s","type":"purchase","customer":{{"external_id":"cus_%s",' ..
      '"email":"%s@example.com"}},"order":{{"id":"ord_%s","amount":4200,"currency":"USD"}}}}',
      id, friend, friend, id)
  end
  return wrk.format(nil, "/api/v1/events", nil, body)
end
"""
    )


def floor_lua() -> str:
    return lua_custom_script(
        f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
function request()
  counter = counter + 1
  local k = (counter * 7919) % {LOOKUP_ROWS} + 1
  return wrk.format(nil, "/", nil, string.format('{{"k":%d}}', k))
end
"""
    )


def replay_lua(api_key: str, body: str) -> str:
    return lua_custom_script(
        f"""
{_event_post(api_key)}
wrk.body = {json.dumps(body)}
wrk.path = "/api/v1/events"
"""
    )


def psql(url: str, sql: str, database: str | None = None) -> str:
    parts = urlsplit(url)
    if database is not None:
        parts = parts._replace(path="/" + database)
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", urlunsplit(parts), "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr}")
    return done.stdout.strip()


def pgbench(url: str, seconds: float, script: Path) -> dict[str, float]:
    parts = urlsplit(url)
    argv = [
        "taskset", "-c", LOAD_CPU, "pgbench", "-n",
        "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
        "-U", parts.username or "postgres",
        "-c", str(CONCURRENCY), "-j", "1", "-T", f"{seconds:g}", "-f", str(script),
        parts.path.lstrip("/"),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if tps is None or lat is None:
        raise RuntimeError(f"cannot read pgbench output:\n{done.stdout}")
    return {
        "tps": float(tps.group(1)),
        "latency_ms": float(lat.group(1)),
        "failed": float(failed.group(1)) if failed else 0.0,
    }


def floor_server(name: str, url: str, threads: int) -> Server:
    """The Python floor: `refapps/pg_wsgi.py` under granian, on a free port."""
    port = free_port()
    return Server(
        name,
        [
            str(PYTHON),
            str(REFAPPS / "serve.py"),
            "pg_wsgi:application",
            "--port",
            str(port),
            "--threads",
            str(threads),
        ],
        port=port,
        env={"BENCH_DATABASE_URL": url, "PYTHONPATH": str(REFAPPS)},
        cwd=REFAPPS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench"
    )
    parser.add_argument("--threads", type=int, default=None, help="goodword web --threads")
    parser.add_argument("--no-doc", action="store_true")
    opts = parser.parse_args()
    threads = opts.threads or 8
    require("wrk", "apt-get install -y wrk")
    require("pgbench", "apt-get install -y postgresql-contrib (or postgresql-client)")
    require("psql", "apt-get install -y postgresql-client")
    info = machine()
    url = opts.database_url
    dbname = urlsplit(url).path.lstrip("/")
    if not dbname.startswith(("goodword_bench", "bench")):
        sys.exit("refusing to drop a database whose name does not start with goodword_bench")

    log(f"recreating the throwaway database {dbname}")
    psql(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', database="postgres")
    psql(url, f'CREATE DATABASE "{dbname}"', database="postgres")
    pg_version = psql(url, "SHOW server_version")
    sync_commit = psql(url, "SHOW synchronous_commit")
    data_dir = Path(tempfile.mkdtemp(prefix="gw-bench-events-"))
    env = goodword_env(data_dir, url)
    goodword(["migrate", "--no-input", "-v", "0"], env)
    created = json.loads(
        goodword(["createworkspace", "Bench", "--owner", "bench@example.com", "--json"], env)
    )
    api_key = created["api_key"]
    psql(url, PGBENCH_SETUP.format(rows=LOOKUP_ROWS))
    psql(url, "VACUUM ANALYZE bench_pgb_lookup")
    script = out_dir("pgbench") / "lookup_insert.sql"
    script.write_text(PGBENCH_SQL.format(rows=LOOKUP_ROWS))

    port = free_port()
    web_args = ["web", "--port", str(port), "--workers", "1"]
    if opts.threads:
        web_args += ["--threads", str(opts.threads)]
    server = Server(
        "goodword-events",
        [str(GOODWORD), *web_args],
        port=port,
        env=env,
        ready_path="/api/v1/openapi.json",
    )
    floor = floor_server("python-floor", url, threads)
    nonce = f"{int(time.time())}"
    replay_body = json.dumps(
        {
            "id": f"evt_replay_{nonce}",
            "type": "purchase",
            "customer": {"external_id": f"cus_replay_{nonce}", "email": "r@example.com"},
            "order": {"id": f"ord_replay_{nonce}", "amount": 4200, "currency": "USD"},
        },
        separators=(",", ":"),
    )
    fresh: list[WrkResult] = []
    replay: list[WrkResult] = []
    pgb: list[dict[str, float]] = []
    floors: list[WrkResult] = []
    created_201 = 0
    try:
        server.wait_ready()
        floor.wait_ready()
        server.start_sampling()
        _program_with_advocate(server.url, api_key)
        request = urllib.request.Request(  # noqa: S310 - loopback
            server.url + "/api/v1/events",
            data=replay_body.encode(),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 201, response.status
        created_201 += 1

        def wrk(kind: str, tag: str, seconds: float) -> WrkResult:
            nonlocal created_201
            target = server.url + "/api/v1/events"
            if kind == "fresh":
                lua = fresh_lua(api_key, f"{nonce}{tag}")
            elif kind == "floor":
                lua, target = floor_lua(), floor.url + "/"
            else:
                lua = replay_lua(api_key, replay_body)
            result = run_wrk(
                target,
                script=lua,
                name=f"events-{kind}",
                seconds=seconds,
                connections=CONCURRENCY,
                timeout_s=10,
            )
            if kind != "floor":
                created_201 += result.count(201)
            log(
                f"{kind:7} {tag:7} {result.rps:8.0f} req/s mean "
                f"{result.latency_us['mean'] / 1000:6.2f} ms p99 "
                f"{result.latency_us['p99'] / 1000:6.2f} ms status {result.status} "
                f"errors {result.errors}"
            )
            return result

        def bench(tag: str, seconds: float) -> dict[str, float]:
            result = pgbench(url, seconds, script)
            log(f"pgbench {tag:7} {result['tps']:8.0f} tps mean {result['latency_ms']:6.2f} ms")
            return result

        bench("warmup", opts.warmup)
        wrk("floor", "warmup", opts.warmup)
        wrk("fresh", "warmup", opts.warmup)
        wrk("replay", "warmup", opts.warmup)
        for run in range(opts.runs):
            pgb.append(bench(f"run{run + 1}", opts.seconds))
            floors.append(wrk("floor", f"run{run + 1}", opts.seconds))
            fresh.append(wrk("fresh", f"run{run + 1}", opts.seconds))
            replay.append(wrk("replay", f"run{run + 1}", opts.seconds))
        server.stop_sampling()
    finally:
        server.stop()
        floor.stop()

    events = int(
        goodword_python(
            "from goodword.ingest.models import Event; print(Event.objects.count())", env
        )
    )
    fresh_rps = median(r.ok_rps(201) for r in fresh)
    ratio_runs = [fresh[i].ok_rps(201) / pgb[i]["tps"] for i in range(opts.runs)]
    ratio = median(ratio_runs)
    floor_runs = [floors[i].ok_rps(201) / pgb[i]["tps"] for i in range(opts.runs)]
    of_floor_runs = [fresh[i].ok_rps(201) / floors[i].ok_rps(201) for i in range(opts.runs)]
    floor_bad = sum(r.not_status(201) for r in floors)
    replay_runs = [
        replay[i].latency_us["mean"] / fresh[i].latency_us["mean"] for i in range(opts.runs)
    ]
    replay_ratio = median(replay_runs)
    fresh_bad = sum(r.not_status(201) for r in fresh)
    replay_bad = sum(r.not_status(200) for r in replay)
    rss = server.peak_worker_mb()
    pass_ratio = ratio >= TARGET_RATIO
    pass_replay = replay_ratio <= TARGET_REPLAY
    pass_rss = rss <= TARGET_RSS_MB
    pass_err = fresh_bad == 0 and replay_bad == 0
    cmd = ".venv/bin/python benches/events.py"
    if opts.runs != 3 or opts.seconds != 10:
        cmd += f" --runs {opts.runs} --seconds {opts.seconds:g}"

    def ms(r: WrkResult, key: str) -> str:
        return f"{r.latency_us[key] / 1000:.2f}"

    md = [
        "## 3. Single event ingestion on PostgreSQL (`POST /api/v1/events`)",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *machine_lines(info),
        f"- PostgreSQL {pg_version} on 127.0.0.1 (synchronous_commit={sync_commit}), a "
        f"throwaway database `{dbname}` dropped, created and migrated by the script",
        f"- Goodword: `goodword web --workers 1` ({threads} threads, the default on "
        "PostgreSQL), granian WSGI, pinned to CPU 0",
        f"- Fresh: `wrk -t1 -c{CONCURRENCY}` with a Lua `request()` giving every event a new id, "
        "as the referral loop sends them: odd requests are a new friend's `signup` with the "
        "advocate's code (participant, attribution, referral), even ones the first `purchase` "
        "(42.00 USD) of a friend who signed up 16 pairs earlier (conversion, two rewards); each "
        "is one transaction answered 201",
        f"- Replayed: `wrk -t1 -c{CONCURRENCY}` posting one already-recorded purchase again "
        "and again; answered 200 with `Idempotent-Replayed: true` from the stored result",
        f"- Reference: `pgbench -n -c {CONCURRENCY} -j 1 -T {opts.seconds:g}` pinned to CPU "
        f"{LOAD_CPU}, same server and database, this custom script ({LOOKUP_ROWS:,} lookup "
        "rows; the insert table has a bigserial primary key and a default timestamp):",
        "",
        "```",
        PGBENCH_SQL.format(rows=LOOKUP_ROWS).strip(),
        "```",
        "",
        f"- Python floor, for scale: `benches/refapps/pg_wsgi.py` runs that same transaction "
        "(BEGIN, SELECT, INSERT, COMMIT) per POST from a bare WSGI app through psycopg, no "
        f"framework, under the same granian settings ({threads} threads, CPU 0), driven by the "
        f"same wrk: the most a Python service can do with one transaction per request here",
        f"- {opts.runs} runs of {opts.seconds:g} s, pgbench / floor / fresh / replay interleaved "
        "in each run; ratios are medians of the per-run ratios",
        "",
        table(
            [
                "run",
                "pgbench tps",
                "Python floor/s",
                "floor / pgbench",
                "fresh events/s",
                "fresh / pgbench",
                "fresh / floor",
                "fresh mean ms",
                "fresh p99 ms",
                "replays/s",
                "replay mean ms",
                "replay p99 ms",
                "replay / fresh (mean latency)",
            ],
            [
                (
                    i + 1,
                    f"{pgb[i]['tps']:,.0f}",
                    f"{floors[i].ok_rps(201):,.0f}",
                    f"{floor_runs[i]:.2f}x",
                    f"{fresh[i].ok_rps(201):,.0f}",
                    f"{ratio_runs[i]:.3f}x",
                    f"{of_floor_runs[i]:.3f}x",
                    ms(fresh[i], "mean"),
                    ms(fresh[i], "p99"),
                    f"{replay[i].ok_rps(200):,.0f}",
                    ms(replay[i], "mean"),
                    ms(replay[i], "p99"),
                    f"{replay_runs[i]:.2f}x",
                )
                for i in range(opts.runs)
            ],
        ),
        "",
        f"Medians: pgbench {median(p['tps'] for p in pgb):,.0f} tps "
        f"(mean latency {median(p['latency_ms'] for p in pgb):.2f} ms); fresh events "
        f"{fresh_rps:,.0f}/s (mean {median(r.latency_us['mean'] for r in fresh) / 1000:.2f} ms);"
        f" replays {median(r.ok_rps(200) for r in replay):,.0f}/s "
        f"(mean {median(r.latency_us['mean'] for r in replay) / 1000:.2f} ms). "
        f"Non-201 answers to fresh events: {fresh_bad}; non-200 answers to replays: "
        f"{replay_bad}; non-201 answers from the floor: {floor_bad}. Event rows in the "
        f"database afterwards: {events:,} "
        f"(201 answers counted by wrk and the script: {created_201:,}; a few more rows than "
        "answers are requests still in flight when a wrk run ended).",
        "",
        f"Peak RSS (VmHWM) of the granian worker during these loads: **{rss:.0f} MB** "
        f"(main process {server.peak_main_mb():.0f} MB).",
        "",
        "### Verdict",
        "",
        table(
            ["target", "measured", "verdict"],
            [
                (
                    f"fresh events/s >= {TARGET_RATIO}x pgbench lookup+insert tps",
                    f"{ratio:.3f}x",
                    verdict(pass_ratio),
                ),
                (
                    "(for scale) fresh events/s as a share of the Python floor",
                    f"{median(of_floor_runs):.3f}x (floor {median(floor_runs):.2f}x pgbench)",
                    "n/a",
                ),
                (
                    f"replay mean latency <= {TARGET_REPLAY}x fresh",
                    f"{replay_ratio:.2f}x",
                    verdict(pass_replay),
                ),
                ("no errors", f"{fresh_bad + replay_bad}", verdict(pass_err)),
                (f"worker peak RSS <= {TARGET_RSS_MB:g} MB", f"{rss:.0f} MB", verdict(pass_rss)),
            ],
        ),
    ]
    text = "\n".join(md)
    if not opts.no_doc:
        write_section("events", text)
    print(text)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
