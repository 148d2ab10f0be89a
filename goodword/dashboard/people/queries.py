"""The reads of the participants and advocates pages: counts as annotations (one query per
list, never one per row) and rewards earned per currency for a page of advocates. A
participant's balances are `goodword.rewards.queries.balances`, as the API shows them."""

from __future__ import annotations

from collections.abc import Iterable

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
