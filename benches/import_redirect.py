"""Benchmark: the redirect `GET /r/<code>` alone and while `goodword import participants` of a
million rows runs against the same database, on PostgreSQL and SQLite.

    .venv/bin/python benches/import_redirect.py [--runs 3] [--seconds 15] [--rows 1000000]
        [--database-url URL] [--no-sqlite] [--no-postgres] [--import-cpu 1] [--scheduler]

- Each database gets a throwaway installation (PostgreSQL: the `--database-url` database,
  dropped, created and migrated; SQLite: a temporary GOODWORD_DATA_DIR) seeded by
  `goodword demo --no-serve` (its advocate ALICE) plus an empty workspace `Bench` to import into.
- One `goodword web --workers 1` per database, with its default threads (8 on PostgreSQL, 1 on
  SQLite), pinned to CPU 0 as in benches/redirect.py; both servers stay up all along.
- Alone: `wrk -t1 -c32` for `--seconds` on CPU 1, `GET /r/ALICE` with a browser User-Agent
  (every request a counted click), as benches/redirect.py's saturation runs. wrk stands in for
  visitors arriving over the network, so it runs at real-time priority (`chrt -f 10`, when the
  script runs as root): the import beside it on CPU 1 must not slow the load generator (at
  normal priority it did: wrk waited for its CPU half the time and the server sat idle).
- During: `goodword import participants FILE --workspace <Bench>` of the file benches/imports.py
  generates (`--rows` rows, into benches/.out/imports/) starts, on `--import-cpu` (default CPU 1,
  beside wrk, off the web server's core; `none` leaves it unpinned), and the same wrk runs
  until the import process exits (wrk is stopped with SIGINT and reports the time it ran), so
  the window is the whole import, start-up included.
- After each import its rows are deleted (the import's participants, domain events and Import
  row; on PostgreSQL with FK triggers off: nothing refers to them) and the database vacuumed
  and analysed (PostgreSQL: autovacuum may be off; SQLite: VACUUM, as benches/imports.py does).
- Order: alone, then for each run: during, clean-up, alone; databases interleaved within each
  run. A run's ratio is its during rate / the mean of the alone runs before and after it (302
  answers per second); the figure is the median of the runs' ratios. Target: >= 0.8x.
- The click log is written by the redirect and read by the scheduler, which the redirect never
  waits for (docs/operations.md, "Clicks"), so by default no scheduler runs; `--scheduler` runs
  `goodword scheduler` (on CPU 1) beside each server throughout, ingesting the clicks as they
  come, in both the alone and the during windows.
- For each window, to see where the time went: the share of each CPU that was busy
  (/proc/stat); the CPU of the server and of wrk, and wrk's run-queue wait (schedstat); the
  import's CPU (wait4 rusage); sampled every 0.1-0.2 s, whether a server thread waits for the
  disk (state D), the CPU time of the database's PostgreSQL backends and where they ran, and
  which tasks are runnable on the server's CPU (the server, the import and its connection,
  PostgreSQL's other processes, kernel threads, other jobs).
Rewrites the `import_redirect` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from _common import (
    GOODWORD,
    LOAD_CPU,
    ROOT,
    SERVER_CPU,
    Server,
    WrkResult,
    free_port,
    goodword,
    goodword_env,
    log,
    lua_get_script,
    machine,
    machine_lines,
    median,
    out_dir,
    place_section,
    require,
    run_wrk,
    seed_redirect_demo,
    table,
    verdict,
    write_section,
)
from imports import PG_BASE, make_files, new_workspace, psql
from redirect import SAT_CONNECTIONS, UA

TARGET = 0.8
CODE = "ALICE"
DEFAULT_URL = f"{PG_BASE}/goodword_bench_import_redirect"
# wrk stands in for visitors arriving over the network: it runs ahead of anything else on its
# CPU (the import, other jobs; real-time FIFO priority, when allowed), so that what is measured
# is the server, not a load generator starved by the import beside it. It never spins: a few
# tenths of its CPU at most.
WRK_PRIORITY = ["chrt", "-f", "10"] if os.geteuid() == 0 else []
# What an import of participants writes (deleted after each run).
IMPORTED = ("imports_import", "events_domainevent", "participants_participant")


# --- CPU accounting ---------------------------------------------------------------------


def cpu_times() -> dict[str, tuple[int, int]]:
    """Per CPU: (busy, total) jiffies from /proc/stat (idle and iowait count as not busy)."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name != "cpu":
            v = [int(x) for x in rest.split()]
            total = sum(v[:8])
            out[name[3:]] = (total - v[3] - v[4], total)
    return out


