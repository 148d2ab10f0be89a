"""Benchmark: `goodword import participants FILE` on PostgreSQL and SQLite, against the
databases' own bulk loaders into a table of the same shape.

    .venv/bin/python benches/imports.py [--rows 1000000 ...] [--runs 1] [--database-url URL]
        [--no-sqlite] [--no-postgres]

- The file: `--rows` participants (`external_id`, `email`, `name`, `attr.plan`, `attr.seats`),
  about 60 bytes a row, generated once into benches/.out/imports/; several sizes may be given.
- Goodword: the `goodword import participants` command as a user runs it (process start,
  Django set-up, the file's digest, parsing, validation, batches of 25,000 rows a transaction,
  the `participant.created` domain event of every new participant), into an empty workspace
  of a throwaway database (PostgreSQL: `goodword_bench_imports`, dropped, created and migrated;
  SQLite: a temporary GOODWORD_DATA_DIR). Before each run the participants, domain events and
  imports are emptied. Wall time of the process; its peak RSS (`wait4` rusage, ru_maxrss).
- PostgreSQL reference: `psql -c "\\copy … FROM file CSV"` of the same rows, already in the
  table's own columns (public ids made, emails normalised, attributes as JSON), into an empty
  table created `LIKE participants_participant INCLUDING ALL` (the same five indexes, no
  foreign key): the database's bulk floor, with none of the work of an import.
- SQLite reference: the `sqlite3` shell's `.import --csv` of that same file into an empty table
  of the participants table's DDL and indexes, in a new database file with Goodword's pragmas
  (WAL, synchronous=NORMAL).
- Candidates interleaved within each run; medians over runs; the ratio is reference time /
  Goodword time (1.0 = as fast as the bare loader). Targets at 1,000,000 rows: PostgreSQL
  >= 0.3x and <= 30 s, SQLite <= 20 s, peak RSS <= 300 MB.
Rewrites the `imports` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    GOODWORD,
    ROOT,
    cpu_model,
    goodword,
    goodword_env,
    log,
    machine_lines,
    median,
    out_dir,
    place_section,
    table,
    verdict,
    write_section,
)

PG_BASE = "postgres://postgres@127.0.0.1:5432"
NOW = "2026-01-01 00:00:00+00"


def make_files(rows: int, where: Path) -> tuple[Path, Path]:
    """The import file and the reference's file of the same rows in the table's columns."""
    src, ref = where / f"participants-{rows}.csv", where / f"participants-{rows}-table.csv"
    if src.exists() and ref.exists():
        return src, ref
    log(f"writing {rows:,} rows to {src}")
    with open(src, "w", newline="") as a, open(ref, "w", newline="") as b:
        w, r = csv.writer(a), csv.writer(b)
        w.writerow(["external_id", "email", "name", "attr.plan", "attr.seats"])
        for i in range(rows):
            plan, seats = ("pro" if i % 3 else "free"), i % 50
            email = f"person{i}@example.com"
            w.writerow([f"cust-{i:08d}", email, f"Person {i}", plan, seats])
            attributes = json.dumps({"plan": plan, "seats": seats})
            pid = "par_" + secrets.token_hex(10)
            name = f"Person {i}"
            r.writerow([pid, f"cust-{i:08d}", email, email, name, attributes, 0, NOW, NOW, "f"])
    return src, ref


REF_COLUMNS = (
    "public_id, external_id, email, email_normalized, name, attributes, purchase_count, "
    "created_at, updated_at, test"
)


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, peak RSS (MB) and output of a child, measured with wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.decode()}\n{err.decode()}")
    return took, usage.ru_maxrss / 1024, out.decode()


def psql(url: str, *commands: str) -> None:
    args = ["psql", url, "-q", "-v", "ON_ERROR_STOP=1"]
    for c in commands:
        args += ["-c", c]
    subprocess.run(args, check=True, capture_output=True)


def _machine() -> dict[str, str]:
    """`_common.machine()`, without wrk (not used here, and maybe not installed)."""
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count() or 1),
        "cpu": cpu_model(),
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": "",
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def new_workspace(env: dict[str, str]) -> str:
    made = goodword(["createworkspace", "Bench", "--owner", "o@b.test", "--json"], env)
    return str(json.loads(made)["workspace"]["id"])


class Postgres:
    def __init__(self, url: str) -> None:
        self.url = url
        name = url.rsplit("/", 1)[1]
        psql(f"{PG_BASE}/postgres", f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
        self.data = Path(tempfile.mkdtemp(prefix="gw-bench-imports-pg-"))
        # A million rows take a gigabyte or two: gone when the script ends.
        atexit.register(shutil.rmtree, self.data, True)
        atexit.register(psql, f"{PG_BASE}/postgres", f"DROP DATABASE IF EXISTS {name}")
        self.env = goodword_env(self.data, url)
        goodword(["migrate", "-v0"], self.env)
        self.workspace = new_workspace(self.env)

    def empty(self) -> None:
        tables = "participants_participant, events_domainevent, imports_import"
        psql(self.url, f"TRUNCATE {tables} CASCADE")

    def reference(self, ref: Path) -> float:
        psql(
            self.url, "DROP TABLE IF EXISTS bench_copy",
            "CREATE TABLE bench_copy (LIKE participants_participant INCLUDING ALL)",
            "ALTER TABLE bench_copy ALTER COLUMN workspace_id SET DEFAULT 1",
        )  # fmt: skip
        took, _, _ = run_child(
            ["psql", self.url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
             f"\\copy bench_copy ({REF_COLUMNS}) FROM '{ref}' CSV"], {},
        )  # fmt: skip
        psql(self.url, "DROP TABLE bench_copy")
        return took


class Sqlite:
    def __init__(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="gw-bench-imports-sqlite-"))
        atexit.register(shutil.rmtree, self.data, True)
        self.env = goodword_env(self.data, "")
        goodword(["migrate", "-v0"], self.env)
        self.workspace = new_workspace(self.env)
        db = sqlite3.connect(self.data / "goodword.sqlite3")
        self.ddl = [
            r[0] for r in db.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'participants_participant' "
                "AND sql IS NOT NULL ORDER BY type DESC"
            )
        ]  # fmt: skip
        db.close()

    def empty(self) -> None:
        db = sqlite3.connect(self.data / "goodword.sqlite3")
        for name in ("imports_import", "events_domainevent", "participants_participant"):
            db.execute(f"DELETE FROM {name}")  # noqa: S608
        db.commit()
        db.execute("VACUUM")
        db.close()

    def reference(self, ref: Path) -> float:
        path = self.data / "reference.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        ddl = ";\n".join(d.replace('"participants_participant"', "t") for d in self.ddl)
        ddl = ddl.replace(
            'REFERENCES "accounts_workspace" ("id") DEFERRABLE INITIALLY DEFERRED', ""
        )
        script = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n" + ddl + ";\n"
        subprocess.run(
            ["sqlite3", str(path)], input=script.encode(), check=True, capture_output=True
        )
        rows = self._rows(ref, path)
        took, _, _ = run_child(["sqlite3", str(path), f".import --csv {rows} t"], {})
        return took

    def _rows(self, ref: Path, path: Path) -> Path:
        """The reference rows with every column of the table, in its order (`.import` fills
        them all): ids counted, nullable ones empty."""
        out = ref.with_suffix(".sqlite.csv")
        if out.exists():
            return out
        db = sqlite3.connect(path)
        order = [r[1] for r in db.execute("PRAGMA table_info(t)")]
        db.close()
        given = [c.strip() for c in REF_COLUMNS.split(",")]
        with open(ref, newline="") as f, open(out, "w", newline="") as o:
            w = csv.writer(o)
            for n, row in enumerate(csv.reader(f), 1):
                values = {**dict(zip(given, row, strict=True)), "id": n, "workspace_id": 1}
                w.writerow([values.get(c, "") for c in order])
        return out


def import_run(db: Postgres | Sqlite, src: Path) -> tuple[float, float]:
    db.empty()
    took, rss, out = run_child(
        [str(GOODWORD), "import", "participants", str(src), "--workspace", db.workspace,
         "--progress", "never"], db.env,
    )  # fmt: skip
    assert " 0 refused" in out, out
    return took, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="sizes")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database-url", default=f"{PG_BASE}/goodword_bench_imports")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    for tool in ("psql", "sqlite3"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (apt-get install postgresql-client sqlite3)")
    info = _machine()
    dbs: dict[str, Postgres | Sqlite] = {}
    if not args.no_postgres:
        dbs["PostgreSQL"] = Postgres(args.database_url)
    if not args.no_sqlite:
        dbs["SQLite"] = Sqlite()
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    for rows in args.rows:
        src, ref = make_files(rows, out_dir("imports"))
        for n in range(args.runs):
            for name, db in dbs.items():
                reference = db.reference(ref)
                ours, rss = import_run(db, src)
                log(f"{rows:,} rows, run {n + 1}, {name}: import {ours:.1f} s, {rss:.0f} MB; "
                    f"loader {reference:.1f} s")  # fmt: skip
                got = results.setdefault((name, rows), {"ours": [], "ref": [], "rss": []})
                got["ours"].append(ours)
                got["ref"].append(reference)
                got["rss"].append(rss)
    info["loadavg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    write_section("imports", report(args, info, results))


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    results: dict[tuple[str, int], dict[str, list[float]]],
) -> str:
    sizes = " ".join(str(r) for r in args.rows)
    lines = [
        "## 9. Imports (`goodword import participants`)",
        "",
        f"Command: `.venv/bin/python benches/imports.py --rows {sizes} --runs {args.runs}`"
        " (also `make bench`, at 1,000,000 rows).",
        "",
        *[
            line
            for line in machine_lines(info)
            if "Load generator" not in line and "Pinning" not in line
        ],
        f"- Load average when the run ended: {info['loadavg_end']}",
        "- Method: see the docstring of `benches/imports.py`: the whole command (start-up included)"
        " against `psql \\copy` (PostgreSQL) and the `sqlite3` shell's `.import` (SQLite) of the"
        " same rows into an empty table of the participants table's shape and indexes; medians"
        " of the runs",
        "",
    ]
    out = []
    for (name, rows), r in results.items():
        ours, ref, rss = median(r["ours"]), median(r["ref"]), max(r["rss"])
        ratio = median(a / b for a, b in zip(r["ref"], r["ours"], strict=True))
        checks = [f"RSS <= 300 MB: {verdict(rss <= 300)}"]
        if rows >= 1_000_000:
            limit = 30.0 if name == "PostgreSQL" else 20.0
            checks.insert(0, f"<= {limit:.0f} s: {verdict(ours <= limit)}")
        if name == "PostgreSQL":
            checks.insert(0, f">= 0.3x: {verdict(ratio >= 0.3)}")
        out.append([
            name, f"{rows:,}", len(r["ours"]), f"{ratio:.2f}x", f"{ours:.1f} s", f"{ref:.1f} s",
            f"{rows / ours:,.0f}", f"{rss:.0f} MB", "; ".join(checks),
        ])  # fmt: skip
    header = [
        "database", "rows", "runs", "ratio to the bulk loader", "goodword import",
        "bulk loader", "rows/s", "peak RSS", "targets",
    ]  # fmt: skip
    lines.append(table(header, out))
    return "\n".join(lines)


if __name__ == "__main__":
    place_section("imports")
    main()
