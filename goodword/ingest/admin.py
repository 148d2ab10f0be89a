from django.contrib import admin

from goodword.ingest.models import Event
from goodword.lib.admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "external_id", "customer_external_id", "workspace")
    list_filter = ("type", "workspace")
    search_fields = ("external_id", "customer_external_id", "order_id")