def busy_shares(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> tuple[float, ...]:
    shares = []
    for cpu, (busy, total) in sorted(after.items(), key=lambda kv: int(kv[0])):
        b0, t0 = before[cpu]
        shares.append((busy - b0) / max(total - t0, 1))
    return tuple(shares)


# --- the databases ----------------------------------------------------------------------


@dataclass
class Install:
    """A throwaway Goodword installation: the demo, a workspace to import into, its server."""

    name: str
    env: dict[str, str]
    workspace: str = ""
    workspace_pk: int = 0
    server: Server | None = None
    scheduler: Server | None = None
    alone: list[Window] = field(default_factory=list)
    during: list[Window] = field(default_factory=list)

    def seed(self) -> None:
        goodword(["migrate", "-v0"], self.env)
        seed_redirect_demo(self.env)
        self.workspace = new_workspace(self.env)
        code = f"from goodword.accounts.models import Workspace as W; print(W.objects.get(public_id={self.workspace!r}).pk)"  # noqa: E501
        self.workspace_pk = int(goodword(["shell", "--no-imports", "-c", code], self.env))
        self.clean()

    def clean(self) -> None:
        raise NotImplementedError

    def start(self, scheduler: bool) -> None:
        port = free_port()
        tag = self.name.lower()
        self.server = Server(
            f"import-redirect-{tag}",
            [str(GOODWORD), "web", "--port", str(port), "--workers", "1"],
            port=port,
            env=self.env,
        )
        self.server.wait_ready()
        if scheduler:
            self.scheduler = Server(
                f"import-redirect-{tag}-scheduler",
                [str(GOODWORD), "scheduler"],
                port=0,
                env=self.env,
                cpu=LOAD_CPU,
            )

    def stop(self) -> None:
        for proc in (self.server, self.scheduler):
            if proc is not None:
                proc.stop()

    def server_pids(self) -> list[int]:
        assert self.server is not None
        return [self.server.proc.pid, *self.server.workers()]

    def server_threads(self) -> list[Path]:
        return [
            t / "stat" for pid in self.server_pids() for t in Path(f"/proc/{pid}/task").glob("*")
        ]

    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.url}/r/{CODE}"


