from __future__ import annotations

from django.db import models
from django.db.models import Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.referrals.models import Referral


class Reward(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # in its hold period
        APPROVED = "approved"
        FULFILLED = "fulfilled"
        REJECTED = "rejected"
        REVERSED = "reversed"
        EXPIRED = "expired"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_rwd_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    program = models.ForeignKey(Program, on_delete=models.CASCADE)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="rewards")
    rule = models.ForeignKey(RewardRule, on_delete=models.PROTECT)
    beneficiary = models.CharField(max_length=16, choices=RewardRule.Beneficiary.choices)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=RewardRule.Kind.choices)
    amount = models.BigIntegerField(null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    coupon_code = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    hold_until = models.DateTimeField()
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "rule", "beneficiary"], name="one_reward_per_rule"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="reward_amount_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "hold_until"]),
            models.Index(fields=["workspace", "participant", "status"]),
        ]

    def __str__(self) -> str:
        return self.public_id


class LedgerAccount(models.Model):
    """A ledger account. Participant accounts hold credit (`credit`) or what the participant
    owes after a clawback found the credit already spent (`debt`, balance <= 0); workspace
    accounts are the other side of every movement (`rewards`, `redemptions`)."""

    class Kind(models.TextChoices):
        CREDIT = "credit"
        DEBT = "debt"
        REWARDS = "rewards"
        REDEMPTIONS = "redemptions"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    participant = models.ForeignKey(Participant, null=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "participant", "kind", "currency"],
                condition=Q(participant__isnull=False),
                name="one_participant_account_per_kind",
            ),
            models.UniqueConstraint(
                fields=["workspace", "kind", "currency"],
                condition=Q(participant__isnull=True),
                name="one_workspace_account_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.currency}"


class LedgerTransaction(models.Model):
    """A balanced set of entries. `key` makes posting idempotent: one per (workspace, key)."""

    class Kind(models.TextChoices):
        REWARD = "reward"
        CLAWBACK = "clawback"
        REDEMPTION = "redemption"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_txn_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=200)
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.PROTECT)
    memo = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="one_transaction_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT)
    amount = models.BigIntegerField()  # signed minor units; a transaction's entries sum to 0
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_not_zero")]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"


class Redemption(models.Model):
    """Credit spent on an order. One per (workspace, order_id): retries return the first."""

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_rdm_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    order_id = models.CharField(max_length=255)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "order_id"], name="one_redemption_per_order"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="redemption_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount} {self.currency}"
