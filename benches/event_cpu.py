"""CPU and statements per event, in-process: where an event's time goes, without a network.

    .venv/bin/python benches/event_cpu.py [--events 400] [--database-url URL]

Drops, creates and migrates a throwaway PostgreSQL database (default `goodword_bench_cpu`),
creates a workspace, a live program and an advocate, then calls `goodword.wsgi.application`
directly (the same entry point granian calls) with the referral loop of `benches/events.py`:
a new friend's signup with the code, then that friend's first purchase. Reports, per kind of
event, the statements sent through Django's cursor (plus BEGIN and COMMIT for fresh events)
and the process CPU per event (`time.process_time()`), for fresh events and for replays,
as medians over several rounds (the machines are shared: single rounds vary by 1.5x).
One thread, one core: 1 / (CPU per event) is what a single-threaded worker could serve.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _common import BENCH_CODE, BENCH_PROGRAM


def _recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("goodword_bench"):
        sys.exit("refusing to drop a database whose name does not start with goodword_bench")
    admin = urlunsplit(parts._replace(path="/postgres"))
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", "-X", "-q", admin, "-c", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5, help="report the median of this many")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/goodword_bench_cpu"
    )
    opts = parser.parse_args()
    _recreate(opts.database_url)
    os.environ["DATABASE_URL"] = opts.database_url
    os.environ["GOODWORD_DATA_DIR"] = tempfile.mkdtemp(prefix="gw-bench-cpu-")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodword.settings"
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from goodword.accounts.services import create_workspace
    from goodword.wsgi import application

    call_command("migrate", verbosity=0)
    _, key = create_workspace(name="Bench", owner_email="bench@example.com")

    def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode()
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

    program_id = post("/api/v1/programs", BENCH_PROGRAM)[1]["id"]
    post(f"/api/v1/programs/{program_id}/advocates", {"external_id": "alice", "code": BENCH_CODE})

    def loop(tag: str, n: int) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"signup": [], "purchase": []}
        for k in range(n):
            friend = {"external_id": f"cus_{tag}_{k}", "email": f"{tag}{k}@example.com"}
            out["signup"].append(
                {"id": f"evt_s_{tag}_{k}", "type": "signup", "customer": friend,
                 "referral_code": BENCH_CODE}
            )  # fmt: skip
            out["purchase"].append(
                {"id": f"evt_p_{tag}_{k}", "type": "purchase", "customer": friend,
                 "order": {"id": f"ord_{tag}_{k}", "amount": 4200, "currency": "USD"}}
            )  # fmt: skip
        return out

    def run(bodies: list[dict[str, Any]], expect: int) -> float:
        start = time.process_time()
        for body in bodies:
            code, answer = post("/api/v1/events", body)
            assert code == expect, (code, answer)
        return (time.process_time() - start) / len(bodies) * 1000

    def statements(body: dict[str, Any]) -> int:
        count = [0]

        def counter(execute: Callable[..., Any], *args: Any) -> Any:
            count[0] += 1
            return execute(*args)

        with connection.execute_wrapper(counter):
            post("/api/v1/events", body)
        return count[0]

    warm = loop("warm", 50)
    for signup, purchase in zip(warm["signup"], warm["purchase"], strict=True):
        post("/api/v1/events", signup)
        post("/api/v1/events", purchase)
    probe = loop("probe", 1)
    counts = {kind: statements(probe[kind][0]) for kind in ("signup", "purchase")}
    replay_count = statements(probe["purchase"][0])

    samples: dict[str, list[float]] = {"signup": [], "purchase": [], "replay": []}
    for i in range(opts.repeat):
        bodies = loop(f"measure{i}", opts.events // 2)
        samples["signup"].append(run(bodies["signup"], 201))
        samples["purchase"].append(run(bodies["purchase"], 201))
        samples["replay"].append(run(bodies["purchase"][:200], 200))
    cpu = {kind: statistics.median(values) for kind, values in samples.items()}
    replay = cpu["replay"]

    print(f"Medians of {opts.repeat} rounds of {opts.events} fresh events and 200 replays.\n")
    print("| event | statements | CPU per event | one core's worth |")
    print("|---|---|---|---|")
    for kind in ("signup", "purchase"):
        print(
            f"| fresh {kind} | {counts[kind]} + BEGIN, COMMIT | {cpu[kind]:.2f} ms | "
            f"{1000 / cpu[kind]:,.0f}/s |"
        )
    mixed = statistics.median(
        (a + b) / 2 for a, b in zip(samples["signup"], samples["purchase"], strict=True)
    )
    print(f"| fresh, the loop's mix | | {mixed:.2f} ms | {1000 / mixed:,.0f}/s |")
    print(f"| replay | {replay_count} | {replay:.2f} ms | {1000 / replay:,.0f}/s |")


if __name__ == "__main__":
    main()