class Postgres(Install):
    def __init__(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        psql(f"{PG_BASE}/postgres", f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
        atexit.register(psql, f"{PG_BASE}/postgres", f"DROP DATABASE IF EXISTS {name}")
        data = Path(tempfile.mkdtemp(prefix="gw-bench-import-redirect-pg-"))
        atexit.register(shutil.rmtree, data, True)
        super().__init__("PostgreSQL", goodword_env(data, url))
        self.url_ = url
        self.database = name

    def clean(self) -> None:
        deletes = [
            f"DELETE FROM {name} WHERE workspace_id = {self.workspace_pk}"  # noqa: S608
            for name in IMPORTED
        ]
        psql(
            self.url_,
            # The rows are the import's own: no advocate, referral or reward refers to them, so
            # the deferred FK checks (minutes for a million rows) are skipped.
            "SET session_replication_role = replica",
            "BEGIN",
            *deletes,
            "COMMIT",
            "VACUUM ANALYZE",
            "CHECKPOINT",
        )

    def version(self) -> str:
        done = subprocess.run(
            ["psql", self.url_, "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            check=True,
        )
        sync = subprocess.run(
            ["psql", self.url_, "-Atc", "SHOW synchronous_commit"],
            capture_output=True,
            text=True,
            check=True,
        )
        return f"PostgreSQL {done.stdout.strip()} (synchronous_commit={sync.stdout.strip()})"


class Sqlite(Install):
    def __init__(self) -> None:
        data = Path(tempfile.mkdtemp(prefix="gw-bench-import-redirect-sqlite-"))
        atexit.register(shutil.rmtree, data, True)
        super().__init__("SQLite", goodword_env(data, ""))
        self.path = data / "goodword.sqlite3"

    def clean(self) -> None:
        db = sqlite3.connect(self.path, timeout=60)
        for table_name in IMPORTED:
            db.execute(f"DELETE FROM {table_name} WHERE workspace_id = ?", (self.workspace_pk,))  # noqa: S608
        db.commit()
        db.execute("VACUUM")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()


# --- windows -----------------------------------------------------------------------------


def sched(pids: list[int]) -> tuple[float, float]:
    """(CPU, waiting to run) seconds of all threads of the processes (/proc/*/task/*/schedstat):
    the wait is time runnable but queued behind other work on its CPU."""
    cpu = wait = 0
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                ran, waited, _ = stat.read_text().split()
            except (OSError, ValueError):
                continue
            cpu, wait = cpu + int(ran), wait + int(waited)
    return cpu / 1e9, wait / 1e9


class Sampler:
    """Every 0.1 s while a window runs: whether a thread of the server is in uninterruptible
    sleep (D: waiting for the disk); on PostgreSQL, the CPU time of the database's backends (the
    import's connection among them) and which CPU they were running on; and every 0.2 s, who
    is runnable on the server's CPU (every task of the machine in state R there, by kind)."""

    def __init__(self, db: Install, import_pid: int = 0) -> None:
        self.db = db
        self.import_pid = import_pid
        self.samples = self.server_d = 0
        self.backend_ticks: dict[int, tuple[int, int]] = {}  # pid: (first seen, last seen)
        self.backend_running = [0] * (os.cpu_count() or 1)
        self.on_server_cpu: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        conn, database = None, ""
        if isinstance(self.db, Postgres):
            conn, database = psycopg.connect(self.db.url_, autocommit=True), self.db.database
        backends: list[int] = []
        next_lookup = 0.0
        while not self._stop.wait(0.1):
            if conn is not None and time.monotonic() >= next_lookup:
                backends = [r[0] for r in conn.execute(BACKENDS_SQL, (database,))]
                next_lookup = time.monotonic() + 1
            self.samples += 1
            threads = self.db.server_threads()
            states = [st for st in map(task_stat, threads) if st]
            self.server_d += "D" in [st[0] for st in states]
            for pid in backends:
                st = task_stat(f"/proc/{pid}/stat")
                if st is None:
                    continue
                state, ticks, cpu = st
                first = self.backend_ticks.get(pid, (ticks, ticks))[0]
                self.backend_ticks[pid] = (first, ticks)
                if state == "R":
                    self.backend_running[cpu] += 1
            if self.samples % 2 == 0:
                server_cpu = int(SERVER_CPU.split(",")[0])
                self.on_server_cpu["server"] += any(
                    st[0] == "R" and st[2] == server_cpu for st in states
                )
                self.on_server_cpu.update(self._runnable_on(server_cpu, set(backends)))
        if conn is not None:
            conn.close()

    def _runnable_on(self, cpu: int, backends: set[int]) -> Counter[str]:
        """Runnable tasks (main threads; the server's are counted thread by thread) on `cpu`."""
        found: Counter[str] = Counter()
        server = set(self.db.server_pids())
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) in server:
                continue
            try:
                text = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            comm, _, rest = text.rpartition(")")
            fields = rest.split()
            if fields[0] != "R" or int(fields[36]) != cpu or int(entry.name) == os.getpid():
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if pid == self.import_pid or pid in backends:
                found["the import and its database connection"] += 1
            elif comm.endswith("(postgres"):
                found["PostgreSQL's other processes"] += 1
            elif ppid == 2 or pid == 2:
                found["kernel threads"] += 1
            else:
                found["other jobs"] += 1
        return found

    def backend_cpu_s(self) -> float:
        return sum(last - first for first, last in self.backend_ticks.values()) / TICK


KINDS = (
    "server",
    "the import and its database connection",
    "PostgreSQL's other processes",
    "kernel threads",
    "other jobs",
)
BACKENDS_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)
TICK = os.sysconf("SC_CLK_TCK")


def task_stat(path: str | Path) -> tuple[str, int, int] | None:
    """(state, utime + stime in ticks, the CPU it last ran on) from a /proc stat file."""
    try:
        fields = Path(path).read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[11]) + int(fields[12]), int(fields[36])


@dataclass
class Window:
    wrk: WrkResult
    busy: tuple[float, ...]  # share of each CPU busy
    server: tuple[float, float]  # the server's CPU and run-queue wait, seconds per second
    loader: tuple[float, float]  # wrk's
    server_d: float = 0.0  # share of samples with a server thread waiting for the disk
    backend_cpu: float = 0.0  # PostgreSQL: the database's backends' CPU, seconds per second
    backend_on: tuple[float, ...] = ()  # ... and the share of their running samples per CPU
    on_server_cpu: dict[str, float] = field(default_factory=dict)  # runnable there, by kind
    import_s: float = 0.0  # the import's wall time
    import_cpu: float = 0.0  # the import process's CPU seconds (user + sys)

    @property
    def rps(self) -> float:
        return self.wrk.ok_rps(302)


