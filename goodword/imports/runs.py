"""Run an import: stream the file, batch its rows, write each batch in one transaction with the
`Import` row's progress, and continue after the last committed line when the same file (by
digest) is imported again."""

from __future__ import annotations

import contextlib
import csv
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from goodword.accounts.models import Workspace
from goodword.events import services as events
from goodword.imports import orders, people
from goodword.imports.models import Import
from goodword.imports.reading import Reader, Record, digest
from goodword.ingest.models import Event
from goodword.lib import sheets
from goodword.lib.errors import Conflict, Invalid
from goodword.participants.models import Participant

BATCH = 5_000  # rows per transaction
# Participants on PostgreSQL too: a batch costs a lookup of its keys and a commit that waits
# for its WAL, and 25,000 spent 10% less than 5,000 (100,000 rows, measured).
PEOPLE_BATCH = 25_000
# SQLite writes every page a transaction changed again at its commit (to the WAL): the indexes
# on random keys (public ids) change a page per row, so bigger batches rewrite far less.
SQLITE_BATCH = 25_000
SQLITE_CACHE_KB = 64 * 1024
SHOWN = 100  # errors an API answer lists
ANALYZE_AFTER = 50_000  # rows written before the first ANALYZE (then each doubling)
ATTEMPTS = 3  # tries of a batch's writes that lost a race on a unique key


class ErrorSink(Protocol):
    def begin(self, header: list[str], after: int) -> None: ...
    def write(self, rows: list[tuple[int, list[str], str]]) -> None: ...


