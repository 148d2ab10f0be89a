"""Lists with search, filters, sorting and pages, from the query string, so every view of a
list has a URL (`?q=bob&status=pending&sort=-created_at&page=2`) that can be shared, and
works without JavaScript (htmx only swaps the table in place)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest

PER_PAGE = 50


@dataclass(frozen=True)
class Filter:
    """A select box: `choices` are (value, label); the value filters `lookup`."""

    label: str
    lookup: str
    choices: Sequence[tuple[str, str]]


@dataclass
class Listing:
    page: Page[Any]
    query: str
    sort: str
    params: dict[str, str] = field(default_factory=dict)  # the list's state, minus the page
    filters: dict[str, tuple[Filter, str]] = field(default_factory=dict)  # name -> (it, value)
    sorts: Sequence[str] = ()

    @property
    def rows(self) -> list[Any]:
        return list(self.page.object_list)

    def url(self, **changes: str | int | None) -> str:
        """This list's query string with some parameters changed (None removes one)."""
        params: dict[str, Any] = {**self.params, **changes}
        return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})

    def sort_url(self, key: str) -> str:
        """A column header's link: sort by it, or the other way when it is the sort now."""
        return self.url(sort=("-" + key) if self.sort == key else key, page=None)


def listing(
    request: HttpRequest,
    rows: QuerySet[Any],
    *,
    search: Sequence[str] = (),
    filters: dict[str, Filter] | None = None,
    sorts: Sequence[str] = (),
    default_sort: str = "-created_at",
    per_page: int = PER_PAGE,
) -> Listing:
    """Apply the request's `q` (a case-insensitive `contains` on each of `search`), filters
    (only the values offered), `sort` (one of `sorts`, `-` for descending; unknown ones fall
    back to `default_sort`) and `page` to `rows`."""
    params: dict[str, str] = {}
    query = request.GET.get("q", "").strip()[:200]
    if query and search:
        condition = Q()
        for name in search:
            condition |= Q(**{f"{name}__icontains": query})
        rows = rows.filter(condition)
        params["q"] = query
    chosen: dict[str, tuple[Filter, str]] = {}
    for name, spec in (filters or {}).items():
        value = request.GET.get(name, "")
        if value in {v for v, _ in spec.choices}:
            rows = rows.filter(**{spec.lookup: value})
            params[name] = value
        chosen[name] = (spec, value if name in params else "")
    sort = request.GET.get("sort", default_sort)
    if sort.lstrip("-") not in sorts:
        sort = default_sort
    if sort != default_sort:
        params["sort"] = sort
    rows = rows.order_by(sort, "-pk" if sort.startswith("-") else "pk")
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    return Listing(page=page, query=query, sort=sort, params=params, filters=chosen, sorts=sorts)