def window(
    db: Install, script: str, tag: str, seconds: float, src: Path | None = None,
    import_cpu: str = "none",
) -> Window:  # fmt: skip
    """wrk for `seconds`, or with `src` from the start of its import until the import exits;
    either way wrk is stopped with SIGINT and reports the time it ran."""
    lua = out_dir("lua") / f"ir-{tag}.lua"
    lua.write_text(script)
    imp = None
    if src is not None:
        pin = [] if import_cpu == "none" else ["taskset", "-c", import_cpu]
        argv = [*pin, str(GOODWORD), "import", "participants", str(src),
                "--workspace", db.workspace, "--progress", "never"]  # fmt: skip
        imp = subprocess.Popen(
            argv, env={**os.environ, **db.env}, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
    started = time.monotonic()
    wrk = subprocess.Popen(
        [*WRK_PRIORITY, "taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{SAT_CONNECTIONS}", "-d3600s",
         "--timeout=5s", "--latency", "-s", str(lua), db.url()],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pids = db.server_pids()
    cpus0, server0, loader0 = cpu_times(), sched(pids), sched([wrk.pid])
    import_s = import_used = 0.0
    with Sampler(db, imp.pid if imp else 0) as sampler:
        if imp is None:
            time.sleep(seconds)
        else:
            assert imp.stdout is not None
            out = imp.stdout.read().decode()
            _, status, usage = os.wait4(imp.pid, 0)
            import_s, import_used = time.monotonic() - started, usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) or " 0 refused" not in out:
                wrk.kill()
                raise RuntimeError(f"the import failed:\n{out}")
    took = time.monotonic() - started
    cpus1, server1, loader1 = cpu_times(), sched(pids), sched([wrk.pid])
    wrk.send_signal(signal.SIGINT)
    text, _ = wrk.communicate(timeout=60)
    result = Window(
        wrk=parse_wrk(text),
        busy=busy_shares(cpus0, cpus1),
        server=((server1[0] - server0[0]) / took, (server1[1] - server0[1]) / took),
        loader=((loader1[0] - loader0[0]) / took, (loader1[1] - loader0[1]) / took),
        server_d=sampler.server_d / max(sampler.samples, 1),
        backend_cpu=sampler.backend_cpu_s() / took,
        backend_on=tuple(n / max(sum(sampler.backend_running), 1) for n in sampler.backend_running),
        on_server_cpu={
            k: n / max(sum(sampler.on_server_cpu.values()), 1)
            for k, n in sampler.on_server_cpu.items()
        },
        import_s=import_s,
        import_cpu=import_used,
    )
    log(
        f"{db.name:10} {'during' if imp else 'alone':6} {result.rps:8.0f} 302/s  "
        f"p99 {result.wrk.latency_us['p99'] / 1000:6.1f} ms  CPUs busy "
        f"{' / '.join(f'{b:.0%}' for b in result.busy)}  server CPU {result.server[0]:.2f} "
        f"wait {result.server[1]:.2f}  wrk CPU {result.loader[0]:.2f} wait {result.loader[1]:.2f}"
        + f"  server in D {result.server_d:.0%}"
        + (f"  backends CPU {result.backend_cpu:.2f} on " if isinstance(db, Postgres) else "")
        + (" / ".join(f"{b:.0%}" for b in result.backend_on) if isinstance(db, Postgres) else "")
        + (f"  import {import_s:.1f} s ({import_used:.1f} CPU s)" if imp else "")
        + "  on the server's CPU: "
        + ", ".join(f"{k.split()[0]} {v:.0%}" for k, v in sorted(result.on_server_cpu.items()))
    )
    return result


def parse_wrk(text: str) -> WrkResult:
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors=data["errors"],
                latency_us=data["latency_us"],
                status={str(k): int(v) for k, v in data["status"].items()},
                raw=text,
            )
    raise RuntimeError(f"wrk gave no result:\n{text}")


