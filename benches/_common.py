"""Shared pieces of the benchmarks: servers, wrk, memory sampling, and docs/benchmarks.md.

Every benchmark pins the server to one core and the load generator to the other (when the
machine has two or more), runs each load several times, interleaves the candidates so that
noise from other work on the machine hits all of them alike, and reports medians and ratios to
references measured in the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ROOT / "benches"
OUT = BENCHES / ".out"
DOC = ROOT / "docs" / "benchmarks.md"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
GOODWORD = VENV_BIN / "goodword"

NCPU = os.cpu_count() or 1
# Server on core 0, load generator on core 1 (when there is one).
SERVER_CPU = "0"
LOAD_CPU = "1" if NCPU > 1 else "0"


# The events benchmarks' program: both sides earn credit on a first purchase of 20.00 or more,
# after a 14-day hold; its one advocate has the code BENCH.
BENCH_PROGRAM: dict[str, Any] = {
    "name": "Bench",
    "destination_url": "https://shop.example.com/",
    "rewards": [
        {"beneficiary": "advocate", "kind": "credit", "amount": 1000},
        {"beneficiary": "friend", "kind": "credit", "amount": 500},
    ],
    "trigger": {"event": "purchase", "min_amount": 2000},
    "hold_days": 14,
}
BENCH_CODE = "BENCH"

# --- the "full engine" program: 20 reward rules with what the engine has today ----------------
#
# Conditions of every kind (order amount range, currency, nth purchase, products and
# categories on `order.items`, advocate and friend attributes), per-rule holds and date
# windows, `percent_of_order` commissions with refund policies, and caps per advocate (calendar
# month, by count), per friend (lifetime, by count) and per program (a lifetime budget by
# value), none of them tight enough to stop a conversion of the benchmarks. Like a program with
# tiers, most rules are for some orders or people only: the advocate's base reward is one of
# three by order size, the friend's welcome one of two by plan, and bonuses hold for some
# orders or never (EUR orders, second purchases, a window that ended, one not started), so a
# conversion grants about 3.5 rewards (the simple program: 2) and names the other rules in
# `stopped`. It has 5 ambassador tiers (a rule for the top two, one for the middle one), an A/B
# offer experiment (a rule per variant), and its pro friends' welcome coupons come from a pool.

ENGINE_BUDGET = 100_000_000_000  # the program's lifetime budget, in minor units: never reached
ENGINE_ADVOCATE_ATTRIBUTES = {"segment": "gold"}
ENGINE_AMOUNTS = (2500, 4200, 6000, 12000)  # order amounts, in turn: every one converts
ENGINE_CATEGORIES = ("boots", "shirts", "hats")
ENGINE_PRODUCTS = 12


# The engine's ambassador tiers (by qualified referrals) and its offer experiment.
ENGINE_TIERS = {
    "basis": "referrals",
    "period": "lifetime",
    "levels": [{"name": "Member", "min": 0}, {"name": "Bronze", "min": 10},
               {"name": "Silver", "min": 100}, {"name": "Gold", "min": 1000},
               {"name": "Platinum", "min": 10000}],
}  # fmt: skip
ENGINE_EXPERIMENT = {
    "name": "Offers",
    "variants": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
}
# Codes uploaded to the engine's coupon pool (the "Welcome pro" coupons are drawn from it).
ENGINE_POOL_CODES = 2_000


def engine_pool(base_url: str, api_key: str, post: Any) -> str:
    """A coupon pool with ENGINE_POOL_CODES codes, through the API; its id."""
    pool = post(
        f"{base_url}/api/v1/coupon-pools", api_key, {"name": "Welcome", "low_threshold": 100}
    )
    codes = [f"WELCOME-{n:06d}" for n in range(ENGINE_POOL_CODES)]
    post(f"{base_url}/api/v1/coupon-pools/{pool['id']}/codes", api_key, {"codes": codes})
    return str(pool["id"])


def engine_program(
    now: datetime, name: str = "Bench engine", pool: str | None = None
) -> dict[str, Any]:
    """The program, with date windows placed around `now`; its pro friends' welcome coupons
    come from `pool` when given (else generated)."""
    day = timedelta(days=1)

    def at(offset_days: int) -> str:
        return (now + offset_days * day).strftime("%Y-%m-%dT%H:%M:%SZ")

    budget = {"per": "program", "period": "lifetime", "amount": ENGINE_BUDGET}
    advocate_month = {"per": "advocate", "period": "month", "count": 1_000_000}
    friend_once = {"per": "friend", "period": "lifetime", "count": 1}
    advocate, friend = "advocate", "friend"

    def credit(rule: str, who: str, amount: int, **extra: Any) -> dict[str, Any]:
        return {"name": rule, "beneficiary": who, "kind": "credit", "amount": amount, **extra}

    rewards = [
        # The advocate's base reward: one of three, by order size (so exactly one holds).
        credit("Base small", advocate, 800, conditions={"max_amount": 2999},
               caps=[advocate_month, budget]),
        credit("Base mid", advocate, 1000, conditions={"min_amount": 3000, "max_amount": 9999},
               caps=[advocate_month, budget]),
        credit("Base large", advocate, 1500, conditions={"min_amount": 10000},
               caps=[advocate_month, budget]),
        {"name": "Boots commission", "beneficiary": advocate, "kind": "credit",
         "percent_of_order": 5, "refund_policy": "proportional",
         "conditions": {"category_ids": ["boots"]}, "caps": [budget]},
        credit("VIP advocates", advocate, 300,
               conditions={"advocate": {"segment": ["vip"]}, "variants": ["A"]}, hold_days=0),
        credit("Euro orders", advocate, 400, conditions={"currency": "EUR"}),
        credit("Featured product", advocate, 150, conditions={"product_ids": ["sku-1"]},
               caps=[advocate_month]),
        credit("Repeat buyers", advocate, 100, conditions={"purchase_number": 2}),
        credit("Spring promo", advocate, 100, starts_at=at(-90), ends_at=at(-60)),
        credit("Gold rate", advocate, 200, conditions={"tiers": ["Gold", "Platinum"]}),
        credit("Pro friends, big orders", advocate, 200,
               conditions={"friend": {"plan": ["pro"]}, "min_amount": 10000},
               refund_policy="full"),
        # The friend's welcome: credit for `free` friends, a coupon for `pro` ones.
        credit("Welcome", friend, 500, conditions={"friend": {"plan": ["free"]}},
               caps=[friend_once, budget]),
        {"name": "Welcome pro", "beneficiary": friend, "kind": "coupon", "amount": 1000,
         "conditions": {"friend": {"plan": ["pro"]}}, "caps": [friend_once],
         **({"coupon": {"pool": pool}} if pool else {})},
        credit("Big basket", friend, 300, conditions={"min_amount": 10000, "currency": "USD"}),
        {"name": "Hats cashback", "beneficiary": friend, "kind": "credit",
         "percent_of_order": 2, "refund_policy": "proportional",
         "conditions": {"category_ids": ["hats"]}},
        {"name": "Pro boots", "beneficiary": friend, "kind": "coupon", "percent_off": 20,
         "conditions": {"friend": {"plan": ["pro"]}, "category_ids": ["boots"]},
         "starts_at": at(-30), "ends_at": at(30)},
        credit("Second order", friend, 100, conditions={"purchase_number": 2}),
        credit("Silver circle", friend, 150, conditions={"tiers": ["Silver"], "variants": ["B"]}),
        credit("Pro mid-size", friend, 100, hold_days=7,
               conditions={"friend": {"plan": ["pro"]}, "min_amount": 3000,
                           "max_amount": 9999}),
        credit("Autumn product", friend, 100, conditions={"product_ids": ["sku-2"]},
               starts_at=at(-30), ends_at=at(30)),
    ]  # fmt: skip
    assert len(rewards) == 20
    return {
        "name": name,
        "destination_url": "https://shop.example.com/",
        "rewards": rewards,
        "trigger": {"event": "purchase", "min_amount": 2000},
        "hold_days": 14,
        "tiers": ENGINE_TIERS,
        "experiment": ENGINE_EXPERIMENT,
    }


def signup_event(
    event_id: str,
    friend: str,
    code: str,
    n: int = 0,
    *,
    engine: bool = False,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """A new friend's signup with the code; for the engine program, with a `plan` attribute
    (every other friend `pro`)."""
    customer: dict[str, Any] = {"external_id": friend, "email": f"{friend}@example.com"}
    if engine:
        customer["attributes"] = {"plan": "pro" if n % 2 == 0 else "free"}
    event: dict[str, Any] = {
        "id": event_id,
        "type": "signup",
        "customer": customer,
        "referral_code": code,
    }
    if occurred_at:
        event["occurred_at"] = occurred_at
    return event


def purchase_event(
    event_id: str,
    friend: str,
    order_id: str,
    n: int = 0,
    *,
    amount: int = 2500,
    engine: bool = False,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """A friend's first purchase; for the engine program, of one of ENGINE_AMOUNTS (by `n`)
    with two items: a product of a category, and an accessory (kept short: 1,000 of these
    events must fit the API's 256 KB body limit)."""
    order: dict[str, Any] = {"id": order_id, "amount": amount, "currency": "USD"}
    if engine:
        amount = ENGINE_AMOUNTS[n % len(ENGINE_AMOUNTS)]
        order = {
            "id": order_id,
            "amount": amount,
            "currency": "USD",
            "items": [
                {"product_id": f"sku-{n % ENGINE_PRODUCTS}",
                 "category_id": ENGINE_CATEGORIES[n % len(ENGINE_CATEGORIES)]},
                {"product_id": "sku-acc"},
            ],
        }  # fmt: skip
    customer: dict[str, Any] = {"external_id": friend}
    if not engine:  # the engine's purchases leave it out, for size (it came with the signup)
        customer["email"] = f"{friend}@example.com"
    event: dict[str, Any] = {
        "id": event_id,
        "type": "purchase",
        "customer": customer,
        "order": order,
    }
    if occurred_at:
        event["occurred_at"] = occurred_at
    return event


def out_dir(name: str) -> Path:
    path = OUT / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --- machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(NCPU),
        "cpu": cpu_model(),
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout + wrk.stderr).split("\n")[0].strip(),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def machine_lines(info: dict[str, str]) -> list[str]:
    return [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPUs (`nproc`), `{info['cpu']}` (/proc/cpuinfo), "
        f"{info['memory']} RAM, Linux {info['kernel']}, Python {info['python']}",
        f"- Load generator: {info['wrk']}",
        f"- Pinning: server processes on CPU {SERVER_CPU}, load generator on CPU {LOAD_CPU} "
        "(`taskset`); PostgreSQL (when used) is not pinned",
        f"- Load average (1, 5, 15 min) when the run started: {info['loadavg']} (other jobs "
        "share this machine)",
    ]


