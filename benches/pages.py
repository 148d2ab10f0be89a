"""Benchmark: the pages friends and advocates open on their phones, through `goodword web`.

    .venv/bin/python benches/pages.py [--runs 3] [--seconds 10]

Two servers, each granian WSGI with 1 worker and 1 blocking thread (what `goodword web` uses on
SQLite), pinned to the same core, load from wrk pinned to the other core:

- django:   a bare Django view returning 302, with Goodword's settings and middleware (the
            reference, `benches/refapps/django_bare_wsgi.py`, as in benches/redirect.py)
- goodword: `goodword web` on SQLite seeded by `goodword demo --no-serve` (its program has the
            landing page on), serving:
  - landing: `GET /r/ALICE` with a browser User-Agent: a counted click (a click-log line, a
             signed `gw_ref` token) answered with the friend's landing page (200)
  - portal:  `GET /p/` with a valid `gw_portal` cookie of ALICE (the advocate portal, made with
             `goodword.participants.portal.make_token`): her friends, rewards and balance
  - qr:      `GET /q/ALICE.png`, her QR code, drawn once and then served from the file cache
  - og:      `GET /og/<program>.png`, the program's link-preview image, likewise

Throughput: wrk -t1 -c32 for --seconds, --runs times, candidates interleaved within each run; the
ratio is the median of per-run ratios to the bare Django 302. Server time: wrk -c1 (one request
at a time, so no queueing) for --seconds after the warm-up, median and p99 of its latency,
caches warm. Afterwards: the click log holds a line per landing page answered, and no table
gained a row during the load (no per-view database write beyond the click log); one portal view
in process (Django's test client) runs its statements under `CaptureQueriesContext`, none of them
a write.
Rewrites the `pages` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import (
    BENCHES,
    GOODWORD,
    PYTHON,
    Server,
    WrkResult,
    free_port,
    goodword,
    goodword_env,
    goodword_python,
    log,
    lua_get_script,
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
from redirect import UA, click_lines, granian_version

REFAPPS = BENCHES / "refapps"
WORKERS, THREADS = 1, 1
SAT_CONNECTIONS = 32
TARGET_RATIO = 0.5
TARGET_MEDIAN_MS = 20.0

# One portal view in process: its statements, and how many of them are not reads.
PORTAL_QUERIES = (
    "import logging; logging.disable(logging.CRITICAL); "
    "from urllib.parse import urlsplit; from django.conf import settings; "
    "from django.db import connection; from django.test import Client; "
    "from django.test.utils import CaptureQueriesContext; "
    "from django.utils import timezone; from goodword.participants import portal; "
    "from goodword.participants.models import Advocate; "
    "a = Advocate.objects.get(code='ALICE'); "
    "c = Client(HTTP_HOST=urlsplit(settings.SITE_URL).netloc.split(':')[0]); "
    "c.cookies['gw_portal'] = portal.make_token(a, timezone.now()); "
    "assert c.get('/p/').status_code == 200; "
    "ctx = CaptureQueriesContext(connection)\n"
    "with ctx: assert c.get('/p/').status_code == 200\n"
    "sql = [q['sql'].lstrip().split()[0].upper() for q in ctx.captured_queries]; "
    "print(len(sql), sum(1 for w in sql if w not in ('SELECT', 'WITH')))"
)

# Rows in every table of the project's apps: the load must add none (the click log is a file).
ROWS = (
    "from django.apps import apps; "
    "print(sum(m.objects.count() for m in apps.get_models() "
    "if m._meta.app_label not in ('sessions',) and not m._meta.proxy))"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--no-doc", action="store_true", help="print, don't write docs")
    opts = parser.parse_args()
    require("wrk", "apt-get install -y wrk")
    info = machine()
    version = granian_version()
    data_dir = Path(tempfile.mkdtemp(prefix="gw-bench-pages-"))
    env = goodword_env(data_dir)
    log(f"seeding the demo workspace in {data_dir}")
    goodword(["demo", "--no-serve"], env)
    cookie, program = goodword_python(
        "from django.utils import timezone; from goodword.participants import portal; "
        "from goodword.participants.models import Advocate; "
        "a = Advocate.objects.select_related('program').get(code='ALICE'); "
        "print(portal.make_token(a, timezone.now()), a.program.public_id)",
        env,
    ).split()
    queries, writes = (int(n) for n in goodword_python(PORTAL_QUERIES, env).split())
    log(f"one portal view: {queries} statements, {writes} of them writes")
    rows_before = int(goodword_python(ROWS, env))

    size = ["--workers", str(WORKERS), "--threads", str(THREADS)]
    ports = {name: free_port() for name in ("django", "goodword")}
    servers = {
        "django": Server(
            "django",
            [str(PYTHON), str(REFAPPS / "serve.py"), "django_bare_wsgi:application",
             "--port", str(ports["django"]), *size],
            port=ports["django"],
            env={**env, "PYTHONPATH": str(REFAPPS)},
            cwd=REFAPPS,
        ),
        "goodword": Server(
            "goodword",
            [str(GOODWORD), "web", "--port", str(ports["goodword"]), *size],
            port=ports["goodword"],
            env=env,
        ),
    }  # fmt: skip
    # candidate -> (server, path, expected status, request headers)
    candidates: dict[str, tuple[str, str, int, dict[str, str]]] = {
        "django": ("django", "/r/ALICE", 302, {"User-Agent": UA}),
        "landing": ("goodword", "/r/ALICE", 200, {"User-Agent": UA, "Accept-Language": "en"}),
        "portal": ("goodword", "/p/", 200, {"User-Agent": UA, "Cookie": f"gw_portal={cookie}"}),
        "qr": ("goodword", "/q/ALICE.png", 200, {"User-Agent": UA}),
        "og": ("goodword", f"/og/{program}.png", 200, {"User-Agent": UA}),
    }
    sat: dict[str, list[WrkResult]] = {name: [] for name in candidates}
    one: dict[str, WrkResult] = {}
    answered = dict.fromkeys(candidates, 0)
    try:
        for server in servers.values():
            server.wait_ready()
        servers["goodword"].start_sampling()

        def load(name: str, tag: str, seconds: float, conns: int) -> WrkResult:
            server, path, status, headers = candidates[name]
            result = run_wrk(
                servers[server].url + path,
                script=lua_get_script(headers),
                name=f"pages-{name}-{tag}",
                seconds=seconds,
                connections=conns,
            )
            answered[name] += result.count(status)
            log(
                f"{name:8} {tag:7} c={conns:<3} {result.ok_rps(status):9.0f} req/s  "
                f"p50 {result.latency_us['p50'] / 1000:6.2f} ms  status {result.status}  "
                f"errors {result.errors}"
            )
            return result

        for name in ("portal", "qr", "og"):
            probe = load(name, "probe", 1, 1)
            if probe.count(200) == 0:
                raise SystemExit(f"{candidates[name][1]} answered {probe.status}, not 200")
        for name in candidates:
            load(name, "warmup", opts.warmup, SAT_CONNECTIONS)
        for run in range(opts.runs):
            for name in candidates:
                sat[name].append(load(name, f"sat{run + 1}", opts.seconds, SAT_CONNECTIONS))
        for name in candidates:
            one[name] = load(name, "c1", opts.seconds, 1)
        servers["goodword"].stop_sampling()
    finally:
        for server in servers.values():
            server.stop()

    lines = click_lines(data_dir / "clicks")
    drawn = sum(1 for d in ("qr", "og") for f in (data_dir / d).glob("*.png"))
    rows_after = int(goodword_python(ROWS, env))
    names = list(candidates)
    expected = {n: candidates[n][2] for n in names}
    rps = {n: median(r.ok_rps(expected[n]) for r in sat[n]) for n in names}
    ratio = {
        n: median(
            sat[n][i].ok_rps(expected[n]) / sat["django"][i].ok_rps(302) for i in range(opts.runs)
        )
        for n in names
    }
    bad = {n: sum(r.not_status(expected[n]) for r in sat[n]) for n in names}
    p50 = {n: one[n].latency_us["p50"] / 1000 for n in names}
    p99 = {n: one[n].latency_us["p99"] / 1000 for n in names}
    rss = servers["goodword"].peak_worker_mb()
    labels = {
        "django": "bare Django view 302 (reference)",
        "landing": "**landing page** `GET /r/ALICE` + click capture",
        "portal": "**advocate portal** `GET /p/` (cookie)",
        "qr": "QR code `GET /q/ALICE.png` (file cache)",
        "og": "preview image `GET /og/<program>.png` (file cache)",
    }
    cmd = ".venv/bin/python benches/pages.py"
    if opts.runs != 3 or opts.seconds != 10:
        cmd += f" --runs {opts.runs} --seconds {opts.seconds:g}"
    verdicts = []
    # The targets are the pages'; the images are measured to show they are served, not drawn.
    for n in ("landing", "portal"):
        verdicts += [
            (
                f"{n}: throughput >= {TARGET_RATIO}x the bare Django 302",
                f"{ratio[n]:.2f}x",
                verdict(ratio[n] >= TARGET_RATIO),
            ),
            (
                f"{n}: median server time <= {TARGET_MEDIAN_MS:g} ms, caches warm",
                f"{p50[n]:.2f} ms",
                verdict(p50[n] <= TARGET_MEDIAN_MS),
            ),
            (f"{n}: zero unexpected answers at saturation", str(bad[n]), verdict(bad[n] == 0)),
        ]
    verdicts += [
        (
            "a click-log line per landing page answered",
            f"{lines:,} lines, {answered['landing']:,} pages",
            verdict(lines >= answered["landing"]),
        ),
        (
            "the QR code and the preview image drawn once, then served from their files",
            f"{drawn} files in qr/ and og/",
            verdict(drawn == 2),
        ),
        (
            "portal: no statement that writes, one view in process",
            f"{queries} statements, {writes} writes",
            verdict(writes == 0),
        ),
        (
            "no database row written by the views",
            f"{rows_after - rows_before:+,} rows",
            verdict(rows_after == rows_before),
        ),
    ]
    md = [
        "## 12. Pages people open: the friend's landing page and the advocate portal",
        "",
        f"Command: `{cmd}`.",
        "",
        *machine_lines(info),
        f"- Server: granian {version}, WSGI, {WORKERS} worker, {THREADS} blocking thread for "
        "each candidate (`goodword web --workers 1 --threads 1` on SQLite, seeded with "
        "`goodword demo --no-serve`, whose program has the landing page on; the reference by "
        "`benches/refapps/serve.py`, the same `granian.server.Server` call)",
        "- Landing page: `GET /r/ALICE` with a browser User-Agent; every request is a counted "
        "click (a click-log line and a signed `gw_ref` token spliced into the page cached per "
        "link and language)",
        "- Portal: `GET /p/` with a valid `gw_portal` cookie of ALICE (her friends, rewards, "
        "balance and progress; a fresh CSRF token in every page); the QR code and the preview "
        "image are served from their file caches (drawn by the probe before the warm-up)",
        f"- Throughput: `wrk -t1 -c{SAT_CONNECTIONS} -d{opts.seconds:g}s`, {opts.runs} runs, "
        "candidates interleaved within each run; the ratio is the median of the per-run ratios "
        "to the bare Django 302",
        f"- Server time: `wrk -t1 -c1 -d{opts.seconds:g}s` after the warm-up (one request at a "
        "time: no queueing), median and p99 of wrk's latency",
        "",
        table(
            [
                "candidate",
                "ratio to bare Django 302",
                "median req/s",
                "runs (req/s)",
                "server time p50 (ms)",
                "p99 (ms)",
                "unexpected answers",
            ],
            [
                (
                    labels[n],
                    f"{ratio[n]:.2f}x",
                    f"{rps[n]:,.0f}",
                    ", ".join(f"{r.ok_rps(expected[n]):,.0f}" for r in sat[n]),
                    f"{p50[n]:.2f}",
                    f"{p99[n]:.2f}",
                    bad[n],
                )
                for n in names
            ],
        ),  # fmt: skip
        "",
        f"Peak RSS (VmHWM) of the granian worker serving Goodword: **{rss:.0f} MB**.",
        "",
        "### Verdict",
        "",
        table(["target", "measured", "verdict"], verdicts),
    ]
    text = "\n".join(md)
    if opts.no_doc:
        print(text)
    else:
        place_section("pages")
        write_section("pages", text)
        print(text)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
