"""The click log: web processes append clicks to a file; the worker moves them into the database.

The redirect must answer in microseconds and never lose an acknowledged click. An `os.write` to
an O_APPEND file costs microseconds and the data is in the kernel's page cache when it returns,
so a click survives the web process being stopped or killed (not a power cut of the machine).
Each web process writes its own file (`<host>-<pid>-<start>.log`), one JSON object per line.
The ingester reads from the offset it stored, inserts complete lines with `ignore_conflicts` on
the unique `click_id`, and stores the new offset in the same transaction: a crash re-reads at
most the lines it had not committed, and re-inserting them is a no-op.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from goodword.participants.models import Advocate
from goodword.referrals.models import Click, ClickLogOffset

logger = logging.getLogger(__name__)

_FIELDS = (
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "ua_class",
    "ip_hash",
)
_MAX_LENGTHS = {"channel": 32, "referrer": 500, "ua_class": 16, "ip_hash": 32} | {
    f: 100 for f in _FIELDS if f.startswith("utm_")
}
READ_CHUNK = 4 * 1024 * 1024
BATCH = 1000
# A file nobody has written for this long, and that is fully read, is deleted.
STALE_SECONDS = 120


class ClickWriter:
    """Appends clicks for one process. Reopens its file after a fork."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._pid = -1
        self._fd = -1
        self._lock = threading.Lock()

    def _open(self) -> int:
        with self._lock:
            if self._pid == os.getpid() and os.fstat(self._fd).st_nlink > 0:
                return self._fd  # another thread opened it meanwhile
            return self._open_new()

    def _open_new(self) -> int:
        directory = self.directory or Path(settings.CLICK_LOG_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}.log"
        self._fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pid = os.getpid()
        return self._fd

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(json.dumps(record, separators=(",", ":")).encode() + b"\n")

    def write_line(self, line: bytes) -> None:
        """Append one complete line (a JSON object and `\\n`), already encoded."""
        fd = self._fd if self._pid == os.getpid() else self._open()
        if os.fstat(fd).st_nlink == 0:  # the ingester deleted it as abandoned: start anew
            fd = self._open()
        # One write per line: O_APPEND makes each write land whole at the end of the file.
        os.write(fd, line)


def _to_click(record: dict[str, Any]) -> Click:
    return Click(
        click_id=str(record["id"]),
        workspace_id=int(record["ws"]),
        program_id=int(record["prg"]),
        advocate_id=int(record["adv"]),
        created_at=datetime.fromtimestamp(float(record["ts"]), tz=UTC),
        **{f: str(record.get(f, ""))[: _MAX_LENGTHS[f]] for f in _FIELDS},
    )


def ingest_file(path: Path) -> int:
    """Move the complete lines past the stored offset into Click rows; return how many."""
    total = 0
    while True:
        with transaction.atomic():
            cursor, _ = ClickLogOffset.objects.get_or_create(path=str(path))
            # Lock the offset row so two ingesters never read the same span (PostgreSQL);
            # SQLite serialises write transactions anyway.
            cursor = ClickLogOffset.objects.select_for_update().get(pk=cursor.pk)
            with path.open("rb") as f:
                f.seek(cursor.offset)
                chunk = f.read(READ_CHUNK)
            end = chunk.rfind(b"\n")
            if end < 0:
                return total
            clicks = []
            for raw in chunk[: end + 1].splitlines():
                try:
                    clicks.append(_to_click(json.loads(raw)))
                except (ValueError, KeyError, TypeError):
                    logger.warning("skipping a malformed click log line in %s", path)
            Click.objects.bulk_create(_known(clicks), batch_size=BATCH, ignore_conflicts=True)
            cursor.offset += end + 1
            cursor.save(update_fields=["offset", "updated_at"])
            total += len(clicks)
        if len(chunk) < READ_CHUNK:
            return total


def _known(clicks: list[Click]) -> list[Click]:
    """Drop clicks whose advocate was deleted (or whose line names a mismatched workspace or
    program) since the click. `ignore_conflicts` does not cover foreign keys: one such line
    would fail the commit on every run and stop the file, and every file after it, for good."""
    ids = sorted({c.advocate_id for c in clicks})
    known: set[tuple[int, int, int]] = set()
    for start in range(0, len(ids), BATCH):
        known.update(
            Advocate.objects.filter(pk__in=ids[start : start + BATCH]).values_list(
                "pk", "workspace_id", "program_id"
            )
        )
    kept = [c for c in clicks if (c.advocate_id, c.workspace_id, c.program_id) in known]
    if len(kept) < len(clicks):
        logger.warning("skipping %d clicks of deleted advocates", len(clicks) - len(kept))
    return kept


def ingest_clicks(directory: Path | None = None) -> int:
    """Ingest every click log; delete logs that are fully read and no longer written."""
    directory = directory or Path(settings.CLICK_LOG_DIR)
    if not directory.exists():
        return 0
    total = 0
    for path in sorted(directory.glob("*.log")):
        total += ingest_file(path)
        _delete_if_done(path)
    return total


def _writer_alive(path: Path) -> bool:
    host, _, rest = path.stem.rpartition("-")[0].rpartition("-")
    pid = int(rest) if rest.isdigit() else 0
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_if_done(path: Path) -> None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return
    if time.time() - stat.st_mtime < STALE_SECONDS or _writer_alive(path):
        return
    with transaction.atomic():
        offset = ClickLogOffset.objects.filter(path=str(path)).first()
        if offset is not None and offset.offset >= stat.st_size:
            path.unlink(missing_ok=True)
            offset.delete()