# --- processes ---------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    children = _children_map()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def proc_status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class Server:
    """A server process started in its own session, pinned to SERVER_CPU."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        ready_path: str = "/",
        cpu: str = SERVER_CPU,
    ) -> None:
        self.name = name
        self.port = port
        self.ready_path = ready_path
        self.log_path = out_dir("logs") / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["taskset", "-c", cpu, *argv],
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_kb: dict[int, int] = {}
        self._sampling = False
        self._sampler: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                req = urllib.request.Request(self.url + self.ready_path, method="HEAD")  # noqa: S310
                urllib.request.build_opener(_NoRedirect).open(req, timeout=2)
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s; see {self.log_path}")

    def workers(self) -> list[int]:
        """The processes below the main one (granian's workers)."""
        return [pid for pid in descendants(self.proc.pid) if pid != self.proc.pid]

    # Memory: VmHWM is the peak resident set of a process; sample it while load runs so that
    # a worker that is replaced is still counted.
    def start_sampling(self, interval: float = 0.25) -> None:
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.sample()
                time.sleep(interval)

        self._sampler = threading.Thread(target=loop, daemon=True)
        self._sampler.start()

    def sample(self) -> None:
        for pid in [self.proc.pid, *self.workers()]:
            kb = proc_status_kb(pid, "VmHWM")
            if kb:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), kb)

    def stop_sampling(self) -> None:
        self._sampling = False
        if self._sampler is not None:
            self._sampler.join()
        self.sample()

    def peak_worker_mb(self) -> float:
        workers = [kb for pid, kb in self.peak_kb.items() if pid != self.proc.pid]
        return max(workers, default=0) / 1024

    def peak_main_mb(self) -> float:
        return self.peak_kb.get(self.proc.pid, 0) / 1024

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        # Workers left behind by a killed main process belong to our session: end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- wrk ---------------------------------------------------------------------------------

