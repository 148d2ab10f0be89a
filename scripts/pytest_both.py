"""Run the test suite on SQLite and on PostgreSQL at the same time, then print both reports.

The two runs share nothing (each has its own data folder, database and free ports), and much of
a run is waiting on servers and browsers, so side by side they take little more than the longer
of the two instead of their sum. PostgreSQL is skipped, saying so, when no server answers.

Usage: python scripts/pytest_both.py [pytest arguments]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEARTBEAT = 300.0  # seconds between "still running" lines, so a CI log never looks stuck


def postgres_url() -> str:
    found = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(HERE / "postgres_url.py")], capture_output=True, text=True, check=False
    )
    return found.stdout.strip()


Run = tuple[str, Path, "subprocess.Popen[bytes]"]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def start(name: str, database_url: str, args: list[str], logs: Path) -> Run:
    log = logs / f"{name}.log"
    env = dict(os.environ, DATABASE_URL=database_url, GOODWORD_DATA_DIR=tempfile.mkdtemp())
    pytest = Path(sys.executable).with_name("pytest")
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own pytest, our arguments
            [str(pytest), "-m", "not long", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return name, log, proc


def main() -> int:
    args = sys.argv[1:]
    logs = Path(tempfile.mkdtemp(prefix="goodword-tests-"))
    runs = [start("SQLite", "", args, logs)]
    url = postgres_url()
    if url:
        runs.append(start("PostgreSQL", url, args, logs))
    else:
        say("PostgreSQL not reachable: skipped the PostgreSQL run (set TEST_DATABASE_URL)")
    say(f"pytest on {' and '.join(name for name, _, _ in runs)}, side by side (logs in {logs})")
    began = time.monotonic()
    failed = []
    for name, log, proc in runs:
        while True:
            try:
                code = proc.wait(timeout=HEARTBEAT)
                break
            except subprocess.TimeoutExpired:
                minutes = (time.monotonic() - began) / 60
                say(f"... {minutes:.0f} min: still running")
        say(f"\n===== pytest on {name} (exit {code}) =====")
        sys.stdout.write(log.read_text(errors="replace"))
        sys.stdout.flush()
        if code != 0:
            failed.append(name)
    if failed:
        say(f"\nFAILED on {' and '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
