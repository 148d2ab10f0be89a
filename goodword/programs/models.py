from __future__ import annotations

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


class Program(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        ENDED = "ended"

    class Trigger(models.TextChoices):
        SIGNUP = "signup"
        PURCHASE = "purchase"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_prg_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # The language of its messages to people whose own is not known ("": the workspace's).
    language = models.CharField(max_length=8, blank=True, default="")
    destination_url = models.URLField(max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    trigger_event = models.CharField(
        max_length=16, choices=Trigger.choices, default=Trigger.PURCHASE
    )
    # Minimum order amount for a purchase to count, in the minor units of `currency`.
    min_amount = models.BigIntegerField(null=True, blank=True)
    first_purchase_only = models.BooleanField(default=True)
    currency = models.CharField(max_length=3, default="USD")
    hold_days = models.PositiveIntegerField(default=30)
    attribution_days = models.PositiveIntegerField(default=30)
    # `/r/<code>` shows the friend a landing page (the offer, its terms, an email claim form)
    # before the destination; False: straight to the destination, as links always did.
    landing_page = models.BooleanField(default=False)
    # `programs.rules.TiersSpec` (ambassador levels), or {} for none.
    tiers = models.JSONField(default=dict, blank=True)
    # `programs.rules.ExperimentSpec` (offer variants and a holdout), or {} for none.
    experiment = models.JSONField(default=dict, blank=True)
    # `programs.rules.EligibilitySpec`: who may be enrolled; {} for everyone.
    eligibility = models.JSONField(default=dict, blank=True)
    # Every change of configuration is a new version, kept in `ProgramVersion`.
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True) | Q(min_amount__gte=0),
                name="program_min_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(hold_days__lte=3650) & Q(attribution_days__lte=3650),
                name="program_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class RewardRule(models.Model):
    """What one beneficiary earns when a referral in the program converts."""

    class Beneficiary(models.TextChoices):
        ADVOCATE = "advocate"
        FRIEND = "friend"

    class RefundPolicy(models.TextChoices):
        # What a partial refund of the converting order does to the reward; a refund of the
        # whole order always reverses it.
        THRESHOLD = "threshold"  # reversed if what is left falls below the minimum
        PROPORTIONAL = "proportional"  # a percent_of_order reward shrinks with the order
        FULL = "full"  # reversed by any refund

    class Kind(models.TextChoices):
        CREDIT = "credit"  # store credit, posted to the ledger
        COUPON = "coupon"  # a coupon code: fixed `amount` off, or `percent_off`
        CASH = "cash"  # money owed (a commission), paid out in payout batches
        POINTS = "points"  # credit in the pseudo-currency PTS
        PRODUCT = "product"  # a free product (`sku`), through the fulfilment queue
        GIFT_CARD = "gift_card"  # through the fulfilment queue
        CHARITY = "charity"  # a donation to `cause`, through the fulfilment queue
        CUSTOM = "custom"  # `description`, through the fulfilment queue

    class Trigger(models.TextChoices):
        CONVERSION = "conversion"  # the referral converts (the program's trigger)
        SUBSCRIPTION_PAYMENT = "subscription_payment"  # each of the friend's payments after
        NPS = "nps"  # the friend's first NPS answer after the conversion
        EVENT = "event"  # the friend's first custom event `event_name` after the conversion

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rules")
    beneficiary = models.CharField(max_length=16, choices=Beneficiary.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # Credit worth this percentage of the converting order (a commission), instead of `amount`.
    percent_of_order = models.PositiveSmallIntegerField(null=True, blank=True)
    refund_policy = models.CharField(
        max_length=16, choices=RefundPolicy.choices, default=RefundPolicy.THRESHOLD
    )
    name = models.CharField(max_length=100, blank=True, default="")
    # `programs.rules.ConditionsSpec`, only the conditions given.
    conditions = models.JSONField(default=dict, blank=True)
    hold_days = models.PositiveIntegerField(null=True, blank=True)  # the program's when null
    caps = models.JSONField(default=list, blank=True)  # `programs.rules.CapSpec`s
    milestone = models.JSONField(null=True, blank=True)  # `programs.rules.MilestoneSpec`
    # Credit: unspent credit expires this many days after approval, with a notice before.
    expires_days = models.PositiveIntegerField(null=True, blank=True)
    expiry_notice_days = models.PositiveIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    coupon = models.JSONField(null=True, blank=True)  # `programs.rules.CouponSpec`
    sku = models.CharField(max_length=100, blank=True, default="")
    cause = models.CharField(max_length=200, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    trigger = models.CharField(max_length=24, choices=Trigger.choices, default=Trigger.CONVERSION)
    event_name = models.CharField(max_length=64, blank=True, default="")
    recurring_months = models.PositiveIntegerField(null=True, blank=True)  # null: forever
    max_total = models.BigIntegerField(null=True, blank=True)  # per referral, recurring
    choices = models.JSONField(null=True, blank=True)  # `programs.rules.OfferSpec`s
    choice_days = models.PositiveIntegerField(null=True, blank=True)
    # Changing a program's rewards retires its rules rather than deleting them: rewards
    # already granted keep pointing at the rule that earned them.
    is_active = models.BooleanField(default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        # What each kind takes is checked by `programs.rules.OfferSpec`; the rows only keep
        # values in range.
        constraints = [
            models.CheckConstraint(
                condition=(Q(amount__isnull=True) | Q(amount__gt=0))
                & (Q(percent_off__isnull=True) | Q(percent_off__gte=1, percent_off__lte=100))
                & (
                    Q(percent_of_order__isnull=True)
                    | Q(percent_of_order__gte=1, percent_of_order__lte=100)
                ),
                name="rule_values_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.beneficiary}: {self.kind}"


class ProgramVersion(models.Model):
    """A program's whole configuration as it was from one change to the next (the document
    `GET /programs/{id}/config` exports and `POST /programs` imports)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="one_program_version")
        ]

    def __str__(self) -> str:
        return f"{self.program_id} v{self.number}"


class Counter(models.Model):
    """What a program has granted, kept up to date as it changes, for caps, tiers and
    milestones to read without a scan: per (rule, scope, scope id) rewards and their value, or
    per (program, "referrals", advocate's participant) qualified referrals and their revenue;
    one row per UTC day of the conversions, and one for all time (`day` = `LIFETIME`)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    rule_id = models.BigIntegerField(default=0)  # 0 for a program's referrals
    scope = models.CharField(max_length=16)  # advocate | friend | program | referrals
    scope_id = models.BigIntegerField(default=0)  # a participant's id; 0 for the program
    day = models.DateField()
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "rule_id", "scope", "scope_id", "day"], name="one_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.scope}/{self.scope_id} {self.day}: {self.count}"
