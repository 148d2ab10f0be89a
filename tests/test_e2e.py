"""The whole referral loop against a real `goodword serve` (web + worker + scheduler) on loopback.

The server runs in its own process group with its own data dir and its own database (a fresh
SQLite file, or a throwaway PostgreSQL database when the suite runs on PostgreSQL). The test
talks to it over HTTP only: the test process's ORM points at pytest-django's test database,
never at the server's.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.conftest import postgres
from tests.factories import PROGRAM, purchase, refund, signup
from tests.shared import balance_line, run_goodword

pytestmark = pytest.mark.e2e

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
PREVIEW_BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
POLL_SECONDS = 20.0
START_SECONDS = 30.0
STOP_SECONDS = 15.0


@dataclass
class Server:
    url: str
    api_key: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _base_env(data_dir: Path, database_url: str, site_url: str) -> dict[str, str]:
    """Only what the server needs: nothing inherited from the test run's own settings."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(
        GOODWORD_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        SITE_URL=site_url,
        GOODWORD_SWEEP_SECONDS="0.5",
        # The code -> destination cache stays short so a changed program shows at once.
        GOODWORD_LINK_CACHE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def server_database(tmp_path: Path) -> Iterator[str]:
    """A database of the server's own, of the same kind as the test run's."""
    if not postgres():
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    db = settings.DATABASES["default"]
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    name = f"goodword_e2e_{secrets.token_hex(6)}"

    def admin() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(host),
            port=int(port),
            user=str(user),
            password=str(password),
            dbname="postgres",
            autocommit=True,
        )

    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    try:
        yield f"postgres://{auth}@{host}:{port}/{name}"
    finally:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it stops its children), then kill whatever is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_SECONDS)
    try:
        # Anything still in the group outlived `serve`: a leaked child. Kill it and say so.
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    raise AssertionError("a child of `goodword serve` outlived it and had to be killed")


@pytest.fixture
def server(tmp_path: Path, server_database: str) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _base_env(data_dir, server_database, url)
    migrated = run_goodword("migrate", "--no-input", "-v0", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    created = run_goodword(
        "createworkspace", "Acme", "--owner", "owner@acme.test", "--json", env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stderr
    api_key = json.loads(created.stdout)["api_key"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "goodword", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so nothing of it can be left over
        )
    running = Server(url=url, api_key=api_key, data_dir=data_dir, log=log, proc=proc)
    try:
        _wait_healthy(running)
        yield running
    finally:
        _stop(proc)
    assert proc.returncode == 0, f"serve exited with {proc.returncode}:\n{running.output()}"


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"serve exited with {server.proc.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).json() == {"ok": True}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve did not answer /healthz in {START_SECONDS}s:\n{server.output()}")


def _poll(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {POLL_SECONDS}s; last: {value!r}")
        time.sleep(0.2)


def test_alice_refers_bob_through_a_real_server(server: Server) -> None:
    api = httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.api_key}"},
        follow_redirects=False,
        timeout=10,
    )
    web = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)

    def balance(who: str) -> dict[str, int]:
        r = api.get(f"/participants/{who}/balance")
        assert r.status_code == 200, r.text
        lines = r.json()["balances"]
        return dict(lines[0]) if lines else {}

    def statuses() -> list[tuple[str, str]]:
        r = api.get("/rewards")
        assert r.status_code == 200, r.text
        return sorted((x["beneficiary"], x["status"]) for x in r.json()["data"])

    with api, web:
        r = api.post("/programs", json={**PROGRAM, "hold_days": 0})
        assert r.status_code == 201, r.text
        program = r.json()
        r = api.post(
            f"/programs/{program['id']}/advocates",
            json={"external_id": "alice", "email": "alice@example.com", "name": "Alice"},
        )
        assert r.status_code == 201, r.text
        alice = r.json()
        assert alice["link"] == f"{server.url}/r/{alice['code']}"

        # A link-preview bot gets the card, not the redirect, and is not counted as a click.
        r = web.get(f"/r/{alice['code']}", headers={"User-Agent": PREVIEW_BOT})
        assert r.status_code == 200
        assert "location" not in r.headers
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert f"<meta property='og:title' content='{PROGRAM['name']}'>" in r.text

        # bob clicks in a browser: 302 to the program's destination carrying gw_ref.
        r = web.get(f"/r/{alice['code']}?via=whatsapp", headers={"User-Agent": BROWSER})
        assert r.status_code == 302, r.text
        location = urlsplit(r.headers["location"])
        assert (location.scheme, location.netloc, location.path) == (
            "https",
            "shop.acme.test",
            "/welcome",
        )
        [token] = parse_qs(location.query)["gw_ref"]
        assert token.split(".")[0] == alice["id"]

        r = api.post("/events", json=signup("s-bob", "bob", ref_token=token))
        assert r.status_code == 201, r.text
        assert r.json()["attribution"] == "attributed"
        [referral] = r.json()["referrals"]
        assert referral["status"] == "signed_up"

        r = api.post("/events", json=purchase("p-bob", "bob", "order-1", 2500))
        assert r.status_code == 201, r.text
        assert sorted((x["beneficiary"], x["amount"]) for x in r.json()["rewards"]) == [
            ("advocate", 1000),
            ("friend", 500),
        ]

        # No hold: the worker (kicked after commit) or the scheduler approves both in seconds.
        _poll(
            statuses,
            lambda s: s == [("advocate", "approved"), ("friend", "approved")],
            "both rewards approved",
        )
        assert balance("alice") == balance_line(available=1000)
        assert balance("bob") == balance_line(available=500)
        r = api.get(f"/referrals/{referral['id']}")
        assert r.json()["status"] == "rewarded"
        assert r.json()["source"] == "token"

        # The scheduler moves the click from the web process's log into the database: one
        # click (the bot's visit is not one).
        stats = _poll(
            lambda: api.get(f"/programs/{program['id']}/stats").json(),
            lambda s: s["clicks"] >= 1,
            "the click ingested",
        )
        assert stats["clicks"] == 1
        assert stats["conversions"] == 1
        assert stats["revenue"] == [{"currency": "USD", "amount": 2500}]

        # The order is refunded: both rewards are clawed back, the referral is reversed.
        r = api.post("/events", json=refund("r-bob", "bob", "order-1"))
        assert r.status_code == 201, r.text
        assert r.json()["referrals"][0]["status"] == "reversed"
        assert statuses() == [("advocate", "reversed"), ("friend", "reversed")]
        assert balance("alice") == balance_line()
        assert balance("bob") == balance_line()
        assert api.get(f"/referrals/{referral['id']}").json()["status"] == "reversed"

        # Replaying the refund changes nothing.
        r = api.post("/events", json=refund("r-bob", "bob", "order-1"))
        assert r.status_code == 200
        assert r.headers["idempotent-replayed"] == "true"
        assert balance("alice") == balance_line()