class ErrorFile:
    """`FILE.errors.csv`: line, reason and the row as it was, neutralised for spreadsheets. On
    a resumed run the errors of lines after the last committed one are dropped first: they
    were written for a batch that did not commit and will be written again."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._out: IO[str] | None = None

    def begin(self, header: list[str], after: int) -> None:
        kept: list[list[str]] = []
        if after and os.path.exists(self.path):
            with open(self.path, newline="", encoding="utf-8") as old:
                rows = csv.reader(old)
                next(rows, None)
                kept = [r for r in rows if r and r[0].isdigit() and int(r[0]) <= after]
        self._out = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._out, lineterminator="\r\n")
        self._writer.writerow(["line", "reason", *(sheets.cell(h) for h in header)])
        self._writer.writerows(kept)
        self.count = len(kept)
        self._out.flush()

    def write(self, rows: list[tuple[int, list[str], str]]) -> None:
        assert self._out is not None  # noqa: S101 - begin() first
        for line, cells, reason in rows:
            self._writer.writerow([line, reason, *(sheets.cell(c) for c in cells)])
        self.count += len(rows)
        self._out.flush()

    def close(self) -> None:
        """Close the file; remove it when no row was refused."""
        if self._out is not None:
            self._out.close()
            if not self.count:
                # Another run of the same file (side by side) may have removed it first.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)


@dataclass
class ErrorList:
    """The first errors of a run, for an API answer."""

    shown: list[dict[str, Any]] = field(default_factory=list)

    def begin(self, header: list[str], after: int) -> None:
        self.header = header

    def write(self, rows: list[tuple[int, list[str], str]]) -> None:
        for line, cells, reason in rows[: SHOWN - len(self.shown)]:
            self.shown.append({"line": line, "reason": reason, "row": cells})


@dataclass
class Summary:
    id: str
    kind: str
    status: str
    line: int  # the last line read and committed
    rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    resumed_after: int  # 0 when this run started at the top of the file
    already_done: bool


Progress = Callable[[int, Import], None]


def _summary(imp: Import, resumed_after: int, already_done: bool) -> Summary:
    return Summary(
        imp.public_id, imp.kind, imp.status, imp.line, imp.rows, imp.created, imp.updated,
        imp.skipped, imp.failed, resumed_after, already_done,
    )  # fmt: skip


def _start(workspace: Workspace, kind: str, sha: str, name: str, with_rewards: bool) -> Import:
    now = timezone.now()
    try:
        with transaction.atomic():
            imp, _ = Import.objects.get_or_create(
                workspace=workspace,
                kind=kind,
                digest=sha,
                defaults={"file_name": name[:255], "with_rewards": with_rewards,
                          "created_at": now, "updated_at": now},
            )  # fmt: skip
    except IntegrityError:  # a concurrent first run of the same file made it
        imp = Import.objects.get(workspace=workspace, kind=kind, digest=sha)
    if imp.with_rewards != with_rewards:
        flag = "with" if imp.with_rewards else "without"
        raise Conflict(
            f"this file was imported {flag} --with-rewards ({imp.public_id}): run it the same way",
            code="import_options_differ",
        )
    return imp


class _Run:
    def __init__(self, workspace: Workspace, imp: Import, errors: ErrorSink, now: datetime):
        self.workspace, self.imp, self.errors, self.now = workspace, imp, errors, now

    def parse(self, record: Record) -> Any:
        if self.imp.kind == Import.Kind.PARTICIPANTS:
            return people.parse(record.line, record.values)
        return orders.parse(record.line, record.values, self.now)

    def write(self, good: list[Any]) -> tuple[int, int, int, list[tuple[int, str]]]:
        """created, updated, skipped, errors."""
        if self.imp.kind == Import.Kind.PARTICIPANTS:
            p = people.write(self.workspace.pk, good, self.now)
            return p.created, p.updated, p.unchanged, p.errors
        if self.imp.with_rewards:
            o = orders.write_decided(self.workspace, good, self.now)
        else:
            o = orders.write_history(self.workspace.pk, good, self.now)
        return o.created, 0, o.skipped, o.errors

    def _write(self, good: list[Any]) -> tuple[int, int, int, list[tuple[int, str]]]:
        """`write` in a savepoint, again from a fresh lookup when a concurrent writer (the API,
        a live event) inserted one of the batch's participants or orders meanwhile."""
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    return self.write(good)
            # COPY runs on the driver's own cursor, whose errors Django does not wrap.
            except (IntegrityError, connection.Database.IntegrityError):  # type: ignore[attr-defined]
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @transaction.atomic
    def commit(
        self, last: int, good: list[Any], bad: list[tuple[int, list[str], str]],
        cells: dict[int, list[str]],
    ) -> None:  # fmt: skip
        # Before the commit: after a crash the resumed run drops them (ErrorFile.begin).
        self.errors.write(bad)
        created, updated, skipped, refused = self._write(good) if good else (0, 0, 0, [])
        later = [(line, cells[line], reason) for line, reason in refused]
        self.errors.write(later)
        bad = bad + later
        imp = self.imp
        claimed = Import.objects.filter(pk=imp.pk, line=imp.line, status=Import.Status.RUNNING)
        changed = claimed.update(
            line=last, rows=F("rows") + len(good) + len(bad) - len(refused),
            created=F("created") + created, updated=F("updated") + updated,
            skipped=F("skipped") + skipped, failed=F("failed") + len(bad),
            updated_at=timezone.now(),
        )  # fmt: skip
        if not changed:
            raise Conflict(
                "another run of this import moved on meanwhile: let it finish, then run again",
                code="import_in_progress",
            )
        imp.line = last


