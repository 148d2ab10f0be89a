"""Benchmark: the referral redirect `GET /r/<code>` with click capture, through `goodword web`.

    .venv/bin/python benches/redirect.py [--runs 3] [--seconds 10]

Four servers, each granian WSGI with 1 worker and 1 blocking thread (what `goodword web` uses on
SQLite), all pinned to the same core, load from wrk pinned to the other core:

- raw:      a minimal WSGI app that only returns a 302 (the reference for the target)
- django:   a bare Django view returning 302, with Goodword's settings and middleware
- pinax:    pinax-referrals' redirect view (installed from PyPI into a throwaway virtualenv
            under /tmp), SQLite with the same pragmas
- goodword: `goodword web` on SQLite seeded by `goodword demo --no-serve`, `GET /r/ALICE`

Saturation: wrk -t1 -c32 for --seconds, --runs times, candidates interleaved within each run.
Half of saturation: 10 ms pause per connection between requests, with as many connections as
give about half of each server's saturated rate; latency distribution from wrk --latency.
Afterwards the click log is counted and ingested (`ingest_clicks`) and compared with the 302s
wrk received. Peak RSS (VmHWM) of the granian worker is sampled throughout.
Rewrites the `redirect` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    BENCHES,
    GOODWORD,
    PYTHON,
    Server,
    WrkResult,
    free_port,
    goodword_env,
    goodword_python,
    log,
    lua_get_script,
    machine,
    machine_lines,
    median,
    require,
    run_wrk,
    seed_redirect_demo,
    table,
    verdict,
    write_section,
)

PINAX_VENV = Path(os.environ.get("PINAX_VENV", "/tmp/goodword-bench-pinax"))  # noqa: S108
REFAPPS = BENCHES / "refapps"
PINAX_SITE = REFAPPS / "pinax_site"
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
WORKERS, THREADS = 1, 1
SAT_CONNECTIONS = 32
PAUSE_MS = 10
TARGET_RATIO = 0.4
TARGET_P99_MS = 10.0
TARGET_RSS_MB = 150.0


def granian_version() -> str:
    done = subprocess.run(
        [str(PYTHON), "-c", "import granian; print(granian.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def ensure_pinax_venv(version: str) -> Path:
    python = PINAX_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating the pinax-referrals virtualenv in {PINAX_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(PINAX_VENV)], check=True)
    check = subprocess.run(
        [str(python), "-c", "import pinax.referrals, granian; print(granian.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0 or check.stdout.strip() != version:
        log("installing pinax-referrals and granian into the throwaway virtualenv")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "pinax-referrals",
                f"granian=={version}",
            ],
            check=True,
        )
    return python


def pinax_versions(python: Path) -> str:
    code = (
        "import importlib.metadata as m; print(m.version('pinax-referrals'), m.version('django'))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    pinax, django = out.stdout.split()
    return f"pinax-referrals {pinax} on Django {django}"


def click_lines(directory: Path) -> int:
    total = 0
    for path in directory.glob("*.log"):
        with path.open("rb") as f:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda f=f: f.read(1 << 20), b""))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--no-doc", action="store_true", help="print, don't write docs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    opts = parser.parse_args()
    require("wrk", "apt-get install -y wrk")
    info = machine()
    version = granian_version()
    pinax_python = ensure_pinax_venv(version)
    pinax_label = pinax_versions(pinax_python)

    data_dir = Path(tempfile.mkdtemp(prefix="gw-bench-redirect-"))
    env = goodword_env(data_dir)
    log(f"seeding the demo workspace in {data_dir}")
    seed_redirect_demo(env)
    clicks_before = int(
        goodword_python(
            "from goodword.referrals.models import Click; print(Click.objects.count())", env
        )
    )
    pinax_db = data_dir / "pinax.sqlite3"
    pinax_env = {"PINAX_BENCH_DB": str(pinax_db), "PYTHONPATH": str(PINAX_SITE)}
    subprocess.run(
        [str(pinax_python), str(PINAX_SITE / "pinax_bench_setup.py")],
        env={**os.environ, **pinax_env},
        check=True,
        capture_output=True,
    )

    size = ["--workers", str(WORKERS), "--threads", str(THREADS)]
    ports = {name: free_port() for name in ("raw", "django", "pinax", "goodword")}
    paths = {"raw": "/r/ALICE", "django": "/r/ALICE", "pinax": "/r/alice", "goodword": "/r/ALICE"}
    serve = str(REFAPPS / "serve.py")
    servers = {
        "raw": Server(
            "raw",
            [str(PYTHON), serve, "raw_wsgi:application", "--port", str(ports["raw"]), *size],
            port=ports["raw"],
            env={"PYTHONPATH": str(REFAPPS)},
            cwd=REFAPPS,
        ),
        "django": Server(
            "django",
            [
                str(PYTHON),
                serve,
                "django_bare_wsgi:application",
                "--port",
                str(ports["django"]),
                *size,
            ],
            port=ports["django"],
            env={**env, "PYTHONPATH": str(REFAPPS)},
            cwd=REFAPPS,
        ),
        "pinax": Server(
            "pinax",
            [
                str(pinax_python),
                serve,
                "pinax_bench_wsgi:application",
                "--port",
                str(ports["pinax"]),
                *size,
            ],
            port=ports["pinax"],
            env=pinax_env,
            cwd=PINAX_SITE,
        ),
        "goodword": Server(
            "goodword",
            [str(GOODWORD), "web", "--port", str(ports["goodword"]), *size],
            port=ports["goodword"],
            env=env,
        ),
    }
    answered_302 = dict.fromkeys(servers, 0)
    sat: dict[str, list[WrkResult]] = {name: [] for name in servers}
    half: dict[str, list[WrkResult]] = {name: [] for name in servers}
    half_conns: dict[str, int] = {}
    try:
        for server in servers.values():
            server.wait_ready()
        servers["goodword"].start_sampling()
        get = lua_get_script({"User-Agent": UA})

        def load(name: str, tag: str, seconds: float, conns: int, script: str) -> WrkResult:
            url = servers[name].url + paths[name]
            result = run_wrk(
                url, script=script, name=f"{name}-{tag}", seconds=seconds, connections=conns
            )
            answered_302[name] += result.count(302)
            log(
                f"{name:9} {tag:8} c={conns:<3} {result.rps:9.0f} req/s  "
                f"p99 {result.latency_us['p99'] / 1000:7.2f} ms  status {result.status}  "
                f"errors {result.errors}"
            )
            return result

        for name in servers:
            load(name, "warmup", opts.warmup, SAT_CONNECTIONS, get)
        for run in range(opts.runs):
            for name in servers:
                sat[name].append(load(name, f"sat{run + 1}", opts.seconds, SAT_CONNECTIONS, get))
        paced = lua_get_script({"User-Agent": UA}, mean_pause_ms=PAUSE_MS)
        for name in servers:
            # Connections for about half the saturated rate: each connection makes one request
            # per (pause + latency); one short calibration run corrects the latency guess.
            target = 0.5 * median(r.ok_rps(302) for r in sat[name])
            conns = max(1, round(target * (PAUSE_MS + 1) / 1000))
            probe = load(name, "calib", 3, conns, paced)
            half_conns[name] = max(1, round(conns * target / max(probe.ok_rps(302), 1)))
        for run in range(opts.runs):
            for name in servers:
                half[name].append(
                    load(name, f"half{run + 1}", opts.seconds, half_conns[name], paced)
                )
        servers["goodword"].stop_sampling()
    finally:
        for server in servers.values():
            server.stop()

    # Clicks: every 302 wrk received must be a line in the click log and a row after ingestion.
    lines = click_lines(data_dir / "clicks")
    ingested = int(
        goodword_python(
            "from goodword.referrals.clicklog import ingest_clicks; print(ingest_clicks())", env
        )
    )
    rows = (
        int(
            goodword_python(
                "from goodword.referrals.models import Click; print(Click.objects.count())", env
            )
        )
        - clicks_before
    )
    pinax_rows = int(
        subprocess.run(
            [str(pinax_python), str(PINAX_SITE / "pinax_bench_count.py")],
            env={**os.environ, **pinax_env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    # Figures.
    names = list(servers)
    sat_rps = {n: median(r.ok_rps(302) for r in sat[n]) for n in names}
    ratio_runs = {
        n: [sat[n][i].ok_rps(302) / sat["raw"][i].ok_rps(302) for i in range(opts.runs)]
        for n in names
    }
    ratio = {n: median(ratio_runs[n]) for n in names}
    sat_bad = {n: sum(r.not_status(302) for r in sat[n]) for n in names}
    half_rps = {n: median(r.ok_rps(302) for r in half[n]) for n in names}
    pct = ("p50", "p75", "p90", "p99", "p999")
    half_lat = {n: {p: median(r.latency_us[p] for r in half[n]) / 1000 for p in pct} for n in names}
    half_bad = {n: sum(r.not_status(302) for r in half[n]) for n in names}
    rss = servers["goodword"].peak_worker_mb()
    rss_main = servers["goodword"].peak_main_mb()

    labels = {
        "raw": "raw WSGI 302 (reference)",
        "django": "bare Django view 302",
        "pinax": pinax_label,
        "goodword": "**Goodword `/r/<code>`** + click capture",
    }
    pass_ratio = ratio["goodword"] >= TARGET_RATIO
    pass_p99 = half_lat["goodword"]["p99"] <= TARGET_P99_MS
    pass_err = sat_bad["goodword"] == 0
    pass_clicks = ingested == lines and rows == ingested and lines >= answered_302["goodword"]
    pass_rss = rss <= TARGET_RSS_MB
    cmd = ".venv/bin/python benches/redirect.py"
    if opts.runs != 3 or opts.seconds != 10:
        cmd += f" --runs {opts.runs} --seconds {opts.seconds:g}"
    md = [
        "## 1. Redirect with click capture (`GET /r/<code>`)",
        "",
        f"Command: `{cmd}` (also `make bench`).",
        "",
        *machine_lines(info),
        f"- Server: granian {version}, WSGI, {WORKERS} worker, {THREADS} blocking thread for "
        "every candidate (the `goodword web` default on SQLite; the references are started by "
        "`benches/refapps/serve.py`, which makes the same `granian.server.Server` call as "
        "`goodword web`)",
        f"- Goodword: `goodword web --workers {WORKERS} --threads {THREADS}` on SQLite in a "
        "temporary `GOODWORD_DATA_DIR` seeded with `goodword demo --no-serve`; every request "
        "is `GET /r/ALICE` with a browser User-Agent, so every one is a counted click "
        "(a click-log line and a signed `gw_ref` token)",
        f"- {pinax_label}: its `process_referral` view in a minimal project "
        "(`benches/refapps/pinax_site/`), installed from PyPI into a throwaway virtualenv "
        f"({PINAX_VENV}); SQLite with Goodword's pragmas; wrk sends no cookie, so every click "
        "creates a session row and a ReferralResponse row, as a first visit does",
        f"- Saturation: `wrk -t1 -c{SAT_CONNECTIONS} -d{opts.seconds:g}s --latency`, "
        f"{opts.runs} runs, candidates interleaved within each run; figures are medians; the "
        "ratio is the median of the per-run ratios to the raw WSGI app",
        f"- Half of saturation: wrk has no fixed-rate mode, so each connection pauses a random "
        f"time (exponential, mean {PAUSE_MS} ms, via wrk's `delay()`) before each request, "
        "which spreads arrivals like independent visitors; the number of connections is "
        "calibrated (one 3 s probe) to give about half of that server's saturated rate",
        "",
        "### Throughput at saturation (302 responses per second)",
        "",
        table(
            [
                "candidate",
                "ratio to raw WSGI",
                "median req/s",
                "runs (req/s)",
                "non-302 or socket errors",
            ],
            [
                (
                    labels[n],
                    f"{ratio[n]:.2f}x",
                    f"{sat_rps[n]:,.0f}",
                    ", ".join(f"{r.ok_rps(302):,.0f}" for r in sat[n]),
                    sat_bad[n],
                )
                for n in names
            ],
        ),
        "",
        "### Latency at about half of saturation (wrk --latency, medians over runs, ms)",
        "",
        table(
            [
                "candidate",
                "connections",
                "req/s",
                "share of saturation",
                "p50",
                "p75",
                "p90",
                "p99",
                "p99.9",
                "non-302",
            ],
            [
                (
                    labels[n],
                    half_conns[n],
                    f"{half_rps[n]:,.0f}",
                    f"{half_rps[n] / sat_rps[n]:.2f}",
                    *(f"{half_lat[n][p]:.2f}" for p in pct),
                    half_bad[n],
                )
                for n in names
            ],
        ),
        "",
        "### Clicks captured",
        "",
        table(
            [
                "302s answered to wrk (all Goodword runs, with warm-up)",
                "click-log lines",
                "clicks ingested (`ingest_clicks`)",
                "new Click rows",
            ],
            [(f"{answered_302['goodword']:,}", f"{lines:,}", f"{ingested:,}", f"{rows:,}")],
        ),
        "",
        "The log can hold a few more lines than wrk counted: requests still in flight when a "
        "wrk run ends are answered (and logged) after wrk stopped counting. "
        f"For scale, pinax-referrals recorded {pinax_rows:,} ReferralResponse rows for "
        f"{answered_302['pinax']:,} 302s.",
        "",
        "### Memory",
        "",
        f"Peak RSS (VmHWM) of the granian worker serving Goodword during all of the above: "
        f"**{rss:.0f} MB** (the granian main process: {rss_main:.0f} MB).",
        "",
        "### Verdict",
        "",
        table(
            ["target", "measured", "verdict"],
            [
                (
                    f"throughput >= {TARGET_RATIO}x raw WSGI 302",
                    f"{ratio['goodword']:.2f}x",
                    verdict(pass_ratio),
                ),
                (
                    f"p99 <= {TARGET_P99_MS:g} ms at half of saturation",
                    f"{half_lat['goodword']['p99']:.2f} ms "
                    f"(at {half_rps['goodword'] / sat_rps['goodword']:.2f} of saturation)",
                    verdict(pass_p99),
                ),
                ("zero non-3xx at saturation", f"{sat_bad['goodword']}", verdict(pass_err)),
                (
                    "clicks ingested = requests answered",
                    f"{ingested:,} ingested, {answered_302['goodword']:,} answered",
                    verdict(pass_clicks),
                ),
                (f"worker peak RSS <= {TARGET_RSS_MB:g} MB", f"{rss:.0f} MB", verdict(pass_rss)),
            ],
        ),
    ]
    text = "\n".join(md)
    if opts.no_doc:
        print(text)
    else:
        write_section("redirect", text)
        print(text)
    if opts.keep:
        log(f"kept the data dir {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
