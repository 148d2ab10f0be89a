from django.contrib import admin

from goodword.events.models import DomainEvent
from goodword.lib.admin import ReadOnlyAdmin


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "name", "subject_id", "workspace")
    list_filter = ("name", "workspace")
    search_fields = ("subject_id",)