_DONE_LUA = r"""
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    if c then
      for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,' ..
    '"p99":%d,"p999":%d},"status":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, latency:percentile(50),
    latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), table.concat(parts, ",")))
end
"""

_COUNT_LUA = r"""
threads = {}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end
counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
"""


def lua_get_script(headers: dict[str, str], mean_pause_ms: float = 0) -> str:
    """GET the URL given to wrk and count statuses. With `mean_pause_ms`, each connection
    pauses a random, exponentially distributed time (whole milliseconds, wrk's resolution)
    before each request, so that many connections together arrive roughly as a Poisson
    stream below saturation instead of in synchronised bursts."""
    lines = [_COUNT_LUA]
    for k, v in headers.items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    if mean_pause_ms > 0:
        lines.append(
            "function init(args) math.randomseed(os.time() * 1000 + tid) end\n"
            "function delay()\n"
            f"  return math.floor(-{float(mean_pause_ms)} * math.log(1 - math.random()) + 0.5)\n"
            "end"
        )
    lines.append(_DONE_LUA)
    return "\n".join(lines)


def lua_custom_script(body: str) -> str:
    """A script with its own request() (and anything else), plus status counting."""
    return "\n".join([_COUNT_LUA, body, _DONE_LUA])


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    status: dict[str, int]
    raw: str = field(repr=False, default="")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, status: int) -> int:
        return self.status.get(str(status), 0)

    def ok_rps(self, status: int) -> float:
        return self.count(status) / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    def not_status(self, *ok: int) -> int:
        """Responses with another status, plus socket errors and timeouts."""
        good = sum(self.count(s) for s in ok)
        return (sum(self.status.values()) - good) + self.socket_errors


