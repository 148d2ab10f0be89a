"""Reference: the least a Python WSGI app can do for pgbench's transaction, per request.

Each POST reads and parses its JSON body, then runs exactly what the pgbench reference runs
(BEGIN; SELECT by primary key; INSERT one row; COMMIT) through psycopg, with one connection
per server thread, and answers 201 with a small JSON body. No framework, no ORM: this is the
ceiling for any Python service that does one transaction per request on this machine, the
event-ingestion counterpart of raw_wsgi.py.

    BENCH_DATABASE_URL=postgres://... python serve.py pg_wsgi:application --threads 8
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

_URL = os.environ["BENCH_DATABASE_URL"]
_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(_URL)
    return conn


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
    key = int(payload.get("k", 1))
    conn = _connection()
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SELECT v FROM bench_pgb_lookup WHERE id = %s", [key])
        row = cursor.fetchone()
        cursor.execute("INSERT INTO bench_pgb_insert (k, v) VALUES (%s, 'x') RETURNING id", [key])
        inserted = cursor.fetchone()
    body = json.dumps({"id": inserted[0] if inserted else None, "v": row[0] if row else None})
    data = body.encode()
    start_response(
        "201 Created",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]