def run(
    *,
    workspace: Workspace,
    kind: str,
    stream: IO[bytes],
    file_name: str = "",
    with_rewards: bool = False,
    errors: ErrorSink,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Import a CSV file (a binary stream that can seek) of `kind` into `workspace`."""
    if kind not in Import.Kind.values:
        raise Invalid(f"nothing imports {kind!r}", code="unknown_import")
    if with_rewards and kind != Import.Kind.ORDERS:
        raise Invalid("only orders import --with-rewards", code="unknown_import")
    sha = digest(stream)
    reader = Reader(stream)  # the header checked before any row of the import is written
    if kind == Import.Kind.PARTICIPANTS:
        reader.require(people.REQUIRED)
        people.check_header(reader.header)
    else:
        reader.require(orders.REQUIRED)
    imp = _start(workspace, kind, sha, file_name, with_rewards)
    after = imp.line
    if imp.status == Import.Status.DONE:
        return _summary(imp, after, already_done=True)
    errors.begin(reader.header, after)
    job = _Run(workspace, imp, errors, timezone.now())
    if batch_size is None:
        batch_size = BATCH if connection.vendor == "postgresql" else SQLITE_BATCH
        if kind == Import.Kind.PARTICIPANTS:
            batch_size = PEOPLE_BATCH
    with _cache():
        _rows(job, reader, after, batch_size, progress)
    _finish(imp)
    if progress is not None:
        progress(reader.counted.done, imp)
    return _summary(imp, after, already_done=False)


@transaction.atomic
def _finish(imp: Import) -> None:
    """Mark the import done and record its one domain event, once: a later run of the same
    file finds it done and does nothing."""
    now = timezone.now()
    finished = Import.objects.filter(pk=imp.pk, status=Import.Status.RUNNING).update(
        status=Import.Status.DONE, finished_at=now, updated_at=now
    )
    imp.refresh_from_db()
    if finished:
        events.record(
            "import.completed",
            workspace_id=imp.workspace_id,
            subject_id=imp.public_id,
            data={"kind": imp.kind, "file_name": imp.file_name, "rows": imp.rows,
                  "created": imp.created, "updated": imp.updated, "skipped": imp.skipped,
                  "failed": imp.failed},
            now=now,
        )  # fmt: skip


@contextmanager
def _cache() -> Iterator[None]:
    """On SQLite, a larger page cache for the connection while it imports: the indexes on
    random keys (public ids) touch pages all over, and the default 2 MB cache made SQLite read
    them again from the file for every batch (several times slower at 100,000 rows)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


@dataclass
class _Batch:
    last: int  # the last line of the file in the batch
    good: list[Any]
    bad: list[tuple[int, list[str], str]]
    cells: dict[int, list[str]]


def _batches(job: _Run, reader: Reader, after: int, size: int) -> Iterator[_Batch]:
    """The file's rows after line `after`, parsed and checked, `size` at a time. No database:
    it runs in a thread of its own (`_ahead`)."""
    batch = _Batch(after, [], [], {})
    for record in reader.records():
        line = record.line if isinstance(record, Record) else record[0]
        if line <= after:
            continue
        batch.last = line
        if isinstance(record, Record):
            parsed = job.parse(record)
            if isinstance(parsed, str):
                batch.bad.append((line, record.cells, parsed))
            else:
                batch.good.append(parsed)
                batch.cells[line] = record.cells
        else:
            batch.bad.append(record)
        if len(batch.good) + len(batch.bad) >= size:
            yield batch
            batch = _Batch(line, [], [], {})
    if batch.good or batch.bad:
        yield batch


def _ahead(items: Iterator[_Batch], depth: int = 2) -> Iterator[_Batch]:
    """`items`, produced in a thread up to `depth` ahead: the next batch is read and parsed
    while the database writes this one (the driver lets go of the GIL while it waits)."""
    ready: queue.Queue[tuple[_Batch | None, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def offer(entry: tuple[_Batch | None, BaseException | None]) -> bool:
        """Queue `entry` unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer((None, exc))

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _rows(
    job: _Run, reader: Reader, after: int, batch_size: int, progress: Progress | None
) -> None:
    written, analyze_at = 0, ANALYZE_AFTER
    for batch in _ahead(_batches(job, reader, after, batch_size)):
        job.commit(batch.last, batch.good, batch.bad, batch.cells)
        written += len(batch.good)
        if written >= analyze_at:
            _analyze(job.imp.kind)
            analyze_at *= 2
        if progress is not None:
            progress(reader.counted.done, job.imp)


def _analyze(kind: str) -> None:
    """Refresh PostgreSQL's statistics of the tables a batch looks its keys up in, each time
    the import has doubled what it wrote. A table filled since its last ANALYZE looked small
    to the planner, which then read the whole workspace for every batch's lookup instead of
    probing the unique index (1 s a batch at a million rows, against 7 ms: measured)."""
    if connection.vendor != "postgresql":
        return  # SQLite has no statistics unless asked, and probes the unique index anyway
    tables = [Participant._meta.db_table]
    if kind == Import.Kind.ORDERS:
        tables.append(Event._meta.db_table)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
