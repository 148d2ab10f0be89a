"""A real `goodword serve` (web + worker + scheduler) on loopback, for end-to-end tests.

The server runs in its own process group with its own data dir and its own database (a fresh
SQLite file, or a throwaway PostgreSQL database when the suite runs on PostgreSQL). Tests talk
to it over HTTP only: the test process's ORM points at pytest-django's test database, never at
the server's.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.conftest import postgres
from tests.shared import run_goodword

# A loaded 2-core machine (CI beside other jobs) has taken over 40 s to start a server.
START_SECONDS = 120.0
OWNER_PASSWORD = "correct horse battery staple"  # owner@acme.test's, to sign in to the dashboard
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
        # Webhooks go to the tests' receivers on loopback, which the SSRF guard refuses unless told.
        OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",
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
        "createworkspace",
        "Acme",
        "--owner",
        "owner@acme.test",
        "--password",
        OWNER_PASSWORD,
        "--json",
        env=env,
        cwd=tmp_path,
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
