"""Cursor pagination: newest first; the cursor is the public id of the last row returned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from goodword.lib.errors import DomainError

M = TypeVar("M", bound=Model)

MAX_LIMIT = 100


def paginate(
    qs: QuerySet[M], *, cursor: str | None, limit: int, render: Callable[[M], Any]
) -> dict[str, Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    if cursor:
        anchor = qs.filter(public_id=cursor).values_list("pk", flat=True).first()
        if anchor is None:
            raise DomainError("cursor is not valid for this list", code="invalid_cursor")
        qs = qs.filter(pk__lt=anchor)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "data": [render(row) for row in rows],
        "next_cursor": getattr(rows[-1], "public_id") if more else None,  # noqa: B009
    }
