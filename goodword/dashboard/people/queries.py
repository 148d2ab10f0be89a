"""The reads of the participants and advocates pages: counts as annotations (one query per
list, never one per row) and rewards earned per currency for a page of advocates. A
participant's balances are `goodword.rewards.queries.balances`, as the API shows them.

Sorted by referrals or conversions, the advocates are ordered by the analytics rollups'
per-advocate totals (`AdvocateTotal`, caught up first: equal to counting the referrals), and
only the page's advocates have their referrals counted: ordering by the counts counted every
advocate's referrals (5.6 s at a million referrals on SQLite)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from goodword.accounts.models import Workspace
from goodword.analytics import queries as analytics
from goodword.analytics import rollups
from goodword.analytics.models import AdvocateTotal
from goodword.analytics.scope import Scope
from goodword.participants.models import Advocate, Participant
from goodword.programs.models import RewardRule
from goodword.referrals.models import Referral


def participant_rows(workspace: Workspace) -> QuerySet[Participant]:
    """Participants with `programs` (how many they advocate in) and `is_advocate` ("yes" or
    "no", for the list's filter)."""
    advocacies = (
        Advocate.objects.filter(participant=OuterRef("pk"))
        .order_by()
        .values("participant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Participant.objects.for_workspace(workspace)
        .annotate(programs=Coalesce(Subquery(advocacies, output_field=IntegerField()), 0))
        .annotate(
            is_advocate=Case(
                When(programs__gt=0, then=Value("yes")),
                default=Value("no"),
                output_field=CharField(),
            )
        )
    )


def _per_advocate(referrals: QuerySet[Referral]) -> Coalesce:
    rows = (
        referrals.filter(advocate_id=OuterRef("pk"))
        .order_by()
        .values("advocate_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def advocate_rows(workspace: Workspace) -> QuerySet[Advocate]:
    """Advocates with their participant and program, `referrals_made` (friends who came) and
    `conversions` (converted and not reversed since), as the analytics pages count them."""
    scope = Scope(workspace_id=workspace.pk)
    return (
        Advocate.objects.for_workspace(workspace)
        .select_related("participant", "program")
        .annotate(
            referrals_made=_per_advocate(analytics.came(scope)),
            conversions=_per_advocate(analytics.converted(scope)),
        )
    )


# The list's sorts read from the totals: the sort's key -> the totals' column.
TOTAL_SORTS = {"referrals_made": "came", "conversions": "converted"}


class ByTotal:
    """Advocates (`advocate_rows`, searched and filtered) in the order of one of their totals,
    ties by id the same way, as a paginator's rows: a page's ids are ordered with the totals
    joined once (a hash join on PostgreSQL), then only that page's rows are read, counted as
    ever. Ordering the rows by a subquery of the totals looked each advocate's totals up one
    by one (2 s at 125,000 advocates on PostgreSQL, its plan costly enough to be compiled by
    JIT), and SQLite computes a row's every column before sorting."""

    def __init__(
        self, rows: QuerySet[Advocate], workspace: Workspace, sort: str, *, narrowed: bool
    ) -> None:
        self.rows = rows.order_by()
        self.workspace = workspace
        self.narrowed = narrowed  # searched or filtered: not every advocate of the workspace
        self.column = TOTAL_SORTS[sort.lstrip("-")]
        self.direction = "DESC" if sort.startswith("-") else "ASC"

    def __len__(self) -> int:
        return self.rows.count()

    def __getitem__(self, cut: slice) -> list[Advocate]:
        offset = cut.start or 0
        limit = (cut.stop if cut.stop is not None else len(self)) - offset
        return self.rows_of(self.ids(offset, limit)) if limit > 0 else []

    def rows_of(self, ids: list[int]) -> list[Advocate]:
        """These advocates' rows, in this order."""
        found = self.rows.in_bulk(ids)
        return [found[pk] for pk in ids]

    def ids(self, offset: int, limit: int) -> list[int]:
        chosen, params = self.rows.values("pk").query.sql_with_params()
        where = f"a.id IN ({chosen})"
        if not self.narrowed:  # the same rows, without reading the ids to match them first
            where, params = "a.workspace_id = %s", (self.workspace.pk,)
        totals, advocates = AdvocateTotal._meta.db_table, Advocate._meta.db_table
        # Summed per advocate: the totals are kept per program of the rows counted.
        statement = f"""SELECT a.id FROM {advocates} a LEFT JOIN (
  SELECT advocate_id, SUM({self.column}) AS n FROM {totals} WHERE workspace_id = %s
  GROUP BY advocate_id) t ON t.advocate_id = a.id
WHERE {where}
ORDER BY COALESCE(t.n, 0) {self.direction}, a.id {self.direction} LIMIT %s OFFSET %s"""  # noqa: S608 - tables, a column and a direction of fixed values
        with connection.cursor() as cursor:
            cursor.execute(statement, [self.workspace.pk, *params, limit, offset])
            return [pk for (pk,) in cursor.fetchall()]


def by_total(
    rows: QuerySet[Advocate], workspace: Workspace, sort: str, *, narrowed: bool
) -> ByTotal | None:
    """`rows` as a page is cut from them when `sort` is by one of the totals, the rollups
    caught up; None when it is not, or when every number is computed from the rows."""
    if sort.lstrip("-") not in TOTAL_SORTS or Scope(workspace_id=workspace.pk).raw:
        return None
    rollups.catch_up()
    return ByTotal(rows, workspace, sort, narrowed=narrowed)


def rewards_earned(
    workspace: Workspace, advocates: Iterable[int]
) -> dict[int, list[tuple[int, str]]]:
    """Per advocate id: (amount, currency) of what they earned as the advocate of their
    referrals, one per currency (points as "PTS"): rewards pending, approved or fulfilled, at
    face value net of what partial refunds took back, as the leaderboard counts them. A
    reward without an amount (a percentage coupon) adds nothing."""
    scope = Scope(workspace_id=workspace.pk)
    rewards = analytics.rewards(scope).filter(
        beneficiary=RewardRule.Beneficiary.ADVOCATE, referral__advocate_id__in=list(advocates)
    )
    totals: dict[int, dict[str, int]] = {}
    for row in analytics.reward_value_by(rewards, "referral__advocate_id"):
        if analytics.REWARD_GROUPS[row["status"]] in analytics.COST_GROUPS and row["amount"]:
            mine = totals.setdefault(row["referral__advocate_id"], {})
            mine[row["currency"]] = mine.get(row["currency"], 0) + int(row["amount"])
    return {
        advocate: [(amount, cur) for cur, amount in sorted(sums.items()) if amount]
        for advocate, sums in totals.items()
    }
