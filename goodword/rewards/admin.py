from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin, ReadOnlyInline
from goodword.rewards.models import (
    CreditAdjustment,
    LedgerEntry,
    LedgerTransaction,
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
