from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin
from goodword.rewards.models import LedgerEntry, LedgerTransaction, Redemption, Reward


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "beneficiary",
        "participant",
        "kind",
        "amount",
        "currency",
        "status",
        "hold_until",
    )
    list_filter = ("status", "kind", "workspace")
    search_fields = ("public_id", "participant__external_id")


class EntryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount", "created_at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "key", "workspace", "created_at")
    list_filter = ("kind", "workspace")
    inlines = [EntryInline]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "participant", "order_id", "amount", "currency", "created_at")