def click_lines(db: Install) -> int:
    total = 0
    for path in (Path(db.env["GOODWORD_DATA_DIR"]) / "clicks").glob("*.log"):
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                total += chunk.count(b"\n")
    return total


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15, help="each alone window")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--import-cpu", default=LOAD_CPU, help="a taskset CPU list, or none")
    parser.add_argument("--scheduler", action="store_true", help="run goodword scheduler too")
    parser.add_argument("--no-doc", action="store_true", help="print, don't write docs")
    args = parser.parse_args()
    require("wrk", "apt-get install -y wrk")
    require("psql", "apt-get install -y postgresql-client")
    info = machine()
    src, _ = make_files(args.rows, out_dir("imports"))
    dbs: list[Install] = []
    if not args.no_postgres:
        dbs.append(Postgres(args.database_url))
    if not args.no_sqlite:
        dbs.append(Sqlite())
    for db in dbs:
        log(f"{db.name}: migrating and seeding the demo")
        db.seed()
    pg_version = next((db.version() for db in dbs if isinstance(db, Postgres)), "")
    script = lua_get_script({"User-Agent": UA})
    try:
        for db in dbs:
            db.start(args.scheduler)
            run_wrk(db.url(), script=script, name="ir-warmup", seconds=3,
                    connections=SAT_CONNECTIONS)  # fmt: skip
        for db in dbs:
            db.alone.append(window(db, script, f"{db.name}-a0", args.seconds))
        for n in range(1, args.runs + 1):
            for db in dbs:
                db.during.append(window(db, script, f"{db.name}-d{n}", 0, src, args.import_cpu))
                db.clean()
                db.alone.append(window(db, script, f"{db.name}-a{n}", args.seconds))
        lines = {db.name: click_lines(db) for db in dbs}
    finally:
        for db in dbs:
            db.stop()
    info["loadavg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = report(args, info, dbs, lines, pg_version)
    if args.no_doc:
        print(text)
    else:
        write_section("import_redirect", text)
        print(text)


def backends(db: Install, ws: list[Window]) -> str:
    if not isinstance(db, Postgres):
        return ""
    on = " / ".join(f"{median(w.backend_on[c] for w in ws):.0%}" for c in range(len(ws[0].busy)))
    return f"{median(w.backend_cpu for w in ws):.2f} ({on})"


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    dbs: list[Install],
    lines: dict[str, int],
    pg_version: str,
) -> str:
    cmd = ".venv/bin/python benches/import_redirect.py"
    for flag, value, default in (
        ("--runs", args.runs, 3), ("--seconds", args.seconds, 15), ("--rows", args.rows, 1_000_000),
        ("--import-cpu", args.import_cpu, LOAD_CPU),
    ):  # fmt: skip
        if value != default:
            cmd += f" {flag} {value:g}" if isinstance(value, float) else f" {flag} {value}"
    cmd += " --scheduler" if args.scheduler else ""
    cmd += " --no-sqlite" if args.no_sqlite else ""
    cmd += " --no-postgres" if args.no_postgres else ""
    placed = "unpinned" if args.import_cpu == "none" else f"pinned to CPU {args.import_cpu}"
    md = [
        "## 10. The redirect while an import runs",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *machine_lines(info),
        f"- Load average when the run ended: {info['loadavg_end']}",
        f"- Databases: {pg_version + ' on 127.0.0.1, ' if pg_version else ''}a throwaway "
        "database or data dir each, seeded with `goodword demo --no-serve`; SQLite in WAL mode "
        "with Goodword's pragmas",
        f"- Server: `goodword web --workers 1` with its default threads (8 on PostgreSQL, 1 on "
        f"SQLite), pinned to CPU {SERVER_CPU}; `wrk -t1 -c{SAT_CONNECTIONS}` on CPU {LOAD_CPU}"
        + (
            " at real-time priority (`chrt -f 10`: it stands in for visitors on the network)"
            if WRK_PRIORITY
            else ""
        )
        + ", "
        f"`GET /r/{CODE}` with a browser User-Agent (every request a counted click), as section "
        "1's saturation runs",
        f"- Load: `goodword import participants` of {args.rows:,} rows (benches/imports.py's "
        f"file), {placed}: the web server keeps its core, the import shares the load "
        "generator's; PostgreSQL's processes (the import's backend among them) are not pinned "
        "and run on both cores, as they would on a two-core machine running everything",
        "- Scheduler: "
        + (
            f"`goodword scheduler` on CPU {LOAD_CPU} throughout, ingesting the clicks"
            if args.scheduler
            else "not running: the redirect never waits for it (its clicks stay in the click "
            "log, docs/operations.md)"
        ),
        f"- Method: see the docstring of `benches/import_redirect.py`: an alone window of "
        f"{args.seconds:g} s, then per run an import with wrk running from its start until it "
        "exits, the import's rows deleted, and another alone window; databases interleaved; a "
        "run's ratio is its rate during the import / the mean of the alone windows around it; "
        f"the verdict is on the median of {args.runs} runs",
        "",
    ]
    rows = []
    where: list[list[str]] = []
    runnable: list[list[str]] = []
    verdicts = []
    for db in dbs:
        ratios = []
        for i, w in enumerate(db.during):
            base = (db.alone[i].rps + db.alone[i + 1].rps) / 2
            ratios.append(w.rps / base)
            bad = w.wrk.not_status(302) + db.alone[i + 1].wrk.not_status(302)
            rows.append([
                db.name, i + 1, f"{base:,.0f}", f"{w.rps:,.0f}", f"**{w.rps / base:.2f}x**",
                f"{db.alone[i + 1].wrk.latency_us['p99'] / 1000:.1f}",
                f"{w.wrk.latency_us['p99'] / 1000:.1f}",
                f"{w.import_s:.0f} s", f"{w.wrk.seconds:.0f} s", bad,
            ])  # fmt: skip
        for label, ws in (("alone", db.alone), ("during the import", db.during)):
            where.append([
                db.name, label,
                " / ".join(f"{median(w.busy[c] for w in ws):.0%}" for c in range(len(ws[0].busy))),
                f"{median(w.server[0] for w in ws):.2f}",
                f"{median(w.server[0] / max(w.rps, 1) * 1e6 for w in ws):.0f}",
                f"{median(w.loader[0] for w in ws):.2f}", f"{median(w.loader[1] for w in ws):.2f}",
                f"{median(w.import_cpu / w.import_s for w in ws):.2f}" if ws[0].import_s else "",
                f"{median(w.server_d for w in ws):.0%}", backends(db, ws),
            ])  # fmt: skip
            runnable.append([
                db.name, label,
                *(f"{median(w.on_server_cpu.get(k, 0.0) for w in ws):.0%}" for k in KINDS),
            ])  # fmt: skip
        ratio = median(ratios)
        verdicts.append([
            f"{db.name}: 302/s during a {args.rows:,}-row import >= {TARGET}x alone",
            f"{ratio:.2f}x (runs {', '.join(f'{r:.2f}' for r in ratios)})",
            verdict(ratio >= TARGET),
        ])  # fmt: skip
    header = [
        "database", "run", "alone 302/s (mean of the windows around)", "during 302/s", "ratio",
        "p99 ms alone (after)", "p99 ms during", "import wall time",
        "wrk window", "non-302",
    ]  # fmt: skip
    md += [table(header, rows), ""]
    md += [
        "### Where the time went (medians over the windows, seconds per second of window)",
        "",
        "CPU, and wrk's run-queue wait (runnable but waiting for its CPU), from "
        "`/proc/<pid>/task/*/schedstat`, summed over threads; CPUs busy from `/proc/stat` "
        "(everything on the machine, other jobs included); every 0.1 s, the state of the "
        "server's threads and of the database's backends (`/proc/<pid>/stat`).",
        "",
        table(
            [
                "database",
                "window",
                "CPUs 0 / 1 busy",
                "server CPU",
                "server CPU per 302 (µs)",
                "wrk CPU",
                "wrk run-queue wait",
                "import process CPU",
                "server waiting for the disk (share of samples)",
                "PostgreSQL backends' CPU (their running samples on CPU 0 / 1)",
            ],
            where,
        ),  # fmt: skip
        "",
        f"Runnable on CPU {SERVER_CPU} (the server's), shares of the tasks in state R there "
        "every 0.2 s (the server counted once when any of its threads is, other processes by "
        "their main thread; with the kernel's autogroups, CPU time is shared out by session), "
        "medians over the windows:",
        "",
        table(["database", "window", *KINDS], runnable),
        "",
    ]
    if not args.scheduler:
        answered = {db.name: sum(w.wrk.count(302) for w in [*db.alone, *db.during]) for db in dbs}
        md += [
            "Click-log lines written / 302s wrk counted (without warm-up): "
            + "; ".join(f"{n} {lines[n]:,} / {answered[n]:,}" for n in lines)
            + ".",
            "",
        ]
    md += ["### Verdict", "", table(["target", "measured", "verdict"], verdicts)]
    return "\n".join(md)


if __name__ == "__main__":
    place_section("import_redirect")
    main()