def run_wrk(
    url: str,
    *,
    script: str,
    name: str,
    seconds: float,
    connections: int,
    threads: int = 1,
    args: Sequence[str] = (),
    timeout_s: int = 5,
) -> WrkResult:
    path = out_dir("lua") / f"{name}.lua"
    path.write_text(script)
    argv = [
        "taskset",
        "-c",
        LOAD_CPU,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(path),
        url,
    ]
    if args:
        argv += ["--", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    text = done.stdout + done.stderr
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


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


# --- docs/benchmarks.md ------------------------------------------------------------------

_HEADER = """# Benchmarks

Measured with the scripts in `benches/`; each section below is rewritten by the command named
in it (`make bench` runs them all, in about ten minutes). The machines these run on are shared
and noisy, so every figure is a median of several runs and is given as a **ratio to a reference
measured in the same run on the same machine**; raw numbers are there for context only. The
method of each benchmark is in the docstring at the top of its script.

Peak memory (target: the web worker's peak RSS <= 150 MB under load) is reported in sections 1
(redirect load) and 3 (event ingestion load).
"""


def write_section(key: str, markdown: str) -> None:
    """Replace (or append) the section between this key's markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = DOC.read_text() if DOC.exists() else _HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    log(f"wrote section {key!r} of {DOC.relative_to(ROOT)}")


def place_section(key: str) -> None:
    """First run of a script: put its section's markers before the hand-written notes (after
    the other scripts' sections); write_section appends at the very end otherwise."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    if not DOC.exists():
        return
    text = DOC.read_text()
    notes = text.find("\n## Notes")
    if start in text or notes == -1:
        return
    DOC.write_text(text[:notes] + f"\n{start}\n{end}\n" + text[notes:])


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def require(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: {hint}")


def goodword_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    return {
        "GOODWORD_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def goodword(args: Sequence[str], env: dict[str, str], **kw: Any) -> str:
    done = subprocess.run(
        [str(GOODWORD), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        **kw,
    )
    if done.returncode != 0:
        raise RuntimeError(f"goodword {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def goodword_python(code: str, env: dict[str, str]) -> str:
    """Run Python inside the project's Django setup (`goodword shell -c`)."""
    return goodword(["shell", "--no-imports", "-c", code], env).strip()


def seed_redirect_demo(env: dict[str, str]) -> None:
    """`goodword demo --no-serve`, with its program's landing page off: the redirect benches
    measure the 302 that a program without a landing page answers (benches/pages.py measures
    the landing page)."""
    goodword(["demo", "--no-serve"], env)
    goodword_python(
        "from goodword.programs.models import Program; Program.objects.update(landing_page=False)",
        env,
    )
