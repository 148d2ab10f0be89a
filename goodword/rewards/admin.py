from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin, ReadOnlyInline
from goodword.rewards.models import (
    CouponPool,
    CreditAdjustment,
    Fulfilment,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutBatch,
    Redemption,
    Reward,
)


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "source",
        "beneficiary",
        "participant",
        "kind",
        "amount",
        "currency",
        "status",
        "hold_until",
    )
    list_filter = ("status", "source", "kind", "workspace")
    search_fields = ("public_id", "participant__external_id")


class EntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("account", "amount", "created_at")
    readonly_fields = fields


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "key", "workspace", "created_at")
    list_filter = ("kind", "workspace")
    inlines = [EntryInline]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "participant", "order_id", "amount", "currency", "created_at")


@admin.register(CreditAdjustment)
class CreditAdjustmentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "participant",
        "amount",
        "currency",
        "reason",
        "actor",
        "created_at",
    )
    list_filter = ("workspace",)
    search_fields = ("public_id", "participant__external_id", "key")


@admin.register(Fulfilment)
class FulfilmentAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "reward", "status", "waiting_for", "reference", "created_at")
    list_filter = ("status", "workspace")
    search_fields = ("public_id", "reward__public_id", "reference")


@admin.register(CouponPool)
class CouponPoolAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "name", "workspace", "low_threshold", "created_at")
    list_filter = ("workspace",)


class PayoutInline(ReadOnlyInline):
    model = Payout
    fields = ("public_id", "participant", "amount", "currency", "status", "reference")
    readonly_fields = fields


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "workspace", "currency", "status", "created_at", "approved_at")
    list_filter = ("status", "workspace")
    inlines = [PayoutInline]
