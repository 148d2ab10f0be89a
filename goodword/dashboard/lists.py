"""Lists with search, filters, sorting and pages, from the query string, so every view of a
list has a URL (`?q=bob&status=pending&sort=-created_at&page=2`) that can be shared, and
works without JavaScript (htmx only swaps the table in place)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import F, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

PER_PAGE = 50
# Rows counted for a list's total, at least: past it the page says "more than 10,000". A
# count of every row of a million-row table took 400 ms on PostgreSQL; this many, a few.
COUNT_CAP = 10_000


class CappedPaginator(Paginator[Any]):
    """A paginator that counts at most `cap` rows, or a page past the one asked for, so that
    the count stays cheap on large tables and "next" still knows whether there is more."""

    def __init__(self, rows: Any, per_page: int, page_number: str | None, cap: int) -> None:
        super().__init__(rows, per_page)
        wanted = int(page_number) if page_number and page_number.isdigit() else 1
        self.limit = max(cap, (min(wanted, 10**6) + 1) * per_page) + 1

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # Only the keys: the columns a page shows (subqueries, some) are not computed
            # for ten thousand rows to count them.
            return int(rows.order_by().values("pk")[: self.limit].count())
        return min(len(rows), self.limit)

    @property
    def capped(self) -> bool:
        """The count stopped at the limit: there are more rows than it says."""
        return self.count >= self.limit

    @property
    def total(self) -> str:
        """The count as the page says it: "1,234", or "more than 10,000"."""
        if self.capped:
            return f"more than {self.limit - 1:,}"
        return f"{self.count:,}"


@dataclass(frozen=True)
class Filter:
    """A select box: `choices` are (value, label); the value filters `lookup`."""

    label: str
    lookup: str
    choices: Sequence[tuple[str, str]]


class Listing:
    """A list's state and rows. Either give `page` (a page already cut, of any sequence) or
    `ordered` (every row the search and filters keep, in the chosen order: what an export
    writes), from which the page asked for is cut on first use: cutting it counts the rows,
    which an export does not need."""

    def __init__(
        self,
        page: Page[Any] | None = None,
        query: str = "",
        sort: str = "",
        params: dict[str, str] | None = None,  # the list's state, minus the page
        filters: dict[str, tuple[Filter, str]] | None = None,  # name -> (it, value)
        sorts: Sequence[str] = (),
        *,
        ordered: QuerySet[Any] | None = None,
        per_page: int = PER_PAGE,
        page_number: str | None = None,
    ) -> None:
        if page is None and ordered is None:
            raise ValueError("a Listing needs a page or its ordered rows")
        self._page = page
        self._ordered = ordered
        self.query = query
        self.sort = sort
        self.params = params or {}
        self.filters = filters or {}
        self.sorts = sorts
        self.per_page = per_page
        self.page_number = page_number

    @property
    def ordered(self) -> QuerySet[Any]:
        if self._ordered is None:
            raise TypeError("this Listing was given a page, not its rows")
        return self._ordered

    @property
    def page(self) -> Page[Any]:
        if self._page is None:
            paginator = CappedPaginator(self.ordered, self.per_page, self.page_number, COUNT_CAP)
            self._page = paginator.get_page(self.page_number)
        return self._page

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
    back to `default_sort`; rows without a value come last either way) and `page` to `rows`."""
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
    rows = rows.order_by(*_order(rows.model, sort))
    return Listing(
        ordered=rows,
        query=query,
        sort=sort,
        params=params,
        filters=chosen,
        sorts=sorts,
        per_page=per_page,
        page_number=request.GET.get("page"),
    )


def _order(model: type[Model], sort: str) -> tuple[Any, ...]:
    """`sort` with empty (null) values last both ways (SQLite and PostgreSQL disagree on where
    nulls go by default), then the primary key in the same direction, so pages are stable.
    A column that cannot be null is ordered plainly: `NULLS LAST` on a descending sort keeps
    PostgreSQL from reading an index backwards (a page of a million referrals took 1 s)."""
    key = sort.lstrip("-")
    if not _nullable(model, key):
        return (key, "pk") if key == sort else (sort, "-pk")
    if sort.startswith("-"):
        return F(key).desc(nulls_last=True), "-pk"
    return F(key).asc(nulls_last=True), "pk"


def _nullable(model: type[Model], path: str) -> bool:
    """Whether the field at `path` (`a__b`) may hold null; True when it cannot be told."""
    try:
        *relations, name = path.split("__")
        for relation in relations:
            model = model._meta.get_field(relation).related_model  # type: ignore[assignment]
        return bool(model._meta.get_field(name).null) or bool(relations)
    except (FieldDoesNotExist, AttributeError):
        return True
