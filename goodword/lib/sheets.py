"""CSV files that spreadsheets open safely: a cell that starts like a formula (`=`, `+`, `-`,
`@`, tab, CR) is prefixed with `'`, so a participant named `=HYPERLINK(...)` stays text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralised(text: str) -> bool:
    """Whether `text` is one that `cell` prefixes: one that starts like a formula, or such a
    text behind quotes of its own (`'=x`), so that `plain` can tell the two apart."""
    return text.lstrip("'").startswith(_FORMULA_STARTS)


def cell(value: Any) -> str:
    """A value as a spreadsheet will show it: formulas neutralised; None as empty."""
    text = "" if value is None else str(value)
    return "'" + text if _neutralised(text) else text


def plain(text: str) -> str:
    """The value `cell` was given: the inverse of `cell` for text (an import of an export)."""
    if not text.startswith("'"):
        return text  # most cells: one test, as an import reads millions
    return text[1:] if _neutralised(text[1:]) else text


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A CSV download: `header`, then `rows`."""
    response = HttpResponse(to_csv([header, *rows]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
