from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from goodword.accounts.models import Workspace
from goodword.lib import ids
from goodword.lib.models import TenantQuerySet
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.referrals.models import Referral


def new_adj_id() -> str:
    return ids.new_id("adj")


class Reward(models.Model):
    """What a participant earns: from a program's rule when a referral converts (`rule`), or
    granted by hand (`manual`: no referral, no rule, a `reason`)."""

    class Source(models.TextChoices):
        RULE = "rule"
        MANUAL = "manual"

    class Status(models.TextChoices):
        PENDING = "pending"  # in its hold period
        APPROVED = "approved"
        # Approved, and waiting for something outside the ledger before the beneficiary has
        # it: a queued kind's fulfilment (a Fulfilment row), or a code from an empty pool.
        PENDING_FULFILMENT = "pending_fulfilment"
        FULFILLED = "fulfilled"
        REJECTED = "rejected"
        REVERSED = "reversed"
        EXPIRED = "expired"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_rwd_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    # A manual reward may name a program (for reports), and has neither referral nor rule.
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE)
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="rewards"
    )
    rule = models.ForeignKey(RewardRule, null=True, blank=True, on_delete=models.PROTECT)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.RULE)
    # Blank for a manual reward: it is not earned as the advocate or the friend of a referral.
    beneficiary = models.CharField(
        max_length=16, choices=RewardRule.Beneficiary.choices, blank=True
    )
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=RewardRule.Kind.choices)
    amount = models.BigIntegerField(null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    coupon_code = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True, default="")  # why granted by hand
    # Why it was rejected or reversed by hand (a refund's reversal leaves it blank).
    status_reason = models.CharField(max_length=500, blank=True, default="")
    fulfilment_reference = models.CharField(max_length=255, blank=True, default="")
    hold_until = models.DateTimeField()
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # Credit of a rule with `expires_days`: set on approval. What is unspent of it at
    # `expires_at` expires (goodword/rewards/expiry.py); `expired_at` is when the sweep settled
    # that (maybe nothing was left), `expiry_notified_at` when it announced it.
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_notice_at = models.DateTimeField(null=True, blank=True)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # A rule triggered after the conversion (subscription payments, an NPS answer, a custom
    # event) grants once per triggering event: its public id; "" for a conversion's reward.
    trigger_event = models.CharField(max_length=32, blank=True, default="")
    # When it was earned, in business time: the conversion, or the triggering event. Caps
    # count a reward on this day. (Null only for manual rewards.)
    earned_at = models.DateTimeField(null=True, blank=True)
    program_version = models.PositiveIntegerField(null=True, blank=True)  # that granted it
    # What a queued kind gives (`sku`, `cause`, `description`) and a coupon's `min_order`.
    details = models.JSONField(default=dict, blank=True)
    coupon_expires_at = models.DateTimeField(null=True, blank=True)
    coupon_used_at = models.DateTimeField(null=True, blank=True)  # an order carried the code
    # Recipient's choice: the offers (`programs.rules.OfferSpec`s) the beneficiary may take
    # instead of this reward until `choose_by`; cleared when they choose.
    choices = models.JSONField(null=True, blank=True)
    choose_by = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "rule", "beneficiary", "trigger_event"],
                name="one_reward_per_rule",
            ),
            # Only credit and points expire; a notice date needs an expiry, and comes before it.
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True, expiry_notice_at__isnull=True)
                | Q(
                    kind__in=["credit", "points"],
                    expires_at__isnull=False,
                    expiry_notice_at__isnull=True,
                )
                | Q(
                    kind__in=["credit", "points"],
                    expires_at__isnull=False,
                    expiry_notice_at__lt=F("expires_at"),
                ),
                name="reward_expiry_credit_only",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="reward_amount_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(source="rule", referral__isnull=False, rule__isnull=False)
                    & ~Q(beneficiary="")
                )
                | (
                    Q(source="manual", referral__isnull=True, rule__isnull=True, beneficiary="")
                    & ~Q(reason="")
                ),
                name="reward_source_fields",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "hold_until"]),
            models.Index(
                fields=["workspace", "coupon_code"],
                condition=~Q(coupon_code=""),
                name="reward_coupon_code",
            ),
            models.Index(fields=["workspace", "participant", "status"]),
            # The dashboard's list, newest first: a page of it reads 50 index entries.
            models.Index(fields=["workspace", "created_at", "id"]),
            # The expiry sweeps' queues: only rewards still to settle or announce.
            models.Index(
                fields=["expires_at"],
                condition=Q(expired_at__isnull=True, expires_at__isnull=False),
                name="reward_expiry_due",
            ),
            models.Index(
                fields=["expiry_notice_at"],
                condition=Q(expiry_notified_at__isnull=True, expiry_notice_at__isnull=False),
                name="reward_expiry_notice_due",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class LedgerAccount(models.Model):
    """A ledger account. Participant accounts hold credit (`credit`) or what the participant
    owes after a clawback found the credit already spent (`debt`, balance <= 0); workspace
    accounts are the other side of every movement (`rewards`, `redemptions`, `adjustments`)."""

    class Kind(models.TextChoices):
        CREDIT = "credit"
        DEBT = "debt"
        REWARDS = "rewards"
        REDEMPTIONS = "redemptions"
        ADJUSTMENTS = "adjustments"
        PAYABLE = "payable"  # cash owed to a participant, not yet in a payout (>= 0)
        PAYING = "paying"  # a participant's cash in an approved payout batch (>= 0)
        PAID = "paid"  # the workspace's cash paid out (goodword/rewards/payouts.py)

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
        ADJUSTMENT = "adjustment"
        EXPIRY = "expiry"  # unspent credit of a reward, past its `expires_at`
        PAYOUT = "payout"  # payable cash into a payout batch, paid, or back when it failed

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


class CreditAdjustment(models.Model):
    """A correction of a participant's credit by hand, with its reason and who made it.

    One per (workspace, key) when the caller gives a `key`: retries return the first.
    """

    public_id = models.CharField(max_length=32, unique=True, default=new_adj_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    amount = models.BigIntegerField()  # signed minor units: > 0 adds credit, < 0 takes it
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    key = models.CharField(max_length=255, blank=True, default="")
    actor = models.CharField(max_length=100)  # `api_key:<public id>` or `user:<id>`
    transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key"], condition=~Q(key=""), name="one_adjustment_per_key"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_reason_given"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}: {self.reason[:40]}"


def new_ful_id() -> str:
    return ids.new_id("ful")


def new_cpl_id() -> str:
    return ids.new_id("cpl")


def new_cpn_id() -> str:
    return ids.new_id("cpn")


def new_pob_id() -> str:
    return ids.new_id("pob")


def new_pay_id() -> str:
    return ids.new_id("pay")


class Fulfilment(models.Model):
    """An approved reward the business must still deliver: a queued kind (product, gift card,
    charity, custom), or a pool coupon waiting for codes. Done with the business's reference,
    by hand or through the API; a pool coupon's is done when codes arrive."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        CANCELLED = "cancelled"  # the reward was reversed first

    public_id = models.CharField(max_length=32, unique=True, default=new_ful_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    reward = models.OneToOneField(Reward, on_delete=models.CASCADE, related_name="fulfilment")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    waiting_for = models.CharField(max_length=32, blank=True, default="")  # e.g. "pool_codes"
    reference = models.CharField(max_length=255, blank=True, default="")
    actor = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "status", "created_at"])]

    def __str__(self) -> str:
        return self.public_id


class CouponPool(models.Model):
    """Codes a business uploaded (made in its shop), drawn one per coupon reward."""

    public_id = models.CharField(max_length=32, unique=True, default=new_cpl_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    low_threshold = models.PositiveIntegerField(default=0)  # `coupon_pool.low` at this many left
    low_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class CouponCode(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_cpn_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    pool = models.ForeignKey(CouponPool, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=40)
    reward = models.OneToOneField(
        Reward, null=True, blank=True, on_delete=models.SET_NULL, related_name="pool_code"
    )
    created_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "code"], name="one_code_per_pool")]
        indexes = [
            models.Index(fields=["workspace", "code"]),  # attribution by a code on an order
            # The next free code of a pool.
            models.Index(
                fields=["pool", "id"], condition=Q(reward__isnull=True), name="coupon_code_free"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PayoutBatch(models.Model):
    """Approved cash rewards grouped per advocate, paid together outside Goodword."""

    class Status(models.TextChoices):
        DRAFT = "draft"  # proposed; nothing moved yet
        APPROVED = "approved"  # payable moved to `paying`; export and pay it
        CLOSED = "closed"  # every payout is paid or failed
        CANCELLED = "cancelled"  # a draft thrown away

    public_id = models.CharField(max_length=32, unique=True, default=new_pob_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    currency = models.CharField(max_length=3)
    min_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.CharField(max_length=100, blank=True, default="")
    approved_by = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return self.public_id


class Payout(models.Model):
    """What one advocate is paid in a batch."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        PAID = "paid"
        FAILED = "failed"  # the money went back to payable

    public_id = models.CharField(max_length=32, unique=True, default=new_pay_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name="payouts")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    reference = models.CharField(max_length=255, blank=True, default="")
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "participant"], name="one_payout_per_batch"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.public_id
