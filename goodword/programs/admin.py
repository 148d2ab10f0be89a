from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin, ReadOnlyInline
from goodword.programs.models import Program, RewardRule


class RuleInline(ReadOnlyInline):
    model = RewardRule
    fields = ("beneficiary", "kind", "amount", "percent_off", "currency", "is_active")
    readonly_fields = fields


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ("name", "public_id", "workspace", "status", "trigger_event", "hold_days")
    list_filter = ("status", "workspace")
    inlines = [RuleInline]
