"""Reading CSV files for import: a stream of records with their line numbers, never the whole
file in memory; cells that an export neutralised for spreadsheets come back as they were."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from goodword.lib import sheets
from goodword.lib.errors import Invalid

CHUNK = 1 << 20
# PostgreSQL stores no NUL in text (SQLite would): refused alike on both databases.
NUL = "\x00"


def digest(stream: IO[bytes]) -> str:
    """SHA-256 of the stream's bytes from its start, hex; leaves it at its start again."""
    stream.seek(0)
    sha = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
    stream.seek(0)
    return sha.hexdigest()


class Counted(io.RawIOBase):
    """A binary stream that counts the bytes read through it (for a progress bar)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


@dataclass(frozen=True)
class Record:
    line: int  # the line of the file the record starts on (the header is line 1)
    cells: list[str]  # as in the file, for the error file
    values: dict[str, str]  # by column, neutralising quotes removed; "" for an empty cell


class Reader:
    """The records of a CSV file (UTF-8, an optional BOM, a header row), from a binary stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.counted = Counted(stream)
        text = io.TextIOWrapper(
            io.BufferedReader(self.counted, CHUNK), encoding="utf-8-sig", newline=""
        )
        self._rows = csv.reader(text)
        self._line = 0
        self.header = self._header()

    def _header(self) -> list[str]:
        first = self._next()
        if first is None:
            raise Invalid("the file is empty: it needs a header row", code="empty_file")
        header = [sheets.plain(name.strip()) for name in first[1]]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise Invalid(
                f"the header names a column more than once: {', '.join(repeated)}",
                code="bad_header",
            )
        return header

    def _next(self) -> tuple[int, list[str]] | None:
        """The next non-blank row and the line it starts on."""
        while True:
            start = self._line + 1
            try:
                cells = next(self._rows)
            except StopIteration:
                return None
            except UnicodeDecodeError:
                raise Invalid(
                    f"line {start}: the file is not UTF-8 text (save it as CSV UTF-8)",
                    code="bad_encoding",
                ) from None
            except csv.Error as exc:
                raise Invalid(
                    f"line {start}: the file is not valid CSV ({exc})", code="bad_csv"
                ) from None
            self._line = self._rows.line_num
            if cells:
                return start, cells

    def require(self, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise Invalid(
                f"the header has no {', '.join(missing)} column (it has: {', '.join(self.header)})",
                code="bad_header",
            )

    def records(self) -> Iterator[Record | tuple[int, list[str], str]]:
        """Each record, or (line, cells, reason) for one that cannot be read as a row."""
        width = len(self.header)
        while (found := self._next()) is not None:
            line, cells = found
            if len(cells) != width:
                yield line, cells, f"expected {width} cells as in the header, found {len(cells)}"
            elif any(NUL in c for c in cells):
                yield line, cells, "a cell holds a NUL character"
            else:
                values = {name: sheets.plain(c) for name, c in zip(self.header, cells, strict=True)}
                yield Record(line, cells, values)
