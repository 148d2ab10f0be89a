from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.programs.models import Program


def new_goal_id() -> str:  # named: the migration refers to it
    return ids.new_id("goal")


class Goal(models.Model):
    """A target for one metric over whole UTC days from `start` to `end`, both included.

    A named period ("this quarter") is turned into its dates when the goal is made: the stored
    period never moves. Money metrics have a `currency` (the number is only that currency's);
    the others have none.
    """

    class Metric(models.TextChoices):
        REFERRED_CUSTOMERS = "referred_customers", "Referred customers"
        REFERRALS = "referrals", "Friends who came"
        CLICKS = "clicks", "Clicks"
        ADVOCATES_SHARING = "advocates_sharing", "Advocates sharing"
        REVENUE = "revenue", "Revenue, net of refunds"
        REWARD_COST = "reward_cost", "Reward cost"

    public_id = models.CharField(max_length=32, unique=True, default=new_goal_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    # None: the workspace's every program together.
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    metric = models.CharField(max_length=32, choices=Metric.choices)
    # A count, or an amount in minor units of `currency` for a money metric.
    target = models.BigIntegerField()
    currency = models.CharField(max_length=3, blank=True, default="")
    start = models.DateField()
    end = models.DateField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(target__gt=0), name="goal_target_positive"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="goal_period_forwards"),
            models.CheckConstraint(
                condition=(Q(metric__in=["revenue", "reward_cost"]) & ~Q(currency=""))
                | (~Q(metric__in=["revenue", "reward_cost"]) & Q(currency="")),
                name="goal_currency_for_money_only",
            ),
        ]

    def __str__(self) -> str:
        return self.name
