from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin
from goodword.programs.models import Program, RewardRule


class RuleInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RewardRule
    extra = 0
    can_delete = False
    readonly_fields = ("beneficiary", "kind", "amount", "percent_off", "currency", "is_active")
    exclude = ("workspace",)

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ("name", "public_id", "workspace", "status", "trigger_event", "hold_days")
    list_filter = ("status", "workspace")
    inlines = [RuleInline]
